"""The camera's weather, light and sensor chain for rendered frames.

Applies the physical models of :mod:`scenegen.effects` with the renderer's exact depth,
in the order light meets them: wet road (a surface property), fog, falling rain and
snow between the scene and the lens, sun glare in the lens, exposure,
then the lens, sensor and ISP
(:mod:`scenegen.sensors.isp`) to sRGB. Randomness comes only from the ``rng`` passed in.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from scenegen.effects import (
    airlight_from_sky,
    apply_fog,
    apply_rain,
    apply_snow,
    apply_sun_glare,
    apply_wet_road,
    bloom,
    sun_uv_from_direction,
)
from scenegen.frame import Calibration
from scenegen.scenario.spec import SceneSpec
from scenegen.sensors.camera import GBuffer
from scenegen.sensors.isp import KITTI_LIKE_ISP, CameraIsp, apply_isp, day_exposure_gain
from scenegen.sensors.shading import SkyLight
from scenegen.world.types import SEMANTIC_IDS, World

# Night auto exposure meters the lit part of the scene, as automotive cameras do (a dark
# sky must stay dark): the 90th percentile of luminance is brought to NIGHT_EXPOSURE_TARGET
# (linear). The brightening comes first from a longer exposure (up to
# MAX_EXPOSURE_FACTOR times the daytime one, ~30 ms against ~1 ms: more photo-electrons,
# less relative noise), then from analogue gain, up to MAX_NIGHT_BRIGHTENING in all.
NIGHT_EXPOSURE_TARGET = 0.35
NIGHT_METER_PERCENTILE = 97.0
MAX_EXPOSURE_FACTOR = 30.0
MAX_NIGHT_BRIGHTENING = 800.0
WET_SEMANTICS = ("road", "sidewalk", "kerb")


def antialias_edges(radiance_lin: np.ndarray, node_ids: np.ndarray) -> np.ndarray:
    """Soften the one-sample-per-pixel silhouettes: blend each pixel on a node boundary
    with its 3x3 neighbourhood. Returns a new array."""
    edge = np.zeros(node_ids.shape, bool)
    edge[:, 1:] |= node_ids[:, 1:] != node_ids[:, :-1]
    edge[1:, :] |= node_ids[1:, :] != node_ids[:-1, :]
    out = radiance_lin.copy()
    blended = cv2.blur(radiance_lin, (3, 3))
    # 0.5 a + 0.5 b: both halves are exact, so this rounds like the per-pixel formula.
    cv2.addWeighted(radiance_lin, 0.5, blended, 0.5, 0.0, dst=blended)
    cv2.copyTo(blended, edge.view(np.uint8), out)
    return out


def auto_exposure_gain(radiance_lin: np.ndarray) -> float:
    """Brightening a night camera applies: exposure time x gain, at least 1.

    Deterministic (a function of the image): brings the ``NIGHT_METER_PERCENTILE``-th
    percentile of luminance to ``NIGHT_EXPOSURE_TARGET``, within ``[1, MAX_NIGHT_BRIGHTENING]``.
    """
    lum = radiance_lin[::4, ::4].mean(axis=-1)
    level = float(np.percentile(lum, NIGHT_METER_PERCENTILE)) if lum.size else 1.0
    return float(np.clip(NIGHT_EXPOSURE_TARGET / max(level, 1e-9), 1.0, MAX_NIGHT_BRIGHTENING))


def apply_camera_effects(
    radiance_lin: np.ndarray,
    gbuffer: GBuffer,
    spec: SceneSpec,
    world: World,
    calibration: Calibration,
    sky: SkyLight,
    rng: np.random.Generator,
    *,
    enabled: bool = True,
    isp: CameraIsp = KITTI_LIKE_ISP,
) -> np.ndarray:
    """uint8 sRGB ``(H, W, 3)`` image from linear radiance, with the scene's weather and
    the camera's lens, sensor and ISP (:mod:`scenegen.sensors.isp`).

    ``enabled=False`` keeps only anti-aliasing, the lens blur, exposure and the tone curve
    (no weather, noise, vignetting or chromatic aberration).
    """
    K = calibration.intrinsics.K
    depth = gbuffer.depth_m
    weather = spec.environment.weather
    img = antialias_edges(radiance_lin, gbuffer.node_ids)
    airlight = airlight_from_sky(sky.airlight_rgb)
    if enabled:
        if weather.road_wetness > 0:
            wet_ids = [SEMANTIC_IDS[s] for s in WET_SEMANTICS]
            # Per node, then per pixel: one table look-up instead of a set test per pixel.
            ground = np.take(np.isin(gbuffer.nodes.semantic_id, wet_ids), gbuffer.node_ids)
            img = apply_wet_road(img, depth, ground, weather.road_wetness, K, spec.camera.height_m)
        if np.isfinite(weather.fog_visibility_m):
            glow = 1.0 if world.is_night else None
            img = apply_fog(img, depth, weather.fog_visibility_m, airlight, K, glow_threshold=glow)
        if weather.rain_rate_mm_h > 0:
            img = apply_rain(
                img,
                depth,
                weather.rain_rate_mm_h,
                K,
                rng,
                airlight,
                ego_speed_m_s=spec.ego_speed_m_s,
            )
        if weather.snow_rate_mm_h > 0:
            img = apply_snow(
                img,
                depth,
                weather.snow_rate_mm_h,
                K,
                rng,
                airlight,
                ego_speed_m_s=spec.ego_speed_m_s,
            )
        img = _sun_glare(img, depth, world, calibration, sky)
    gain = auto_exposure_gain(img) if world.is_night else day_exposure_gain(img)
    if enabled and world.is_night:
        img = bloom(img, threshold=1.0, strength=0.05)
    # A longer exposure collects more photo-electrons; the rest of the brightening is
    # gain, which shows the sensor's shot and read noise.
    return apply_isp(
        img,
        K,
        isp if enabled else replace(isp, chromatic_aberration=0.0, vignetting_exponent=0.0),
        rng if enabled else None,
        exposure_gain=gain,
        exposure_factor=float(np.clip(gain, 1.0, MAX_EXPOSURE_FACTOR)),
    )


def _sun_glare(
    img: np.ndarray, depth: np.ndarray, world: World, calibration: Calibration, sky: SkyLight
) -> np.ndarray:
    """Veiling glare, ghosts and the sun's disc when the sun is up and near the view."""
    if world.sun_elevation_deg <= 0 or sky.sun_irradiance <= 0.02:
        return img
    sun_cam = calibration.T_cam_from_world[:3, :3] @ np.asarray(world.sun_direction_world)
    uv = sun_uv_from_direction(sun_cam, calibration.intrinsics.K)
    if uv is None:
        return img
    k = calibration.intrinsics
    u, v = uv
    inside = 0 <= u < k.width and 0 <= v < k.height
    # The sun counts as visible when its pixel shows sky (nothing in front of it).
    visible = 1.0 if not inside or not np.isfinite(depth[int(v), int(u)]) else 0.0
    strength = 0.15 * sky.sun_irradiance
    return apply_sun_glare(
        img,
        (u, v),
        visible,
        strength,
        calibration.intrinsics.K,
        depth_m=depth,
        sun_rgb=tuple(float(c) for c in sky.sun_color),
    )
