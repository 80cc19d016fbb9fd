"""How many LiDAR points fall inside each labelled 3D box (KITTI-style point counts)."""

from __future__ import annotations

import numpy as np

from scenegen.frame import Box3D, transform_points


def points_cam_from_lidar(points_lidar: np.ndarray, T_cam_from_lidar: np.ndarray) -> np.ndarray:
    """Float64 ``(N, 3)`` camera-frame positions of lidar-frame points (first 3 columns)."""
    T = np.asarray(T_cam_from_lidar, dtype=np.float64)
    if T.shape != (4, 4):
        raise ValueError(f"T_cam_from_lidar must be a 4x4 transform, got shape {T.shape}")
    return transform_points(T, np.asarray(points_lidar)[:, :3])


def count_points_in_boxes(
    points_lidar: np.ndarray,
    T_cam_from_lidar: np.ndarray,
    boxes: list[Box3D],
    margin_m: float = 0.0,
) -> np.ndarray:
    """Int64 ``(len(boxes),)``: points of ``points_lidar`` (``(N, >=3)``, lidar frame, m)
    inside each camera-frame box (``Box3D.contains_cam`` with ``margin_m``).

    Points are first cut to each box's bounding circle in the camera's x-z plane, so the
    cost is one pass over the points plus the few near each box.
    """
    counts = np.zeros(len(boxes), dtype=np.int64)
    if len(boxes) == 0 or len(points_lidar) == 0:
        return counts
    pts_cam = points_cam_from_lidar(points_lidar, T_cam_from_lidar)
    x, z = pts_cam[:, 0], pts_cam[:, 2]
    for i, box in enumerate(boxes):
        radius = 0.5 * np.hypot(box.l, box.w) + margin_m
        near = np.flatnonzero((np.abs(x - box.x) <= radius) & (np.abs(z - box.z) <= radius))
        counts[i] = int(np.count_nonzero(box.contains_cam(pts_cam[near], margin_m)))
    return counts


def boxes_lidar_array(boxes: list[Box3D], T_cam_from_lidar: np.ndarray) -> np.ndarray:
    """Float64 ``(M, 7)`` rows ``x, y, z_bottom, length, width, height, yaw`` in the lidar frame.

    The layout :func:`scenegen.effects.lidar_weather.spray_points` takes. Assumes the
    lidar's z axis is the camera's -y axis (level mounting, as in rig.py); yaw is the
    heading of the box's length axis about lidar z.
    """
    T_lidar_from_cam = np.linalg.inv(np.asarray(T_cam_from_lidar, np.float64))
    rows = np.zeros((len(boxes), 7), np.float64)
    for i, box in enumerate(boxes):
        bottom = (
            T_lidar_from_cam[:3, :3] @ np.array([box.x, box.y, box.z]) + T_lidar_from_cam[:3, 3]
        )
        heading_cam = np.array([np.cos(box.rotation_y), 0.0, -np.sin(box.rotation_y)])
        heading = T_lidar_from_cam[:3, :3] @ heading_cam
        rows[i] = (*bottom, box.l, box.w, box.h, np.arctan2(heading[1], heading[0]))
    return rows
