"""Object labels from what the camera saw.

* 2D box: tight around the object's *visible* pixels in the instance image.
* truncation: share of the projected extent (the bounding box of the object's projected,
  near-plane-clipped mesh) that lies outside the image.
* occlusion: ``1 - visible / unoccluded`` where *unoccluded* is the number of in-image
  pixels the object would cover if nothing were in front of it (its own triangles
  rasterised alone); KITTI levels 0 (< 10 % hidden), 1 (< 50 %), 2 (< 80 %), 3 (more).
* 3D box: the object's box in KITTI camera coordinates; alpha, distance, difficulty.
* labelled or ignored: objects with fewer than ``min_visible_pixels`` visible pixels, a box
  narrower or lower than :data:`MIN_BOX_SIDE_PX` or more than :data:`MAX_HIDDEN_SHARE`
  hidden are returned apart, as ignore regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from scenegen.frame import Box3D, Calibration, ObjectLabel
from scenegen.world.types import World, WorldObject

NEAR_CLIP_M = 0.1
# An object is labelled only when its box is at least this many pixels wide and high and
# no more than this share of it is hidden; otherwise it is an ignore region (KITTI
# DontCare, COCO iscrowd), so that detectors are neither taught nor scored on slivers.
MIN_BOX_SIDE_PX = 4
MAX_HIDDEN_SHARE = 0.95


def occlusion_level(hidden_share: float) -> int:
    """KITTI occlusion level for a hidden share in [0, 1]."""
    if hidden_share < 0.10:
        return 0
    if hidden_share < 0.50:
        return 1
    if hidden_share < 0.80:
        return 2
    return 3


def kitti_difficulty(height_px: float, occlusion_lvl: int, truncation: float) -> str:
    """KITTI benchmark difficulty (easy / moderate / hard), ``unknown`` if none applies."""
    if height_px >= 40 and occlusion_lvl <= 0 and truncation <= 0.15:
        return "easy"
    if height_px >= 25 and occlusion_lvl <= 1 and truncation <= 0.30:
        return "moderate"
    if height_px >= 25 and occlusion_lvl <= 2 and truncation <= 0.50:
        return "hard"
    return "unknown"


def wrap_angle(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)


def box3d_in_camera(obj: WorldObject, calibration: Calibration) -> Box3D:
    """The object's tight box in KITTI camera coordinates.

    ``rotation_y`` is exact when the camera is level (pitch 0); for a pitched camera it is
    the heading projected onto the camera's x-z plane.
    """
    T = calibration.T_cam_from_world @ obj.pose_world
    bottom_centre = T[:3, 3]
    heading_cam = T[:3, 0]  # object's length axis in the camera frame
    rotation_y = float(np.arctan2(-heading_cam[2], heading_cam[0]))
    length, width, height = obj.dimensions_m
    return Box3D(
        h=float(height),
        w=float(width),
        l=float(length),
        x=float(bottom_centre[0]),
        y=float(bottom_centre[1]),
        z=float(bottom_centre[2]),
        rotation_y=wrap_angle(rotation_y),
    )


def _clip_crossing_triangles(tris_cam: np.ndarray, z_near: float) -> list[np.ndarray]:
    """Clip triangles that cross ``z = z_near`` (few per object) to polygons in front."""
    polys = []
    for tri in tris_cam:
        poly = []
        for i in range(3):
            a, b = tri[i], tri[(i + 1) % 3]
            a_in, b_in = a[2] >= z_near, b[2] >= z_near
            if a_in:
                poly.append(a)
            if a_in != b_in:
                s = (z_near - a[2]) / (b[2] - a[2])
                poly.append(a + s * (b - a))
        if len(poly) >= 3:
            polys.append(np.asarray(poly))
    return polys


@dataclass
class Projection:
    """An object's triangles in pixels: ``triangles_px`` float64 ``(T, 3, 2)`` for those
    wholly in front of the near plane, ``clipped_px`` polygons for those cut by it, and
    the bounding box of all of them ``[x1, y1, x2, y2]``."""

    triangles_px: np.ndarray
    clipped_px: list[np.ndarray]
    extent: np.ndarray


def project_object(obj: WorldObject, calibration: Calibration) -> Projection | None:
    """Project the object's triangles (clipped at the near plane) to pixels.

    ``None`` when the object is entirely behind the camera.
    """
    T = calibration.T_cam_from_world @ obj.pose_world
    tris = [
        (np.asarray(p.mesh.vertices, np.float64) @ T[:3, :3].T + T[:3, 3])[np.asarray(p.mesh.faces)]
        for p in obj.parts
    ]
    if not tris:
        return None
    tris_cam = np.concatenate(tris)
    inside = tris_cam[..., 2] >= NEAR_CLIP_M
    whole = tris_cam[inside.all(axis=1)]
    crossing = tris_cam[inside.any(axis=1) & ~inside.all(axis=1)]
    k = calibration.intrinsics
    fxy = np.array([k.fx, k.fy])
    cxy = np.array([k.cx, k.cy])
    tri_px = whole[..., :2] / whole[..., 2:3] * fxy + cxy
    clipped = [
        p[:, :2] / p[:, 2:3] * fxy + cxy for p in _clip_crossing_triangles(crossing, NEAR_CLIP_M)
    ]
    pts = [tri_px.reshape(-1, 2), *clipped]
    allpts = np.concatenate(pts)
    if len(allpts) == 0:
        return None
    extent = np.array([*allpts.min(axis=0), *allpts.max(axis=0)])
    return Projection(tri_px, clipped, extent)


def inside_share(proj: Projection, width: int, height: int) -> float:
    """Share of the projected extent inside the ``width`` x ``height`` image, 0..1."""
    ex = np.clip(proj.extent, -1e6, 1e6)
    full_area = max((ex[2] - ex[0]) * (ex[3] - ex[1]), 1e-9)
    ix1, iy1 = max(ex[0], 0.0), max(ex[1], 0.0)
    ix2, iy2 = min(ex[2], float(width)), min(ex[3], float(height))
    inside_area = max(ix2 - ix1, 0.0) * max(iy2 - iy1, 0.0)
    return float(np.clip(inside_area / full_area, 0.0, 1.0))


def _unoccluded_pixels(proj: Projection, width: int, height: int) -> int:
    """In-image pixels the object covers alone (pixel-centre sampling), rasterised in a
    window around its extent only."""
    x0 = int(np.clip(np.floor(proj.extent[0]), 0, width))
    y0 = int(np.clip(np.floor(proj.extent[1]), 0, height))
    x1 = int(np.clip(np.ceil(proj.extent[2]), 0, width))
    y1 = int(np.clip(np.ceil(proj.extent[3]), 0, height))
    if x1 <= x0 or y1 <= y0:
        return 0
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    limit = 4.0 * max(width, height)
    shift = 4  # fractional bits; cv2 samples at integer coordinates, our centres at i + 0.5
    offset = np.array([x0 + 0.5, y0 + 0.5])
    if len(proj.triangles_px):
        tri = np.clip(proj.triangles_px - offset, -limit, limit)
        cv2.fillPoly(mask, np.round(tri * (1 << shift)).astype(np.int32), 1, cv2.LINE_8, shift)
    if proj.clipped_px:
        polys = [
            np.round(np.clip(p - offset, -limit, limit) * (1 << shift)).astype(np.int32)
            for p in proj.clipped_px
        ]
        cv2.fillPoly(mask, polys, 1, cv2.LINE_8, shift)
    return int(np.count_nonzero(mask))


def compute_labels(
    world: World,
    instance_ids: np.ndarray,
    calibration: Calibration,
    min_visible_pixels: int,
) -> tuple[list[ObjectLabel], list[ObjectLabel]]:
    """Labels of every labelled object the camera sees, and the ignored ones.

    Returns ``(labelled, ignored)``, each sorted by instance id. An object is ignored when
    it has fewer than ``min_visible_pixels`` visible pixels, a box side under
    :data:`MIN_BOX_SIDE_PX` or more than :data:`MAX_HIDDEN_SHARE` of it hidden; ignored
    objects carry the same fields (box of their visible pixels, occlusion, ...).
    """
    h, w = instance_ids.shape
    n_ids = max((o.instance_id for o in world.objects), default=0) + 1
    counts = np.bincount(instance_ids.ravel(), minlength=n_ids)
    # One pass over the image for every object's bounding slices.
    slices = ndimage.find_objects(instance_ids, max_label=n_ids - 1)
    labels: list[ObjectLabel] = []
    ignored: list[ObjectLabel] = []
    for obj in sorted(world.labelled(), key=lambda o: o.instance_id):
        visible = int(counts[obj.instance_id]) if obj.instance_id < len(counts) else 0
        if visible == 0:
            continue
        label = _label_of(obj, slices[obj.instance_id - 1], visible, calibration, w, h)
        if label is None:
            continue
        box_w, box_h = label.box_2d[2] - label.box_2d[0], label.box_2d[3] - label.box_2d[1]
        too_small = visible < min_visible_pixels or min(box_w, box_h) < MIN_BOX_SIDE_PX
        (ignored if too_small or label.occlusion > MAX_HIDDEN_SHARE else labels).append(label)
    return labels, ignored


def _label_of(
    obj: WorldObject,
    box_slices: tuple[slice, slice],
    visible: int,
    calibration: Calibration,
    w: int,
    h: int,
) -> ObjectLabel | None:
    rows, cols = box_slices
    box_2d = np.array([cols.start, rows.start, cols.stop, rows.stop], dtype=np.float32)
    proj = project_object(obj, calibration)
    if proj is None:
        return None
    truncation = 1.0 - inside_share(proj, w, h)
    unoccluded = max(_unoccluded_pixels(proj, w, h), visible)
    hidden = float(np.clip(1.0 - visible / unoccluded, 0.0, 1.0))
    level = occlusion_level(hidden)
    box3d = box3d_in_camera(obj, calibration)
    centre_cam = np.array([box3d.x, box3d.y - box3d.h / 2, box3d.z])
    alpha = wrap_angle(box3d.rotation_y - float(np.arctan2(box3d.x, box3d.z)))
    return ObjectLabel(
        class_name=obj.class_name or "debris",
        instance_id=obj.instance_id,
        box_2d=box_2d,
        box_3d=box3d,
        alpha=alpha,
        truncation=truncation,
        occlusion=hidden,
        occlusion_level=level,
        distance_m=float(np.linalg.norm(centre_cam)),
        difficulty=kitti_difficulty(float(box_2d[3] - box_2d[1]), level, truncation),
        event=obj.event,
        visible_pixels=visible,
    )
