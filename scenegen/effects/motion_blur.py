"""Camera motion blur: what the image integrates while things move during the exposure.

Every pixel sees a surface point ``P`` (camera frame, from its depth) that moves relative
to the camera with the velocity of its object minus the camera's own. Over an exposure of
``exposure_s`` centred on the frame's time, ``P`` sweeps from ``P - v T / 2`` to
``P + v T / 2``; :func:`motion_flow_px` projects both ends, so an object moving across the
view at ``v`` m/s, ``Z`` metres away, smears over ``fx v T / Z`` pixels. Points at
infinity (sky) do not move under translation. :func:`apply_motion_blur` averages the image
along each pixel's own motion segment (a gather blur: a moving object's edge is smeared
over its own pixels, not over the background beside it). Labels stay those of the frame's
time: blur is an image effect.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MAX_BLUR_SAMPLES = 48
MIN_DEPTH_M = 0.05


def motion_flow_px(
    depth_m: np.ndarray,
    instance_ids: np.ndarray,
    fx: float,
    fy: float,
    cx: float,
    cy: float,
    relative_velocity_cam_m_s: np.ndarray,
    exposure_s: float,
) -> np.ndarray:
    """Float32 ``(H, W, 2)`` image motion (du, dv) in pixels over the exposure.

    ``relative_velocity_cam_m_s`` is ``(M, 3)``: row ``i`` the velocity, relative to the
    camera and in the camera frame (x right, y down, z forward), of the surface of
    instance ``i`` (row 0: the static world, i.e. minus the camera's velocity); instances
    beyond ``M`` count as static.
    """
    h, w = depth_m.shape
    table = np.asarray(relative_velocity_cam_m_s, np.float64).reshape(-1, 3)
    ids = np.asarray(instance_ids).astype(np.int64)
    ids = np.where((ids >= 0) & (ids < len(table)), ids, 0)
    velocity = table[ids]  # (H, W, 3)
    z = np.asarray(depth_m, np.float64)
    finite = np.isfinite(z) & (z > 0)
    z = np.where(finite, z, 1.0)
    u = np.arange(w, dtype=np.float64)[None, :] + 0.5
    v = np.arange(h, dtype=np.float64)[:, None] + 0.5
    point = np.stack([(u - cx) / fx * z, (v - cy) / fy * z, z], axis=-1)
    half = velocity * (exposure_s / 2.0)
    start, end = point - half, point + half
    z0 = np.maximum(start[..., 2], MIN_DEPTH_M)
    z1 = np.maximum(end[..., 2], MIN_DEPTH_M)
    du = fx * (end[..., 0] / z1 - start[..., 0] / z0)
    dv = fy * (end[..., 1] / z1 - start[..., 1] / z0)
    flow = np.stack([du, dv], axis=-1)
    flow[~finite] = 0.0
    return flow.astype(np.float32)


def apply_motion_blur(image: np.ndarray, flow_px: np.ndarray) -> np.ndarray:
    """``image`` (``(H, W, C)`` float) averaged along each pixel's motion segment
    ``[-flow/2, +flow/2]``; one sample per pixel of the longest motion (at most
    :data:`MAX_BLUR_SAMPLES`). Returns float32; an image without motion comes back as is."""
    longest = float(np.abs(flow_px).max()) if flow_px.size else 0.0
    if longest < 0.5:
        return np.asarray(image, np.float32)
    samples = min(MAX_BLUR_SAMPLES, math.ceil(longest) + 1)
    h, w = flow_px.shape[:2]
    grid_u, grid_v = np.meshgrid(
        np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32), indexing="xy"
    )
    source = np.ascontiguousarray(image, dtype=np.float32)
    total = np.zeros_like(source)
    for k in range(samples):
        a = k / (samples - 1) - 0.5
        map_u = grid_u + a * flow_px[..., 0]
        map_v = grid_v + a * flow_px[..., 1]
        sample = cv2.remap(
            source, map_u, map_v, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        total += sample.reshape(source.shape)
    return total / samples
