"""What a dataset holds, cell by cell of the taxonomy (:mod:`scenegen.coverage.taxonomy`).

Measured from what each frame *is*, not what its scenario meant: the weather and sun
recorded in the frame's metadata (the manifest's sampled physical values, kept in the
KITTI sidecar), the events that occurred, and the labelled objects (class, distance).
A frame gives one *observation* per labelled object (its class and distance bin, with
the frame's weather, light and event levels) and one for the frame itself; a frame with
fog and rain, or two events, holds every combination. A t-tuple of levels is covered
when some observation holds all of them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.coverage import taxonomy
from scenegen.frame import Frame
from scenegen.io.reader import DatasetReader, FrameError

Observation = dict[str, str | None]


@dataclass
class FrameCells:
    """One frame's levels per axis; ``continuous`` holds its physical values."""

    frame_id: str
    frame_levels: dict[str, set[str]]  # weather, light, event (empty: unknown)
    objects: list[tuple[str, str | None]]  # (class, distance level) per labelled object
    continuous: dict[str, float] = field(default_factory=dict)

    def observations(self, axes: Sequence[str]) -> list[Observation]:
        per_axis = [
            sorted(self.frame_levels.get(a) or {None}) for a in axes if a in taxonomy.FRAME_AXES
        ]
        frame_axes = [a for a in axes if a in taxonomy.FRAME_AXES]
        bases = [
            dict(zip(frame_axes, combo, strict=True)) for combo in itertools.product(*per_axis)
        ]
        object_axes = [a for a in axes if a in taxonomy.OBJECT_AXES]
        if not object_axes:
            return bases  # type: ignore[return-value]
        found: list[Observation] = []
        for base in bases:
            found.append({**base, **dict.fromkeys(object_axes)})
            for cls, distance in self.objects:
                values = {"actor": cls, "distance": distance}
                found.append({**base, **{a: values[a] for a in object_axes}})
        return found


def frame_cells(frame: Frame) -> FrameCells:
    """The taxonomy levels of one frame (weather and light only when its metadata has them)."""
    meta = frame.meta or {}
    environment = meta.get("environment") or {}
    levels: dict[str, set[str]] = {}
    continuous: dict[str, float] = {}
    if environment:
        levels["weather"] = taxonomy.weather_levels(environment)
        levels["light"] = {taxonomy.light_level(environment["sun_elevation_deg"])}
        continuous["sun_elevation_deg"] = float(environment["sun_elevation_deg"])
        fog = environment.get("fog_visibility_m")
        if fog is not None:
            continuous["fog_visibility_m"] = float(fog)
        continuous["rain_rate_mm_h"] = float(environment.get("rain_rate_mm_h") or 0.0)
        continuous["snow_rate_mm_h"] = float(environment.get("snow_rate_mm_h") or 0.0)
    if "events" in meta:
        occurred = {e["type"] for e in meta["events"] if e.get("occurs")}
        levels["event"] = occurred or {taxonomy.NO_EVENT}
    objects = [(o.class_name, taxonomy.distance_level(o.distance_m)) for o in frame.objects]
    return FrameCells(str(frame.frame_id), levels, objects, continuous)


def read_cells(reader: DatasetReader) -> tuple[list[FrameCells], list[FrameError]]:
    """Every readable frame's cells, and the frames that could not be read."""
    cells, errors = [], []
    for item in reader:
        (errors if isinstance(item, FrameError) else cells).append(
            item if isinstance(item, FrameError) else frame_cells(item)
        )
    return cells, errors


@dataclass(frozen=True)
class CoverageResult:
    axes: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]
    strength_percent: dict[int, float]  # t -> share of t-tuples covered
    missing: dict[int, list[dict[str, str]]]  # t -> uncovered tuples, axis -> level
    histograms: dict[str, dict[str, int]]  # axis -> level -> frames (objects for OBJECT_AXES)
    discrepancy: dict[str, Any]
    frames: int
    unreadable: int

    def to_json(self) -> dict[str, Any]:
        return {
            "axes": list(self.axes),
            "levels": {a: list(v) for a, v in self.levels.items()},
            "coverage_percent": {str(t): p for t, p in self.strength_percent.items()},
            "missing": {str(t): m for t, m in self.missing.items()},
            "histograms": self.histograms,
            "discrepancy": self.discrepancy,
            "frames": self.frames,
            "unreadable_frames": self.unreadable,
            "taxonomy": taxonomy.taxonomy_table(),
        }


def measure(
    cells: Sequence[FrameCells],
    axes: Sequence[str],
    strength: int,
    levels: Mapping[str, Sequence[str]] | None = None,
    unreadable: int = 0,
) -> CoverageResult:
    """t-way coverage of ``cells`` for t = 1..``strength`` over ``axes``; ``levels``
    narrows an axis to some of its levels (default: the whole taxonomy)."""
    axes = tuple(axes)
    if not 1 <= strength <= len(axes):
        raise ValueError(f"strength {strength} needs at least {strength} axes, got {len(axes)}")
    universe = {a: tuple((levels or {}).get(a) or taxonomy.axis_levels(a)) for a in axes}
    observations = [o for c in cells for o in c.observations(axes)]
    percent: dict[int, float] = {}
    missing: dict[int, list[dict[str, str]]] = {}
    for t in range(1, strength + 1):
        total, lacking = 0, []
        for subset in itertools.combinations(axes, t):
            held = {tuple(o[a] for a in subset) for o in observations}
            for combo in itertools.product(*(universe[a] for a in subset)):
                total += 1
                if combo not in held:
                    lacking.append(dict(zip(subset, combo, strict=True)))
        percent[t] = 100.0 * (total - len(lacking)) / total if total else 100.0
        missing[t] = lacking
    return CoverageResult(
        axes,
        universe,
        percent,
        missing,
        _histograms(cells, axes, universe),
        star_discrepancy(cells),
        len(cells),
        unreadable,
    )


def _histograms(
    cells: Iterable[FrameCells], axes: Sequence[str], universe: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter] = {a: Counter() for a in axes}
    for c in cells:
        for axis in axes:
            if axis in taxonomy.FRAME_AXES:
                counts[axis].update(c.frame_levels.get(axis) or ())
            else:
                index = taxonomy.OBJECT_AXES.index(axis)
                counts[axis].update(o[index] for o in c.objects if o[index] is not None)
    return {a: {level: int(counts[a][level]) for level in universe[a]} for a in axes}


# Continuous axes and the range each is scaled from to the unit cube for the discrepancy.
CONTINUOUS_RANGES = {
    "sun_elevation_deg": (-90.0, 90.0),
    "fog_visibility_m": (5.0, 1000.0),
    "rain_rate_mm_h": (0.0, 50.0),
    "snow_rate_mm_h": (0.0, 10.0),
}


def star_discrepancy(cells: Sequence[FrameCells]) -> dict[str, Any]:
    """How evenly the frames fill the continuous axes: scipy's L2-star discrepancy
    (``scipy.stats.qmc.discrepancy(method="L2-star")``) of the frames' values scaled to
    [0, 1] per axis (clipped to :data:`CONTINUOUS_RANGES`), each axis alone and all that
    every frame has together; lower is more even. Alongside it, that of as many i.i.d.
    uniform points (seeded) and of a scrambled Sobol set, for scale."""
    from scipy.stats import qmc

    result: dict[str, Any] = {"method": "L2-star", "per_axis": {}}
    # An axis every frame holds at one value (no rain anywhere) says nothing about evenness.
    usable = [
        k
        for k in CONTINUOUS_RANGES
        if len({c.continuous[k] for c in cells if k in c.continuous}) >= 2
    ]
    for key in usable:
        sample = _unit(cells, [key])
        result["per_axis"][key] = float(qmc.discrepancy(sample, method="L2-star"))
    joint = [k for k in usable if all(k in c.continuous for c in cells)]
    if joint:
        sample = _unit(cells, joint)
        rng = np.random.default_rng(0)
        sobol = qmc.Sobol(len(joint), scramble=True, seed=rng).random(len(sample))
        result["joint"] = {
            "axes": joint,
            "frames": float(qmc.discrepancy(sample, method="L2-star")),
            "iid_uniform": float(qmc.discrepancy(rng.random(sample.shape), method="L2-star")),
            "sobol": float(qmc.discrepancy(sobol, method="L2-star")),
        }
    return result


def _unit(cells: Sequence[FrameCells], keys: Sequence[str]) -> np.ndarray:
    rows = [[c.continuous[k] for k in keys] for c in cells if all(k in c.continuous for k in keys)]
    low = np.array([CONTINUOUS_RANGES[k][0] for k in keys])
    high = np.array([CONTINUOUS_RANGES[k][1] for k in keys])
    return np.clip((np.asarray(rows, np.float64) - low) / (high - low), 0.0, 1.0)


def measure_dataset(
    path: Path | str,
    axes: Sequence[str],
    strength: int,
    levels: Mapping[str, Sequence[str]] | None = None,
) -> CoverageResult:
    """Open the dataset at ``path`` (any format :class:`DatasetReader` reads) and measure it."""
    cells, errors = read_cells(DatasetReader(path))
    return measure(cells, axes, strength, levels, unreadable=len(errors))
