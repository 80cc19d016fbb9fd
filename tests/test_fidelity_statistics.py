"""Each fidelity statistic on inputs whose answer is known in closed form or from a
reference implementation written here (its source named)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from scenegen.fidelity import distances as dist
from scenegen.fidelity.camera import (
    histogram01,
    image_statistics,
    noise_sigma,
    power_spectrum_slope,
    saturation,
)
from scenegen.fidelity.labels import label_statistics
from scenegen.fidelity.lidar import AZIMUTH_BINS, RingModel, scan_statistics
from scenegen.frame import ObjectLabel
from scenegen.points import PointCloud


def _power_law_noise(shape: tuple[int, int], exponent: float, seed: int) -> np.ndarray:
    """Gaussian noise whose power spectrum falls as ``1/f^exponent`` (random phases)."""
    rng = np.random.default_rng(seed)
    height, width = shape
    f = np.sqrt(np.fft.fftfreq(height)[:, None] ** 2 + np.fft.rfftfreq(width)[None, :] ** 2)
    f[0, 0] = 1.0
    spectrum = np.fft.rfft2(rng.normal(size=shape)) * f ** (-exponent / 2)
    spectrum[0, 0] = 0.0
    return np.fft.irfft2(spectrum, s=shape)


def test_white_noise_has_a_flat_power_spectrum():
    slopes = [power_spectrum_slope(_power_law_noise((188, 621), 0.0, s)) for s in range(3)]
    assert np.abs(slopes).max() < 0.1


@pytest.mark.parametrize("exponent", [1.0, 2.0, 3.0])
def test_power_law_noise_gives_its_exponent_as_slope(exponent):
    slope = power_spectrum_slope(_power_law_noise((188, 621), exponent, 1))
    assert slope == pytest.approx(-exponent, abs=0.15)


@pytest.mark.parametrize("sigma", [0.005, 0.02, 0.05])
def test_noise_sigma_recovers_added_gaussian_noise_next_to_edges(sigma):
    rng = np.random.default_rng(3)
    height, width = 200, 600
    # A smooth ramp (cancelled by the estimator) with hard-edged blocks (excluded as edges).
    clean = 0.2 + 0.4 * np.linspace(0, 1, width)[None, :] * np.ones((height, 1))
    clean[50:120, 100:200] = 0.9
    clean[20:60, 400:560] = 0.05
    noisy = clean + rng.normal(0.0, sigma, clean.shape)
    assert noise_sigma(noisy) == pytest.approx(sigma, rel=0.1)


def test_noise_sigma_of_a_clean_piecewise_smooth_image_is_near_zero():
    clean = np.tile(np.linspace(0.1, 0.8, 400), (100, 1))
    clean[30:70, 100:180] = 0.95
    assert noise_sigma(clean) < 1e-3


def test_colour_moments_of_a_half_black_half_white_image():
    rgb = np.zeros((40, 80, 3), dtype=np.uint8)
    rgb[:, 40:] = 255
    scalars, histograms = image_statistics(rgb, 80)
    for c in "rgb":
        assert scalars[f"camera.{c}_mean"] == pytest.approx(0.5)
        assert scalars[f"camera.{c}_std"] == pytest.approx(0.5)
        assert scalars[f"camera.{c}_skew"] == pytest.approx(0.0, abs=1e-12)
        assert histograms[f"camera.{c}_histogram"][[0, -1]].tolist() == [1600, 1600]
    assert scalars["camera.saturation_mean"] == 0.0  # grey levels only


def test_saturation_of_pure_and_mixed_colours():
    pixels = np.array([[[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [1.0, 0.5, 0.5], [0.0, 0.0, 0.0]]])
    assert saturation(pixels).tolist() == [[1.0, 0.0, 0.5, 0.0]]


def test_histogram01_puts_one_in_the_last_bin():
    assert histogram01(np.array([0.0, 0.49, 0.5, 1.0]), bins=2).tolist() == [2.0, 2.0]


def test_jensen_shannon_known_values():
    assert dist.jensen_shannon(np.array([1, 1, 0]), np.array([0, 1, 1])) == pytest.approx(0.5)
    assert dist.jensen_shannon(np.array([3, 0]), np.array([0, 5])) == pytest.approx(1.0)
    assert dist.jensen_shannon(np.array([2, 6, 2]), np.array([1, 3, 1])) == pytest.approx(0.0)


@pytest.mark.parametrize("shift", [1, 4, 10])
def test_shifted_uniform_histogram_has_jsd_shift_over_width(shift):
    # Uniform on n bins against the same shifted by k: the k bins outside the overlap each
    # carry 1/n with the mixture at 1/(2n), one bit each, so JSD = k / n.
    width = 20
    p = np.zeros(40)
    q = np.zeros(40)
    p[:width] = 1
    q[shift : shift + width] = 1
    assert dist.jensen_shannon(p, q) == pytest.approx(shift / width)


def test_jensen_shannon_matches_scipy_on_random_histograms():
    rng = np.random.default_rng(5)
    p = rng.integers(0, 50, size=(6, 17))
    q = rng.integers(0, 50, size=(6, 17))
    reference = [jensenshannon(a, b, base=2) ** 2 for a, b in zip(p, q, strict=True)]
    np.testing.assert_allclose(dist.jensen_shannon(p, q), reference, rtol=1e-10)


def _mmd2_reference(x: np.ndarray, y: np.ndarray, kernel, unbiased: bool) -> float:
    """Gretton et al., JMLR 2012: eq. 3 (unbiased U-statistic) and eq. 5 (biased V-statistic),
    written as plain loops."""
    m, n = len(x), len(y)
    kxx = sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if not unbiased or i != j)
    kyy = sum(kernel(y[i], y[j]) for i in range(n) for j in range(n) if not unbiased or i != j)
    kxy = sum(kernel(x[i], y[j]) for i in range(m) for j in range(n))
    if unbiased:
        return kxx / (m * (m - 1)) + kyy / (n * (n - 1)) - 2 * kxy / (m * n)
    return kxx / m**2 + kyy / n**2 - 2 * kxy / (m * n)


def test_mmd_matches_the_reference_with_and_without_resampling():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(9, 4))
    y = rng.normal(0.5, 1.0, size=(7, 4))

    def cubic(a, b):
        return (a @ b / 4 + 1) ** 3

    k = (dist.polynomial_kernel(x, x), dist.polynomial_kernel(y, y), dist.polynomial_kernel(x, y))
    ones = (np.ones((1, 9)), np.ones((1, 7)))
    got = dist.mmd_squared(*k, *ones, unbiased=True)[0]
    assert got == pytest.approx(_mmd2_reference(x, y, cubic, True), rel=1e-10)
    # A bootstrap draw is the same as the resampled sets themselves.
    ia, ib = rng.integers(0, 9, 9), rng.integers(0, 7, 7)
    weights = (np.bincount(ia, minlength=9)[None, :], np.bincount(ib, minlength=7)[None, :])
    for unbiased in (True, False):
        got = dist.mmd_squared(*k, *weights, unbiased=unbiased)[0]
        assert got == pytest.approx(_mmd2_reference(x[ia], y[ib], cubic, unbiased), rel=1e-10)


def test_mmd_of_identical_sets_is_zero_and_of_shifted_sets_is_not():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(60, 5))
    bandwidth = dist.median_bandwidth(x)
    kxx = dist.gaussian_kernel(x, x, bandwidth)
    ones = np.ones((1, 60))
    assert dist.mmd_squared(kxx, kxx, kxx, ones, ones, unbiased=False)[0] == pytest.approx(
        0.0, abs=1e-12
    )
    same = rng.normal(size=(60, 5))
    shifted = rng.normal(1.0, 1.0, size=(60, 5))
    kid = {}
    for name, y in (("same", same), ("shifted", shifted)):
        k = (dist.polynomial_kernel(x, x), dist.polynomial_kernel(y, y))
        kid[name] = dist.mmd_squared(*k, dist.polynomial_kernel(x, y), ones, ones, unbiased=True)
    # Unbiased: about 0 (either sign) for one distribution; clearly positive for a shift.
    assert abs(kid["same"][0]) < 0.1 * kid["shifted"][0]
    assert kid["shifted"][0] > 0


def test_weighted_means_equal_the_means_of_the_resampled_values():
    rng = np.random.default_rng(9)
    values = rng.normal(size=12)
    index = rng.integers(0, 12, size=(5, 12))
    weights = np.stack([np.bincount(i, minlength=12) for i in index]).astype(float)
    np.testing.assert_allclose(dist.weighted_means(values, weights), values[index].mean(axis=1))
    draws = dist.bootstrap_weights(12, 100, rng)
    assert draws.shape == (100, 12) and (draws.sum(axis=1) == 12).all()


def _scan_at(elevations_deg: np.ndarray, azimuths_rad: np.ndarray, range_m: float) -> PointCloud:
    e, a = np.meshgrid(np.radians(elevations_deg), azimuths_rad, indexing="ij")
    e, a = e.ravel(), a.ravel()
    xyz = range_m * np.stack([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], axis=1)
    return PointCloud(xyz, np.full(len(xyz), 0.3))


def test_a_complete_scan_has_no_ray_drop_and_every_ring_filled():
    model = RingModel(tuple(np.linspace(2.0, -24.0, 27)))
    azimuths = -np.pi + (np.arange(AZIMUTH_BINS) + 0.5) * 2 * np.pi / AZIMUTH_BINS
    points = _scan_at(np.asarray(model.elevations_deg), azimuths, 15.0)
    scalars, histograms = scan_statistics(points, model)
    assert scalars["lidar.ray_drop_rate"] == 0.0
    assert histograms["lidar.ring_histogram"].tolist() == [AZIMUTH_BINS] * 27
    assert scalars["lidar.points"] == 27 * AZIMUTH_BINS
    assert scalars["lidar.points_range_10_20m"] == 27 * AZIMUTH_BINS
    assert scalars["lidar.intensity_mean"] == pytest.approx(0.3)
    # Drop every ring but the top one in the rear half: 26 of 54 half-rings gone.
    behind = np.abs(np.arctan2(points.xyz[:, 1], points.xyz[:, 0])) > np.pi / 2
    low = points.xyz[:, 2] < points.xyz[:, 2].max() - 1e-3
    scalars, _ = scan_statistics(points.take(~(behind & low)), model)
    assert scalars["lidar.ray_drop_rate"] == pytest.approx(26 / 54)


def test_a_stored_ring_wins_over_the_elevation_and_unknown_rings_fall_back_to_it():
    model = RingModel((2.0, 0.0, -3.0, -10.0))
    azimuths = np.zeros(1)
    points = _scan_at(np.array([2.0, 0.0, -3.0]), azimuths, 10.0)
    stored = points.replace(ring=np.array([3, -1, 0], dtype=np.int32))
    _, histograms = scan_statistics(stored, model)
    # Ring 3 as stored, the -1 (unknown) by elevation -> ring 1, ring 0 as stored.
    assert histograms["lidar.ring_histogram"].tolist() == [1, 1, 0, 1]


def test_rings_come_from_the_nearest_nominal_beam():
    model = RingModel((2.0, 0.0, -3.0, -10.0))
    elevation = np.array([2.9, 1.1, 0.9, -1.4, -1.6, -6.4, -6.6, -30.0])
    assert model.ring_of(elevation).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_bev_occupancy_counts_cells_once():
    model = RingModel((0.0,))
    xyzi = np.array([[1.2, 0.3, 0, 0.1], [1.4, 0.6, 0, 0.1], [-5.5, 7.5, 0, 0.1]], np.float32)
    scalars, histograms = scan_statistics(PointCloud.from_xyzi(xyzi), model)
    assert histograms["lidar.bev_occupancy"].sum() == 2
    assert scalars["lidar.bev_occupied_share"] == pytest.approx(2 / 6400)


def _car(height_px: float, distance_m: float, level: int, truncation: float) -> ObjectLabel:
    box = np.array([10.0, 50.0, 60.0, 50.0 + height_px], dtype=np.float32)
    return ObjectLabel(
        "car", 1, box, occlusion_level=level, truncation=truncation, distance_m=distance_m
    )


def test_label_histograms_of_known_objects():
    objects = [_car(12, 7.0, 0, 0.0), _car(45, 33.0, 2, 0.35), _car(250, float("nan"), 1, 1.0)]
    objects.append(ObjectLabel("pedestrian", 4, np.array([0, 0, 5, 30], np.float32)))
    scalars, h = label_statistics(objects)
    assert scalars["labels.objects_per_frame"] == 4
    assert h["labels.class_histogram"].tolist() == [3, 0, 0, 0, 1, 0, 0, 0]
    # Box height bins 0,10,20,25,30,40,50,...: 12 -> 10-20, 45 -> 40-50, 250 -> 200+, 30 -> 30-40.
    assert np.flatnonzero(h["labels.box_height_histogram"]).tolist() == [1, 4, 5, 11]
    # The object without a distance is left out; 7 m -> 5-10 m, 33 m -> 30-35 m.
    assert h["labels.distance_histogram"].sum() == 2
    assert np.flatnonzero(h["labels.distance_histogram"]).tolist() == [1, 6]
    assert h["labels.occlusion_histogram"].tolist() == [2, 1, 1, 0]
    assert h["labels.truncation_histogram"][[0, 3, 9]].tolist() == [2, 1, 1]
