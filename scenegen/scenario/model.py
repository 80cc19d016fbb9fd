"""``Scenario``: a validated scenario file, ready to be sampled.

A scenario is a distribution over scenes. After loading, every value of the file (and
every default) is a :class:`~scenegen.scenario.distributions.Distribution` stored under
its dotted key path in :attr:`Scenario.values` (``road.lanes``, ``actors[1].count``,
``events[0].distance_m``). Sampling draws each of them in that order (see
:mod:`scenegen.scenario.sampling`); the sweep overrides some of them per cell.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenegen.scenario.distributions import Constant, Distribution, Scalar
from scenegen.scenario.require import Constraint
from scenegen.scenario.schema_require import DEFAULT_REQUIRE_BUDGET
from scenegen.scenario.spec import CameraSpec, LidarSpec, SequenceSpec


@dataclass(frozen=True)
class SweepAxis:
    """One axis of the sweep grid: a key path and the values it takes, in file order.

    ``labels`` are the values as plain data (a constant's value, or the text of a
    distribution such as ``"uniform(1, 2)"``), for manifests and ``sweep_cell``.
    """

    path: str
    values: tuple[Distribution, ...]
    labels: tuple[Scalar, ...]


@dataclass(frozen=True)
class CoverRequest:
    """A ``cover:`` block (or ``render --cover``): taxonomy axes and strength t."""

    axes: tuple[str, ...]
    strength: int


@dataclass(frozen=True)
class GateSpec:
    """A ``gate:`` block: replace rejected frames (``enabled``) up to ``attempts`` times,
    with these threshold overrides (QualitySettings field -> value)."""

    enabled: bool
    attempts: int
    thresholds: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class PinnedCell:
    """One row of a covering array: the values it pins and its levels, for the manifest."""

    overrides: dict[str, Distribution]
    labels: dict[str, Scalar]


@dataclass(frozen=True)
class Scenario:
    """A loaded, validated scenario. Treat it (and its dicts) as read-only.

    ``camera`` and ``lidar`` hold the resolved sensor rig (presets applied; ``lidar`` is
    ``None`` when disabled); the camera's ``height_m`` and ``pitch_deg`` may vary per
    frame and are drawn from ``values``. ``actor_classes[i]`` and ``event_types[i]`` are
    the class of ``actors[i]`` and the type of ``events[i]``. ``user_meshes`` maps an
    actor class to the absolute path of the user's mesh file for it.
    """

    name: str
    description: str
    path: Path | None
    default_seed: int
    default_frames: int
    min_visible_pixels: int
    values: dict[str, Distribution]
    camera: CameraSpec
    lidar: LidarSpec | None
    actor_classes: tuple[str, ...]
    event_types: tuple[str, ...]
    user_meshes: dict[str, str]
    sweep_axes: tuple[SweepAxis, ...] = ()
    # The ``search:`` block: key path -> the distribution a parameter search explores.
    search_space: dict[str, Distribution] = field(default_factory=dict)
    sequence: SequenceSpec | None = None  # the file's ``sequence:``; None: independent frames
    require: tuple[Constraint, ...] = ()
    require_budget: int = DEFAULT_REQUIRE_BUDGET
    cover: CoverRequest | None = None
    gate: GateSpec | None = None  # the file's ``gate:``; None: the batch's --gate decides
    pinned_cells: tuple[PinnedCell, ...] = ()

    @property
    def n_sweep_cells(self) -> int:
        if self.pinned_cells:
            return len(self.pinned_cells)
        count = 1
        for axis in self.sweep_axes:
            count *= len(axis.values)
        return count

    @property
    def sweep_cells(self) -> list[dict[str, Any]]:
        """Every cell of the sweep grid as ``{key path: value}``; ``[{}]`` without a sweep.

        Cells are the cartesian product of the axes, the last axis varying fastest.
        """
        if self.pinned_cells:
            return [dict(cell.labels) for cell in self.pinned_cells]
        paths = [axis.path for axis in self.sweep_axes]
        return [
            dict(zip(paths, labels, strict=True))
            for labels in itertools.product(*(axis.labels for axis in self.sweep_axes))
        ]

    def sweep_cell_index(self, frame_index: int, n_frames: int) -> int:
        """The cell of frame ``frame_index`` of ``n_frames``: ``i * ncells // n``."""
        return frame_index * self.n_sweep_cells // n_frames

    def sweep_overrides(self, cell_index: int) -> dict[str, Distribution]:
        """The distributions that cell ``cell_index`` puts in place of the file's values."""
        if self.pinned_cells:
            return dict(self.pinned_cells[cell_index].overrides)
        overrides: dict[str, Distribution] = {}
        remaining = cell_index
        for axis in reversed(self.sweep_axes):  # last axis varies fastest
            remaining, position = divmod(remaining, len(axis.values))
            overrides[axis.path] = axis.values[position]
        return dict(reversed(overrides.items()))

    def constant(self, path: str) -> Scalar | None:
        """The value at ``path`` if it is a constant (ignoring the sweep), else ``None``."""
        value = self.values.get(path)
        return value.value if isinstance(value, Constant) else None
