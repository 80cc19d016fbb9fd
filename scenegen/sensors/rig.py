"""Sensor mounting: where the camera and the LiDAR sit on the ego vehicle.

The camera is at ``(0, 0, camera.height_m)`` in the world frame looking along +x,
pitched down by ``pitch_deg``. The LiDAR sits ``forward_m`` ahead of the camera (negative:
behind it) at ``lidar.height_m``, axes parallel to the world's. KITTI's Velodyne is 0.27 m
*behind* and 0.08 m above the colour cameras (``Tr_velo_to_cam`` translation about
``(-0.004, -0.076, -0.27)`` in every KITTI calibration file), hence the defaults
``forward_m = -0.27`` and ``height_m = 1.73`` with the camera at 1.65 m.

The right stereo camera (KITTI's camera 3) is the left one moved
:data:`KITTI_STEREO_BASELINE_M` along the camera's +x (to the right), same axes and
intrinsics, so its rectified projection is ``P3 = K [I | (-baseline, 0, 0)]``.
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


# Distance between KITTI's colour cameras 2 and 3 (P2, P3 of its calibration files differ
# by fx * 0.532 m; the setup paper gives 0.54 m).
KITTI_STEREO_BASELINE_M = 0.54


def right_camera_calibration(left: Calibration, baseline_m: float) -> Calibration:
    """The right stereo camera of ``left``: moved ``baseline_m`` along the camera's +x."""
    T_right_from_left = np.eye(4)
    T_right_from_left[0, 3] = -baseline_m
    return Calibration(
        left.intrinsics,
        T_right_from_left @ left.T_cam_from_world,
        T_right_from_left @ left.T_cam_from_lidar,
    )


def calibration_from_spec(camera: CameraSpec, lidar: LidarSpec | None) -> Calibration:
    T_cam_from_world = np.linalg.inv(T_world_from_camera(camera))
    lidar_spec = lidar if lidar is not None else LidarSpec()
    T_cam_from_lidar = T_cam_from_world @ T_world_from_lidar(camera, lidar_spec)
    return Calibration(intrinsics_from_spec(camera), T_cam_from_world, T_cam_from_lidar)
