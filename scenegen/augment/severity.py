"""Severity tables: what severities 1-5 of each camera corruption mean, in physical units.

Weather uses the same numbers as the LiDAR tables of Dong et al. (CVPR 2023, "Benchmarking
Robustness of 3D Object Detection to Common Corruptions"), so one severity is one weather
for both sensors: fog extinction ``alpha = 0.005 ... 0.06 /m`` (visibility
``ln(20) / alpha``: 599 m ... 50 m) and rain / snow rates of 0.20 ... 7.29 mm/h.
Names starting with ``ic_`` are the 15 ImageNet-C corruptions with the benchmark's own
tables (:mod:`scenegen.augment.imagenet_c`).
"""

from __future__ import annotations

import math
from types import MappingProxyType

from scenegen.augment.imagenet_c import IMAGENET_C

SEVERITIES = (1, 2, 3, 4, 5)

FOG_EXTINCTION_PER_M = (0.005, 0.01, 0.02, 0.03, 0.06)  # Dong et al., fog_sim
FOG_VISIBILITY_M = tuple(math.log(20.0) / a for a in FOG_EXTINCTION_PER_M)
PRECIPITATION_RATE_MM_H = (0.20, 0.73, 1.5625, 3.125, 7.29)  # Dong et al., rain/snow_sim

CAMERA_TABLES = MappingProxyType(
    {
        # weather and light (depth-aware, scenegen.effects)
        "fog": {"visibility_m": FOG_VISIBILITY_M},
        "rain": {"rate_mm_h": PRECIPITATION_RATE_MM_H},
        "snow": {"rate_mm_h": PRECIPITATION_RATE_MM_H, "ground_cover": (0.1, 0.2, 0.35, 0.5, 0.7)},
        "night": {"light_scale": (0.3, 0.1, 0.03, 0.01, 0.003)},
        "sun_glare": {"strength": (0.05, 0.1, 0.2, 0.35, 0.5)},
        "wet_road": {"road_wetness": (0.2, 0.4, 0.6, 0.8, 1.0)},
        # sensor faults
        "sensor_noise": {"electrons_at_white": (2000.0, 800.0, 300.0, 120.0, 50.0)},
        "motion_blur": {"length_px": (4.0, 8.0, 14.0, 22.0, 32.0)},
        "defocus": {"radius_px": (1.5, 3.0, 4.5, 6.5, 9.0)},
        # ImageNet-C's extra gaussian_blur table (Hendrycks & Dietterich 2019), in pixels
        "gaussian_blur": {"sigma_px": (1.0, 2.0, 3.0, 4.0, 6.0)},
        "lens_dirt": {"spots": (3, 5, 8, 12, 16), "opacity": (0.4, 0.5, 0.6, 0.7, 0.85)},
        "water_drops": {"drops": (10, 20, 35, 55, 80), "radius_px": (8.0, 10.0, 12.0, 14.0, 16.0)},
        "overexposure": {"stops": (0.7, 1.2, 1.7, 2.2, 3.0)},
        "underexposure": {"stops": (-1.0, -1.7, -2.4, -3.1, -4.0)},
        "dead_pixels": {"share": (5e-4, 1e-3, 2e-3, 4e-3, 8e-3), "dead_columns": (0, 1, 2, 4, 8)},
        "jpeg": {"quality": (30, 20, 15, 10, 5)},
        "pixelate": {"scale": (0.5, 0.4, 0.3, 0.25, 0.2)},
    }
)

WEATHER = ("fog", "rain", "snow", "night", "sun_glare", "wet_road")
SENSOR_FAULTS = tuple(name for name in CAMERA_TABLES if name not in WEATHER)
IMAGENET_C_NAMES = tuple(f"ic_{name}" for name in IMAGENET_C)
CAMERA_CORRUPTIONS = (*CAMERA_TABLES, *IMAGENET_C_NAMES)


def check_severity(severity: int) -> int:
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be an integer 1-5, got {severity!r}")
    return int(severity)


def camera_parameters(name: str, severity: int) -> dict[str, float]:
    """The physical parameters of camera corruption ``name`` at ``severity``."""
    check_severity(severity)
    if name in IMAGENET_C_NAMES:
        return {"severity": severity}
    if name not in CAMERA_TABLES:
        raise ValueError(
            f"unknown camera corruption {name!r}; expected one of {list(CAMERA_CORRUPTIONS)}"
        )
    return {key: values[severity - 1] for key, values in CAMERA_TABLES[name].items()}
