"""Fog (and any homogeneous scattering medium): Koschmieder's law plus lamp halos.

A surface of radiance ``I`` seen through a homogeneous medium with extinction coefficient
``beta`` (1/m) over a path of ``d`` metres reaches the camera as

    I * t + A * (1 - t),    t = exp(-beta * d)

where ``A`` is the airlight, the radiance of an infinitely deep layer of the medium: the
horizon sky's radiance under the same illumination (Koschmieder 1924; Narasimhan & Nayar,
"Vision and the Atmosphere", IJCV 48(3), 2002). Visibility is the meteorological optical
range (MOR): the distance at which a black object's contrast against the horizon falls to
5 % (WMO Guide to Instruments and Methods of Observation, No. 8), hence
``beta = -ln(0.05) / MOR = ln(20) / MOR``.

Depth conventions shared by every effect here: ``depth_m`` is metric z-depth; ``inf`` is
sky (nothing hit); ``nan`` is unknown (real frames) and is treated like sky, i.e. as far
away as the fog can hide, so unknown pixels take the airlight colour.
"""

from __future__ import annotations

import numpy as np

from scenegen.effects.common import (
    add_gaussian_blur,
    check_depth,
    check_intrinsics,
    check_radiance,
    check_rgb,
    expand_to_rgb,
    luminance,
    ray_length_per_depth,
    times_rgb,
)

MOR_CONTRAST_THRESHOLD = 0.05

# Halo of a lamp seen through fog: scattered light is strongly forward-peaked (Mie
# scattering by droplets, asymmetry g ~ 0.85), so most of it stays in a narrow aureole
# whose width grows with optical thickness (Narasimhan & Nayar, "Shedding Light on the
# Weather", CVPR 2003). Two Gaussian lobes of these widths (degrees, at optical
# thickness 1) with these shares of the scattered power stand in for their APSF.
_GLOW_LOBES_DEG = (0.8, 4.0)
_GLOW_LOBE_SHARES = (0.55, 0.45)
# Share of the scattered power that stays within the aureole (the rest leaves the view).
_GLOW_FORWARD_SHARE = 0.8


def fog_extinction_per_m(visibility_m: float) -> float:
    """Extinction coefficient ``beta`` (1/m) of a medium with this MOR (metres).

    ``ln(20) / visibility_m``; 0 for ``visibility_m = inf`` (clear air).
    """
    v = float(visibility_m)
    if np.isnan(v) or v <= 0:
        raise ValueError(f"visibility_m must be > 0 metres (inf for no fog), got {visibility_m!r}")
    return 0.0 if np.isinf(v) else float(np.log(1.0 / MOR_CONTRAST_THRESHOLD) / v)


def transmission_for_extinction(
    depth_m: np.ndarray, extinction_per_m: float, K: np.ndarray | None = None
) -> np.ndarray:
    """``exp(-beta * path)`` for a z-depth map and an extinction coefficient (1/m).

    With ``K`` (3x3) the path is the length of each pixel's ray to the surface (what the
    light actually crosses); without it, the z-depth itself. ``inf`` and ``nan`` depths
    give 0 whenever ``beta > 0``; everything gives 1 when ``beta == 0``.
    Returns float32 ``(H, W)`` in [0, 1], dimensionless.
    """
    depth = np.asarray(depth_m, dtype=np.float32)
    if depth.ndim != 2:
        raise ValueError(f"depth_m must have shape (H, W), got {depth.shape}")
    beta = float(extinction_per_m)
    if not np.isfinite(beta) or beta < 0:
        raise ValueError(f"extinction_per_m must be a finite number >= 0, got {extinction_per_m!r}")
    if beta == 0.0:
        return np.ones(depth.shape, dtype=np.float32)
    path = np.where(np.isfinite(depth), np.maximum(depth, 0.0), np.inf).astype(np.float32)
    if K is not None:
        path *= ray_length_per_depth(K, *depth.shape)
    path *= np.float32(-beta)
    return np.exp(path, out=path)


def fog_transmission(
    depth_m: np.ndarray, visibility_m: float, K: np.ndarray | None = None
) -> np.ndarray:
    """Share of a surface's radiance that survives the fog: float32 ``(H, W)`` in [0, 1].

    At a path of exactly ``visibility_m`` it is 0.05. See
    :func:`transmission_for_extinction` for ``K`` and inf / nan depths.
    """
    return transmission_for_extinction(depth_m, fog_extinction_per_m(visibility_m), K)


def airlight_from_sky(sky_horizon_rgb: np.ndarray, droplet_neutrality: float = 0.7) -> np.ndarray:
    """Airlight of fog from the horizon sky's linear radiance.

    Fog droplets (2-20 um) scatter all visible wavelengths alike, so fog looks grey-white
    under a blue sky: the result mixes the sky colour with its own luminance in grey,
    ``droplet_neutrality`` being the grey share (0 keeps the sky's colour, 1 is neutral).
    Returns float32 ``(3,)`` linear RGB.
    """
    sky = check_rgb(sky_horizon_rgb, "sky_horizon_rgb")
    if not 0.0 <= droplet_neutrality <= 1.0:
        raise ValueError(f"droplet_neutrality must be in [0, 1], got {droplet_neutrality!r}")
    grey = np.full(3, luminance(sky), dtype=np.float32)
    return ((1.0 - droplet_neutrality) * sky + droplet_neutrality * grey).astype(np.float32)


def airlight_from_image(radiance_lin: np.ndarray, depth_m: np.ndarray | None = None) -> np.ndarray:
    """Estimate the airlight of a real frame: the mean colour of its brightest sky.

    Uses pixels whose depth is ``inf`` / ``nan`` in the upper half of the image (all of the
    upper half when no depth is given), and of those the brightest 10 % by luminance, as
    in dark-channel dehazing (He et al., CVPR 2009). Returns float32 ``(3,)`` linear RGB.
    """
    img = check_radiance(radiance_lin)
    upper = img[: max(1, img.shape[0] // 2)]
    if depth_m is not None:
        depth = check_depth(depth_m, img.shape[:2])[: upper.shape[0]]
        far = ~np.isfinite(depth)
        candidates = upper[far] if np.count_nonzero(far) >= 16 else upper.reshape(-1, 3)
    else:
        candidates = upper.reshape(-1, 3)
    lum = luminance(candidates)
    top = lum >= np.quantile(lum, 0.9)
    return candidates[top].mean(axis=0).astype(np.float32)


def fog_glow(
    radiance_lin: np.ndarray,
    depth_m: np.ndarray,
    extinction_per_m: float,
    K: np.ndarray,
    threshold: float = 1.0,
    transmission: np.ndarray | None = None,
) -> np.ndarray:
    """Halo that bright sources (lamps) get from light the medium scatters forward.

    Each pixel brighter than ``threshold`` is a source of power ``I - threshold``; the
    share ``1 - t`` of it is scattered on its way (``t`` the transmission at that pixel's
    depth), and ``_GLOW_FORWARD_SHARE`` of that reappears around the source as an
    aureole: two Gaussian lobes whose angular widths grow as ``sqrt(optical thickness)``
    (multiple scattering widens the glow, Narasimhan & Nayar 2003). Sky pixels (``inf``)
    are not sources: the airlight already accounts for the sky.
    ``transmission``: the ``(H, W)`` transmission when the caller already has it.
    Returns float32 ``(H, W, 3)`` linear radiance to add to the fogged image.
    """
    img = check_radiance(radiance_lin)
    depth = check_depth(depth_m, img.shape[:2])
    k = check_intrinsics(K)
    beta = float(extinction_per_m)
    glow = np.zeros_like(img)
    if beta <= 0:
        return glow
    excess = np.maximum(img - np.float32(threshold), 0.0)
    excess[np.isposinf(depth)] = 0.0
    lum = luminance(excess)
    sources = lum > 0
    if not np.any(sources):
        return glow
    t = transmission if transmission is not None else transmission_for_extinction(depth, beta, k)
    excess *= expand_to_rgb(1.0 - t)
    # One aureole width for the frame, from the power-weighted optical thickness.
    path = (
        np.where(np.isfinite(depth), depth, np.inf)[sources]
        * ray_length_per_depth(k, *depth.shape)[sources]
    )
    tau = np.minimum(beta * path, 8.0)  # unknown depth: as thick as the glow model allows
    tau_mean = float(np.sum(tau * lum[sources]) / np.sum(lum[sources]))
    width_scale = np.sqrt(max(tau_mean, 0.05))
    for lobe_deg, share in zip(_GLOW_LOBES_DEG, _GLOW_LOBE_SHARES, strict=True):
        sigma_px = float(k[0, 0]) * np.radians(lobe_deg * width_scale)
        add_gaussian_blur(glow, excess, share * _GLOW_FORWARD_SHARE, sigma_px)
    return glow


def apply_fog(
    radiance_lin: np.ndarray,
    depth_m: np.ndarray,
    visibility_m: float,
    airlight_rgb: np.ndarray,
    K: np.ndarray | None = None,
    glow_threshold: float | None = None,
) -> np.ndarray:
    """Fog of meteorological optical range ``visibility_m`` (metres; ``inf`` = none).

    ``radiance_lin``: float32 ``(H, W, 3)`` linear radiance; ``depth_m``: float32 ``(H, W)``
    z-depth (``inf`` sky, ``nan`` unknown -> airlight); ``airlight_rgb``: ``(3,)`` linear
    radiance of the fog at infinity (see :func:`airlight_from_sky`); ``K``: 3x3 intrinsics,
    to use ray lengths instead of z-depth (needed for ``glow_threshold``);
    ``glow_threshold``: if given, pixels brighter than this get a halo
    (:func:`fog_glow`) - use it at night, where fog without halos looks wrong.
    Returns new float32 ``(H, W, 3)`` linear radiance ``I t + A (1 - t) [+ glow]``.
    """
    img = check_radiance(radiance_lin)
    depth = check_depth(depth_m, img.shape[:2])
    airlight = check_rgb(airlight_rgb, "airlight_rgb")
    beta = fog_extinction_per_m(visibility_m)
    if beta == 0.0:
        return img.copy()
    t = transmission_for_extinction(depth, beta, K)
    out = img * expand_to_rgb(t)
    out += times_rgb(1.0 - t, airlight)
    if glow_threshold is not None:
        if K is None:
            raise ValueError("glow_threshold needs K (3x3 intrinsics) to size the halo in pixels")
        out += fog_glow(img, depth, beta, K, glow_threshold, transmission=t)
    return out
