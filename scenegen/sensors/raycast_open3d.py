"""The open3d ray-casting backend (Embree underneath): one ``RaycastingScene`` per world."""

from __future__ import annotations

import numpy as np
import open3d as o3d

from scenegen.sensors.raycast_types import RayHits, TriangleSoup


class Open3dBackend:
    """One open3d geometry per table row, so that open3d's geometry ids are the rows."""

    def __init__(self, soup: TriangleSoup, no_geometry: int) -> None:
        self.scene = o3d.t.geometry.RaycastingScene()
        self._no_geometry = np.uint32(no_geometry)
        face_bounds = np.searchsorted(soup.face_geometry, np.arange(no_geometry + 1))
        for row in range(no_geometry):
            first, last = int(soup.vertex_starts[row]), int(soup.vertex_starts[row + 1])
            verts = np.ascontiguousarray(soup.vertices[first:last])
            faces = soup.faces[face_bounds[row] : face_bounds[row + 1]]
            local = np.ascontiguousarray(faces - first, dtype=np.uint32)
            geometry_id = self.scene.add_triangles(o3d.core.Tensor(verts), o3d.core.Tensor(local))
            if geometry_id != row:
                raise RuntimeError("open3d returned geometry ids out of order")

    def cast(self, rays: np.ndarray, n_threads: int) -> RayHits:
        hits = self.scene.cast_rays(o3d.core.Tensor.from_numpy(rays), nthreads=n_threads)
        # open3d's "no geometry" id (INVALID_ID, the largest uint32) clamps to the last row.
        geometry = np.minimum(hits["geometry_ids"].numpy(), self._no_geometry)
        return RayHits(hits["t_hit"].numpy(), geometry, hits["primitive_normals"].numpy())

    def occluded(self, rays: np.ndarray, max_distance_m: float) -> np.ndarray:
        hit = self.scene.test_occlusions(o3d.core.Tensor(rays), tfar=max_distance_m)
        return hit.numpy().astype(bool)
