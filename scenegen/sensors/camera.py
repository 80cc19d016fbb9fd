"""Camera rasterisation with pyrender: one exact pass, shading done afterwards.

pyrender's colour pass reads depth from a multisampled buffer (relative error up to a few
per cent) and spends most of its time in per-fragment lighting. Its segmentation pass is
fast and gives exact depth. So the camera renders *one* segmentation pass in which every
(object, material) node has a unique 24-bit colour, and everything else (albedo,
instance ids, semantics, normals, lighting) is looked up or computed from that G-buffer
in :mod:`scenegen.sensors.shading`. This is deferred shading, and it keeps the geometry
identical for the image, the depth and the labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenegen.frame import Calibration
from scenegen.sensors.gl import import_pyrender
from scenegen.world.types import MATERIALS, SEMANTIC_IDS, World

# OpenGL cameras look down -z with y up; ours look down +z with y down.
_GL_FROM_CAM = np.diag([1.0, -1.0, -1.0, 1.0])
Z_NEAR_M = 0.05
Z_FAR_M = 2000.0
GROUND_SEMANTICS = ("road", "sidewalk", "kerb", "terrain")


@dataclass
class NodeTable:
    """Per-node attributes, indexed by the node id seen in the G-buffer (0 = sky).

    All arrays have ``n_nodes + 1`` rows.
    """

    instance_id: np.ndarray  # int32
    semantic_id: np.ndarray  # int32
    albedo_lin: np.ndarray  # float32 (n, 3)
    specular: np.ndarray  # float32
    emissive_lin: np.ndarray  # float32 (n, 3), already switched on or off for the scene
    is_ground: np.ndarray  # bool: flat ground, normal is the world's up axis


@dataclass
class GBuffer:
    """What the rasteriser saw at each pixel.

    ``node_ids`` int32 ``(H, W)`` (0 = sky); ``depth_m`` float32 ``(H, W)`` z-depth in
    metres, ``inf`` for sky; ``nodes`` the lookup table for node ids.
    """

    node_ids: np.ndarray
    depth_m: np.ndarray
    nodes: NodeTable

    @property
    def instance_ids(self) -> np.ndarray:
        """int32 ``(H, W)`` instance id per pixel, 0 for scenery and sky."""
        return self.nodes.instance_id[self.node_ids]

    @property
    def semantic_ids(self) -> np.ndarray:
        """int32 ``(H, W)`` semantic id per pixel (``SEMANTIC_IDS``), 0 for sky."""
        return self.nodes.semantic_id[self.node_ids]


def build_node_table_and_meshes(
    world: World,
) -> tuple[NodeTable, list[tuple[np.ndarray, np.ndarray]]]:
    """Group the world's parts into render nodes.

    Labelled objects keep one node per (object, material, albedo); scenery is merged
    across objects by (semantic, material, albedo) so a street of buildings costs a few
    draw calls. Returns the table and, per node, ``(vertices_world float32 (V,3),
    faces uint32 (F,3))``.
    """
    groups: dict[tuple, list[tuple[np.ndarray, np.ndarray]]] = {}
    attrs: dict[tuple, tuple[int, str, str, tuple | None]] = {}
    for obj_index, obj in enumerate(world.objects):
        R = obj.pose_world[:3, :3]
        t = obj.pose_world[:3, 3]
        for part in obj.parts:
            if obj.instance_id > 0:
                key = ("obj", obj_index, part.material, part.albedo_rgb)
            else:
                key = ("scenery", obj.semantic, part.material, part.albedo_rgb)
            verts = np.asarray(part.mesh.vertices, dtype=np.float64) @ R.T + t
            groups.setdefault(key, []).append(
                (verts.astype(np.float32), np.asarray(part.mesh.faces, dtype=np.uint32))
            )
            attrs[key] = (obj.instance_id, obj.semantic, part.material, part.albedo_rgb)

    n = len(groups)
    instance_id = np.zeros(n + 1, np.int32)
    semantic_id = np.zeros(n + 1, np.int32)
    albedo = np.zeros((n + 1, 3), np.float32)
    specular = np.zeros(n + 1, np.float32)
    emissive = np.zeros((n + 1, 3), np.float32)
    is_ground = np.zeros(n + 1, bool)
    meshes: list[tuple[np.ndarray, np.ndarray]] = []
    for node_id, (key, pieces) in enumerate(groups.items(), start=1):
        inst, semantic, material_name, albedo_override = attrs[key]
        material = MATERIALS[material_name]
        instance_id[node_id] = inst
        semantic_id[node_id] = SEMANTIC_IDS.get(semantic, 0)
        albedo[node_id] = albedo_override if albedo_override is not None else material.albedo_rgb
        specular[node_id] = material.specular
        if world.is_night or not material.emissive_at_night_only:
            emissive[node_id] = material.emissive_rgb
        is_ground[node_id] = semantic in GROUND_SEMANTICS
        offset = 0
        all_v, all_f = [], []
        for v, f in pieces:
            all_v.append(v)
            all_f.append(f + offset)
            offset += len(v)
        meshes.append((np.concatenate(all_v), np.concatenate(all_f)))
    table = NodeTable(instance_id, semantic_id, albedo, specular, emissive, is_ground)
    return table, meshes


class CameraRenderer:
    """Owns one offscreen GL context; reuse it for every frame of a worker.

    Not thread-safe. Call :meth:`close` (or use as a context manager) to free the context.
    """

    def __init__(self) -> None:
        self._pyrender = import_pyrender()
        self._renderer = None
        self._size: tuple[int, int] | None = None

    def __enter__(self) -> CameraRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.delete()
            self._renderer = None

    def _ensure_renderer(self, width: int, height: int) -> None:
        if self._renderer is None or self._size != (width, height):
            self.close()
            self._renderer = self._pyrender.OffscreenRenderer(width, height)
            self._size = (width, height)
            # pyrender draws opaque nodes sorted by the distance of their pose, ties in the
            # order of a set of nodes (hash order). Coplanar surfaces then resolve
            # differently from run to run; drawing in node-id order makes frames
            # reproducible.
            inner = self._renderer._renderer
            inner._sorted_mesh_nodes = lambda scene: sorted(scene.mesh_nodes, key=lambda n: n.name)

    def render(self, world: World, calibration: Calibration) -> GBuffer:
        """Rasterise ``world`` as seen through ``calibration``'s camera."""
        pr = self._pyrender
        k = calibration.intrinsics
        self._ensure_renderer(k.width, k.height)
        table, meshes = build_node_table_and_meshes(world)
        if len(meshes) >= 1 << 24:
            raise ValueError("too many render nodes for 24-bit node ids")

        scene = pr.Scene(bg_color=(0.0, 0.0, 0.0, 0.0), ambient_light=(0.0, 0.0, 0.0))
        seg_map = {}
        for node_id, (verts, faces) in enumerate(meshes, start=1):
            prim = pr.Primitive(positions=verts, indices=faces, mode=pr.constants.GLTF.TRIANGLES)
            node = scene.add(pr.Mesh([prim]), name=f"{node_id:08d}")
            seg_map[node] = np.array(
                [node_id & 0xFF, (node_id >> 8) & 0xFF, (node_id >> 16) & 0xFF], np.uint8
            )
        camera = pr.IntrinsicsCamera(k.fx, k.fy, k.cx, k.cy, znear=Z_NEAR_M, zfar=Z_FAR_M)
        T_world_from_cam = np.linalg.inv(calibration.T_cam_from_world)
        scene.add(camera, pose=T_world_from_cam @ _GL_FROM_CAM)

        color, depth = self._renderer.render(scene, flags=pr.RenderFlags.SEG, seg_node_map=seg_map)
        rgb = np.asarray(color, dtype=np.int32)
        node_ids = rgb[..., 0] | (rgb[..., 1] << 8) | (rgb[..., 2] << 16)
        depth_m = np.asarray(depth, dtype=np.float32).copy()
        sky = depth_m <= 0
        depth_m[sky] = np.inf
        node_ids[sky] = 0
        return GBuffer(node_ids=node_ids.astype(np.int32), depth_m=depth_m, nodes=table)
