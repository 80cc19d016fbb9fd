"""KITTI ``velodyne/*.bin`` point files and SemanticKITTI ``labels/*.label`` point labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scenegen.io.errors import DatasetReadError, DatasetWriteError
from scenegen.points import LIDAR_FRAME, PointCloud


def encode_velodyne(points: PointCloud) -> bytes:
    """float32 little-endian ``x, y, z, reflectance`` records, 16 bytes per point."""
    if points.frame != LIDAR_FRAME:
        raise DatasetWriteError(f"velodyne files hold lidar-frame points, got {points.frame!r}")
    return points.xyzi().astype("<f4", copy=False).tobytes()


def has_point_labels(points: PointCloud) -> bool:
    """Whether the cloud has per-point labels for a ``.label`` file."""
    return points.class_ids is not None or points.instance_ids is not None


def encode_point_labels(points: PointCloud) -> bytes:
    """SemanticKITTI ``.label`` bytes: uint32 per point, ``class | instance << 16`` (a
    missing column packs as 0)."""
    packed = np.zeros(len(points), dtype="<u4")
    for name, ids, shift in (
        ("class", points.class_ids, 0),
        ("instance", points.instance_ids, 16),
    ):
        if ids is None:
            continue
        values = ids
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise DatasetWriteError(f"point {name} ids must be in 0..65535")
        packed |= values.astype("<u4") << np.uint32(shift)
    return packed.tobytes()


def read_velodyne(path: Path) -> PointCloud:
    """The points of a ``.bin`` file: x, y, z (metres, lidar frame) and reflectance."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetReadError(path, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) % 16:
        raise DatasetReadError(
            path,
            f"size {len(data)} bytes is not a multiple of 16 (4 float32 per point): "
            "truncated file?",
        )
    points = np.frombuffer(data, dtype="<f4").reshape(-1, 4).astype(np.float32)
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points).all(axis=1)).sum())
        raise DatasetReadError(path, f"{bad} points have NaN or infinite values")
    return PointCloud.from_xyzi(points)


def read_point_labels(path: Path, num_points: int) -> tuple[np.ndarray, np.ndarray]:
    """int32 ``(N,)`` class ids and instance ids from a SemanticKITTI ``.label`` file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetReadError(path, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) != 4 * num_points:
        raise DatasetReadError(
            path,
            f"expected {4 * num_points} bytes (uint32 per point, {num_points} points), "
            f"got {len(data)}",
        )
    packed = np.frombuffer(data, dtype="<u4")
    return (packed & 0xFFFF).astype(np.int32), (packed >> 16).astype(np.int32)
