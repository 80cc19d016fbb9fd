"""Sensor mounting: where the camera and the LiDAR sit on the ego vehicle.

The camera is at ``(0, 0, camera.height_m)`` in the world frame looking along +x,
pitched down by ``pitch_deg``. The LiDAR sits ``forward_m`` ahead of the camera at
``lidar.height_m``, axes parallel to the world's (KITTI's Velodyne is 0.27 m ahead of
and 0.08 m above the colour camera).
"""

from __future__ import annotations

import numpy as np

from scenegen.frame import Calibration, CameraIntrinsics, transform_points  # noqa: F401 - re-exported
from scenegen.scenario.spec import CameraSpec, LidarSpec

# Camera axes (x right, y down, z forward) expressed in world axes (x fwd, y left, z up).
_R_CAM_FROM_WORLD_LEVEL = np.array(
    [[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]], dtype=np.float64
)


def intrinsics_from_spec(camera: CameraSpec) -> CameraIntrinsics:
    return CameraIntrinsics(camera.width, camera.height, camera.fx, camera.fy, camera.cx, camera.cy)


def T_world_from_camera(camera: CameraSpec) -> np.ndarray:
    """4x4 pose of the camera frame in the world frame."""
    pitch = np.deg2rad(camera.pitch_deg)
    # Pitching down turns the optical axis (world +x) towards -z: a rotation about world +y.
    c, s = np.cos(pitch), np.sin(pitch)
    R_pitch = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    R_world_from_cam = R_pitch @ _R_CAM_FROM_WORLD_LEVEL.T
    T = np.eye(4)
    T[:3, :3] = R_world_from_cam
    T[:3, 3] = (0.0, 0.0, camera.height_m)
    return T


def T_world_from_lidar(camera: CameraSpec, lidar: LidarSpec) -> np.ndarray:
    """4x4 pose of the LiDAR frame in the world frame (axes parallel to the world's)."""
    T = np.eye(4)
    T[:3, 3] = (lidar.forward_m, 0.0, lidar.height_m)
    return T


def calibration_from_spec(camera: CameraSpec, lidar: LidarSpec | None) -> Calibration:
    T_cam_from_world = np.linalg.inv(T_world_from_camera(camera))
    lidar_spec = lidar if lidar is not None else LidarSpec()
    T_cam_from_lidar = T_cam_from_world @ T_world_from_lidar(camera, lidar_spec)
    return Calibration(intrinsics_from_spec(camera), T_cam_from_world, T_cam_from_lidar)
