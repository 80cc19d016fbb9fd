"""KITTI ``calib`` files: writing a Frame's calibration and folding a real file into one.

Written files use ``P2 = K [I | 0]`` (the Frame's camera), ``R0_rect = I``
and ``Tr_velo_to_cam = T_cam_from_lidar[:3, :4]``. ``P0``, ``P1`` and ``P3`` are copies of
``P2``: scenegen renders a single camera, and KITTI tools expect the four keys.

Reading real KITTI, ``P2 = K [I | t']`` with ``t' = K t`` (camera 2 sits ``t`` from the
rectified camera 0) and ``R0_rect`` is not the identity. :class:`Calibration` knows one
camera frame, so the reader places it at camera 2: ``T_cam_from_lidar = [I | t] R0_rect
Tr_velo_to_cam`` and every 3D box is moved by ``t`` (a pure translation, so ``h, w, l,
rotation_y`` and ``alpha`` are unchanged). Projecting with ``Calibration`` then gives
exactly KITTI's ``P2 R0_rect Tr_velo_to_cam``; ``meta["kitti_cam2_offset_m"]`` keeps
``t`` for converting boxes back to KITTI's camera-0 coordinates.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import numpy as np

from scenegen.frame import Calibration, CameraIntrinsics
from scenegen.io.errors import DatasetReadError
from scenegen.io.kitti.common import parse_floats, read_text

# KITTI's camera is 1.65 m above the road; real frames get a level camera at that height
# as their T_cam_from_world (KITTI itself records no ego pose in the object benchmark).
KITTI_CAMERA_HEIGHT_M = 1.65


_CALIB_KEYS_WRITTEN = ("P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo")
# Older KITTI-derived sets spell two keys differently.
_CALIB_ALIASES = MappingProxyType({"R_rect": "R0_rect", "Tr_velo_cam": "Tr_velo_to_cam"})
_CALIB_SIZES = MappingProxyType({"R0_rect": 9})

# The level camera's axes (x right, y down, z forward) in world axes (x fwd, y left, z up).
_R_CAM_FROM_WORLD_LEVEL = np.array(
    [[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]], dtype=np.float64
)


def _calib_values(matrix: np.ndarray) -> str:
    return " ".join(f"{v:.12e}" for v in np.asarray(matrix, dtype=np.float64).reshape(-1))


def calib_text(calibration: Calibration) -> str:
    """The ``calib`` file for a Frame's calibration (see the module docstring)."""
    p2 = calibration.P2
    T_cam_from_lidar = np.asarray(calibration.T_cam_from_lidar, dtype=np.float64)
    matrices = {
        "P0": p2,
        "P1": p2,
        "P2": p2,
        "P3": p2,
        "R0_rect": np.eye(3),
        "Tr_velo_to_cam": T_cam_from_lidar[:3, :4],
        "Tr_imu_to_velo": np.eye(4)[:3, :4],
    }
    return "".join(f"{key}: {_calib_values(matrices[key])}\n" for key in _CALIB_KEYS_WRITTEN)


def parse_calib_file(path: Path) -> dict[str, np.ndarray]:
    """Parse a KITTI ``calib`` file into ``{key: float64 array}``.

    P*, Tr_* become 3x4; R0_rect becomes 3x3. Requires ``P2``, ``R0_rect`` and
    ``Tr_velo_to_cam``.
    """
    matrices: dict[str, np.ndarray] = {}
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        key, sep, rest = raw.partition(":")
        if not sep:
            raise DatasetReadError(path, f"line {number}: expected 'KEY: numbers', got {raw!r}")
        key = _CALIB_ALIASES.get(key.strip(), key.strip())
        values = parse_floats(path, f"line {number} ({key})", rest.split())
        expected = _CALIB_SIZES.get(key, 12)
        if key.startswith(("P", "R0", "Tr")):
            if len(values) != expected:
                raise DatasetReadError(
                    path, f"line {number}: {key} needs {expected} numbers, got {len(values)}"
                )
            matrices[key] = np.array(values, dtype=np.float64).reshape(3, expected // 3)
    for key in ("P2", "R0_rect", "Tr_velo_to_cam"):
        if key not in matrices:
            raise DatasetReadError(path, f"missing calibration key {key!r}")
    return matrices


def calibration_from_kitti(
    matrices: dict[str, np.ndarray], width: int, height: int, path: Path
) -> tuple[Calibration, np.ndarray]:
    """Fold KITTI's P2, R0_rect and Tr_velo_to_cam into a :class:`Calibration`.

    Returns the calibration and ``t`` (float64 (3,), metres), camera 2's position in KITTI's
    rectified camera-0 frame; see the module docstring.
    """
    P2 = matrices["P2"]
    K = P2[:, :3]
    fx, skew, cx = K[0]
    _, fy, cy = K[1]
    structure_ok = (
        abs(skew) < 1e-9
        and abs(K[1, 0]) < 1e-9
        and np.allclose(K[2], (0.0, 0.0, 1.0), atol=1e-9)
        and fx > 0
        and fy > 0
    )
    if not structure_ok:
        raise DatasetReadError(
            path, f"P2 must be K [I | t] with K = [[fx,0,cx],[0,fy,cy],[0,0,1]], got {P2.tolist()}"
        )
    offset_m = np.linalg.solve(K, P2[:, 3])
    T_cam_from_rect = np.eye(4)
    T_cam_from_rect[:3, 3] = offset_m
    R0 = np.eye(4)
    R0[:3, :3] = matrices["R0_rect"]
    Tr = np.eye(4)
    Tr[:3, :4] = matrices["Tr_velo_to_cam"]
    T_cam_from_lidar = T_cam_from_rect @ R0 @ Tr
    intrinsics = CameraIntrinsics(
        int(width), int(height), float(fx), float(fy), float(cx), float(cy)
    )
    return Calibration(intrinsics, nominal_T_cam_from_world(), T_cam_from_lidar), offset_m


def nominal_T_cam_from_world(camera_height_m: float = KITTI_CAMERA_HEIGHT_M) -> np.ndarray:
    """4x4 float64: a level camera ``camera_height_m`` above the world origin."""
    T = np.eye(4)
    T[:3, :3] = _R_CAM_FROM_WORLD_LEVEL
    T[:3, 3] = -_R_CAM_FROM_WORLD_LEVEL @ np.array([0.0, 0.0, camera_height_m])
    return T
