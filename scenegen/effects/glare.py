"""A low sun in or near the lens: sun disk, veiling glare, flare ghosts, bloom.

* Sun disk: angular radius 0.2665 deg; its radiance relative to diffuse white is
  ``pi / Omega_sun ~ 4.6e4`` times the share of daylight it provides, far above any
  display: it saturates and blooms. Drawn only on sky pixels (``depth_m`` inf / nan) if
  a depth map is given.
* Veiling glare: light scattered by the lens elements, their coatings and the windshield
  adds a luminance that falls with the angle ``theta`` to the glare source as
  ``1 / theta^2`` (the Stiles-Holladay disability-glare law for the eye, Holladay 1926,
  Stiles 1929, CIE 146:2002; camera lenses follow a similar power law, Talvala et al.
  2007). Here ``L = strength x visible x (100 + theta0^2) / (theta^2 + theta0^2)`` with
  ``theta`` in degrees and ``theta0 = 1 deg`` so it stays finite at the sun: ``strength``
  is the veiling radiance 10 deg from the sun, relative to diffuse white. It is present
  whether or not the sun is inside the frame, so the frame edge nearest an off-frame sun
  is the brightest.
* Ghosts: inter-reflections between lens surfaces image the aperture at points on the
  line from the sun through the image centre (the optical axis); each ghost is a soft
  tinted disc (Hullin et al., "Physically-based real-time lens flare rendering", ACM TOG
  30(4), 2011). Only drawn when the sun is inside the frame.
* Bloom of saturated areas: :func:`effects.sensor.bloom`.
"""

from __future__ import annotations

import numpy as np

from scenegen.effects.common import (
    angle_to_direction_deg,
    check_depth,
    check_intrinsics,
    check_radiance,
    check_rgb,
    times_rgb,
)
from scenegen.effects.sensor import bloom

SUN_ANGULAR_RADIUS_DEG = 0.2665
VEILING_CORE_DEG = 1.0
# Ghosts: position along the sun -> centre line (0 = centre, 1 = sun), radius as a share
# of the image diagonal, peak radiance per unit strength, and tint (coating colours).
_GHOSTS = (
    (-0.35, 0.020, 0.30, (0.55, 1.0, 0.6)),
    (-0.70, 0.045, 0.12, (1.0, 0.55, 0.9)),
    (-1.10, 0.080, 0.06, (0.6, 0.8, 1.0)),
    (0.45, 0.012, 0.40, (1.0, 0.85, 0.5)),
    (-0.15, 0.030, 0.10, (0.7, 0.7, 1.0)),
)


def sun_uv_from_direction(
    sun_direction_cam: np.ndarray, K: np.ndarray
) -> tuple[float, float] | None:
    """Pixel of a direction in the camera frame (x right, y down, z forward).

    Returns ``(u, v)`` (possibly outside the image), or ``None`` if the direction points
    behind the camera.
    """
    d = np.asarray(sun_direction_cam, dtype=np.float64).reshape(3)
    if d[2] <= 1e-6:
        return None
    k = check_intrinsics(K)
    return (float(k[0, 0] * d[0] / d[2] + k[0, 2]), float(k[1, 1] * d[1] / d[2] + k[1, 2]))


def veiling_glare(
    shape_hw: tuple[int, int],
    sun_uv: tuple[float, float],
    K: np.ndarray,
    strength: float,
    sun_visible_fraction: float = 1.0,
) -> np.ndarray:
    """Veiling glare radiance (relative to diffuse white): float32 ``(H, W)``.

    Falls as ``1 / (theta^2 + theta0^2)`` with the angle ``theta`` (deg) to the sun.
    """
    return _veil(angle_to_direction_deg(K, *shape_hw, sun_uv), strength * sun_visible_fraction)


def _veil(theta_deg: np.ndarray, level: float) -> np.ndarray:
    scale = np.float32(level * (100.0 + VEILING_CORE_DEG**2))
    return scale / (theta_deg * theta_deg + np.float32(VEILING_CORE_DEG**2))


def apply_sun_glare(
    radiance_lin: np.ndarray,
    sun_uv: tuple[float, float],
    sun_visible_fraction: float,
    strength: float,
    K: np.ndarray,
    depth_m: np.ndarray | None = None,
    sun_rgb: np.ndarray = (1.0, 0.92, 0.8),
    sun_disk_radiance: float = 2.0e4,
    bloom_threshold: float = 1.0,
    bloom_strength: float = 0.05,
) -> np.ndarray:
    """Glare from the sun at pixel ``sun_uv`` (may be outside the frame).

    ``radiance_lin``: float32 ``(H, W, 3)``; ``sun_visible_fraction`` in [0, 1]: share of
    the sun not hidden by objects or clouds; ``strength`` >= 0: veiling radiance 10 deg
    from the sun (0.05 a clean lens, 0.3 a dirty windshield); ``K`` 3x3; ``depth_m``
    (optional ``(H, W)``): the disk is drawn only where it is inf / nan (sky);
    ``sun_rgb``: colour of the sunlight (a low sun is warm); ``sun_disk_radiance``:
    radiance of the unobscured disk; bloom parameters as :func:`effects.sensor.bloom`.
    Returns new float32 ``(H, W, 3)`` linear radiance.
    """
    img = check_radiance(radiance_lin)
    k = check_intrinsics(K)
    colour = check_rgb(sun_rgb, "sun_rgb")
    visible = float(sun_visible_fraction)
    if not 0.0 <= visible <= 1.0:
        raise ValueError(f"sun_visible_fraction must be in [0, 1], got {sun_visible_fraction!r}")
    if not np.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a finite number >= 0, got {strength!r}")
    height, width = img.shape[:2]
    u_s, v_s = float(sun_uv[0]), float(sun_uv[1])
    out = img.copy()

    theta = angle_to_direction_deg(k, height, width, (u_s, v_s))
    if visible > 0:
        disk = theta <= SUN_ANGULAR_RADIUS_DEG
        if depth_m is not None:
            depth = check_depth(depth_m, (height, width))
            disk &= ~np.isfinite(depth)
        if np.any(disk):
            out[disk] = np.maximum(out[disk], np.float32(sun_disk_radiance * visible) * colour)

    out += times_rgb(_veil(theta, strength * visible), colour)

    inside = 0 <= u_s < width and 0 <= v_s < height
    if inside and strength > 0 and visible > 0:
        _add_ghosts(out, (u_s, v_s), strength * visible, colour)
    return bloom(out, bloom_threshold, bloom_strength)


def _add_ghosts(
    out: np.ndarray, sun_uv: tuple[float, float], level: float, colour: np.ndarray
) -> None:
    """Add soft tinted discs along the sun -> centre line, in place, in their windows."""
    height, width = out.shape[:2]
    cu, cv = 0.5 * width, 0.5 * height
    diag = float(np.hypot(width, height))
    for position, radius_share, peak, tint in _GHOSTS:
        gu = cu + position * (sun_uv[0] - cu)
        gv = cv + position * (sun_uv[1] - cv)
        r = radius_share * diag
        u0, u1 = int(max(0, np.floor(gu - r - 2))), int(min(width, np.ceil(gu + r + 2)))
        v0, v1 = int(max(0, np.floor(gv - r - 2))), int(min(height, np.ceil(gv + r + 2)))
        if u0 >= u1 or v0 >= v1:
            continue
        du = np.arange(u0, u1, dtype=np.float32)[None, :] - gu
        dv = np.arange(v0, v1, dtype=np.float32)[:, None] - gv
        dist = np.sqrt(du * du + dv * dv) / np.float32(r)
        # Flat disc with a soft rim, slightly brighter at the edge like real aperture ghosts.
        profile = np.clip((1.0 - dist) / 0.15, 0.0, 1.0) * (0.7 + 0.3 * np.clip(dist, 0.0, 1.0))
        out[v0:v1, u0:u1] += (np.float32(level * peak) * profile)[..., None] * (
            np.asarray(tint, np.float32) * colour
        )
