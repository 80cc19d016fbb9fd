"""What each fidelity statistic is: its group, how two sets are compared, unit and meaning.

Kinds: ``mean`` (a per-frame number; sets compared by the difference of their means),
``histogram`` (per-frame counts; sets compared by the Jensen–Shannon divergence of the pooled
counts) and ``kernel`` (a distance between whole sets of camera feature vectors).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from scenegen.fidelity import labels, lidar
from scenegen.fidelity.camera import CHANNELS, HIST_BINS
from scenegen.frame import CLASS_NAMES


@dataclass(frozen=True)
class StatisticInfo:
    """One statistic. ``bin_centres`` (histograms over a numeric axis) give the mean shown as
    the set's value; ``bin_labels`` name the bins in plots."""

    name: str
    group: str
    kind: str
    unit: str
    meaning: str
    bin_labels: tuple[str, ...] = ()
    bin_centres: tuple[float, ...] | None = None


def _centres(edges: np.ndarray, open_width: float) -> tuple[float, ...]:
    edges = np.asarray(edges, dtype=np.float64)
    high = np.where(np.isfinite(edges[1:]), edges[1:], edges[:-1] + open_width)
    return tuple(float(c) for c in 0.5 * (edges[:-1] + high))


def _edge_labels(edges: np.ndarray, unit: str) -> tuple[str, ...]:
    out = []
    for low, high in pairwise(edges):
        out.append(f"{low:g}+{unit}" if not np.isfinite(high) else f"{low:g}-{high:g}{unit}")
    return tuple(out)


def _binned(
    name: str,
    unit: str,
    meaning: str,
    edges: np.ndarray,
    open_width: float,
    label_unit: str = "",
) -> StatisticInfo:
    """A histogram over ``edges`` (an infinite last edge counts ``open_width`` wide)."""
    return StatisticInfo(
        name,
        name.split(".")[0],
        "histogram",
        unit,
        meaning,
        _edge_labels(edges, label_unit),
        _centres(edges, open_width),
    )


def _unit_bins(bins: int) -> tuple[tuple[str, ...], tuple[float, ...]]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    return _edge_labels(edges, ""), _centres(edges, 0.0)


def _build() -> dict[str, StatisticInfo]:
    s: list[StatisticInfo] = []
    unit_labels, unit_centres = _unit_bins(HIST_BINS)
    for c in CHANNELS:
        s += [
            StatisticInfo(f"camera.{c}_mean", "camera", "mean", "[0,1]", f"mean {c.upper()} value"),
            StatisticInfo(
                f"camera.{c}_std", "camera", "mean", "[0,1]", f"{c.upper()} standard deviation"
            ),
            StatisticInfo(
                f"camera.{c}_skew", "camera", "mean", "1", f"{c.upper()} skewness (3rd moment)"
            ),
            StatisticInfo(
                f"camera.{c}_histogram",
                "camera",
                "histogram",
                "[0,1]",
                f"histogram of {c.upper()} values, {HIST_BINS} bins",
                unit_labels,
                unit_centres,
            ),
        ]
    s += [
        StatisticInfo(
            "camera.luminance_mean", "camera", "mean", "[0,1]", "mean Rec. 709 luminance"
        ),
        StatisticInfo(
            "camera.luminance_histogram",
            "camera",
            "histogram",
            "[0,1]",
            f"histogram of luminance, {HIST_BINS} bins",
            unit_labels,
            unit_centres,
        ),
        StatisticInfo(
            "camera.spectrum_slope",
            "camera",
            "mean",
            "1",
            "slope of log power vs log frequency (white noise 0, natural images about -2); "
            "steeper = blurrier or smoother surfaces",
        ),
        StatisticInfo(
            "camera.gradient_mean", "camera", "mean", "1/px", "mean Sobel gradient magnitude"
        ),
        StatisticInfo(
            "camera.gradient_p90", "camera", "mean", "1/px", "90th percentile of the gradient"
        ),
        StatisticInfo(
            "camera.local_contrast_mean",
            "camera",
            "mean",
            "[0,1]",
            "mean RMS contrast in 7x7 windows (texture)",
        ),
        StatisticInfo(
            "camera.local_contrast_std",
            "camera",
            "mean",
            "[0,1]",
            "spread of the local contrast over the image",
        ),
        StatisticInfo(
            "camera.noise_sigma",
            "camera",
            "mean",
            "[0,1]",
            "sensor noise sigma in flat regions (Immerkær 1996)",
        ),
        StatisticInfo(
            "camera.sharpness", "camera", "mean", "1", "variance of the Laplacian (focus measure)"
        ),
        StatisticInfo("camera.saturation_mean", "camera", "mean", "[0,1]", "mean HSV saturation"),
        StatisticInfo(
            "camera.kid",
            "camera",
            "kernel",
            "1",
            "KID: unbiased MMD² of the standardised camera statistics, cubic polynomial kernel",
        ),
        StatisticInfo(
            "camera.mmd_rbf",
            "camera",
            "kernel",
            "1",
            "MMD² of the standardised camera statistics, Gaussian kernel (median bandwidth)",
        ),
    ]
    _elevation_edges = np.linspace(*lidar.ELEVATION_RANGE_DEG, lidar.ELEVATION_BINS + 1)
    range_edges = np.append(np.arange(lidar.RANGE_BINS) * lidar.RANGE_BIN_M, np.inf)
    s.append(StatisticInfo("lidar.points", "lidar", "mean", "points", "points per scan"))
    for index in range(lidar.RANGE_BINS):
        label = lidar.range_bin_label(index)
        s.append(
            StatisticInfo(
                f"lidar.points_{label}",
                "lidar",
                "mean",
                "points",
                f"points per scan at {_edge_labels(range_edges, ' m')[index]} range",
            )
        )
    s += [
        _binned(
            "lidar.range_histogram",
            "m",
            "share of points per 10 m range bin",
            range_edges,
            lidar.RANGE_BIN_M,
            " m",
        ),
        StatisticInfo(
            "lidar.ring_histogram",
            "lidar",
            "histogram",
            "ring",
            "share of points per ring (from elevation when the format has none); top ring is 0",
        ),
        _binned(
            "lidar.elevation_histogram",
            "deg",
            "histogram of point elevation angles, 0.5 deg bins",
            _elevation_edges,
            0.0,
            "°",
        ),
        StatisticInfo(
            "lidar.intensity_mean", "lidar", "mean", "[0,1]", "mean intensity (reflectance)"
        ),
        StatisticInfo(
            "lidar.intensity_histogram",
            "lidar",
            "histogram",
            "[0,1]",
            f"histogram of intensity, {lidar.INTENSITY_BINS} bins",
            *_unit_bins(lidar.INTENSITY_BINS),
        ),
        StatisticInfo(
            "lidar.ray_drop_rate",
            "lidar",
            "mean",
            "share",
            f"share of ring x azimuth cells ({lidar.AZIMUTH_BINS} azimuth bins) without a return",
        ),
        StatisticInfo(
            "lidar.bev_occupied_share",
            "lidar",
            "mean",
            "share",
            f"share of {lidar.BEV_CELL_M:g} m bird's-eye-view cells within "
            f"{lidar.BEV_HALF_SIZE_M:g} m holding a point",
        ),
        StatisticInfo(
            "lidar.bev_occupancy",
            "lidar",
            "histogram",
            "cell",
            "where the points fall: bird's-eye-view occupancy map over the scans",
        ),
    ]
    s += [
        StatisticInfo(
            "labels.objects_per_frame", "labels", "mean", "objects", "labelled objects per frame"
        ),
        StatisticInfo(
            "labels.class_histogram",
            "labels",
            "histogram",
            "class",
            "class frequencies",
            CLASS_NAMES,
            None,
        ),
        _binned(
            "labels.box_height_histogram",
            "px",
            "2D box heights (pixels of the image as stored)",
            labels.BOX_HEIGHT_EDGES_PX,
            100.0,
        ),
        _binned(
            "labels.distance_histogram",
            "m",
            "distance to the 3D box centre",
            labels.DISTANCE_EDGES_M,
            5.0,
        ),
        StatisticInfo(
            "labels.occlusion_histogram",
            "labels",
            "histogram",
            "level",
            "KITTI occlusion levels 0-3",
            ("0", "1", "2", "3"),
            (0.0, 1.0, 2.0, 3.0),
        ),
        _binned(
            "labels.truncation_histogram",
            "share",
            "truncation (share of the box outside the image)",
            labels.TRUNCATION_EDGES,
            0.0,
        ),
    ]
    return {info.name: info for info in s}


STATISTICS: dict[str, StatisticInfo] = _build()
