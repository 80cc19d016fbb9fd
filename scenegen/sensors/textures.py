"""Procedural surface textures: per-pixel albedo variation fixed to the world.

A texture (``assets/textures.yaml``) is a sum of band-limited noise layers plus optional
thin dark lines (the zero crossings of a coarse noise: meandering asphalt cracks, facade
joints), evaluated at each pixel's world position and multiplied into the albedo. The
noise is one tileable ``TILE_TEXELS``-square tile (FFT-filtered white noise from a fixed
seed: deterministic, the same in every process), sampled at a layer's scale through a
world-to-texture mapping that is non-degenerate on the ground and on walls of either
orientation.

Anti-aliasing: a layer whose features are smaller than a pixel's footprint on the surface
(``depth / fx / cos(incidence)``) is faded out, as a mip-map would average it, so distant
asphalt does not turn into per-pixel noise. Textures change only the shading: instance
masks, boxes and depth come from the geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from scenegen.sensors.pixel_grid import PixelGrid, SurfacePixels
from scenegen.world.data_files import asset_error, load_asset

TEXTURES_FILE = "textures.yaml"
TILE_TEXELS = 256
_FEATURE_TEXELS = 6.0  # a noise feature spans this many texels
_REMAP_WIDTH = 4096
_TILE_SEED = 20181  # fixed: the tile is a constant of the project, not a random draw
# World (x, y, z) metres -> texture (u, v): non-degenerate for the ground (z const) and
# for walls facing x or y.
_UV_FROM_WORLD = np.array([[1.0, 0.618, 0.0], [0.382, -0.5, 1.0]], np.float32)
# Decorrelating offsets (texels) of each layer.
_LAYER_OFFSETS = ((0.0, 0.0), (91.3, 17.9), (33.1, 170.2), (201.7, 77.4), (140.6, 222.8))


@dataclass(frozen=True)
class TextureLayer:
    scale_m: float
    amplitude: float


@dataclass(frozen=True)
class Streaks:
    spacing_m: float
    width: float  # share of the spacing covered by a line
    depth: float  # share of albedo lost on a line


@dataclass(frozen=True)
class Texture:
    layers: tuple[TextureLayer, ...]
    streaks: Streaks | None = None
    colour_amplitude: float = 0.0


def _number(name: str, key: str, value: object, low: float, high: float) -> float:
    if not (
        isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
    ):
        raise asset_error(
            TEXTURES_FILE, name, f"{key} must be a number in [{low}, {high}], got {value!r}"
        )
    return float(value)


def _texture(name: str, entry: object) -> Texture:
    if not isinstance(entry, dict) or set(entry) - {"layers", "streaks", "colour_amplitude"}:
        raise asset_error(
            TEXTURES_FILE, name, f"expected keys layers, streaks, colour_amplitude; got {entry!r}"
        )
    layers = entry.get("layers", [])
    if not isinstance(layers, list) or len(layers) > len(_LAYER_OFFSETS):
        raise asset_error(
            TEXTURES_FILE, name, f"layers must be a list of at most {len(_LAYER_OFFSETS)}"
        )
    parsed = []
    for layer in layers:
        if not isinstance(layer, dict) or set(layer) != {"scale_m", "amplitude"}:
            raise asset_error(
                TEXTURES_FILE, name, f"a layer needs scale_m and amplitude, got {layer!r}"
            )
        parsed.append(
            TextureLayer(
                _number(name, "scale_m", layer["scale_m"], 1e-3, 100.0),
                _number(name, "amplitude", layer["amplitude"], 0.0, 1.0),
            )
        )
    streaks = entry.get("streaks")
    if streaks is not None:
        if not isinstance(streaks, dict) or set(streaks) != {"spacing_m", "width", "depth"}:
            raise asset_error(
                TEXTURES_FILE, name, f"streaks need spacing_m, width, depth, got {streaks!r}"
            )
        streaks = Streaks(
            _number(name, "spacing_m", streaks["spacing_m"], 1e-2, 100.0),
            _number(name, "width", streaks["width"], 0.0, 0.5),
            _number(name, "depth", streaks["depth"], 0.0, 1.0),
        )
    colour = _number(name, "colour_amplitude", entry.get("colour_amplitude", 0.0), 0.0, 0.5)
    return Texture(tuple(parsed), streaks, colour)


@cache
def load_textures() -> dict[str, Texture]:
    """Every texture of ``assets/textures.yaml`` by name, validated."""
    _, data, _ = load_asset(TEXTURES_FILE)
    return {str(name): _texture(str(name), entry) for name, entry in data.items()}


@cache
def noise_tile() -> np.ndarray:
    """float32 ``(TILE_TEXELS, TILE_TEXELS)`` tileable noise, zero mean, unit variance,
    features of about ``_FEATURE_TEXELS`` texels. Read-only."""
    rng = np.random.default_rng(_TILE_SEED)
    white = rng.standard_normal((TILE_TEXELS, TILE_TEXELS))
    f = np.fft.fftfreq(TILE_TEXELS)
    radius = np.hypot(f[:, None], f[None, :])
    # A Gaussian band around 1/feature plus a 1/f tail: blotchy rather than grainy.
    band = np.exp(-((radius * _FEATURE_TEXELS - 1.0) ** 2) / 0.5) + 0.3 / (1 + radius * 40)
    band[0, 0] = 0.0
    tile = np.real(np.fft.ifft2(np.fft.fft2(white) * band))
    tile = (tile - tile.mean()) / tile.std()
    out = tile.astype(np.float32)
    out.setflags(write=False)
    return out


def _wrapped(x: np.ndarray, per_m: np.float32, offset: float, out: np.ndarray) -> None:
    """``(x per_m + offset) mod TILE_TEXELS`` into ``out``, by floor (np.mod is slower)."""
    np.multiply(x, per_m, out=out)
    out += np.float32(offset)
    turns = out * np.float32(1.0 / TILE_TEXELS)
    np.floor(turns, out=turns)
    turns *= np.float32(TILE_TEXELS)
    out -= turns


def _sample(
    tile: np.ndarray, u: np.ndarray, v: np.ndarray, scale_m: float, layer: int
) -> np.ndarray:
    """Tile values at texture coordinates ``u, v`` (metres) for features of ``scale_m``."""
    per_m = np.float32(_FEATURE_TEXELS / scale_m)
    du, dv = _LAYER_OFFSETS[layer]
    n = u.size
    rows = -(-n // _REMAP_WIDTH)  # OpenCV maps are at most 32767 wide: fold into rows
    map_u = np.zeros(rows * _REMAP_WIDTH, np.float32)
    map_v = np.zeros(rows * _REMAP_WIDTH, np.float32)
    _wrapped(u, per_m, du, map_u[:n])
    _wrapped(v, per_m, dv, map_v[:n])
    shape = (rows, _REMAP_WIDTH)
    sampled = cv2.remap(
        tile,
        map_u.reshape(shape),
        map_v.reshape(shape),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_WRAP,
    )
    return sampled.reshape(-1)[:n]


def texture_terms(
    texture: Texture, points_world: np.ndarray, footprint_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(gray, tint)``: float32 ``(N,)`` albedo multiplier and red-vs-blue tint (``None``
    for none) of surface points; the rgb multiplier is ``gray x (1 + tint, 1, 1 - tint)``.

    ``points_world``: float32 ``(3, N)`` world positions; ``footprint_m``: float32 ``(N,)``
    size of each pixel on the surface (fades layers finer than it).
    """
    u, v = (_UV_FROM_WORLD @ points_world).astype(np.float32)
    return texture_terms_uv(texture, u, v, footprint_m)


def texture_terms_uv(
    texture: Texture, u: np.ndarray, v: np.ndarray, footprint_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`texture_terms` at texture coordinates ``u, v`` (float32 ``(N,)`` metres,
    ``_UV_FROM_WORLD`` of the world positions). A layer is evaluated only where it has not
    faded out, which on a road seen at grazing angles is its near part."""
    tile = noise_tile()
    gray = np.ones(u.shape, np.float32)
    zero, one = np.float32(0.0), np.float32(1.0)
    per_footprint = np.divide(one, footprint_m)  # one division, then products per layer
    for index, layer in enumerate(texture.layers):
        # Features below about a pixel are averaged away (a mip-map's job).
        fade = per_footprint * np.float32(layer.scale_m)
        fade -= np.float32(0.5)
        np.maximum(fade, zero, out=fade)
        np.minimum(fade, one, out=fade)
        fade *= np.float32(layer.amplitude)
        count = np.count_nonzero(fade)  # cheaper than finding where, when it is all or none
        if count == u.size:
            gray += _sample(tile, u, v, layer.scale_m, index) * fade
        elif count:
            where = np.flatnonzero(fade)
            values = _sample(tile, u[where], v[where], layer.scale_m, index)
            gray[where] += values * fade[where]
    if texture.streaks is not None:
        s = texture.streaks
        coarse = _sample(tile, u, v, s.spacing_m, len(_LAYER_OFFSETS) - 1)
        # Zero crossings of the coarse noise: lines of width ~ width x spacing; the noise's
        # slope there is about 2 pi / spacing (in noise units per metre).
        line = np.abs(coarse, out=coarse)
        line *= np.float32(-1.0 / (np.pi * s.width))
        line += one
        np.maximum(line, zero, out=line)
        np.minimum(line, one, out=line)
        # A line narrower than the pixel footprint darkens the pixel only by its share.
        share = per_footprint * np.float32(s.width * s.spacing_m)
        line *= np.minimum(share, one, out=share)
        line *= np.float32(-s.depth)
        line += np.float32(1.0)
        gray *= line
    np.maximum(gray, np.float32(0.0), out=gray)
    tint = None
    if texture.colour_amplitude > 0:
        scale = texture.layers[-1].scale_m * 0.7 if texture.layers else 1.0
        tint = _sample(tile, u, v, scale, 3)
        tint *= np.float32(texture.colour_amplitude)
    return gray, tint


def texture_factor(
    texture: Texture, points_world: np.ndarray, footprint_m: np.ndarray
) -> np.ndarray:
    """float32 ``(N, 3)`` rgb albedo multipliers of surface points (see :func:`texture_terms`)."""
    gray, tint = texture_terms(texture, points_world, footprint_m)
    out = np.repeat(gray[:, None], 3, axis=1)
    if tint is not None:
        out[:, 0] *= 1.0 + tint
        out[:, 2] *= 1.0 - tint
    return out


def ray_dot(grid: PixelGrid, c: np.ndarray) -> np.ndarray:
    """``c . (a, b, 1)`` per pixel for a constant 3-vector ``c``: float32 ``(H, W)``. ``a``
    varies along the rows and ``b`` down the columns only, so this is an outer sum of a row
    and a column (one pass over the image instead of three)."""
    c = np.asarray(c, np.float32)
    row = grid.a[0] * c[0]
    column = grid.b[:, 0] * c[1] + c[2]
    return np.add(row[None, :], column[:, None])


def texture_coordinates(
    surface: SurfacePixels, T_world_from_cam: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(u, v, footprint_m)``: float32 ``(H, W)`` texture coordinates (metres) and pixel
    footprints on the surface of every pixel (meaningless on the sky).

    Texture coordinates are affine in the world point, so in the camera point
    ``z (a, b, 1)``: ``u = z (k . (a, b, 1)) + c`` with ``k, c`` of this camera pose, two
    passes per coordinate over the image instead of a gather and a rotation per pixel.
    The footprint is ``depth / fx``, stretched by the grazing angle.
    """
    grid = surface.grid
    z = np.where(np.isfinite(surface.depth), surface.depth, np.float32(0.0))
    R, t = T_world_from_cam[:3, :3], T_world_from_cam[:3, 3]
    uv_from_cam = (_UV_FROM_WORLD.astype(np.float64) @ R).astype(np.float32)
    uv_offset = (_UV_FROM_WORLD.astype(np.float64) @ t).astype(np.float32)
    coords = []
    for row, offset in zip(uv_from_cam, uv_offset, strict=True):
        c = np.multiply(ray_dot(grid, row), z)
        c += offset
        coords.append(c)
    nx, ny, nz = surface.normals
    cos_incidence = nx * grid.a
    cos_incidence += ny * grid.b
    cos_incidence += nz
    if surface.ground is not None:
        np.copyto(cos_incidence, ray_dot(grid, surface.up), where=surface.ground)
    np.abs(cos_incidence, out=cos_incidence)
    cos_incidence *= grid.inv_ray_length
    np.maximum(cos_incidence, np.float32(0.05), out=cos_incidence)
    footprint = np.multiply(z, np.float32(1.0 / grid.fx))
    footprint /= cos_incidence
    return coords[0], coords[1], footprint


def texture_kinds(texture_by_node: tuple[str | None, ...]) -> tuple[list[str], np.ndarray]:
    """The textures a frame's nodes use (sorted names) and each node's texture as int8
    ``1 + index`` into them (0: none); an unknown name is an error naming the asset file."""
    textures = load_textures()
    kinds = sorted({t for t in texture_by_node if t})
    unknown = [kind for kind in kinds if kind not in textures]
    if unknown:
        raise asset_error(
            TEXTURES_FILE,
            unknown[0],
            f"a material uses texture {unknown[0]!r}; expected one of {sorted(textures)}",
        )
    if len(kinds) > 126:
        raise ValueError(f"at most 126 textures per frame, got {len(kinds)}")
    kind_by_node = np.array([kinds.index(t) + 1 if t else 0 for t in texture_by_node], np.int8)
    return kinds, kind_by_node


def apply_textures(
    albedo_px: np.ndarray,
    texture_by_node: tuple[str | None, ...],
    node_ids: np.ndarray,
    surface: SurfacePixels,
    T_world_from_cam: np.ndarray,
) -> None:
    """Multiply the textured nodes' pixels of ``albedo_px`` (float32 ``(H, W, C >= 3)``, in
    place) by their texture; ``texture_by_node`` names each node's texture (or ``None``)."""
    if not any(texture_by_node):
        return
    kinds, kind_by_node = texture_kinds(texture_by_node)
    textures = load_textures()
    kind_px = np.take(kind_by_node, node_ids).ravel()
    u, v, footprint = (c.ravel() for c in texture_coordinates(surface, T_world_from_cam))
    gray_px = np.ones(node_ids.size, np.float32)
    tint_px = None
    for index, kind in enumerate(kinds):
        where = np.flatnonzero(kind_px == index + 1)
        if where.size == 0:
            continue
        gray, tint = texture_terms_uv(
            textures[kind], np.take(u, where), np.take(v, where), np.take(footprint, where)
        )
        np.put(gray_px, where, gray)
        if tint is not None:
            if tint_px is None:
                tint_px = np.zeros(node_ids.size, np.float32)
            np.put(tint_px, where, tint)
    gray_img = gray_px.reshape(node_ids.shape)
    if tint_px is None:
        for c in range(3):
            albedo_px[..., c] *= gray_img
        return
    tint_img = tint_px.reshape(node_ids.shape)
    albedo_px[..., 0] *= gray_img * (1.0 + tint_img)
    albedo_px[..., 1] *= gray_img
    albedo_px[..., 2] *= gray_img * (1.0 - tint_img)
