"""Per-frame statistics of a whole dataset, read frame by frame through
:class:`scenegen.io.DatasetReader`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from scenegen.fidelity.camera import image_statistics
from scenegen.fidelity.labels import label_statistics
from scenegen.fidelity.lidar import RingModel, scan_statistics
from scenegen.frame import Frame
from scenegen.io import DatasetReader, FrameError


@dataclass
class DatasetStatistics:
    """Every statistic of every readable frame of one dataset.

    ``scalars[name]`` is float64 ``(N,)`` and ``histograms[name]`` float64 ``(N, K)`` counts,
    one row per frame that has the sensor (LiDAR statistics cover the frames with a scan).
    ``camera_features`` stacks the camera scalars of each frame, ``(N, F)``, columns named by
    ``camera_feature_names``; ``errors`` are the frames that could not be read.
    """

    path: str
    format: str
    frames: int
    scalars: dict[str, np.ndarray] = field(default_factory=dict)
    histograms: dict[str, np.ndarray] = field(default_factory=dict)
    camera_feature_names: tuple[str, ...] = ()
    camera_features: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    frames_with_lidar: int = 0
    errors: list[FrameError] = field(default_factory=list)


def frame_statistics(
    frame: Frame, width_px: int, ring_model: RingModel
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Camera, label and (when the frame has a scan) LiDAR statistics of one frame."""
    scalars, histograms = image_statistics(frame.rgb, width_px)
    label_scalars, label_histograms = label_statistics(frame.objects)
    scalars |= label_scalars
    histograms |= label_histograms
    if frame.points is not None and len(frame.points):
        scan_scalars, scan_histograms = scan_statistics(frame.points, ring_model)
        scalars |= scan_scalars
        histograms |= scan_histograms
    return scalars, histograms


def collect_statistics(
    reader: DatasetReader,
    width_px: int,
    ring_model: RingModel,
    on_frame: Callable[[int, int], None] | None = None,
) -> DatasetStatistics:
    """Statistics of every frame of ``reader``; unreadable frames are listed, not fatal.

    ``on_frame(done, total)`` is called after each frame (for a progress bar).
    """
    scalar_rows: dict[str, list[float]] = defaultdict(list)
    histogram_rows: dict[str, list[np.ndarray]] = defaultdict(list)
    errors: list[FrameError] = []
    with_lidar = 0
    for index in range(len(reader)):
        item = reader.read(index)
        if isinstance(item, FrameError):
            errors.append(item)
        else:
            scalars, histograms = frame_statistics(item, width_px, ring_model)
            with_lidar += "lidar.points" in scalars
            for name, value in scalars.items():
                scalar_rows[name].append(value)
            for name, counts in histograms.items():
                histogram_rows[name].append(counts)
        if on_frame is not None:
            on_frame(index + 1, len(reader))
    feature_names = tuple(sorted(n for n in scalar_rows if n.startswith("camera.")))
    features = np.array([scalar_rows[n] for n in feature_names], dtype=np.float64).T
    return DatasetStatistics(
        path=str(reader.path),
        format=reader.format,
        frames=len(reader) - len(errors),
        scalars={k: np.asarray(v, dtype=np.float64) for k, v in scalar_rows.items()},
        histograms={k: np.stack(v) for k, v in histogram_rows.items()},
        camera_feature_names=feature_names,
        camera_features=features.reshape(len(reader) - len(errors), len(feature_names)),
        frames_with_lidar=with_lidar,
        errors=errors,
    )
