"""The procedural textures of :mod:`scenegen.sensors.textures`, in torch.

Used by the torch shading backend (:mod:`scenegen.sensors.shading_torch`). The noise tile
is the same constant tile, looked up bilinearly with a wrapping border as OpenCV's
``remap`` does (``INTER_LINEAR``, ``BORDER_WRAP``, float maps: exact weights in OpenCV 5,
coordinates rounded to 1/32 texel in OpenCV 4; :func:`remap_subpixels` tells which). Every other step is the
numpy path's arithmetic in the same order, so the two backends agree within float32
rounding (``tests/test_shading_torch.py``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import cv2
import numpy as np

from scenegen.sensors.textures import (
    _FEATURE_TEXELS,
    _LAYER_OFFSETS,
    _UV_FROM_WORLD,
    TILE_TEXELS,
    Texture,
    load_textures,
    noise_tile,
    texture_kinds,
)


def _wrapped(torch: Any, x: Any, per_m: np.float32, offset: float) -> Any:
    """``(x per_m + offset) mod TILE_TEXELS`` as the numpy path's ``_wrapped`` computes it."""
    out = x * float(per_m)
    out = out + float(np.float32(offset))
    turns = torch.floor(out * float(np.float32(1.0 / TILE_TEXELS)))
    return out - turns * float(TILE_TEXELS)


@cache
def remap_subpixels() -> int:
    """0 if this OpenCV's ``remap`` (float maps, ``INTER_LINEAR``) interpolates with exact
    weights (OpenCV 5), else the grid it rounds coordinates to (OpenCV 4: 1/32 texel); read
    off one look-up, so the torch path follows whichever OpenCV the numpy path runs on."""
    tile = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)
    x = np.array([[0.01]], np.float32)
    got = float(cv2.remap(tile, x, np.zeros_like(x), cv2.INTER_LINEAR)[0, 0])
    return 0 if abs(got - 0.99) < 1e-6 else 32


def _sample(torch: Any, tile: Any, u: Any, v: Any, scale_m: float, layer: int) -> Any:
    """Tile values at texture coordinates ``u, v`` (metres) for features of ``scale_m``:
    bilinear with a wrapping border, as OpenCV's ``remap`` with float maps computes it
    (exact weights; equal to its result within float32 rounding)."""
    per_m = np.float32(_FEATURE_TEXELS / scale_m)
    du, dv = _LAYER_OFFSETS[layer]
    x = _wrapped(torch, u, per_m, du)
    y = _wrapped(torch, v, per_m, dv)
    subpixels = remap_subpixels()
    if subpixels:  # this OpenCV rounds remap coordinates to 1/subpixels of a texel
        x = torch.round(x * float(subpixels)) * (1.0 / subpixels)
        y = torch.round(y * float(subpixels)) * (1.0 / subpixels)
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = x - x0, y - y0
    i0 = x0.to(torch.int64).remainder_(TILE_TEXELS)
    j0 = y0.to(torch.int64).remainder_(TILE_TEXELS) * TILE_TEXELS
    i1 = (i0 + 1).remainder_(TILE_TEXELS)
    j1 = (j0 + TILE_TEXELS).remainder_(TILE_TEXELS * TILE_TEXELS)
    top = torch.take(tile, j0 + i0)
    top = top + (torch.take(tile, j0 + i1) - top) * fx
    bottom = torch.take(tile, j1 + i0)
    bottom = bottom + (torch.take(tile, j1 + i1) - bottom) * fx
    return top + (bottom - top) * fy


def texture_terms_torch(
    torch: Any, tile: Any, texture: Texture, u: Any, v: Any, footprint_m: Any
) -> tuple[Any, Any | None]:
    """:func:`scenegen.sensors.textures.texture_terms_uv` on tensors: ``(gray, tint)``."""
    gray = torch.ones_like(u)
    per_footprint = 1.0 / footprint_m
    for index, layer in enumerate(texture.layers):
        fade = per_footprint * float(np.float32(layer.scale_m))
        fade = (fade - 0.5).clamp(0.0, 1.0) * float(np.float32(layer.amplitude))
        gray = gray + _sample(torch, tile, u, v, layer.scale_m, index) * fade
    if texture.streaks is not None:
        s = texture.streaks
        line = _sample(torch, tile, u, v, s.spacing_m, len(_LAYER_OFFSETS) - 1).abs()
        line = line * float(np.float32(-1.0 / (np.pi * s.width))) + 1.0
        line = line.clamp(0.0, 1.0)
        line = line * (per_footprint * float(np.float32(s.width * s.spacing_m))).clamp_max(1.0)
        line = line * float(np.float32(-s.depth)) + 1.0
        gray = gray * line
    gray = gray.clamp_min(0.0)
    tint = None
    if texture.colour_amplitude > 0:
        scale = texture.layers[-1].scale_m * 0.7 if texture.layers else 1.0
        tint = _sample(torch, tile, u, v, scale, 3) * float(np.float32(texture.colour_amplitude))
    return gray, tint


def _ray_dot(torch: Any, a: Any, b: Any, c: np.ndarray) -> Any:
    """:func:`scenegen.sensors.textures.ray_dot` on tensors: the same outer sum."""
    c = np.asarray(c, np.float32)
    row = a[0] * float(c[0])
    column = b[:, 0] * float(c[1]) + float(c[2])
    return row[None, :] + column[:, None]


def texture_coordinates_torch(
    torch: Any,
    z: Any,
    a: Any,
    b: Any,
    inv_ray_length: Any,
    normals: tuple[Any, Any, Any],
    ground: tuple[Any, np.ndarray] | None,
    fx: float,
    T_world_from_cam: np.ndarray,
) -> tuple[Any, Any, Any]:
    """:func:`scenegen.sensors.textures.texture_coordinates` on tensors (``z``: depth, 0 on
    the sky; ``ground``: the ground's pixels and the world's up axis, their normal)."""
    R, t = T_world_from_cam[:3, :3], T_world_from_cam[:3, 3]
    uv_from_cam = (_UV_FROM_WORLD.astype(np.float64) @ R).astype(np.float32)
    uv_offset = (_UV_FROM_WORLD.astype(np.float64) @ t).astype(np.float32)
    coords = [
        _ray_dot(torch, a, b, row) * z + float(offset)
        for row, offset in zip(uv_from_cam, uv_offset, strict=True)
    ]
    nx, ny, nz = normals
    cos_incidence = nx * a + ny * b + nz
    if ground is not None:
        mask, up = ground
        cos_incidence = torch.where(mask, _ray_dot(torch, a, b, up), cos_incidence)
    cos_incidence = (cos_incidence.abs() * inv_ray_length).clamp_min(0.05)
    footprint = (z * float(np.float32(1.0 / fx))) / cos_incidence
    return coords[0], coords[1], footprint


def texture_multipliers_torch(
    torch: Any,
    texture_by_node: tuple[str | None, ...],
    node_ids: Any,
    uv_footprint: tuple[Any, Any, Any],
) -> tuple[Any, Any | None] | None:
    """``(gray, tint)`` ``(H, W)`` tensors of the textured nodes' pixels (gray 1 and tint 0
    elsewhere; tint ``None`` where no texture tints), or ``None`` if nothing is textured."""
    if not any(texture_by_node):
        return None
    kinds, kind_by_node = texture_kinds(texture_by_node)
    textures = load_textures()
    device = node_ids.device
    kind_px = torch.as_tensor(kind_by_node.astype(np.int64), device=device)[node_ids].reshape(-1)
    tile = torch.as_tensor(noise_tile().reshape(-1).copy(), device=device)
    u, v, footprint = (c.reshape(-1) for c in uv_footprint)
    gray_px = torch.ones_like(u)
    tint_px = None
    for index, kind in enumerate(kinds):
        where = torch.nonzero(kind_px == index + 1).reshape(-1)
        if where.numel() == 0:
            continue
        gray, tint = texture_terms_torch(
            torch, tile, textures[kind], u[where], v[where], footprint[where]
        )
        gray_px[where] = gray
        if tint is not None:
            if tint_px is None:
                tint_px = torch.zeros_like(u)
            tint_px[where] = tint
    shape = node_ids.shape
    return gray_px.reshape(shape), None if tint_px is None else tint_px.reshape(shape)
