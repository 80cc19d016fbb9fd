"""Rain of rate ``rate_mm_h``: extinction, visible streaks, and forward-scatter blur.

* Extinction: geometric optics (extinction efficiency 2, drops >> wavelength) over the
  Marshall-Palmer distribution below: ``beta = 2 * integral (pi/4) D^2 N(D) dD =
  pi N0 / Lambda^3 = 3.65e-4 R^0.63`` /m; 10 mm/h gives ~1.6e-3 /m (visibility ~1.9 km),
  100 mm/h ~6.6e-3 /m (~450 m). The same closed form serves the LiDAR (905 nm), so one
  rain rate means the same rain on both sensors. It agrees within ~35 % with the
  measured optical-link relation ``1.076 R^0.67 dB/km`` (Carbonneau & Wisely, Proc. SPIE
  3232, 1998; as used in e.g. Awan et al., J. Communications 4(8), 2009), exposed as
  :func:`rain_attenuation_db_per_km_measured` for comparison.
* Streaks: drops follow the Marshall-Palmer size distribution (Marshall & Palmer,
  J. Meteorology 5, 1948): ``N(D) = 8000 exp(-4.1 R^-0.21 D)`` per m^3 per mm; they fall at
  their terminal speed ``v(D) = 9.65 - 10.3 exp(-0.6 D)`` m/s (Atlas, Srivastava & Sekhon,
  Rev. Geophys. 11(1), 1973). Count per image = density x viewing volume in which a drop
  is visible; streak length = ``fx v T / z``; photometry as in :mod:`particles`.
  ``N(D)`` grows with ``R`` for every ``D``, so streak density grows with the rate.
* Blur: a drop's diffraction lobe and the refraction through nearby out-of-focus drops
  spread light by about a pixel; the scattered share ``1 - t`` of each pixel is blurred.
"""

from __future__ import annotations

import numpy as np

from scenegen.effects.common import (
    check_depth,
    check_intrinsics,
    check_non_negative,
    check_radiance,
    check_rgb,
    check_rng,
    expand_to_rgb,
    gaussian_blur,
    times_rgb,
)
from scenegen.effects.fog import MOR_CONTRAST_THRESHOLD, transmission_for_extinction
from scenegen.effects.particles import (
    ParticleStreaks,
    composite,
    render_streak_alpha,
    sample_falling_particles,
)

RAIN_ATTENUATION_COEFF_DB_KM = 1.076
RAIN_ATTENUATION_EXPONENT = 0.67
MARSHALL_PALMER_N0_PER_M3_MM = 8000.0
MARSHALL_PALMER_SLOPE = 4.1  # 1/mm, times R^-0.21
MARSHALL_PALMER_SLOPE_EXPONENT = -0.21
# Drops below 0.5 mm are too faint to see as streaks at any depth; above 6 mm they break up.
RAINDROP_DIAMETER_EDGES_MM = np.geomspace(0.5, 6.0, 13)
# Standard deviation (pixels) of the forward-scatter blur for fully scattered light.
_FORWARD_SCATTER_SIGMA_PX = 0.8


def rain_extinction_per_m(rate_mm_h: float) -> float:
    """Extinction coefficient (1/m) of rain falling at ``rate_mm_h`` (0 for no rain)."""
    rate = check_non_negative(rate_mm_h, "rate_mm_h", "mm/h")
    if rate == 0:
        return 0.0
    slope = MARSHALL_PALMER_SLOPE * rate**MARSHALL_PALMER_SLOPE_EXPONENT  # 1/mm
    # 2 x integral of (pi/4) D^2 N0 exp(-slope D) dD, with mm^2 -> m^2.
    return float(np.pi * MARSHALL_PALMER_N0_PER_M3_MM / slope**3 * 1e-6)


def rain_attenuation_db_per_km_measured(rate_mm_h: float) -> float:
    """The measured optical-link rain attenuation ``1.076 R^0.67`` (dB/km), for comparison."""
    rate = check_non_negative(rate_mm_h, "rate_mm_h", "mm/h")
    return float(RAIN_ATTENUATION_COEFF_DB_KM * rate**RAIN_ATTENUATION_EXPONENT)


def rain_visibility_m(rate_mm_h: float) -> float:
    """Meteorological optical range (m) that rain alone leaves; ``inf`` without rain."""
    beta = rain_extinction_per_m(rate_mm_h)
    return float("inf") if beta == 0 else float(np.log(1 / MOR_CONTRAST_THRESHOLD) / beta)


def raindrop_fall_speed_m_s(diameter_mm: np.ndarray) -> np.ndarray:
    """Terminal fall speed (m/s) of raindrops of the given diameters (mm), Atlas et al. 1973."""
    d = np.asarray(diameter_mm, dtype=np.float64)
    return np.maximum(9.65 - 10.3 * np.exp(-0.6 * d), 0.1)


def marshall_palmer_density_per_m3(diameter_edges_mm: np.ndarray, rate_mm_h: float) -> np.ndarray:
    """Drops per m^3 in each diameter bin (edges in mm) at ``rate_mm_h``; float64 ``(B,)``."""
    rate = check_non_negative(rate_mm_h, "rate_mm_h", "mm/h")
    edges = np.asarray(diameter_edges_mm, dtype=np.float64)
    if rate == 0:
        return np.zeros(edges.size - 1)
    slope = MARSHALL_PALMER_SLOPE * rate**MARSHALL_PALMER_SLOPE_EXPONENT  # 1/mm
    cumulative = MARSHALL_PALMER_N0_PER_M3_MM / slope * np.exp(-slope * edges)
    return cumulative[:-1] - cumulative[1:]


def sample_rain_streaks(
    rate_mm_h: float,
    K: np.ndarray,
    height: int,
    width: int,
    rng: np.random.Generator,
    exposure_s: float = 0.005,
    ego_speed_m_s: float = 0.0,
    min_alpha: float = 0.02,
) -> ParticleStreaks:
    """The raindrops visible in one exposure of ``exposure_s`` seconds (see module doc).

    ``ego_speed_m_s``: forward speed of the camera, which tilts streaks away from the
    focus of expansion. Returns :class:`ParticleStreaks` in pixel coordinates.
    """
    check_rng(rng)
    density = marshall_palmer_density_per_m3(RAINDROP_DIAMETER_EDGES_MM, rate_mm_h)
    return sample_falling_particles(
        rng,
        K,
        height,
        width,
        RAINDROP_DIAMETER_EDGES_MM,
        density,
        raindrop_fall_speed_m_s,
        exposure_s=exposure_s,
        ego_speed_m_s=ego_speed_m_s,
        min_alpha=min_alpha,
    )


def rain_streak_alpha(
    depth_m: np.ndarray,
    rate_mm_h: float,
    K: np.ndarray,
    rng: np.random.Generator,
    exposure_s: float = 0.005,
    ego_speed_m_s: float = 0.0,
) -> np.ndarray:
    """Opacity of the rain streaks of one exposure, hidden behind closer surfaces.

    Returns float32 ``(H, W)`` in [0, 1] (0 where no streak is drawn).
    """
    depth = np.asarray(depth_m, dtype=np.float32)
    if depth.ndim != 2:
        raise ValueError(f"depth_m must have shape (H, W), got {depth.shape}")
    streaks = sample_rain_streaks(rate_mm_h, K, *depth.shape, rng, exposure_s, ego_speed_m_s)
    return render_streak_alpha(streaks, depth)


def apply_rain(
    radiance_lin: np.ndarray,
    depth_m: np.ndarray,
    rate_mm_h: float,
    K: np.ndarray,
    rng: np.random.Generator,
    airlight_rgb: np.ndarray,
    exposure_s: float = 0.005,
    ego_speed_m_s: float = 0.0,
    drop_radiance_rgb: np.ndarray | None = None,
) -> np.ndarray:
    """Rain falling at ``rate_mm_h`` (mm/h), as one camera exposure sees it.

    ``radiance_lin``: float32 ``(H, W, 3)``; ``depth_m``: float32 ``(H, W)`` z-depth
    (``inf`` sky, ``nan`` unknown: far for extinction, never hides a drop); ``K``: 3x3;
    ``airlight_rgb``: ``(3,)`` radiance of the rain haze at infinity (the horizon sky);
    ``exposure_s``: shutter time (longer = longer, fainter streaks);
    ``drop_radiance_rgb``: radiance of a drop (default: the airlight, since a drop
    refracts a wide cone of the sky above it, Garg & Nayar 2007).
    Returns new float32 ``(H, W, 3)`` linear radiance. ``rate_mm_h = 0`` returns a copy.
    """
    img = check_radiance(radiance_lin)
    depth = check_depth(depth_m, img.shape[:2])
    k = check_intrinsics(K)
    check_rng(rng)
    airlight = check_rgb(airlight_rgb, "airlight_rgb")
    drop_rgb = (
        airlight if drop_radiance_rgb is None else check_rgb(drop_radiance_rgb, "drop_radiance_rgb")
    )
    beta = rain_extinction_per_m(rate_mm_h)
    if beta == 0.0:
        return img.copy()
    t = transmission_for_extinction(depth, beta, k)
    scattered = 1.0 - t
    # out = (img + scattered (blurred - img)) t + airlight scattered
    out = gaussian_blur(img, _FORWARD_SCATTER_SIGMA_PX)
    out -= img
    out *= expand_to_rgb(scattered)
    out += img
    out *= expand_to_rgb(t)
    out += times_rgb(scattered, airlight)
    alpha = rain_streak_alpha(depth, rate_mm_h, k, rng, exposure_s, ego_speed_m_s)
    return composite(out, alpha, drop_rgb)
