"""The sensors of a sequence frame: motion blur, rolling shutter and velocity labels.

The world of a sequence frame is posed in the ego frame of the moment
(:meth:`scenegen.world.sequence.SequenceWorld.at`); its :class:`MotionState` says how
everything moves. These functions turn that motion into the sensors' frames and hand it
to the physical models of :mod:`scenegen.effects.motion_blur` and
:mod:`scenegen.effects.rolling_shutter`.
"""

from __future__ import annotations

import numpy as np

from scenegen.effects.motion_blur import apply_motion_blur, motion_flow_px
from scenegen.effects.rolling_shutter import apply_rolling_shutter
from scenegen.frame import Calibration, ObjectLabel
from scenegen.points import PointCloud
from scenegen.scenario.spec import SequenceSpec
from scenegen.world.sequence import MotionState


def _relative_velocity_table(motion: MotionState, rotation: np.ndarray) -> np.ndarray:
    """``(max id + 1, 3)`` velocities relative to the ego, rotated by ``rotation`` (row 0:
    the static world)."""
    size = max(motion.velocities_m_s, default=0) + 1
    table = np.tile(-motion.ego_velocity_m_s, (size, 1))
    for instance, velocity in motion.velocities_m_s.items():
        table[instance] = velocity - motion.ego_velocity_m_s
    return table @ rotation.T


def blur_radiance(
    radiance: np.ndarray,
    depth_m: np.ndarray,
    instance_ids: np.ndarray,
    calibration: Calibration,
    motion: MotionState,
    exposure_s: float,
) -> np.ndarray:
    """The radiance integrated over the exposure (no change for ``exposure_s == 0``)."""
    if exposure_s <= 0:
        return radiance
    k = calibration.intrinsics
    rotation = np.asarray(calibration.T_cam_from_world)[:3, :3]
    flow = motion_flow_px(
        depth_m,
        instance_ids,
        k.fx,
        k.fy,
        k.cx,
        k.cy,
        _relative_velocity_table(motion, rotation),
        exposure_s,
    )
    return apply_motion_blur(radiance, flow)


def label_velocities(
    objects: list[ObjectLabel], calibration: Calibration, motion: MotionState
) -> None:
    """Set each label's velocity over the ground in the camera frame (m/s)."""
    rotation = np.asarray(calibration.T_cam_from_world)[:3, :3]
    for obj in objects:
        velocity = motion.velocities_m_s.get(obj.instance_id, np.zeros(3))
        obj.velocity_cam_m_s = tuple(float(v) for v in rotation @ velocity)


def rolling_shutter(
    points: PointCloud, calibration: Calibration, motion: MotionState, sweep_s: float
) -> PointCloud:
    """The sweep as measured over ``sweep_s`` while everything moves, with ``time_s``."""
    T_lidar_from_world = np.linalg.inv(calibration.T_cam_from_lidar) @ calibration.T_cam_from_world
    table = _relative_velocity_table(motion, T_lidar_from_world[:3, :3])
    return apply_rolling_shutter(points, sweep_s, table)


def sequence_meta(
    sequence: SequenceSpec, sequence_id: int, frame: int, motion: MotionState
) -> dict:
    """What the manifest and the writers record about a frame's place in its sequence."""
    return {
        "sequence_id": int(sequence_id),
        "frame": int(frame),
        "frames": int(sequence.frames),
        "time_s": float(motion.time_s),
        "rate_hz": float(sequence.rate_hz),
        "exposure_s": float(sequence.exposure_s),
        "lidar_sweep_s": float(sequence.lidar_sweep_s),
        "ego_pose_start": np.asarray(motion.ego_pose_start, np.float64).tolist(),
        "ego_velocity_m_s": [float(v) for v in motion.ego_velocity_m_s],
    }
