"""Fog (Koschmieder) and sRGB: physical truths."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from scenegen.effects.color import filmic_tone_map, linear_to_srgb_u8, srgb_to_linear
from scenegen.effects.fog import (
    airlight_from_image,
    airlight_from_sky,
    apply_fog,
    fog_extinction_per_m,
    fog_glow,
    fog_transmission,
)

K = np.array([[700.0, 0.0, 320.0], [0.0, 700.0, 120.0], [0.0, 0.0, 1.0]])


def test_srgb_round_trip_is_exact_for_every_code() -> None:
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(linear_to_srgb_u8(srgb_to_linear(codes)), codes)


def test_srgb_decode_matches_the_standard_curve() -> None:
    lin = srgb_to_linear(np.array([0, 10, 128, 255], dtype=np.uint8))
    c = np.array([0, 10, 128, 255]) / 255.0
    expected = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(lin, expected, rtol=1e-6)
    assert lin.dtype == np.float32


def test_srgb_encode_is_within_one_code_of_exact() -> None:
    x = np.random.default_rng(3).random(100_000, dtype=np.float32)
    exact = np.rint(
        np.where(x <= 0.0031308, 12.92 * x, 1.055 * x.astype(np.float64) ** (1 / 2.4) - 0.055) * 255
    )
    assert np.abs(linear_to_srgb_u8(x).astype(int) - exact).max() <= 1


def test_filmic_keeps_midtones_and_compresses_highlights_monotonically() -> None:
    x = np.linspace(0, 50, 2001, dtype=np.float32)
    y = filmic_tone_map(x)
    assert np.array_equal(y[x <= 0.8], x[x <= 0.8])
    assert np.all(np.diff(y) >= 0) and y.max() <= 1.0
    assert np.all(np.diff(y[x <= 3.0]) > 0)  # no flat clipping where highlights still differ
    assert linear_to_srgb_u8(np.array([5.0, 50.0], np.float32), tone_map="filmic")[1] >= 250


@pytest.mark.parametrize("visibility_m", [20.0, 50.0, 150.0, 1000.0])
def test_transmission_at_the_visibility_distance_is_five_percent(visibility_m: float) -> None:
    depth = np.full((4, 5), visibility_m, np.float32)
    t = fog_transmission(depth, visibility_m)
    assert np.all(np.abs(t - 0.05) <= 0.005)
    assert fog_extinction_per_m(visibility_m) == pytest.approx(np.log(20) / visibility_m)


def test_contrast_against_airlight_falls_exactly_as_exp_minus_beta_d() -> None:
    airlight = np.array([0.7, 0.72, 0.75], np.float32)
    albedo_radiance = np.array([0.1, 0.2, 0.05], np.float32)
    depths = np.array([5.0, 20.0, 60.0, 200.0], np.float32)
    img = np.broadcast_to(albedo_radiance, (1, 4, 3)).copy()
    out = apply_fog(img, depths[None, :], 100.0, airlight)
    beta = np.log(20) / 100.0
    contrast = (out[0] - airlight) / (albedo_radiance - airlight)
    np.testing.assert_allclose(
        contrast, np.exp(-beta * depths)[:, None] * np.ones(3), rtol=1e-4, atol=1e-6
    )


def test_ray_length_is_used_when_K_is_given() -> None:
    depth = np.full((240, 640), 50.0, np.float32)
    t = fog_transmission(depth, 100.0, K)
    # At the principal point the ray is the z-depth; at a corner it is longer.
    assert t[120, 320] == pytest.approx(np.exp(-np.log(20) * 0.5), rel=1e-5)
    corner_len = 50.0 * np.sqrt(1 + (320 / 700) ** 2 + (120 / 700) ** 2)
    assert t[0, 0] == pytest.approx(np.exp(-np.log(20) / 100 * corner_len), rel=1e-4)


def test_no_fog_is_identity_and_sky_nan_take_the_airlight() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((6, 7, 3), dtype=np.float32)
    depth = rng.uniform(1, 100, (6, 7)).astype(np.float32)
    depth[0, 0], depth[1, 1] = np.inf, np.nan
    assert np.array_equal(apply_fog(img, depth, np.inf, [1, 1, 1]), img)
    airlight = np.array([0.5, 0.6, 0.7], np.float32)
    out = apply_fog(img, depth, 80.0, airlight)
    np.testing.assert_allclose(out[0, 0], airlight)
    np.testing.assert_allclose(out[1, 1], airlight)
    assert np.all(np.isfinite(out))


def test_more_depth_is_closer_to_the_airlight() -> None:
    airlight = np.array([0.8, 0.8, 0.8], np.float32)
    depths = np.linspace(1, 300, 50, dtype=np.float32)[None, :]
    img = np.full((1, 50, 3), 0.05, np.float32)
    gap = np.abs(apply_fog(img, depths, 60.0, airlight) - airlight)[0, :, 0]
    assert np.all(np.diff(gap) < 0)


def test_inputs_are_not_modified() -> None:
    rng = np.random.default_rng(1)
    img = rng.random((20, 30, 3), dtype=np.float32) * 5
    depth = rng.uniform(1, 50, (20, 30)).astype(np.float32)
    img0, depth0 = img.copy(), depth.copy()
    apply_fog(img, depth, 30.0, [0.5, 0.5, 0.5], K=K, glow_threshold=1.0)
    linear_to_srgb_u8(img, exposure=2.0, tone_map="filmic")
    assert np.array_equal(img, img0) and np.array_equal(depth, depth0)


def test_lamp_in_fog_gets_a_halo_that_fades_with_distance() -> None:
    img = np.full((240, 640, 3), 0.01, np.float32)
    img[118:122, 318:322] = 50.0
    depth = np.full((240, 640), 40.0, np.float32)
    clear = fog_glow(img, depth, 0.0, K)
    assert not np.any(clear)
    glow = fog_glow(img, depth, fog_extinction_per_m(60.0), K, threshold=1.0)[..., 0]
    profile = glow[120, 330:600:20]
    assert np.all(np.diff(profile) <= 0) and profile[0] > profile[2] > profile[6] > 0
    # No more light comes out than the fog scattered out of the lamp.
    t = np.exp(-np.log(20) / 60 * 40)
    assert glow.sum() <= (1 - t) * 16 * 49.0 * 1.01


def test_airlight_helpers() -> None:
    sky = np.array([0.3, 0.5, 0.9], np.float32)
    grey = airlight_from_sky(sky, droplet_neutrality=1.0)
    assert np.allclose(grey, grey[0]) and np.isclose(
        grey[0], 0.2126 * 0.3 + 0.7152 * 0.5 + 0.0722 * 0.9
    )
    img = np.zeros((10, 10, 3), np.float32)
    img[:5] = [0.6, 0.7, 0.8]
    depth = np.full((10, 10), 10.0, np.float32)
    depth[:5] = np.inf
    np.testing.assert_allclose(airlight_from_image(img, depth), [0.6, 0.7, 0.8], rtol=1e-6)


def test_bad_arguments_are_rejected_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="visibility_m"):
        fog_extinction_per_m(0.0)
    with pytest.raises(ValueError, match="shape"):
        apply_fog(np.zeros((4, 4, 3), np.float32), np.zeros((4, 5), np.float32), 10.0, [1, 1, 1])
    with pytest.raises(TypeError, match="uint8"):
        apply_fog(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), 10.0, [1, 1, 1])


KITTI_IMAGE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "kitti"
    / "training"
    / "image_2"
    / "000001.png"
)


@pytest.mark.skipif(
    not KITTI_IMAGE.exists(), reason=f"real KITTI frame not available at {KITTI_IMAGE}"
)
def test_real_frame_round_trips_and_fogs_with_unknown_depth() -> None:
    rgb = cv2.imread(str(KITTI_IMAGE))[..., ::-1].copy()
    lin = srgb_to_linear(rgb)
    assert np.array_equal(linear_to_srgb_u8(lin), rgb)
    height, width = rgb.shape[:2]
    k = np.array([[721.5, 0, 609.6], [0, 721.5, 172.9], [0, 0, 1]])
    rows = np.arange(height, dtype=np.float32)[:, None] - 172.9
    # Depth only on the ground plane (as recovered for real frames), unknown elsewhere.
    depth = np.broadcast_to(
        np.where(rows > 2, 721.5 * 1.65 / np.maximum(rows, 1e-3), np.nan), (height, width)
    )
    depth = depth.astype(np.float32)
    airlight = airlight_from_image(lin, depth)
    out = apply_fog(lin, depth, 40.0, airlight, K=k)
    assert np.all(np.isfinite(out))
    near, far = slice(height - 20, height), slice(180, 190)
    assert np.std(out[far]) < 0.2 * np.std(lin[far])
    assert np.std(out[near]) > 0.5 * np.std(lin[near])
    np.testing.assert_allclose(out[:150], np.broadcast_to(airlight, out[:150].shape), rtol=1e-6)
