"""LiDAR rolling shutter: a spinning sensor measures its sweep over time, not at once.

A sweep of ``sweep_s`` seconds is centred on the frame's time with the sensor facing
forward (KITTI triggers its camera as the Velodyne passes the forward direction); the
sensor turns clockwise seen from above, as the Velodyne HDL-64E does, so a point at
azimuth ``phi`` (counter-clockwise from the lidar's +x, in ``(-pi, pi]``) is measured at
``dt = -phi / (2 pi) * sweep_s``: the left half before the frame's time, the right half
after, the sweep starting and ending behind the car.

Each point is written in the sensor frame of the moment it was measured. To first order
(straight motion, no turning during the sweep), a surface moving with velocity ``v``
relative to the sensor then appears at ``p + v dt``: static scenery shifts by minus the
ego's velocity times ``dt`` and a moving object is skewed by its relative velocity.
The time of each point is kept in the cloud's ``time_s`` column.
"""

from __future__ import annotations

import numpy as np

from scenegen.points import PointCloud


def sweep_time_offsets_s(xyz_lidar: np.ndarray, sweep_s: float) -> np.ndarray:
    """Float32 ``(N,)`` time of each point relative to the frame's time, seconds."""
    xyz = np.asarray(xyz_lidar, np.float64)
    azimuth = np.arctan2(xyz[:, 1], xyz[:, 0])
    return (-azimuth / (2.0 * np.pi) * sweep_s).astype(np.float32)


def apply_rolling_shutter(
    points: PointCloud, sweep_s: float, relative_velocity_lidar_m_s: np.ndarray
) -> PointCloud:
    """``points`` as a rolling-shutter sensor of sweep time ``sweep_s`` measures them.

    ``relative_velocity_lidar_m_s`` is ``(M, 3)``: row ``i`` the velocity, relative to the
    sensor and in the lidar frame, of instance ``i`` (row 0: the static world and every
    point without an instance); ``range_m`` follows the moved points.
    """
    points.require_frame()
    dt = sweep_time_offsets_s(points.xyz, sweep_s)
    table = np.asarray(relative_velocity_lidar_m_s, np.float64).reshape(-1, 3)
    ids = np.zeros(len(points), np.int64)
    if points.instance_ids is not None:
        ids = points.instance_ids.astype(np.int64)
        ids = np.where((ids >= 0) & (ids < len(table)), ids, 0)
    moved = points.xyz.astype(np.float64) + table[ids] * dt[:, None].astype(np.float64)
    changes: dict[str, np.ndarray] = {"xyz": moved.astype(np.float32), "time_s": dt}
    if points.range_m is not None:
        changes["range_m"] = np.linalg.norm(moved, axis=1).astype(np.float32)
    return points.replace(**changes)
