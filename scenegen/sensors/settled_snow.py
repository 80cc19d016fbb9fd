"""Settled snow in the rendered image: where on each surface snow lies."""

from __future__ import annotations

import cv2
import numpy as np

from scenegen.effects import settled_cover_for_rate, snow_patch_field, snow_patch_level
from scenegen.sensors.pixel_grid import PixelGrid
from scenegen.world.types import SEMANTIC_IDS, World

# Settled snow: how much of the open-ground cover each surface holds (traffic keeps the
# road to slushy wheel tracks; people and animals carry none), and from what steepness up
# a surface holds snow at all (n . up).
SNOW_HOLD_BY_SEMANTIC = {"road": 0.35, "pedestrian": 0.0, "cyclist": 0.0, "animal": 0.0}
SNOW_HOLD_MIN_UP = 0.45
SNOW_HOLD_FULL_UP = 0.85
SNOW_EDGE_SOFTNESS = 0.3  # in units of the patch field: soft patch edges


def settled_snow_share(
    world: World,
    nodes: object,
    node_ids: np.ndarray,
    n_up: np.ndarray,
    valid: np.ndarray,
    depth: np.ndarray,
    grid: PixelGrid,
    T_world_from_cam: np.ndarray,
) -> np.ndarray:
    """Share float32 ``(H, W)`` in [0, 1] of each pixel's surface under settled snow.

    Open ground holds :func:`~scenegen.effects.settled_cover_for_rate` of its area, in
    patches fixed to the world (:func:`~scenegen.effects.snow_patch_field`); other surfaces
    hold it in proportion to how much they face up (tree crowns, roofs, car roofs) and to
    ``SNOW_HOLD_BY_SEMANTIC``.
    """
    cover = settled_cover_for_rate(world.snow_rate_mm_h)
    # Each surface is covered where the field lies below the level that leaves its share
    # (cover x hold) of the ground under snow.
    holds = sorted({1.0, *SNOW_HOLD_BY_SEMANTIC.values()})
    levels = {hold: _snow_level(cover * hold) for hold in holds}
    level_by_node = np.full(len(nodes.semantic_id), levels[1.0], np.float32)
    for semantic, hold in SNOW_HOLD_BY_SEMANTIC.items():
        level_by_node[nodes.semantic_id == SEMANTIC_IDS[semantic]] = levels[hold]
    level = np.take(level_by_node, node_ids)
    # The patch field is smooth across the image but, on ground seen at grazing angles,
    # not down it: evaluated at every second column and interpolated along the rows, half
    # the cost of the full-resolution field with its statistics kept.
    h, w = depth.shape
    z = np.where(valid[:, ::2], depth[:, ::2], np.float32(0.0))
    R, t = T_world_from_cam[:3, :3].astype(np.float32), T_world_from_cam[:3, 3]
    x_cam, y_cam = grid.a[:, ::2] * z, grid.b[:, ::2] * z
    x_world = R[0, 0] * x_cam + R[0, 1] * y_cam + R[0, 2] * z + np.float32(t[0])
    y_world = R[1, 0] * x_cam + R[1, 1] * y_cam + R[1, 2] * z + np.float32(t[1])
    field = cv2.resize(snow_patch_field(x_world, y_world), (w, h), interpolation=cv2.INTER_LINEAR)
    level -= field
    share = np.clip(0.5 + level / np.float32(2.0 * SNOW_EDGE_SOFTNESS), 0.0, 1.0)
    share *= np.clip((n_up - SNOW_HOLD_MIN_UP) / (SNOW_HOLD_FULL_UP - SNOW_HOLD_MIN_UP), 0, 1)
    share[~valid] = 0.0
    return share.astype(np.float32)


def _snow_level(share: float) -> float:
    """Field level for a covered ``share``; none and all lie past the soft edges."""
    if share <= 0.0:
        return -1.0 - SNOW_EDGE_SOFTNESS
    if share >= 1.0:
        return 1.0 + SNOW_EDGE_SOFTNESS
    return snow_patch_level(share)
