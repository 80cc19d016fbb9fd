"""LiDAR corruptions on real or synthetic scans, severities 1-5 in physical units.

Tables follow Dong et al. (CVPR 2023, "Benchmarking Robustness of 3D Object Detection to
Common Corruptions in Autonomous Driving", code ``LiDAR_corruptions.py``) where it has five
levels, and Robo3D (Kong et al., ICCV 2023, KITTI-C) otherwise, its light / moderate /
heavy levels placed at severities 1 / 3 / 5 and the levels between interpolated:

==================  =====================================================  ===========
corruption          severities 1 .. 5                                      source
==================  =====================================================  ===========
fog                 visibility 599, 300, 150, 100, 50 m (alpha .005-.06)   Dong
rain, snow          0.20, 0.73, 1.5625, 3.125, 7.29 mm/h                   Dong
wet_ground          water film 0.2, 0.35, 0.5, 0.75, 1.0 mm (wetness)      Robo3D
beam_missing        16, 24, 32, 40, 48 of 64 beams dropped at random       Robo3D
crosstalk           0.4, 0.8, 1.2, 1.6, 2.0 % of points, N(0, 3 m) shift   Dong
incomplete_echo     75, 80, 85, 90, 95 % of vehicle points lost            Robo3D
motion_blur         x/y jitter std 0.04, 0.06, 0.08, 0.10, 0.12 m          Robo3D
cross_sensor        48, 40, 32, 24, 16 beams kept, every 2nd point         Robo3D
jitter              x/y/z Gaussian std 0.02, 0.04, 0.06, 0.08, 0.10 m      Dong
==================  =====================================================  ===========

Weather runs the renderer's LiDAR weather (:func:`scenegen.effects.lidar_weather.
apply_lidar_weather`: Hahner fog soft target, particle returns, wet-road specular loss)
with the same visibility and rates as the camera tables. Differences from the reference
code: crosstalk moves x, y, z only (the reference also adds 3 m-scale noise to the
intensity column), and rings come from each point's elevation (HDL-64E angles) instead of
the azimuth-wrap heuristic. Boxes are never moved; the points inside each box are counted
again after the corruption (:class:`LidarCorruption.points_per_box`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scenegen.augment.severity import FOG_VISIBILITY_M, PRECIPITATION_RATE_MM_H, check_severity
from scenegen.effects.lidar_weather import (
    LidarWeatherSetup,
    apply_lidar_weather,
    ring_from_elevation,
)
from scenegen.frame import Box3D, transform_points
from scenegen.labels.lidar_counts import count_points_in_boxes
from scenegen.points import PointCloud

# KITTI's Velodyne HDL-64E: 64 beams, top to bottom (same as sensors.lidar's preset).
HDL64_VERTICAL_ANGLES_DEG = np.concatenate(
    [np.linspace(2.0, -8.33, 32), np.linspace(-8.83, -24.9, 32)]
)

LIDAR_TABLES: dict[str, dict[str, tuple[float, ...]]] = {
    # One severity means the same weather on the camera and the LiDAR (Dong et al. 2023).
    "fog": {"visibility_m": FOG_VISIBILITY_M},
    "rain": {"rate_mm_h": PRECIPITATION_RATE_MM_H},
    "snow": {"rate_mm_h": PRECIPITATION_RATE_MM_H},
    "wet_ground": {"road_wetness": (0.2, 0.35, 0.5, 0.75, 1.0)},
    "beam_missing": {"beams_dropped": (16, 24, 32, 40, 48)},
    "crosstalk": {"share": (0.004, 0.008, 0.012, 0.016, 0.020), "std_m": (3.0,) * 5},
    "incomplete_echo": {"loss": (0.75, 0.80, 0.85, 0.90, 0.95)},
    "motion_blur": {"std_m": (0.04, 0.06, 0.08, 0.10, 0.12)},
    "cross_sensor": {"beams_kept": (48, 40, 32, 24, 16)},
    "jitter": {"std_m": (0.02, 0.04, 0.06, 0.08, 0.10)},
}
LIDAR_CORRUPTIONS = tuple(LIDAR_TABLES)
VEHICLE_CLASSES = frozenset({"car", "van", "truck", "bus"})
# Corruptions that run the LiDAR weather (which makes its own output cloud).
_WEATHER_CORRUPTIONS = ("fog", "rain", "snow", "wet_ground")


@dataclass(frozen=True)
class _Weather:
    fog_visibility_m: float = math.inf
    rain_rate_mm_h: float = 0.0
    snow_rate_mm_h: float = 0.0
    road_wetness: float = 0.0


@dataclass
class LidarCorruption:
    """A corrupted scan.

    * ``points``: the corrupted cloud; the input's columns travel with their points (a
      weather echo has its beam's ring, class and instance id 0, see
      :class:`scenegen.effects.lidar_weather.WeatheredPoints`).
    * ``source_index``: int64 ``(M,)`` input point each output point came from, -1 for new
      points (weather returns).
    * ``params``: the physical parameters used (JSON-friendly).
    * ``points_per_box``: int64 ``(len(boxes),)`` points inside each box after the corruption.
    """

    points: PointCloud
    source_index: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    points_per_box: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def lidar_parameters(name: str, severity: int) -> dict[str, float]:
    """The physical parameters of LiDAR corruption ``name`` at ``severity`` (1-5)."""
    if name not in LIDAR_TABLES:
        raise ValueError(f"unknown LiDAR corruption {name!r}; expected one of {list(LIDAR_TABLES)}")
    check_severity(severity)
    return {k: v[severity - 1] for k, v in LIDAR_TABLES[name].items()}


def _points_in_boxes_mask(
    points: np.ndarray, boxes: list[Box3D], T_cam_from_lidar: np.ndarray
) -> np.ndarray:
    T = np.asarray(T_cam_from_lidar, np.float64)
    cam = transform_points(T, points)
    inside = np.zeros(len(points), bool)
    for box in boxes:
        inside |= box.contains_cam(cam)
    return inside


def corrupt_points(
    points: PointCloud,
    name: str,
    severity: int,
    rng: np.random.Generator,
    *,
    boxes: list[Box3D] | None = None,
    box_classes: list[str] | None = None,
    T_cam_from_lidar: np.ndarray | None = None,
    vertical_angles_deg: np.ndarray = HDL64_VERTICAL_ANGLES_DEG,
) -> LidarCorruption:
    """Apply LiDAR corruption ``name`` at ``severity`` to ``points`` (lidar frame).

    ``boxes`` (camera frame) with ``T_cam_from_lidar`` give the per-box point counts and,
    with ``box_classes``, the vehicles whose points ``incomplete_echo`` thins. The input is
    not modified.
    """
    points.require_frame()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng)}")
    c = lidar_parameters(name, severity)
    boxes = list(boxes or [])
    if boxes and T_cam_from_lidar is None:
        raise ValueError("boxes need T_cam_from_lidar to be located in the scan")
    n = len(points)
    index = np.arange(n, dtype=np.int64)
    # Positions the corruption moves; every other column is carried by ``index``.
    xyz = points.xyz.copy()

    if name in _WEATHER_CORRUPTIONS:
        weather = _Weather(
            fog_visibility_m=c.get("visibility_m", math.inf),
            rain_rate_mm_h=c["rate_mm_h"] if name == "rain" else 0.0,
            snow_rate_mm_h=c["rate_mm_h"] if name == "snow" else 0.0,
            road_wetness=c.get("road_wetness", 0.0),
        )
        result = apply_lidar_weather(points, weather, rng, LidarWeatherSetup(min_range_m=2.5))
        out, index = result.points, result.source_index
        xyz = out.xyz
    elif name in ("beam_missing", "cross_sensor"):
        n_beams = len(vertical_angles_deg)
        ring = ring_from_elevation(points.xyz, vertical_angles_deg)
        if name == "beam_missing":
            dropped = rng.choice(n_beams, size=int(c["beams_dropped"]), replace=False)
        else:
            kept = np.round(np.linspace(0, n_beams - 1, int(c["beams_kept"]))).astype(int)
            dropped = np.setdiff1d(np.arange(n_beams), kept)
        keep = ~np.isin(ring, dropped)
        if name == "cross_sensor":  # a sparser sensor also has half the azimuth resolution
            keep &= np.arange(n) % 2 == 0
        index = np.flatnonzero(keep)
        xyz = xyz[index]
    elif name == "crosstalk":
        k = int(c["share"] * n)
        hit = rng.choice(n, size=k, replace=False)
        xyz[hit] += rng.normal(0.0, c["std_m"], size=(k, 3)).astype(np.float32)
    elif name == "incomplete_echo":
        vehicles = [
            b for b, cls in zip(boxes, box_classes or [], strict=False) if cls in VEHICLE_CLASSES
        ]
        if vehicles:
            on_vehicle = _points_in_boxes_mask(xyz, vehicles, T_cam_from_lidar)
            lost = on_vehicle & (rng.random(n) < c["loss"])
            index = np.flatnonzero(~lost)
            xyz = xyz[index]
    elif name == "motion_blur":
        xyz[:, :2] += rng.normal(0.0, c["std_m"], size=(n, 2)).astype(np.float32)
    elif name == "jitter":
        xyz += rng.normal(0.0, c["std_m"], size=(n, 3)).astype(np.float32)
    if name not in _WEATHER_CORRUPTIONS:
        out = points.take(index).replace(xyz=xyz)
    counts = count_points_in_boxes(xyz, T_cam_from_lidar, boxes) if boxes else np.zeros(0, np.int64)
    return LidarCorruption(out, index.astype(np.int64), dict(c), counts)
