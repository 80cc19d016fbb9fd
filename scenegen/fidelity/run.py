"""One fidelity comparison: read both datasets, gather their statistics, compare them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scenegen.fidelity.collect import DatasetStatistics, collect_statistics
from scenegen.fidelity.compare import Comparison, compare_datasets, furthest
from scenegen.fidelity.lidar import RingModel
from scenegen.io import DatasetReader

DEFAULT_WIDTH_PX = 621  # half of KITTI's 1242: the statistics' common resolution
DEFAULT_REPLICATES = 200
DEFAULT_LIDAR_BEAMS = "hdl64"
TOP_COUNT = 5


@dataclass(frozen=True)
class FidelitySettings:
    """How the comparison is made; ``seed`` drives the bootstrap and the real set's split."""

    seed: int = 0
    replicates: int = DEFAULT_REPLICATES
    width_px: int = DEFAULT_WIDTH_PX
    lidar_beams: str = DEFAULT_LIDAR_BEAMS
    synthetic_format: str = "auto"
    real_format: str = "auto"

    def __post_init__(self) -> None:
        if self.replicates < 10:
            raise ValueError(f"bootstrap replicates must be >= 10, got {self.replicates}")
        if not 16 <= self.width_px <= 4096:
            raise ValueError(f"analysis width must be 16..4096 px, got {self.width_px}")


@dataclass(frozen=True)
class FidelityResult:
    settings: FidelitySettings
    synthetic: DatasetStatistics
    real: DatasetStatistics
    rows: list[Comparison]
    top: list[Comparison]


def ring_model(beams: str) -> RingModel:
    """The nominal beam elevations of a LiDAR preset (``hdl64``, ``vlp32``, ...)."""
    from scenegen.sensors.lidar import PRESET_VERTICAL_ANGLES_DEG

    if beams not in PRESET_VERTICAL_ANGLES_DEG:
        raise ValueError(
            f"unknown LiDAR beam model {beams!r}; expected one of "
            f"{sorted(PRESET_VERTICAL_ANGLES_DEG)}"
        )
    return RingModel(PRESET_VERTICAL_ANGLES_DEG[beams])


def run_fidelity(
    synthetic_path: Path,
    real_path: Path,
    settings: FidelitySettings,
    on_frame: Callable[[str, int, int], None] | None = None,
) -> FidelityResult:
    """Compare the dataset at ``synthetic_path`` with the one at ``real_path``.

    ``on_frame(which, done, total)`` reports progress (``which`` is ``synthetic`` or
    ``real``). Raises :class:`scenegen.io.errors.DatasetReadError` when a dataset cannot be
    opened and ``ValueError`` when the real set is too small for a baseline or a dataset has
    no readable frame; frames that cannot be read are listed in the statistics' ``errors``.
    """
    model = ring_model(settings.lidar_beams)
    readers = {
        "synthetic": DatasetReader(synthetic_path, settings.synthetic_format),
        "real": DatasetReader(real_path, settings.real_format),
    }
    stats: dict[str, DatasetStatistics] = {}
    for which, reader in readers.items():
        report = None if on_frame is None else _bind(on_frame, which)
        stats[which] = collect_statistics(reader, settings.width_px, model, report)
        if stats[which].frames == 0:
            raise ValueError(f"the {which} dataset {reader.path} has no readable frame")
    rows = compare_datasets(
        stats["synthetic"], stats["real"], np.random.default_rng(settings.seed), settings.replicates
    )
    return FidelityResult(
        settings, stats["synthetic"], stats["real"], rows, furthest(rows, TOP_COUNT)
    )


def _bind(on_frame: Callable[[str, int, int], None], which: str) -> Callable[[int, int], None]:
    return lambda done, total: on_frame(which, done, total)
