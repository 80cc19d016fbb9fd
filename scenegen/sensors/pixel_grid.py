"""Per-pixel camera ray geometry, shared by shading, shadows, textures and settled snow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenegen.frame import Calibration


@dataclass(frozen=True)
class PixelGrid:
    """Per-pixel ray geometry of one camera, computed once and reused.

    ``a, b``: float32 ``(H, W)`` normalised image coordinates ``(u + 0.5 - cx) / fx`` and
    ``(v + 0.5 - cy) / fy`` of each pixel centre, so the camera-frame ray is ``(a, b, 1)``;
    ``inv_ray_length``: float32 ``(H, W)`` ``1 / |(a, b, 1)|``; ``a_half, b_half``: ``a, b``
    at every second pixel (``[::2, ::2]``), contiguous, for the half-resolution lighting.
    """

    a: np.ndarray
    b: np.ndarray
    fx: float
    fy: float
    inv_ray_length: np.ndarray
    a_half: np.ndarray
    b_half: np.ndarray

    @staticmethod
    def of(calibration: Calibration) -> PixelGrid:
        k = calibration.intrinsics
        u = (np.arange(k.width, dtype=np.float32) + 0.5 - k.cx) / k.fx
        v = (np.arange(k.height, dtype=np.float32) + 0.5 - k.cy) / k.fy
        a = np.ascontiguousarray(np.broadcast_to(u[None, :], (k.height, k.width)))
        b = np.ascontiguousarray(np.broadcast_to(v[:, None], (k.height, k.width)))
        inv = (1.0 / np.sqrt(a**2 + b**2 + 1.0)).astype(np.float32)
        return PixelGrid(
            a,
            b,
            float(k.fx),
            float(k.fy),
            inv,
            np.ascontiguousarray(a[::2, ::2]),
            np.ascontiguousarray(b[::2, ::2]),
        )


@dataclass(frozen=True)
class SurfacePixels:
    """Full-resolution surface geometry, gathered only at the pixels asked for."""

    depth: np.ndarray
    grid: PixelGrid
    normals: tuple[np.ndarray, ...]
    ground: np.ndarray | None  # where the normal is the world's up axis
    up: np.ndarray

    def at(self, where: np.ndarray) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Camera-frame points and unit normals (each ``(N,)`` per axis) of the flat pixel
        indices ``where``."""
        z = np.take(self.depth, where)
        points = (np.take(self.grid.a, where) * z, np.take(self.grid.b, where) * z, z)
        normals = [np.take(c, where) for c in self.normals]
        if self.ground is not None:
            on_ground = np.take(self.ground, where)
            for c, value in zip(normals, self.up, strict=True):
                c[on_ground] = value
        return points, tuple(normals)
