"""KITTI ``velodyne/*.bin`` point files and SemanticKITTI ``labels/*.label`` point labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scenegen.io.errors import DatasetReadError, DatasetWriteError


def encode_velodyne(points_lidar: np.ndarray) -> bytes:
    """float32 little-endian ``x, y, z, reflectance`` records, 16 bytes per point."""
    points = np.asarray(points_lidar)
    if points.ndim != 2 or points.shape[1] != 4:
        raise DatasetWriteError(f"points_lidar must be (N, 4), got shape {points.shape}")
    return np.ascontiguousarray(points, dtype="<f4").tobytes()


def encode_point_labels(
    class_ids: np.ndarray | None, instance_ids: np.ndarray | None, num_points: int
) -> bytes:
    """SemanticKITTI ``.label`` bytes: uint32 per point, ``class | instance << 16``."""
    packed = np.zeros(num_points, dtype="<u4")
    for name, ids, shift in (("class", class_ids, 0), ("instance", instance_ids, 16)):
        if ids is None:
            continue
        values = np.asarray(ids).reshape(-1)
        if values.shape[0] != num_points:
            raise DatasetWriteError(
                f"point {name} ids: {values.shape[0]} labels for {num_points} points"
            )
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise DatasetWriteError(f"point {name} ids must be in 0..65535")
        packed |= values.astype("<u4") << np.uint32(shift)
    return packed.tobytes()


def read_velodyne(path: Path) -> np.ndarray:
    """float32 ``(N, 4)`` x, y, z (metres, lidar frame), reflectance from a ``.bin`` file."""
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
    return points


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
