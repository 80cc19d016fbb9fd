"""Sun shadows: which pixels see the sun, by shadow rays cast through the world.

Rays are cast at half resolution, then again at full resolution at every pixel where the
coarse answer changes between neighbours, so shadow edges are exact to the pixel (no
two-pixel stairs) while the cost stays that of the half-resolution pass plus the edges.
"""

from __future__ import annotations

import cv2
import numpy as np

from scenegen.sensors.pixel_grid import SurfacePixels
from scenegen.sensors.raycast import WorldRaycaster

SHADOW_MAX_DISTANCE_M = 150.0


def occluded_towards_sun(
    points: tuple[np.ndarray, ...],
    normals: tuple[np.ndarray, ...],
    sun_dir_world: np.ndarray,
    T_world_from_cam: np.ndarray,
    raycaster: WorldRaycaster,
) -> np.ndarray:
    """bool ``(N,)``: a shadow ray from each camera-frame point (``(N,)`` per axis) is
    blocked before ``SHADOW_MAX_DISTANCE_M``."""
    # Start a little off the surface; rotate to the world by hand (a BLAS product of an
    # (N, 3) array with a 3x3 matrix spins up threads and costs more than the rays).
    q = [
        (p + n * np.float32(0.03)).astype(np.float64) for p, n in zip(points, normals, strict=True)
    ]
    R, t = T_world_from_cam[:3, :3], T_world_from_cam[:3, 3]
    offset = t + sun_dir_world * 0.02
    origins = np.empty((len(q[0]), 3), np.float64)
    for i in range(3):
        origins[:, i] = R[i, 0] * q[0] + R[i, 1] * q[1] + R[i, 2] * q[2] + offset[i]
    dirs = np.broadcast_to(sun_dir_world.astype(np.float32), origins.shape)
    return raycaster.occluded(origins, dirs, SHADOW_MAX_DISTANCE_M)


def sun_visibility(
    points_half: tuple[np.ndarray, ...],
    normals_half: tuple[np.ndarray, ...],
    lit_half: np.ndarray,
    full: SurfacePixels,
    lit: np.ndarray,
    sun_dir_world: np.ndarray,
    T_world_from_cam: np.ndarray,
    raycaster: WorldRaycaster,
) -> np.ndarray:
    """1 where the sun is visible, 0 in shadow, float32 ``(H, W)``.

    Rays are cast at the half-resolution pixels of ``points_half`` where ``lit_half``;
    wherever that coarse answer changes between neighbours (a shadow's edge), the
    full-resolution pixels of ``full`` (where ``lit``) are cast again, so the edges are exact to the pixel
    instead of two-pixel stairs, at the cost of the edge pixels only.
    """
    h, w = lit.shape
    vis_sub = np.ones(lit_half.shape, np.float32)
    if lit_half.any():
        blocked = occluded_towards_sun(
            tuple(p[lit_half] for p in points_half),
            tuple(n[lit_half] for n in normals_half),
            sun_dir_world,
            T_world_from_cam,
            raycaster,
        )
        vis_sub[lit_half] = np.where(blocked, 0.0, 1.0)
    vis = cv2.resize(vis_sub, (w, h), interpolation=cv2.INTER_LINEAR)
    # Edge pixels: the bilinear answer is neither 0 nor 1 (a dilation catches the pixels
    # next to a coarse sample that the interpolation rounds to one side).
    mixed = ((vis > 0.0) & (vis < 1.0)).view(np.uint8)
    edge = cv2.dilate(mixed, np.ones((3, 3), np.uint8)).view(bool) & lit
    where = np.flatnonzero(edge)
    if where.size:
        blocked = occluded_towards_sun(
            *full.at(where),
            sun_dir_world,
            T_world_from_cam,
            raycaster,
        )
        np.put(vis, where, np.where(blocked, np.float32(0.0), np.float32(1.0)))
    return vis
