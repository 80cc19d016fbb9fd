"""The shading model's constants and light levels, shared by both shading backends.

:mod:`scenegen.sensors.shading` (numpy, the default) and :mod:`scenegen.sensors.shading_torch`
(torch, CUDA when present) evaluate the same per-pixel model; what they share lives here:
the sky and sun levels for a sun elevation and cloud cover, the sky dome's radiance (smooth,
evaluated at quarter resolution in numpy by both), the lamps that count, the constants of
the model and the names of the backends.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scenegen.frame import Calibration
from scenegen.sensors.pixel_grid import PixelGrid
from scenegen.world.types import Light, World

SHADING_BACKENDS: tuple[str, ...] = ("numpy", "torch")
MAX_LAMPS = 16
LAMP_CANDELA_TO_RELATIVE = 1e-4  # candela x 1e-4 / d^2: relative units (1.0 ~ 10^4 lux)
LAMP_MIN_DIST2_M2 = 0.25  # lamps closer than 0.5 m light as if at 0.5 m
SPOT_EDGE_SHARPNESS = 3.0  # a spot's cone fades over a third of (1 - cos(half angle))
SKY_TERM_UP_WEIGHT = 0.45  # sky light: 0.55 + 0.45 (n . up), brighter on up-facing surfaces
HIGHLIGHT_GAIN = 2.0  # Blinn-Phong highlight: 2 x specular x (n . h)^48 x sun


@dataclass(frozen=True)
class SkyLight:
    """Illumination levels derived from sun elevation and clouds (relative units)."""

    sun_irradiance: float
    sun_color: np.ndarray  # (3,) float32
    sky_irradiance: float
    sky_zenith_rgb: np.ndarray  # (3,) radiance of the sky straight up
    sky_horizon_rgb: np.ndarray  # (3,) radiance of the sky at the horizon

    def scaled(self, level: float, sun_colour_rgb: tuple[float, float, float]) -> SkyLight:
        """This light with sun and sky levels times ``level`` and the sun's colour times
        ``sun_colour_rgb`` (domain randomisation; 1 and (1, 1, 1) change nothing)."""
        if level == 1.0 and sun_colour_rgb == (1.0, 1.0, 1.0):
            return self
        return SkyLight(
            self.sun_irradiance * level,
            (self.sun_color * np.asarray(sun_colour_rgb, np.float32)).astype(np.float32),
            self.sky_irradiance * level,
            (self.sky_zenith_rgb * level).astype(np.float32),
            (self.sky_horizon_rgb * level).astype(np.float32),
        )

    @property
    def airlight_rgb(self) -> np.ndarray:
        """Radiance that fog scatters towards the camera: the horizon sky's."""
        return self.sky_horizon_rgb


# Relative units: 1.0 is a white surface under a clear midday sun and sky, about 10^4 lux
# of the lamp model (candela x 1e-4 / d^2). A moonless night sky under urban skyglow gives
# 0.1-1 lux (Kyba et al., "Cloud coverage acts as an amplifier for ecological light
# pollution in urban ecosystems", PLoS ONE 6(3), 2011: overcast city skies are several
# times brighter than clear ones); the end of civil twilight (sun at -6 deg) about 3 lux.
CLEAR_SKY_DIFFUSE = 0.135
OVERCAST_EXTRA_DIFFUSE = 0.42
NIGHT_SKY_IRRADIANCE = 2e-5
NIGHT_SKY_CLOUD_GAIN = 2.0  # overcast skies reflect the city's light back down
CIVIL_DUSK_SKY_IRRADIANCE = 3e-4
# Radiance colours of the night sky: clear, a deep blue; overcast, skyglow lit from below.
NIGHT_SKY_CLEAR_RGB = np.array([0.25, 0.35, 0.8], np.float32)
NIGHT_SKY_GLOW_RGB = np.array([1.0, 0.72, 0.48], np.float32)


def sky_light(sun_elevation_deg: float, cloud_cover: float) -> SkyLight:
    """Sun and sky levels for a sun elevation (degrees) and a cloud cover in [0, 1].

    Above 6 deg of sun elevation the sky is the day's; below -6 deg it is the night's
    (skyglow and twilight, hundreds to thousands of times darker), blended linearly in
    between.
    """
    elev = float(sun_elevation_deg)
    cloud = float(np.clip(cloud_cover, 0.0, 1.0))
    # Direct sun fades with air mass near the horizon and is cut by clouds.
    day = float(np.clip((elev + 6.0) / 12.0, 0.0, 1.0))  # 0 at -6 deg (civil dusk), 1 at +6
    sun = max(0.0, 1.0 - np.exp(-max(elev, 0.0) / 4.0)) * (1.0 - 0.85 * cloud)
    low = float(np.clip(1.0 - elev / 25.0, 0.0, 1.0))  # warmth of a low sun
    sun_color = np.array([1.0, 0.93 - 0.25 * low, 0.85 - 0.45 * low], np.float32)
    # Night: skyglow, brighter under clouds, plus the last of the twilight down to -12 deg.
    twilight = CIVIL_DUSK_SKY_IRRADIANCE * float(np.clip((elev + 12.0) / 6.0, 0.0, 1.0)) ** 2
    night = NIGHT_SKY_IRRADIANCE * (1.0 + NIGHT_SKY_CLOUD_GAIN * cloud) + twilight
    # Clear-sky diffuse light is ~16 % of the global horizontal irradiance with the sun at
    # 45 deg (Erbs, Klein & Duffie, Solar Energy 28(4), 1982: diffuse fraction at a
    # clearness index of 0.75), so shadows keep about a fifth of the sunlit level;
    # under full overcast the diffuse sky is all the light there is.
    sky = day * (CLEAR_SKY_DIFFUSE + OVERCAST_EXTRA_DIFFUSE * cloud) + (1.0 - day) * night
    blue = np.array([0.35, 0.55, 1.0], np.float32)
    grey = np.array([0.75, 0.78, 0.82], np.float32)
    night_rgb = (1 - cloud) * NIGHT_SKY_CLEAR_RGB + cloud * NIGHT_SKY_GLOW_RGB
    zenith = ((1 - cloud) * blue + cloud * grey) * (0.91 * day) + (1 - day) * night * night_rgb
    dusk = np.array([1.0, 0.55, 0.30], np.float32)
    horizon_day = (1 - cloud) * np.array([0.85, 0.9, 1.0], np.float32) + cloud * grey
    dusk_weight = float(np.clip(1.0 - abs(elev) / 8.0, 0.0, 1.0)) * (1 - cloud)
    # The horizon glows more than the zenith at night: the city's light scattered low.
    horizon = ((1 - dusk_weight) * horizon_day + dusk_weight * dusk) * (1.112 * day) + (1 - day) * (
        1.2 * night
    ) * night_rgb
    return SkyLight(sun, sun_color, sky, zenith.astype(np.float32), horizon.astype(np.float32))


def sky_radiance(
    grid: PixelGrid, R_world_from_cam: np.ndarray, light: SkyLight, sun_dir_world: np.ndarray
) -> np.ndarray:
    """Radiance ``(H, W, 3)`` of the sky along each pixel ray: a horizon-to-zenith
    gradient and a glow around the sun, evaluated at quarter resolution (it is smooth).
    The sun's disc and glare are the lens's business (:mod:`scenegen.effects.glare`)."""
    h, w = grid.a.shape
    a, b = grid.a[::4, ::4], grid.b[::4, ::4]
    R = R_world_from_cam.astype(np.float32)
    d = [R[i, 0] * a + R[i, 1] * b + R[i, 2] for i in range(3)]
    inv = 1.0 / np.sqrt(d[0] ** 2 + d[1] ** 2 + d[2] ** 2)
    up = np.sqrt(np.clip(d[2] * inv, 0.0, 1.0))[..., None]
    cos_sun = (d[0] * sun_dir_world[0] + d[1] * sun_dir_world[1] + d[2] * sun_dir_world[2]) * inv
    glow = (0.6 * light.sun_irradiance) * np.exp((cos_sun - 1.0) * 40.0)
    small = (1 - up) * light.sky_horizon_rgb + up * light.sky_zenith_rgb
    small = small + glow[..., None] * light.sun_color
    sky = cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return sky


@dataclass(frozen=True)
class FrameLighting:
    """What one frame's shading needs besides the pixels: the sky and sun levels, the
    camera poses, and the world's up axis and the sun's direction (unit, float64) in the
    world and (float32) in the camera frame."""

    light: SkyLight
    T_cam_from_world: np.ndarray
    T_world_from_cam: np.ndarray
    up_cam: np.ndarray
    sun_dir_world: np.ndarray
    sun_cam: np.ndarray

    @staticmethod
    def of(world: World, calibration: Calibration) -> FrameLighting:
        T_cam_from_world = calibration.T_cam_from_world
        R_cw = T_cam_from_world[:3, :3]
        sun_dir = np.asarray(world.sun_direction_world, np.float64)
        sun_dir /= np.linalg.norm(sun_dir)
        return FrameLighting(
            sky_light(world.sun_elevation_deg, world.cloud_cover).scaled(
                world.light_level_scale, world.sun_colour_scale_rgb
            ),
            T_cam_from_world,
            np.linalg.inv(T_cam_from_world),
            (R_cw @ np.array([0.0, 0.0, 1.0])).astype(np.float32),
            sun_dir,
            (R_cw @ sun_dir).astype(np.float32),
        )

    @property
    def needs_sun(self) -> bool:
        """The sun is up and bright enough to light anything."""
        return self.light.sun_irradiance > 1e-4 and self.sun_dir_world[2] > 0


def shading_lamps(world: World) -> list[Light]:
    """The lamps that light the scene: the ``MAX_LAMPS`` nearest the ego (camera) position,
    nearest first; they matter most, and the cap bounds the cost."""
    lights = sorted(world.lights, key=lambda lamp: float(np.hypot(*lamp.position_world[:2])))
    return lights[:MAX_LAMPS]


def check_shading_backend(backend: str) -> str:
    """``backend`` if it is one of ``SHADING_BACKENDS``, else a ``ValueError`` saying so."""
    if backend not in SHADING_BACKENDS:
        raise ValueError(
            f"unknown shading backend {backend!r}; expected {' or '.join(SHADING_BACKENDS)}"
        )
    return backend
