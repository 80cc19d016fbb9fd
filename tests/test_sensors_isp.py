"""The camera's lens, sensor and ISP model (scenegen.sensors.isp): properties a real
camera has, checked on images with a known answer."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from scenegen.effects.color import srgb_to_linear
from scenegen.sensors.isp import (
    DAY_METER_TARGET,
    KITTI_LIKE_ISP,
    CameraIsp,
    apply_isp,
    day_exposure_gain,
    vignetting,
)

W, H = 400, 200
K = np.array([[300.0, 0.0, 200.0], [0.0, 300.0, 100.0], [0.0, 0.0, 1.0]])
PLAIN = CameraIsp(
    psf_sigma_px=0.0,
    chromatic_aberration=0.0,
    vignetting_exponent=0.0,
    saturation=1.0,
    contrast=0.0,
)


def flat(level: float) -> np.ndarray:
    return np.full((H, W, 3), level, np.float32)


def test_noise_in_a_flat_region_matches_the_configured_shot_and_read_noise():
    # Poisson-Gaussian: sigma_lin = sqrt(E x + read^2) / E; through the sRGB curve the
    # standard deviation scales by its slope at x (IEC 61966-2-1: 1.055/2.4 x^(1/2.4 - 1)).
    x, isp = 0.2, PLAIN
    rgb = apply_isp(flat(x), K, isp, np.random.default_rng(0))
    e = isp.electrons_at_white
    sigma_lin = np.sqrt(e * x + isp.read_noise_e**2) / e
    slope = 1.055 / 2.4 * x ** (1 / 2.4 - 1)
    expected_codes = np.sqrt((255 * slope * sigma_lin) ** 2 + 1 / 12)  # + 8-bit rounding
    assert rgb.astype(np.float64).std() == pytest.approx(expected_codes, rel=0.05)
    # And the mean stays where the exposure puts it (noise is unbiased).
    assert srgb_to_linear(rgb).mean() == pytest.approx(x, rel=0.02)


def test_vignetting_falls_off_as_cos4_for_a_thin_lens():
    isp = CameraIsp(**{**PLAIN.__dict__, "vignetting_exponent": 4.0})
    out = srgb_to_linear(apply_isp(flat(0.5), K, isp, None))[..., 1]
    for v, u in ((100, 200), (0, 0), (199, 399), (100, 0), (0, 200)):
        a = (u + 0.5 - 200.0) / 300.0
        b = (v + 0.5 - 100.0) / 300.0
        cos_theta = 1.0 / np.sqrt(1.0 + a * a + b * b)
        assert out[v, u] == pytest.approx(0.5 * cos_theta**4, rel=0.01, abs=0.002)
    # The default lens vignettes less than a bare thin lens, but still from the centre out.
    default = vignetting(W, H, (300.0, 300.0, 200.0, 100.0), KITTI_LIKE_ISP.vignetting_exponent)
    row = default[100]
    assert np.all(np.diff(row[200:]) <= 0) and row[-1] < row[200] < 1.0 + 1e-6
    assert row[-1] > 0.5 * row[200]


def test_a_hard_edge_after_the_lens_is_wider_than_one_pixel():
    img = flat(0.05)
    img[:, W // 2 :] = 0.8
    out = srgb_to_linear(apply_isp(img, K, KITTI_LIKE_ISP, None))[H // 2, :, 1]
    lo, hi = out[W // 2 - 20], out[W // 2 + 20]
    between = (out > lo + 0.1 * (hi - lo)) & (out < lo + 0.9 * (hi - lo))
    assert between.sum() >= 2  # a rasterised edge has none: 0 to 1 in one step
    # Without the point-spread function the edge stays a one-pixel step.
    plain = srgb_to_linear(apply_isp(img, K, PLAIN, None))[H // 2, :, 1]
    assert ((plain > 0.1) & (plain < 0.7)).sum() == 0


def test_chromatic_aberration_pushes_red_out_and_blue_in():
    img = flat(0.05)
    img[:, 350:] = 0.8  # an edge 150 px right of the principal point
    isp = CameraIsp(**{**PLAIN.__dict__, "chromatic_aberration": 0.01})
    out = srgb_to_linear(apply_isp(img, K, isp, None))[H // 2]

    def edge(channel: int) -> float:
        column = out[:, channel]
        return float(np.argmax(column > 0.5 * (column[0] + column[-1])))

    # Red magnified by 1 + k about cx: its edge moves k x 150 = 1.5 px outwards.
    assert edge(0) - edge(1) == pytest.approx(1.5, abs=1.0)
    assert edge(1) - edge(2) == pytest.approx(1.5, abs=1.0)


def test_same_seed_same_bytes_other_seed_other_noise():
    img = np.random.default_rng(5).uniform(0, 1, (H, W, 3)).astype(np.float32)
    a = apply_isp(img, K, KITTI_LIKE_ISP, np.random.default_rng(1))
    b = apply_isp(img, K, KITTI_LIKE_ISP, np.random.default_rng(1))
    c = apply_isp(img, K, KITTI_LIKE_ISP, np.random.default_rng(2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(
        apply_isp(img, K, KITTI_LIKE_ISP, None), apply_isp(img, K, KITTI_LIKE_ISP, None)
    )


def test_day_exposure_meters_the_road_not_the_sky():
    img = flat(0.08)
    img[: H // 3] = 5.0  # a bright sky above
    gain = day_exposure_gain(img)
    assert gain == pytest.approx(DAY_METER_TARGET / 0.08, rel=1e-3)


def test_saturation_keeps_luminance_and_jpeg_is_close():
    img = np.random.default_rng(3).uniform(0.05, 0.6, (H, W, 3)).astype(np.float32)
    isp = CameraIsp(**{**PLAIN.__dict__, "saturation": 1.5})
    lum = np.array([0.2126, 0.7152, 0.0722])
    plain = srgb_to_linear(apply_isp(img, K, PLAIN, None)) @ lum
    saturated = srgb_to_linear(apply_isp(img, K, isp, None)) @ lum
    unclipped = (img.max(axis=-1) < 0.4) & (img.min(axis=-1) > 0.15)
    assert np.abs(saturated - plain)[unclipped].mean() < 0.01
    # JPEG: lossy, but close on a natural (smooth) image.
    smooth = cv2.GaussianBlur(img, (0, 0), 3.0)
    jpeg = apply_isp(smooth, K, CameraIsp(**{**PLAIN.__dict__, "jpeg_quality": 90}), None)
    png = apply_isp(smooth, K, PLAIN, None)
    assert not np.array_equal(jpeg, png)
    assert np.abs(jpeg.astype(int) - png.astype(int)).mean() < 2


def test_invalid_settings_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match="contrast"):
        CameraIsp(contrast=2.0)
    with pytest.raises(ValueError, match="jpeg_quality"):
        CameraIsp(jpeg_quality=0)
