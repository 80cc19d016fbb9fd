"""Snowfall of liquid-equivalent rate ``rate_mm_h``: extinction, flakes, settled snow.

* Size distribution: Gunn & Marshall ("The distribution with size of aggregate
  snowflakes", J. Meteorology 15, 1958): ``N(Dm) = 3800 S^-0.87 exp(-2.55 S^-0.48 Dm)``
  per m^3 per mm, ``Dm`` the diameter of the melted drop (mm), ``S`` in mm/h of water.
  Aggregates have a bulk density of ~0.06 g/cm^3, so a flake is
  ``FLAKE_TO_MELTED_DIAMETER = 2.5`` times wider than its melted drop.
* Extinction: geometric optics (extinction efficiency 2 for particles far larger than the
  wavelength) integrated over that distribution, ``beta = 2 * integral (pi/4) D^2 N dD``
  ``= pi c^2 N0 / Lambda^3 = 4.5e-3 S^0.57`` /m: visibility ~670 m at 1 mm/h and ~260 m
  at 5 mm/h, in line with the US National Weather Service's intensity classes (heavy
  snow: visibility <= 400 m). At the same rate this is ~12x rain's extinction, because
  the same water mass spread over low-density flakes presents a far larger cross-section.
* Flakes fall at ``v = 0.8 D^0.16`` m/s (D in mm; aggregates of unrimed dendrites,
  Locatelli & Hobbs, J. Geophys. Res. 79(15), 1974), about 1 m/s, so they appear as soft
  dots, or as streaks radiating from the focus of expansion when the car moves. They are
  white (albedo ~0.9) and lit by the overcast sky whose horizon radiance is the airlight.
* Settled snow (optional): ``ground_cover`` in [0, 1] of the pixels in ``ground_mask`` is
  covered, in random patches that thin out towards their edges. Snow radiance is its
  albedo times the irradiance the road received, estimated from the locally averaged road
  radiance divided by asphalt albedo (so lamp pools at night stay where they were) and
  capped at the overcast sky's (the airlight: snow does not fall in sunshine), with a
  fine grain of 8 % contrast.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from scenegen.effects.common import (
    check_depth,
    check_intrinsics,
    check_mask,
    check_non_negative,
    check_radiance,
    check_rgb,
    check_rng,
    gaussian_blur,
)
from scenegen.effects.fog import MOR_CONTRAST_THRESHOLD, transmission_for_extinction
from scenegen.effects.particles import (
    ParticleStreaks,
    composite,
    render_streak_alpha,
    sample_falling_particles,
)

GUNN_MARSHALL_N0 = 3800.0  # per m^3 per mm, times S^-0.87
GUNN_MARSHALL_N0_EXPONENT = -0.87
GUNN_MARSHALL_SLOPE = 2.55  # 1/mm, times S^-0.48
GUNN_MARSHALL_SLOPE_EXPONENT = -0.48
FLAKE_TO_MELTED_DIAMETER = 2.5
SNOW_ALBEDO = 0.9
# Flake diameters drawn as particles (mm); smaller ones are invisible at any depth.
SNOWFLAKE_DIAMETER_EDGES_MM = np.geomspace(0.5, 15.0, 13)
# Settled snow: size of its patches on the ground, extent of the random field that
# places them (metres), and the irradiance estimate's averaging radius (pixels).
SNOW_PATCH_CELL_M = 1.5
_PATCH_FIELD_HALF_WIDTH_M = 40.0
_PATCH_FIELD_DEPTH_M = 150.0
_IRRADIANCE_BLUR_PX = 12.0
# Width of a patch's thinning edge, in standard deviations of the placing field.
SNOW_PATCH_EDGE_SOFTNESS = 0.6
_COVER_EDGE_BLUR_PX = 2.0
_PLACEMENT_DEPTH_BLUR_PX = 4.0
# Settled snow's surface: small-scale brightness variation (grain, footprints, drifts).
_SNOW_GRAIN_CONTRAST = 0.08
_SNOW_GRAIN_PX = 1.5


def gunn_marshall(rate_mm_h: float) -> tuple[float, float]:
    """``(N0 per m^3 per mm, slope per mm)`` of the melted-diameter distribution."""
    n0 = GUNN_MARSHALL_N0 * rate_mm_h**GUNN_MARSHALL_N0_EXPONENT
    slope = GUNN_MARSHALL_SLOPE * rate_mm_h**GUNN_MARSHALL_SLOPE_EXPONENT
    return n0, slope


def snow_extinction_per_m(rate_mm_h: float) -> float:
    """Extinction coefficient (1/m) of snow falling at ``rate_mm_h`` of water (0 for none)."""
    rate = check_non_negative(rate_mm_h, "rate_mm_h", "mm/h")
    if rate == 0:
        return 0.0
    n0, slope = gunn_marshall(rate)
    # 2 x integral of (pi/4) (c Dm)^2 N0 exp(-slope Dm) dDm, with mm^2 -> m^2.
    return float(np.pi * FLAKE_TO_MELTED_DIAMETER**2 * n0 / slope**3 * 1e-6)


def snow_visibility_m(rate_mm_h: float) -> float:
    """Meteorological optical range (m) that snowfall alone leaves; ``inf`` without snow."""
    beta = snow_extinction_per_m(rate_mm_h)
    return float("inf") if beta == 0 else float(np.log(1 / MOR_CONTRAST_THRESHOLD) / beta)


def snowflake_fall_speed_m_s(diameter_mm: np.ndarray) -> np.ndarray:
    """Terminal fall speed (m/s) of snowflakes of the given diameters (mm)."""
    return 0.8 * np.asarray(diameter_mm, dtype=np.float64) ** 0.16


def snowflake_density_per_m3(diameter_edges_mm: np.ndarray, rate_mm_h: float) -> np.ndarray:
    """Flakes per m^3 in each flake-diameter bin (edges in mm); float64 ``(B,)``."""
    rate = check_non_negative(rate_mm_h, "rate_mm_h", "mm/h")
    edges = np.asarray(diameter_edges_mm, dtype=np.float64)
    if rate == 0:
        return np.zeros(edges.size - 1)
    n0, slope = gunn_marshall(rate)
    cumulative = n0 / slope * np.exp(-slope * edges / FLAKE_TO_MELTED_DIAMETER)
    return cumulative[:-1] - cumulative[1:]


def sample_snowflakes(
    rate_mm_h: float,
    K: np.ndarray,
    height: int,
    width: int,
    rng: np.random.Generator,
    exposure_s: float = 0.005,
    ego_speed_m_s: float = 0.0,
    min_alpha: float = 0.05,
) -> ParticleStreaks:
    """The snowflakes visible in one exposure (see the module and :mod:`particles`).

    Flakes are slow and large, so faint distant ones are far more numerous than raindrops;
    ``min_alpha`` (per-pixel opacity below which a flake is left to the extinction term) is
    higher than rain's to bound the cost (~40k flakes, ~50 ms at 1 mm/h on one core).
    """
    check_rng(rng)
    density = snowflake_density_per_m3(SNOWFLAKE_DIAMETER_EDGES_MM, rate_mm_h)
    return sample_falling_particles(
        rng,
        K,
        height,
        width,
        SNOWFLAKE_DIAMETER_EDGES_MM,
        density,
        snowflake_fall_speed_m_s,
        exposure_s=exposure_s,
        ego_speed_m_s=ego_speed_m_s,
        min_alpha=min_alpha,
    )


def snowflake_alpha(
    depth_m: np.ndarray,
    rate_mm_h: float,
    K: np.ndarray,
    rng: np.random.Generator,
    exposure_s: float = 0.005,
    ego_speed_m_s: float = 0.0,
) -> np.ndarray:
    """Opacity of the flakes of one exposure, hidden behind closer surfaces.

    Returns float32 ``(H, W)`` in [0, 1].
    """
    depth = np.asarray(depth_m, dtype=np.float32)
    if depth.ndim != 2:
        raise ValueError(f"depth_m must have shape (H, W), got {depth.shape}")
    flakes = sample_snowflakes(rate_mm_h, K, *depth.shape, rng, exposure_s, ego_speed_m_s)
    return render_streak_alpha(flakes, depth)


# Settled snow of a rendered scene: snowfall of rate R mm/h (melted water) for
# SETTLED_SNOW_HOURS at the usual 10:1 snow-to-water ratio leaves 10 R mm of snow per hour;
# about SNOW_COVERS_GROUND_MM of it hides grass and soil completely.
SETTLED_SNOW_HOURS = 1.0
SNOW_TO_WATER_RATIO = 10.0
SNOW_COVERS_GROUND_MM = 20.0


def settled_cover_for_rate(rate_mm_h: float, hours: float = SETTLED_SNOW_HOURS) -> float:
    """Share of open ground under snow after ``hours`` of snowfall at ``rate_mm_h``.

    ``1 - exp(-depth / SNOW_COVERS_GROUND_MM)`` with ``depth = 10 x rate x hours`` mm: a
    dusting at 0.2 mm/h (~10 %), about half the ground at 1.5 mm/h, nearly all of it above
    5 mm/h. A heuristic for a plausible default, not a snowpack model.
    """
    if not np.isfinite(rate_mm_h) or rate_mm_h < 0:
        raise ValueError(f"rate_mm_h must be a finite number >= 0, got {rate_mm_h!r}")
    if not np.isfinite(hours) or hours < 0:
        raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
    depth_mm = SNOW_TO_WATER_RATIO * rate_mm_h * hours
    return float(1.0 - np.exp(-depth_mm / SNOW_COVERS_GROUND_MM))


def snow_patch_field(x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
    """A smooth pattern in [-1, 1] over the ground plane (world metres), for where snow lies.

    A fixed sum of plane waves with wavelengths of 0.9-9 m in unrelated directions: a pure
    function of position, so the same patch stays put from frame to frame and from one
    camera to another.
    """
    field = np.zeros(np.shape(x_m), np.float32)
    for wavelength_m, angle_rad, phase in _PATCH_WAVES:
        k = np.float32(2 * np.pi / wavelength_m)
        field += np.sin(
            np.float32(k * np.cos(angle_rad)) * x_m
            + np.float32(k * np.sin(angle_rad)) * y_m
            + np.float32(phase)
        )
    field *= np.float32(1.0 / np.sqrt(len(_PATCH_WAVES) / 2.0))  # unit variance
    return np.tanh(field, out=field)


def snow_patch_level(cover: float) -> float:
    """The level below which :func:`snow_patch_field` lies on ``cover`` of the ground's area
    (its ``cover`` quantile, from a fixed 200 m x 200 m sample of the field)."""
    if not 0.0 <= cover <= 1.0:
        raise ValueError(f"cover must be in [0, 1], got {cover!r}")
    quantiles = _patch_field_quantiles()
    return float(np.interp(cover, np.linspace(0.0, 1.0, len(quantiles)), quantiles))


@cache
def _patch_field_quantiles() -> np.ndarray:
    grid = np.arange(-100.0, 100.0, 0.25, dtype=np.float32)
    x, y = np.meshgrid(grid, grid)
    quantiles = np.quantile(snow_patch_field(x, y), np.linspace(0.0, 1.0, 101))
    quantiles[0], quantiles[-1] = -1.0, 1.0  # nothing below -1 or above 1
    return quantiles


_PATCH_WAVES = tuple(
    (9.0 / 1.4**i, 2.399963 * i, 1.7 * i * i)
    for i in range(8)  # golden-angle directions
)


def settled_snow_cover(
    ground_mask: np.ndarray,
    depth_m: np.ndarray,
    K: np.ndarray,
    ground_cover: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Share of each ground pixel under settled snow, in soft patches on the ground.

    A smooth random field over the ground (cells of ``SNOW_PATCH_CELL_M`` metres, placed
    by back-projecting each pixel with its depth, so patches shrink with distance) is
    thresholded at its ``ground_cover`` quantile: that share of the ground is covered on
    average. Unknown depths take the field's far edge. Returns float32 ``(H, W)`` in
    [0, 1], 0 off the mask.
    """
    cover = float(ground_cover)
    if not 0.0 <= cover <= 1.0:
        raise ValueError(f"ground_cover must be in [0, 1], got {ground_cover!r}")
    height, width = ground_mask.shape
    if cover == 0.0 or not np.any(ground_mask):
        return np.zeros((height, width), np.float32)
    if cover == 1.0:
        return ground_mask.astype(np.float32)
    k = check_intrinsics(K)
    cells_x, cells_z = (
        2 * _PATCH_FIELD_HALF_WIDTH_M / SNOW_PATCH_CELL_M,
        _PATCH_FIELD_DEPTH_M / SNOW_PATCH_CELL_M,
    )
    coarse = rng.standard_normal((int(cells_z) + 2, int(cells_x) + 2)).astype(np.float32)
    coarse = cv2.GaussianBlur(coarse, (0, 0), 0.7)
    z = np.where(np.isfinite(depth_m), depth_m, _PATCH_FIELD_DEPTH_M).astype(np.float32)
    # Place patches with the ground's depth smoothed over a few pixels: depth recovered
    # for real frames jumps between scan lines, which would cut patches into stripes.
    weight = ground_mask.astype(np.float32)
    z_smooth = gaussian_blur(z * weight, _PLACEMENT_DEPTH_BLUR_PX) / np.maximum(
        gaussian_blur(weight, _PLACEMENT_DEPTH_BLUR_PX), 1e-6
    )
    z = np.where(ground_mask, z_smooth, z).astype(np.float32)
    x = (
        (np.arange(width, dtype=np.float32)[None, :] - np.float32(k[0, 2]))
        / np.float32(k[0, 0])
        * z
    )
    map_x = np.clip((x + _PATCH_FIELD_HALF_WIDTH_M) / SNOW_PATCH_CELL_M, 0, cells_x).astype(
        np.float32
    )
    map_z = np.clip(z / SNOW_PATCH_CELL_M, 0, cells_z).astype(np.float32)
    field = cv2.remap(
        coarse, map_x, map_z, interpolation=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
    )
    on_ground = field[ground_mask]
    threshold = np.quantile(on_ground, cover)
    # A wide ramp: patches thin out towards their edges (road showing through a thin
    # layer) instead of ending in a hard white outline.
    softness = SNOW_PATCH_EDGE_SOFTNESS * float(np.std(on_ground)) + 1e-6
    share = np.clip(0.5 - (field - threshold) / (2.0 * softness), 0.0, 1.0)
    # The ground mask's own outline (from depth) is ragged: the cover thins out over a
    # few pixels inside it, and never spills outside.
    feather = gaussian_blur(ground_mask.astype(np.float32), _COVER_EDGE_BLUR_PX)
    feather = np.clip(2.0 * feather - 1.0, 0.0, 1.0)  # 0 at the outline, 1 inside
    return np.where(ground_mask, share * feather, 0.0).astype(np.float32)


def apply_snow(
    radiance_lin: np.ndarray,
    depth_m: np.ndarray,
    rate_mm_h: float,
    K: np.ndarray,
    rng: np.random.Generator,
    airlight_rgb: np.ndarray,
    exposure_s: float = 0.005,
    ego_speed_m_s: float = 0.0,
    flake_radiance_rgb: np.ndarray | None = None,
    ground_mask: np.ndarray | None = None,
    ground_cover: float = 0.0,
    road_albedo: float = 0.12,
) -> np.ndarray:
    """Snow falling at ``rate_mm_h`` (mm/h of melted water), as one exposure sees it.

    ``radiance_lin``: float32 ``(H, W, 3)``; ``depth_m``: float32 ``(H, W)`` z-depth (``inf``
    sky, ``nan`` unknown); ``K``: 3x3; ``airlight_rgb``: ``(3,)`` horizon-sky radiance;
    ``flake_radiance_rgb``: default ``SNOW_ALBEDO * airlight``; ``ground_mask`` (bool
    ``(H, W)``) with ``ground_cover`` in [0, 1]: settled snow on the ground;
    ``road_albedo``: albedo of the bare road, to estimate its irradiance.
    Settled snow is applied first, then extinction, then the flakes in front.
    Returns new float32 ``(H, W, 3)`` linear radiance; rate 0 and cover 0 return a copy.
    """
    img = check_radiance(radiance_lin)
    depth = check_depth(depth_m, img.shape[:2])
    k = check_intrinsics(K)
    check_rng(rng)
    airlight = check_rgb(airlight_rgb, "airlight_rgb")
    flake_rgb = (
        SNOW_ALBEDO * airlight
        if flake_radiance_rgb is None
        else check_rgb(flake_radiance_rgb, "flake_radiance_rgb")
    )
    out = img.copy()
    if ground_mask is not None and ground_cover > 0:
        mask = check_mask(ground_mask, img.shape[:2], "ground_mask")
        if not 0 < road_albedo <= 1:
            raise ValueError(f"road_albedo must be in (0, 1], got {road_albedo!r}")
        share = settled_snow_cover(mask, depth, k, ground_cover, rng)[..., None]
        # Irradiance from the smoothed radiance of the ground itself (normalised average).
        weight = mask.astype(np.float32)
        smooth = gaussian_blur(img * weight[..., None], _IRRADIANCE_BLUR_PX)
        norm = np.maximum(gaussian_blur(weight, _IRRADIANCE_BLUR_PX), 1e-3)[..., None]
        irradiance = smooth / norm / road_albedo
        # Snow falls from an overcast sky, which lights the ground with about the horizon
        # sky's radiance: a sunlit road's irradiance (a clear-day frame) is capped there,
        # lamp pools at night (below it) stay.
        snow_rgb = SNOW_ALBEDO * np.minimum(irradiance, airlight)
        grain = gaussian_blur(rng.standard_normal(img.shape[:2]).astype(np.float32), _SNOW_GRAIN_PX)
        grain *= np.float32(_SNOW_GRAIN_CONTRAST / (float(grain.std()) + 1e-6))
        snow_rgb = snow_rgb * (1.0 + grain)[..., None]
        out += share * (snow_rgb - out)
    beta = snow_extinction_per_m(rate_mm_h)
    if beta == 0.0:
        return out
    t = transmission_for_extinction(depth, beta, k)[..., None]
    out = out * t + airlight * (1.0 - t)
    alpha = snowflake_alpha(depth, rate_mm_h, k, rng, exposure_s, ego_speed_m_s)
    return composite(out, alpha, flake_rgb)
