"""The warp ray-casting backend: NVIDIA warp's mesh BVH, on a CUDA GPU when there is one.

Needs the ``warp`` extra (``pip install 'scenegen[warp]'``). All triangles go into one
``warp.Mesh``; a face's table row comes from ``TriangleSoup.face_geometry`` and its normal
is computed here from the winding, as open3d does, so both backends return the same hits.
"""

from __future__ import annotations

import numpy as np

from scenegen.sensors.raycast_types import RayHits, TriangleSoup

try:
    import warp as wp
except ImportError as exc:  # the message names the fix; raised only when warp is chosen
    raise ImportError(
        "the warp LiDAR backend needs warp-lang: pip install 'scenegen[warp]' "
        "(or choose --lidar-backend open3d)"
    ) from exc

wp.config.log_level = wp.LOG_ERROR  # warp announces itself and every kernel load otherwise
_FAR_M = 1.0e7


@wp.kernel
def _first_hits(
    mesh: wp.uint64,
    rays: wp.array2d(dtype=wp.float32),
    t_out: wp.array(dtype=wp.float32),
    face_out: wp.array(dtype=wp.int32),
):
    i = wp.tid()
    origin = wp.vec3(rays[i, 0], rays[i, 1], rays[i, 2])
    direction = wp.vec3(rays[i, 3], rays[i, 4], rays[i, 5])
    hit = wp.mesh_query_ray(mesh, origin, direction, _FAR_M)
    if hit.result:
        t_out[i] = hit.t
        face_out[i] = hit.face
    else:
        t_out[i] = wp.inf
        face_out[i] = -1


@wp.kernel
def _any_hits(
    mesh: wp.uint64,
    rays: wp.array2d(dtype=wp.float32),
    max_t: float,
    out: wp.array(dtype=wp.int32),
):
    i = wp.tid()
    origin = wp.vec3(rays[i, 0], rays[i, 1], rays[i, 2])
    direction = wp.vec3(rays[i, 3], rays[i, 4], rays[i, 5])
    out[i] = wp.where(wp.mesh_query_ray_anyhit(mesh, origin, direction, max_t), 1, 0)


def default_device() -> str:
    """``cuda:0`` when warp finds a CUDA GPU, else ``cpu``."""
    wp.init()
    return "cuda:0" if wp.is_cuda_available() else "cpu"


class WarpBackend:
    """One warp mesh of every triangle; ``device`` defaults to :func:`default_device`."""

    def __init__(self, soup: TriangleSoup, no_geometry: int, device: str | None = None) -> None:
        self.device = device or default_device()
        # Tables with one extra last row for a miss (face -1 reads it).
        self._face_geometry = np.append(soup.face_geometry, np.int32(no_geometry))
        v = soup.vertices.astype(np.float64)
        tri = v[soup.faces] if len(soup.faces) else np.zeros((0, 3, 3))
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        normals = np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)
        self._face_normals = np.concatenate([normals, np.zeros((1, 3))]).astype(np.float32)
        self._mesh = None
        if len(soup.faces):
            self._points = wp.array(soup.vertices, dtype=wp.vec3, device=self.device)
            self._indices = wp.array(soup.faces.reshape(-1), dtype=wp.int32, device=self.device)
            self._mesh = wp.Mesh(points=self._points, indices=self._indices)

    def cast(self, rays: np.ndarray, n_threads: int) -> RayHits:
        n = len(rays)
        if self._mesh is None or n == 0:
            miss = np.full(n, len(self._face_geometry) - 1)
            return RayHits(
                np.full(n, np.inf, np.float32),
                self._face_geometry[miss],
                np.zeros((n, 3), np.float32),
            )
        rays_dev = wp.array(rays, dtype=wp.float32, device=self.device)
        t_dev = wp.empty(n, dtype=wp.float32, device=self.device)
        face_dev = wp.empty(n, dtype=wp.int32, device=self.device)
        wp.launch(
            _first_hits,
            dim=n,
            inputs=[self._mesh.id, rays_dev],
            outputs=[t_dev, face_dev],
            device=self.device,
        )
        face = face_dev.numpy()
        return RayHits(t_dev.numpy(), self._face_geometry[face], self._face_normals[face])

    def occluded(self, rays: np.ndarray, max_distance_m: float) -> np.ndarray:
        n = len(rays)
        if self._mesh is None or n == 0:
            return np.zeros(n, bool)
        rays_dev = wp.array(rays, dtype=wp.float32, device=self.device)
        out = wp.empty(n, dtype=wp.int32, device=self.device)
        wp.launch(
            _any_hits,
            dim=n,
            inputs=[self._mesh.id, rays_dev, float(max_distance_m)],
            outputs=[out],
            device=self.device,
        )
        return out.numpy().astype(bool)
