"""Wet road: darker asphalt plus a glossy mirror image of the scene in the water film.

* Darkening (Lekner & Dorf, "Why some things are darker when wet", Appl. Opt. 27(7),
  1988): light that enters a water film and is diffusely reflected by the road escapes
  only inside the critical cone; the rest is totally internally reflected back to the
  road, which absorbs part of it again. With road albedo ``A``, water's mean diffuse
  external reflectance ``r_e = 0.066`` and internal reflectance
  ``r_i = 1 - (1 - r_e) / n^2``, the wet albedo is ``A_w = (1 - r_e) (1 - r_i) A / (1 - r_i A)``:
  asphalt (A = 0.12) keeps ~52 % of its radiance, a white line (A = 0.6) ~69 %.
* Reflection: the film is a horizontal mirror at the road. For a level camera (zero roll,
  small pitch) at height ``h`` above the road, the view ray through ground pixel row
  ``v_g`` (``z_g = fy h / (v_g - v_h)``) reflects upward and, in the image, climbs the same
  column, reaching row ``2 v_h - v_g`` (the mirror row about the horizon ``v_h``) at
  infinity. Along it, at row ``v`` the reflected ray's depth satisfies
  ``2 / z = (v - v_h) / (fy h) + 1 / z_g``; it hits the first pixel whose depth ``d``
  is nearer than that (``2/d - (v - v_h)/(fy h) >= 1/z_g``). The radiance found there is the
  reflection (screen-space reflection; what is outside the frame is taken from the
  nearest row). So a point's reflection is its mirror image about the row of its own
  ground contact, and the sky's is the mirror about the horizon.
* Weight: the unpolarised Fresnel reflectance of water (n = 1.333) at the ray's
  incidence angle, times ``road_wetness``; it grows from 2 % looking straight down to
  100 % at grazing angles.
* Gloss: the water film over asphalt is not flat. A micro-slope spread ``sigma_s`` (rad)
  moves the reflection by ``2 fy sigma_s`` rows vertically but only ``sin(depression)``
  of that sideways, which is why lamps make long vertical streaks on a wet road.
  ``sigma_s = 0.005 + 0.06 (1 - road_wetness)`` (standing water is nearly a mirror).
  The spread grows with the distance from the reflected object's contact (a glossy
  reflection's blur is proportional to the reflector-to-object distance): a second,
  wider blur takes over within ``_SHARP_REACH_SIGMAS`` vertical spreads of the contact.
* Puddles: the film is not even; where the road is not soaked it collects in patches
  (a ground-fixed field), so a partly wet road shows pools and drier crests.
"""

from __future__ import annotations

import cv2
import numpy as np

from scenegen.effects.common import (
    check_depth,
    check_intrinsics,
    check_mask,
    check_radiance,
    gaussian_blur,
)
from scenegen.effects.snow import snow_patch_field

WATER_REFRACTIVE_INDEX = 1.333
WATER_DIFFUSE_EXTERNAL_REFLECTANCE = 0.066
# Steps of the screen-space reflection march, and the resolution it runs at (the
# reflection is blurred by the gloss anyway, far more than this subsampling).
_REFLECTION_STEPS = 32
_REFLECTION_SUBSAMPLE = 2
# Typical depression of a road pixel (rad), for the sideways gloss spread.
_TYPICAL_DEPRESSION_RAD = 0.12
# Far from its contact a reflection spreads sideways this share of its vertical spread,
# reached over this many vertical spreads from the contact.
_WIDE_GLOSS_SIDEWAYS = 0.15
_SHARP_REACH_SIGMAS = 1.5
# Puddles: how much thinner the film is on the road's crests, and the patch field's
# scale (its features of ~1-9 m become ~2-18 m of road).
PUDDLE_CONTRAST = 1.5
_PUDDLE_FIELD_SCALE = 0.5


def wet_albedo_ratio(road_albedo: float, n_water: float = WATER_REFRACTIVE_INDEX) -> float:
    """Wet-to-dry radiance ratio of a diffuse surface under a water film (Lekner & Dorf)."""
    if not 0.0 <= road_albedo <= 1.0:
        raise ValueError(f"road_albedo must be in [0, 1], got {road_albedo!r}")
    r_e = WATER_DIFFUSE_EXTERNAL_REFLECTANCE
    r_i = 1.0 - (1.0 - r_e) / (n_water * n_water)
    return float((1.0 - r_e) * (1.0 - r_i) / (1.0 - r_i * road_albedo))


def fresnel_reflectance(cos_incidence: np.ndarray, n: float = WATER_REFRACTIVE_INDEX) -> np.ndarray:
    """Unpolarised Fresnel reflectance from air onto a medium of index ``n``.

    ``cos_incidence``: cosine of the angle to the surface normal. Returns float32 in [0, 1].
    """
    ci = np.clip(np.asarray(cos_incidence, dtype=np.float32), 1e-6, 1.0)
    ct = np.sqrt(1.0 - (1.0 - ci * ci) / (n * n))
    rs = ((ci - n * ct) / (ci + n * ct)) ** 2
    rp = ((n * ci - ct) / (n * ci + ct)) ** 2
    return (0.5 * (rs + rp)).astype(np.float32)


def reflection_rows(
    depth_m: np.ndarray,
    ground_mask: np.ndarray,
    K: np.ndarray,
    camera_height_m: float,
    horizon_row: float | None = None,
    steps: int = _REFLECTION_STEPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ground pixels, the image row their mirror reflection comes from.

    Returns ``(rows, cols, source_rows)``: int64 ``(N,)`` pixel coordinates of the ground
    pixels (those in ``ground_mask`` below the horizon) and float32 ``(N,)`` rows the
    reflected ray hits in the same column (may be < 0: above the frame).
    """
    k = check_intrinsics(K)
    fy = float(k[1, 1])
    v_h = float(k[1, 2]) if horizon_row is None else float(horizon_row)
    if camera_height_m <= 0:
        raise ValueError(f"camera_height_m must be > 0 metres, got {camera_height_m!r}")
    height = depth_m.shape[0]
    row_index = np.arange(height, dtype=np.float32)[:, None]
    # Inverse depth of the ray reflected at row v_g, in the "q" form of the module doc.
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_d = np.where(np.isfinite(depth_m) & (depth_m > 0), 2.0 / depth_m, 0.0)
    q = (inv_d - (row_index - v_h) / (fy * camera_height_m)).astype(np.float32)
    q[ground_mask] = -np.inf  # the mirror itself never blocks its own reflection
    rows, cols = np.nonzero(ground_mask & (row_index > v_h + 0.5))
    rows_f = rows.astype(np.float32)
    tau = ((rows_f - v_h) / (fy * camera_height_m)).astype(np.float32)
    span = (2.0 * (rows_f - v_h) / steps).astype(np.float32)  # rows per step up to the mirror row
    source = rows_f - span * steps  # default: the reflected ray escapes to the sky
    q_flat = q.reshape(-1)
    width = q.shape[1]
    # March only the rays that have not hit anything yet.
    active = np.arange(rows.size)
    for step in range(1, steps + 1):
        v = rows_f[active] - span[active] * step
        vi = np.clip(v + 0.5, 0, height - 1).astype(np.int64)
        hit = (v >= 0) & (q_flat[vi * width + cols[active]] >= tau[active])
        source[active[hit]] = v[hit]
        active = active[~hit & (v >= 0)]
        if active.size == 0:
            break
    return rows, cols, source


def apply_wet_road(
    radiance_lin: np.ndarray,
    depth_m: np.ndarray,
    ground_mask: np.ndarray,
    road_wetness: float,
    K: np.ndarray,
    camera_height_m: float,
    horizon_row: float | None = None,
    road_albedo: float = 0.12,
) -> np.ndarray:
    """Wet the road pixels: darken them and add the scene's glossy mirror image.

    ``radiance_lin``: float32 ``(H, W, 3)``; ``depth_m``: float32 ``(H, W)`` z-depth (inf /
    nan: far); ``ground_mask``: bool ``(H, W)``, the road / ground pixels that get wet;
    ``road_wetness`` in [0, 1] (0 dry, 1 standing water); ``K`` 3x3; ``camera_height_m``
    above the road; ``horizon_row``: image row of the horizon (default ``cy``: level
    camera); ``road_albedo``: dry albedo of the road, for the darkening.
    Only pixels in ``ground_mask`` change. Returns new float32 ``(H, W, 3)``.
    """
    img = check_radiance(radiance_lin)
    depth = check_depth(depth_m, img.shape[:2])
    mask = check_mask(ground_mask, img.shape[:2], "ground_mask")
    k = check_intrinsics(K)
    wet = float(road_wetness)
    if not 0.0 <= wet <= 1.0:
        raise ValueError(f"road_wetness must be in [0, 1], got {road_wetness!r}")
    out = img.copy()
    if wet == 0.0 or not np.any(mask):
        return out
    fy = float(k[1, 1])
    v_h = float(k[1, 2]) if horizon_row is None else float(horizon_row)
    height, width = mask.shape

    # Screen-space reflection on a subsampled grid of ground pixels.
    s = _REFLECTION_SUBSAMPLE
    small_mask = mask[::s, ::s]
    rows, cols, source = reflection_rows(
        depth[::s, ::s], small_mask, _scaled_K(k, s), camera_height_m, v_h / s
    )
    src_rows = np.clip(np.rint(source * s), 0, height - 1).astype(np.int64)
    reflected_small = np.zeros((*small_mask.shape, 3), np.float32)
    reflected_small[rows, cols] = img[src_rows, cols * s]
    weight_small = np.zeros(small_mask.shape, np.float32)
    weight_small[rows, cols] = 1.0

    # Gloss: vertical and sideways spread, normalised over the ground only. Glossy
    # reflections blur with the distance between the mirror point and what it reflects:
    # near an object's contact the image is sharp, far from it spread wide, so reflected
    # columns (walls, poles) melt into streaks instead of ending in hard-edged blocks.
    slope_sigma = 0.005 + 0.06 * (1.0 - wet)
    sigma_v = 2.0 * fy * slope_sigma / s
    sigma_u = max(sigma_v * np.sin(_TYPICAL_DEPRESSION_RAD), 0.5)
    norm = gaussian_blur(weight_small, sigma_u, sigma_v)
    sharp = gaussian_blur(reflected_small, sigma_u, sigma_v) / np.maximum(norm, 1e-4)[..., None]
    wide_u, wide_v = max(_WIDE_GLOSS_SIDEWAYS * sigma_v, 0.5), 2.0 * sigma_v
    wide_norm = gaussian_blur(weight_small, wide_u, wide_v)
    wide = gaussian_blur(reflected_small, wide_u, wide_v) / np.maximum(wide_norm, 1e-4)[..., None]
    reach = np.zeros(small_mask.shape, np.float32)
    reach[rows, cols] = rows - np.maximum(source, -small_mask.shape[0])
    reach = gaussian_blur(reach, sigma_u, sigma_v) / np.maximum(norm, 1e-4)
    mix = np.clip(reach / np.float32(_SHARP_REACH_SIGMAS * sigma_v + 1.0), 0.0, 1.0)[..., None]
    reflected_small = sharp + mix * (wide - sharp)
    reflected = cv2.resize(reflected_small, (width, height), interpolation=cv2.INTER_LINEAR)

    # Fresnel weight from the incidence angle of each row's view ray on the road.
    tan_depression = np.maximum(np.arange(height, dtype=np.float32) - v_h, 0.0) / fy
    cos_incidence = tan_depression / np.sqrt(1.0 + tan_depression * tan_depression)
    fresnel = fresnel_reflectance(cos_incidence)[:, None, None]

    # Only the rows that hold ground pixels change.
    r0 = int(np.argmax(mask.any(axis=1)))
    local = _local_wetness(depth[r0:], k, wet)[..., None]
    ratio = np.float32(1.0 - wet_albedo_ratio(road_albedo))
    wet_pixels = img[r0:] * (1.0 - local * ratio) + (local * fresnel[r0:]) * reflected[r0:]
    cv2.copyTo(wet_pixels, mask[r0:].view(np.uint8), out[r0:])
    return out


def _local_wetness(depth_m: np.ndarray, K: np.ndarray, wetness: float) -> np.ndarray:
    """float32 wetness per pixel of a depth map's rows: standing water in the road's
    dips, a thinner film on its crests (``wetness ** (1 + PUDDLE_CONTRAST (1 - f))`` with
    ``f`` in [0, 1] a patch field fixed to the ground, so a soaked road (1) is evenly wet)."""
    width = depth_m.shape[1]
    z = np.where(np.isfinite(depth_m), depth_m, np.float32(1e3)).astype(np.float32)
    u = np.arange(width, dtype=np.float32)[None, :]
    x = (u + np.float32(0.5 - K[0, 2])) / np.float32(K[0, 0]) * z
    field = snow_patch_field(
        x * np.float32(_PUDDLE_FIELD_SCALE), z * np.float32(_PUDDLE_FIELD_SCALE)
    )
    exponent = 1.0 + PUDDLE_CONTRAST * (0.5 - 0.5 * field)
    return np.power(np.float32(wetness), exponent).astype(np.float32)


def _scaled_K(K: np.ndarray, subsample: int) -> np.ndarray:
    """Intrinsics of the image subsampled by taking every ``subsample``-th pixel."""
    k = K.copy()
    k[:2] /= subsample
    return k
