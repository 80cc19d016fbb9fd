"""Ray casting against the world's meshes with open3d (Embree underneath).

Built once per world; used for the camera's sun shadows. Rays are cast in the world frame.
"""

from __future__ import annotations

import numpy as np
import open3d as o3d

from scenegen.world.types import World


class WorldRaycaster:
    """All of a world's triangles in one open3d ``RaycastingScene``.

    ``geometry_object_index[g]`` is the index into ``world.objects`` of geometry ``g``.
    """

    def __init__(self, world: World) -> None:
        self.scene = o3d.t.geometry.RaycastingScene()
        object_index: list[int] = []
        for i, obj in enumerate(world.objects):
            R = obj.pose_world[:3, :3]
            t = obj.pose_world[:3, 3]
            for part in obj.parts:
                verts = (np.asarray(part.mesh.vertices, np.float64) @ R.T + t).astype(np.float32)
                faces = np.asarray(part.mesh.faces, np.uint32)
                if len(faces) == 0:
                    continue
                geometry_id = self.scene.add_triangles(
                    o3d.core.Tensor(verts), o3d.core.Tensor(faces)
                )
                if geometry_id != len(object_index):
                    raise RuntimeError("open3d returned geometry ids out of order")
                object_index.append(i)
        self.geometry_object_index = np.asarray(object_index, dtype=np.int64)

    def cast(
        self, origins_world: np.ndarray, directions_world: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Cast ``(N, 3)`` rays; directions need not be unit length.

        Returns ``t_hit`` float32 (N,) in units of the direction's length (``inf`` on a
        miss), ``geometry_ids`` uint32 (N,), ``primitive_normals`` float32 (N, 3) world
        frame, ``primitive_ids`` uint32 (N,).
        """
        rays = np.concatenate([origins_world, directions_world], axis=1).astype(np.float32)
        result = self.scene.cast_rays(o3d.core.Tensor(rays))
        return {
            "t_hit": result["t_hit"].numpy(),
            "geometry_ids": result["geometry_ids"].numpy(),
            "primitive_normals": result["primitive_normals"].numpy(),
            "primitive_ids": result["primitive_ids"].numpy(),
        }

    def occluded(
        self, origins_world: np.ndarray, directions_world: np.ndarray, max_distance_m: float
    ) -> np.ndarray:
        """Boolean (N,): does anything lie within ``max_distance_m`` along each unit ray."""
        rays = np.concatenate([origins_world, directions_world], axis=1).astype(np.float32)
        hit = self.scene.test_occlusions(o3d.core.Tensor(rays), tfar=float(max_distance_m))
        return hit.numpy().astype(bool)
