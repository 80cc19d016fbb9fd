"""Ray casting against the world's meshes, with interchangeable backends.

Built once per world and shared by the camera's sun shadows and the LiDAR. Rays are cast
in the world frame. Per-geometry tables carry what a hit needs to know: the object's
instance id and semantic id, the material's LiDAR reflectivity and whether it is glass.

Backends (``RAYCAST_BACKENDS``): ``open3d`` (Embree on the CPU, the default) and ``warp``
(NVIDIA warp's BVH, on a CUDA GPU when there is one, else on the CPU; needs the ``warp``
extra). Both answer the same questions with the same types (``raycast_types``).
"""

from __future__ import annotations

import numpy as np

from scenegen.sensors.raycast_types import RaycastBackend, RayHits, TriangleSoup
from scenegen.world.types import MATERIALS, SEMANTIC_IDS, World

RAYCAST_BACKENDS: tuple[str, ...] = ("open3d", "warp")
__all__ = ["RAYCAST_BACKENDS", "RayHits", "WorldRaycaster"]


class WorldRaycaster:
    """All of a world's triangles in one ray-casting scene of the chosen ``backend``.

    Tables indexed by geometry id, with one extra last row for "no geometry" so that
    lookups for a miss need no branch: ``instance`` and ``semantic`` int32,
    ``reflectivity`` float32, ``returns`` bool (False for glass and for no geometry).
    """

    def __init__(self, world: World, backend: str = "open3d") -> None:
        if backend not in RAYCAST_BACKENDS:
            raise ValueError(
                f"ray-casting backend {backend!r}: expected one of {', '.join(RAYCAST_BACKENDS)}"
            )
        instance, semantic, reflectivity, glass = [], [], [], []
        vertices, faces, face_geometry = [], [], []
        vertex_starts = [0]
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
                part_faces = np.asarray(part.mesh.faces, dtype=np.int64)
                if len(part_faces) == 0:
                    continue
                verts = (np.asarray(part.mesh.vertices, np.float64) @ R.T + t).astype(np.float32)
                vertices.append(verts)
                faces.append(part_faces + vertex_starts[-1])
                face_geometry.append(np.full(len(part_faces), len(instance), np.int32))
                vertex_starts.append(vertex_starts[-1] + len(verts))
                material = MATERIALS[part.material]
                instance.append(obj.instance_id)
                semantic.append(SEMANTIC_IDS[obj.semantic])
                reflectivity.append(material.lidar_reflectivity)
                glass.append(material.glass)
        self.instance = np.asarray([*instance, 0], np.int32)
        self.semantic = np.asarray([*semantic, 0], np.int32)
        self.reflectivity = np.asarray([*reflectivity, 0.0], np.float32)
        self.returns = ~np.asarray([*glass, True], bool)
        self.backend_name = backend
        soup = TriangleSoup(
            vertices=np.concatenate(vertices) if vertices else np.zeros((0, 3), np.float32),
            faces=(np.concatenate(faces) if faces else np.zeros((0, 3))).astype(np.int32),
            face_geometry=(
                np.concatenate(face_geometry) if face_geometry else np.zeros(0, np.int32)
            ),
            vertex_starts=np.asarray(vertex_starts, np.int64),
        )
        self.backend: RaycastBackend
        if backend == "warp":
            from scenegen.sensors.raycast_warp import WarpBackend

            self.backend = WarpBackend(soup, no_geometry=len(self.instance) - 1)
        else:
            from scenegen.sensors.raycast_open3d import Open3dBackend

            self.backend = Open3dBackend(soup, no_geometry=len(self.instance) - 1)

    def cast(self, rays: np.ndarray, n_threads: int = 0) -> RayHits:
        """First hits of ``rays`` float32 ``(N, 6)`` (world-frame origins, unit directions);
        ``n_threads`` = 0 uses every core (the open3d backend; warp picks its own)."""
        return self.backend.cast(np.ascontiguousarray(rays, np.float32), n_threads)

    def occluded(
        self, origins_world: np.ndarray, directions_world: np.ndarray, max_distance_m: float
    ) -> np.ndarray:
        """Boolean (N,): does anything lie within ``max_distance_m`` along each unit ray."""
        rays = np.concatenate([origins_world, directions_world], axis=1).astype(np.float32)
        return self.backend.occluded(rays, float(max_distance_m))
