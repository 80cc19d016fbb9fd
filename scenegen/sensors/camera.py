"""Camera rasterisation: one exact G-buffer pass, shading done afterwards.

A lit colour pass spends most of its time in per-fragment lighting and reads depth from
a multisampled buffer. So the camera rasterises *one* pass (:mod:`scenegen.sensors.gl_gbuffer`)
that records, per pixel, which (object, material) node is visible and its exact z-depth;
everything else (albedo, instance ids, semantics, normals, lighting) is looked up or
computed from that G-buffer in :mod:`scenegen.sensors.shading`. This is deferred
shading, and it keeps the geometry identical for the image, the depth and the labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenegen.frame import Calibration
from scenegen.sensors.gl import GLContext, import_pyrender
from scenegen.sensors.gl_gbuffer import GBufferPass, clip_from_cam
from scenegen.world.types import GROUND_SEMANTICS, MATERIALS, SEMANTIC_IDS, World

Z_NEAR_M = 0.05
Z_FAR_M = 2000.0


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
    texture: tuple[str | None, ...] = ()  # per node: procedural texture name (None: uniform)


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
        return np.take(self.nodes.instance_id, self.node_ids)  # faster than fancy indexing

    @property
    def semantic_ids(self) -> np.ndarray:
        """int32 ``(H, W)`` semantic id per pixel (``SEMANTIC_IDS``), 0 for sky."""
        return np.take(self.nodes.semantic_id, self.node_ids)


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
    texture: list[str | None] = [None] * (n + 1)
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
        texture[node_id] = material.texture
        offset = 0
        all_v, all_f = [], []
        for v, f in pieces:
            all_v.append(v)
            all_f.append(f + offset)
            offset += len(v)
        meshes.append((np.concatenate(all_v), np.concatenate(all_f)))
    table = NodeTable(
        instance_id, semantic_id, albedo, specular, emissive, is_ground, tuple(texture)
    )
    return table, meshes


def pack_meshes(
    meshes: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One vertex buffer for all nodes: ``(positions float32 (V, 3), node id uint32 (V,),
    triangles uint32 (F, 3))``, node ``i`` (1-based) being ``meshes[i - 1]``; triangles stay
    in node order, so drawing them in one call keeps the node-id draw order."""
    if not meshes:
        return np.zeros((0, 3), np.float32), np.zeros(0, np.uint32), np.zeros((0, 3), np.uint32)
    counts = np.array([len(v) for v, _ in meshes], np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.uint32)
    positions = np.concatenate([v for v, _ in meshes]).astype(np.float32, copy=False)
    node_ids = np.repeat(np.arange(1, len(meshes) + 1, dtype=np.uint32), counts)
    triangles = np.concatenate([f + off for (_, f), off in zip(meshes, offsets, strict=True)])
    return positions, node_ids, triangles.astype(np.uint32, copy=False)


class CameraRenderer:
    """Owns one offscreen GL context; reuse it for every frame of a worker.

    Not thread-safe. Call :meth:`close` (or use as a context manager) to free the context.
    """

    def __init__(self, egl_device: int | None = None) -> None:
        import_pyrender()
        self.egl_device = egl_device  # None: the GL platform's default device
        self._context: GLContext | None = None
        self._pass = None
        self._size: tuple[int, int] | None = None

    def __enter__(self) -> CameraRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._context is not None:
            self._context.make_current()
            if self._pass is not None:
                self._pass.delete()
            self._context.delete()
            self._context = None
            self._pass = None
            self._size = None

    def _ensure_context(self, width: int, height: int) -> GBufferPass:
        if self._context is None or self._size != (width, height):
            self.close()
            self._context = GLContext(width, height, self.egl_device)
            self._pass = GBufferPass(width, height)
            self._size = (width, height)
        self._context.make_current()
        return self._pass

    def render(self, world: World, calibration: Calibration) -> GBuffer:
        """Rasterise ``world`` as seen through ``calibration``'s camera."""
        k = calibration.intrinsics
        gbuffer_pass = self._ensure_context(k.width, k.height)
        table, meshes = build_node_table_and_meshes(world)
        if len(meshes) >= 1 << 24:
            raise ValueError("too many render nodes for 24-bit node ids")
        positions, vertex_node_ids, triangles = pack_meshes(meshes)
        P = clip_from_cam(k.fx, k.fy, k.cx, k.cy, k.width, k.height, Z_NEAR_M, Z_FAR_M)
        node_ids, depth_m = gbuffer_pass.draw(
            positions, vertex_node_ids, triangles, P @ calibration.T_cam_from_world
        )
        return GBuffer(node_ids=node_ids, depth_m=depth_m, nodes=table)
