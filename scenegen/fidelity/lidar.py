"""Weight-free statistics of one LiDAR scan: counts by range and ring, angles, intensity,
ray drop and bird's-eye-view occupancy.

Points are a :class:`scenegen.points.PointCloud` in the lidar frame (x forward, y left,
z up). A point without a ring number (no ``ring`` column, as in KITTI ``.bin`` files, or -1)
gets one from its elevation angle: the beam of the sensor model (KITTI's HDL-64E by default)
whose nominal elevation is nearest. The scan is rasterised on those rings and ``AZIMUTH_BINS`` azimuth bins; a cell
with no return is a dropped ray, so the ray-drop rate is the share of empty cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenegen.points import PointCloud

RANGE_BIN_M = 10.0
RANGE_BINS = 9  # 0-10 m, ..., 70-80 m, and >= 80 m in the last
ELEVATION_RANGE_DEG = (-26.0, 4.0)
ELEVATION_BIN_DEG = 0.5
ELEVATION_BINS = round((ELEVATION_RANGE_DEG[1] - ELEVATION_RANGE_DEG[0]) / ELEVATION_BIN_DEG)
INTENSITY_BINS = 32
AZIMUTH_BINS = 1024
BEV_HALF_SIZE_M = 40.0
BEV_CELL_M = 1.0


@dataclass(frozen=True)
class RingModel:
    """Nominal beam elevations in degrees, top to bottom (ring 0 is the highest beam)."""

    elevations_deg: tuple[float, ...]

    def __post_init__(self) -> None:
        angles = np.asarray(self.elevations_deg, dtype=np.float64)
        if angles.ndim != 1 or len(angles) < 1 or not np.all(np.isfinite(angles)):
            raise ValueError(f"ring elevations must be finite degrees, got {self.elevations_deg}")

    @property
    def rings(self) -> int:
        return len(self.elevations_deg)

    def ring_of(self, elevation_deg: np.ndarray) -> np.ndarray:
        """Ring index (int64) of the nearest nominal beam for each elevation."""
        angles = np.asarray(self.elevations_deg, dtype=np.float64)
        order = np.argsort(angles)
        ascending = angles[order]
        midpoints = 0.5 * (ascending[1:] + ascending[:-1])
        return order[np.searchsorted(midpoints, elevation_deg)]


def scan_statistics(
    points: PointCloud, model: RingModel
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Scalar statistics and histograms (counts) of one scan."""
    points.require_frame()
    xyz = points.xyz.astype(np.float64)
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    intensity = points.intensity.astype(np.float64)
    horizontal_m = np.hypot(x, y)
    range_m = np.hypot(horizontal_m, z)
    elevation_deg = np.degrees(np.arctan2(z, horizontal_m))
    ring = model.ring_of(elevation_deg)
    if points.ring is not None:
        known = (points.ring >= 0) & (points.ring < model.rings)
        ring[known] = points.ring[known]
    range_bin = np.clip((range_m // RANGE_BIN_M).astype(np.int64), 0, RANGE_BINS - 1)
    azimuth = np.arctan2(y, x)
    azimuth_bin = np.clip(
        ((azimuth + np.pi) / (2 * np.pi) * AZIMUTH_BINS).astype(np.int64), 0, AZIMUTH_BINS - 1
    )
    cell_hits = np.bincount(ring * AZIMUTH_BINS + azimuth_bin, minlength=model.rings * AZIMUTH_BINS)
    occupied_cells = int(np.count_nonzero(cell_hits))
    cells = int(BEV_HALF_SIZE_M * 2 / BEV_CELL_M)
    col = np.floor((x + BEV_HALF_SIZE_M) / BEV_CELL_M).astype(np.int64)
    row = np.floor((y + BEV_HALF_SIZE_M) / BEV_CELL_M).astype(np.int64)
    inside = (col >= 0) & (col < cells) & (row >= 0) & (row < cells)
    bev_hits = np.bincount(row[inside] * cells + col[inside], minlength=cells * cells)
    bev = (bev_hits > 0).astype(np.float64)

    scalars = {
        "lidar.points": float(len(points)),
        "lidar.intensity_mean": float(intensity.mean()) if len(points) else 0.0,
        "lidar.ray_drop_rate": 1.0 - occupied_cells / (model.rings * AZIMUTH_BINS),
        "lidar.bev_occupied_share": float(bev.mean()),
    }
    range_counts = np.bincount(range_bin, minlength=RANGE_BINS).astype(np.float64)
    for index in range(RANGE_BINS):
        scalars[f"lidar.points_{range_bin_label(index)}"] = float(range_counts[index])
    histograms = {
        "lidar.range_histogram": range_counts,
        "lidar.ring_histogram": np.bincount(ring, minlength=model.rings).astype(np.float64),
        "lidar.elevation_histogram": np.histogram(
            elevation_deg, ELEVATION_BINS, ELEVATION_RANGE_DEG
        )[0].astype(np.float64),
        "lidar.intensity_histogram": np.histogram(
            np.clip(intensity, 0.0, 1.0), INTENSITY_BINS, (0.0, 1.0)
        )[0].astype(np.float64),
        "lidar.bev_occupancy": bev,
    }
    return scalars, histograms


def range_bin_label(index: int) -> str:
    """``"range_10_20m"`` for bin 1; the last bin is open (``"range_80m_plus"``)."""
    low = int(index * RANGE_BIN_M)
    if index == RANGE_BINS - 1:
        return f"range_{low}m_plus"
    return f"range_{low}_{int(low + RANGE_BIN_M)}m"
