"""Ray casting against the world's meshes with open3d (Embree underneath).

Built once per world and shared by the camera's sun shadows and the LiDAR. Rays are cast
in the world frame. Per-geometry tables carry what a hit needs to know: the object's
instance id and semantic id, the material's LiDAR reflectivity and whether it is glass.
"""

from __future__ import annotations

import numpy as np
import open3d as o3d

from scenegen.world.types import MATERIALS, SEMANTIC_IDS, World


class WorldRaycaster:
    """All of a world's triangles in one open3d ``RaycastingScene``.

    Tables indexed by geometry id, with one extra last row for "no geometry" so that
    lookups with open3d's invalid id (clamped) need no branch: ``instance`` and
    ``semantic`` int32,
    ``reflectivity`` float32, ``returns`` bool (False for glass and for no geometry).
    """

    def __init__(self, world: World) -> None:
        self.scene = o3d.t.geometry.RaycastingScene()
        instance, semantic, reflectivity, glass = [], [], [], []
        for obj in world.objects:
            if obj.semantic not in SEMANTIC_IDS:
                raise ValueError(
                    f"object {obj.name!r} has semantic {obj.semantic!r}; expected one of "
                    f"{sorted(SEMANTIC_IDS)}"
                )
            R = obj.pose_world[:3, :3]
            t = obj.pose_world[:3, 3]
            for part in obj.parts:
                if part.material not in MATERIALS:
                    raise ValueError(
                        f"object {obj.name!r} uses material {part.material!r}; expected one "
                        f"of {sorted(MATERIALS)}"
                    )
                faces = np.ascontiguousarray(part.mesh.faces, dtype=np.uint32)
                if len(faces) == 0:
                    continue
                verts = (np.asarray(part.mesh.vertices, np.float64) @ R.T + t).astype(np.float32)
                geometry_id = self.scene.add_triangles(
                    o3d.core.Tensor(np.ascontiguousarray(verts)), o3d.core.Tensor(faces)
                )
                if geometry_id != len(instance):
                    raise RuntimeError("open3d returned geometry ids out of order")
                material = MATERIALS[part.material]
                instance.append(obj.instance_id)
                semantic.append(SEMANTIC_IDS[obj.semantic])
                reflectivity.append(material.lidar_reflectivity)
                glass.append(material.glass)
        self.instance = np.asarray([*instance, 0], np.int32)
        self.semantic = np.asarray([*semantic, 0], np.int32)
        self.reflectivity = np.asarray([*reflectivity, 0.0], np.float32)
        self.returns = ~np.asarray([*glass, True], bool)

    def clamp_geometry_ids(self, geometry_ids: np.ndarray) -> np.ndarray:
        """Map open3d's invalid id (a miss) to the tables' extra last row."""
        return np.minimum(geometry_ids, np.uint32(len(self.instance) - 1))

    def occluded(
        self, origins_world: np.ndarray, directions_world: np.ndarray, max_distance_m: float
    ) -> np.ndarray:
        """Boolean (N,): does anything lie within ``max_distance_m`` along each unit ray."""
        rays = np.concatenate([origins_world, directions_world], axis=1).astype(np.float32)
        hit = self.scene.test_occlusions(o3d.core.Tensor(rays), tfar=float(max_distance_m))
        return hit.numpy().astype(bool)
