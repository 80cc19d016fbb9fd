"""Sensor presets a scenario can name, and the sun position for a clock time.

Camera presets (``sensors.camera.preset``):

========  ===========  =========================================  ========  =====
preset    size (WxH)   intrinsics (pixels)                        height_m  pitch
========  ===========  =========================================  ========  =====
kitti     1242 x 375   fx=fy=721.5377, cx=609.5593, cy=172.854    1.65      0
nuscenes  1600 x 900   fx=fy=1266.4, cx=816.3, cy=491.5           1.51      0
wide      1920 x 1080  90 deg horizontal fov, centred              1.65      0
custom    1280 x 720   90 deg horizontal fov, centred (defaults)   1.65      0
========  ===========  =========================================  ========  =====

A custom camera (or a preset with ``width``, ``height`` or ``fov_deg`` overridden) has
square pixels, ``fx = fy = (width / 2) / tan(fov_deg / 2)``, and its principal point at
the image centre ``(width / 2, height / 2)``.

LiDAR presets (``sensors.lidar.preset``):

========  ========  ==================  =============  =========  ===========
preset    channels  vertical fov (deg)  azimuth steps  range (m)  noise (m)
========  ========  ==================  =============  =========  ===========
hdl64     64        +2 .. -24.9         2000           2.5 - 120  0.02
vlp32     32        +15 .. -25          1800           1.0 - 200  0.03
vlp16     16        +15 .. -15          1800           1.0 - 100  0.03
os1-128   128       +22.5 .. -22.5      2048           0.5 - 120  0.03
custom    32        +10 .. -30          1800           1.0 - 120  0.02
========  ========  ==================  =============  =========  ===========

A named preset with no beam keys yields ``LidarSpec(preset=name, vertical_angles_deg=())``:
its exact beam angles (e.g. the HDL-64E's two blocks) are the sensor module's. Giving
``channels``/``fov_up_deg``/``fov_down_deg`` (beams evenly spaced, the preset's fov as
default) or ``vertical_angles_deg``, or naming ``custom``, yields explicit angles and
``preset=None``.

All LiDAR presets mount the sensor as KITTI does: 1.73 m above the ground, 0.27 m
behind the camera.

Sun model (``environment.time_of_day``): latitude 49 deg N at an equinox (solar
declination 0), clock time equal to solar time, hour angle ``H = 15 deg/h * (t - 12 h)``::

    elevation = asin(cos(lat) * cos(H))
    compass azimuth = atan2(sin(H), cos(H) * sin(lat)) + 180 deg   (0 = north, 90 = east)

The scene's ``sun_azimuth_deg`` is in the world frame (counter-clockwise from the ego's
forward axis): ``heading_deg - compass_azimuth``, wrapped to [-180, 180).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

SUN_MODEL_LATITUDE_DEG = 49.0


@dataclass(frozen=True)
class CameraPreset:
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    height_m: float = 1.65
    pitch_deg: float = 0.0

    @property
    def fov_deg(self) -> float:
        """Horizontal field of view in degrees."""
        return math.degrees(2.0 * math.atan(self.width / (2.0 * self.fx)))


def centred_camera(
    width: int, height: int, fov_deg: float, height_m: float = 1.65, pitch_deg: float = 0.0
) -> CameraPreset:
    """Square-pixel camera with the principal point at the image centre."""
    focal_px = (width / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
    return CameraPreset(
        width, height, focal_px, focal_px, width / 2.0, height / 2.0, height_m, pitch_deg
    )


CAMERA_PRESETS: Mapping[str, CameraPreset] = MappingProxyType(
    {
        "kitti": CameraPreset(1242, 375, 721.5377, 721.5377, 609.5593, 172.854, 1.65, 0.0),
        "nuscenes": CameraPreset(1600, 900, 1266.4, 1266.4, 816.3, 491.5, 1.51, 0.0),
        "wide": centred_camera(1920, 1080, 90.0),
        "custom": centred_camera(1280, 720, 90.0),
    }
)


@dataclass(frozen=True)
class LidarPreset:
    """Nominal figures of a LiDAR; the exact beam angles of named presets live in
    :mod:`scenegen.sensors.lidar` (a named preset's ``LidarSpec`` carries no angles)."""

    channels: int
    fov_up_deg: float
    fov_down_deg: float
    azimuth_steps: int
    min_range_m: float
    max_range_m: float
    range_noise_m: float = 0.02
    height_m: float = 1.73
    forward_m: float = -0.27  # KITTI's Velodyne is 0.27 m behind the camera


def evenly_spaced_angles(
    fov_up_deg: float, fov_down_deg: float, channels: int
) -> tuple[float, ...]:
    """``channels`` beam angles from ``fov_up_deg`` down to ``fov_down_deg``, top first."""
    if channels == 1:
        return (round((fov_up_deg + fov_down_deg) / 2.0, 9),)
    step = (fov_up_deg - fov_down_deg) / (channels - 1)
    return tuple(round(fov_up_deg - i * step, 9) for i in range(channels))


LIDAR_PRESETS: Mapping[str, LidarPreset] = MappingProxyType(
    {
        "hdl64": LidarPreset(64, 2.0, -24.9, 2000, 2.5, 120.0, 0.02),
        "vlp32": LidarPreset(32, 15.0, -25.0, 1800, 1.0, 200.0, 0.03),
        "vlp16": LidarPreset(16, 15.0, -15.0, 1800, 1.0, 100.0, 0.03),
        "os1-128": LidarPreset(128, 22.5, -22.5, 2048, 0.5, 120.0, 0.03),
        "custom": LidarPreset(32, 10.0, -30.0, 1800, 1.0, 120.0, 0.02),
    }
)


def parse_clock(time_of_day: str) -> float:
    """``"HH:MM"`` -> hours after midnight (``"21:30"`` -> 21.5)."""
    hours, minutes = time_of_day.split(":")
    return int(hours) + int(minutes) / 60.0


def sun_from_clock(hours: float) -> tuple[float, float]:
    """Sun ``(elevation_deg, compass_azimuth_deg)`` at solar time ``hours`` (see module doc)."""
    latitude = math.radians(SUN_MODEL_LATITUDE_DEG)
    hour_angle = math.radians(15.0 * (hours - 12.0))
    elevation = math.asin(math.cos(latitude) * math.cos(hour_angle))
    azimuth = math.atan2(math.sin(hour_angle), math.cos(hour_angle) * math.sin(latitude)) + math.pi
    return math.degrees(elevation), math.degrees(azimuth) % 360.0


def wrap_deg(angle_deg: float) -> float:
    """Wrap an angle to [-180, 180)."""
    return (angle_deg + 180.0) % 360.0 - 180.0


def world_sun_azimuth_deg(heading_deg: float, compass_azimuth_deg: float) -> float:
    """World-frame azimuth (counter-clockwise from the ego's +x) of a compass bearing."""
    return wrap_deg(heading_deg - compass_azimuth_deg)
