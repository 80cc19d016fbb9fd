"""Wet road, sun glare, sensor noise and bloom: physical truths."""

from __future__ import annotations

import numpy as np
import pytest

from scenegen.effects.glare import apply_sun_glare, sun_uv_from_direction, veiling_glare
from scenegen.effects.sensor import apply_sensor_noise, bloom
from scenegen.effects.wet_road import (
    apply_wet_road,
    fresnel_reflectance,
    reflection_rows,
    wet_albedo_ratio,
)

H, W = 200, 480
FY = 400.0
CY = 80.0
CAM_H = 1.65
K = np.array([[FY, 0.0, 240.0], [0.0, FY, CY], [0.0, 0.0, 1.0]])


def _night_road() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dark flat road below the horizon, sky above, a street lamp head 6 m up at 30 m."""
    img = np.full((H, W, 3), 0.01, np.float32)
    rows = np.arange(H, dtype=np.float32)[:, None]
    ground = np.broadcast_to(rows > CY + 1, (H, W)).copy()
    with np.errstate(divide="ignore"):
        depth = np.where(ground, FY * CAM_H / (rows - CY), np.inf).astype(np.float32)
    z = 30.0
    v_lamp = round(CY - FY * (6.0 - CAM_H) / z)
    img[v_lamp - 2 : v_lamp + 2, 300:306] = 80.0
    depth[v_lamp - 2 : v_lamp + 2, 300:306] = z
    return img, depth, ground


def test_wetness_zero_is_identity_and_only_ground_changes() -> None:
    img, depth, ground = _night_road()
    img0, depth0, ground0 = img.copy(), depth.copy(), ground.copy()
    assert np.array_equal(apply_wet_road(img, depth, ground, 0.0, K, CAM_H), img)
    out = apply_wet_road(img, depth, ground, 0.8, K, CAM_H)
    assert np.array_equal(out[~ground], img[~ground])
    assert not np.array_equal(out[ground], img[ground])
    assert (
        np.array_equal(img, img0)
        and np.array_equal(depth, depth0)
        and np.array_equal(ground, ground0)
    )


def test_lamp_is_reflected_below_the_horizon_in_its_own_columns() -> None:
    img, depth, ground = _night_road()
    out = apply_wet_road(img, depth, ground, 0.9, K, CAM_H)
    darken = 1.0 - 0.9 * (1.0 - wet_albedo_ratio(0.12))
    gain = (out - img * darken)[..., 0]  # the added reflection
    below = gain[int(CY) + 2 :]
    column_energy = below.sum(axis=0)
    lamp_cols = column_energy[296:310].mean()
    far_cols = np.concatenate([column_energy[:200], column_energy[400:]]).mean()
    assert lamp_cols > 20 * far_cols
    # The streak is long and vertical: it spans many more rows than columns.
    rows_lit = np.nonzero(below[:, 303] > 0.5 * below[:, 303].max())[0]
    cols_lit = np.nonzero(below[rows_lit[0] + len(rows_lit) // 2] > 0.1 * below[:, 303].max())[0]
    assert len(rows_lit) > 3 * len(cols_lit)


def test_reflection_of_a_point_mirrors_about_its_ground_contact() -> None:
    # A tall wall 20 m away: the ground in front reflects it, at rows mirrored about the
    # wall's foot (v_foot = cy + fy h / z), exactly as a mirror image would be.
    z = 20.0
    rows = np.arange(H, dtype=np.float32)[:, None]
    ground = np.broadcast_to(rows > CY + 1, (H, W)).copy()
    v_foot = CY + FY * CAM_H / z
    depth = np.where(rows > v_foot, FY * CAM_H / np.maximum(rows - CY, 1e-3), z).astype(np.float32)
    depth = np.broadcast_to(depth, (H, W)).copy()
    ground &= rows > v_foot
    r, _, source = reflection_rows(depth, ground, K, CAM_H, steps=400)
    hit = source >= 0
    expected = 2 * v_foot - r[hit]
    assert np.all(np.abs(source[hit] - expected) < 1.5)


def test_fresnel_and_wet_albedo_values() -> None:
    assert fresnel_reflectance(np.float32(1.0)) == pytest.approx(
        ((1.333 - 1) / 2.333) ** 2, rel=1e-4
    )
    grazing = fresnel_reflectance(np.linspace(1, 0.01, 50))
    assert np.all(np.diff(grazing) > 0) and grazing[-1] > 0.9
    assert 0.45 < wet_albedo_ratio(0.12) < 0.6 < wet_albedo_ratio(0.6) < 0.75


def test_glare_falls_with_angle_from_the_sun() -> None:
    img = np.full((H, W, 3), 0.2, np.float32)
    out = apply_sun_glare(img, (360.0, 40.0), 1.0, 0.1, K, bloom_strength=0.0)
    added = (out - img)[..., 0]
    along = added[40, 365:W:10]
    assert np.all(np.diff(along) < 0)
    assert added[40, 380] > added[150, 100]
    # Brighter than the sunless image everywhere, and the disk saturates.
    assert np.all(added > 0) and out[40, 360, 0] > 100


def test_sun_outside_the_frame_brightens_the_nearest_edge_most() -> None:
    img = np.full((H, W, 3), 0.2, np.float32)
    out = apply_sun_glare(img, (W + 150.0, 60.0), 1.0, 0.2, K)
    added = (out - img)[..., 0]
    assert added[60, W - 1] > added[60, W // 2] > added[60, 0] > 0
    veil = veiling_glare((H, W), (W + 150.0, 60.0), K, 0.2)
    assert np.all(np.diff(veil[60]) > 0)


def test_hidden_sun_adds_nothing_and_glare_scales_with_visibility() -> None:
    img = np.full((H, W, 3), 0.2, np.float32)
    img0 = img.copy()
    hidden = apply_sun_glare(img, (300.0, 30.0), 0.0, 0.2, K)
    assert np.array_equal(hidden, img)
    half = apply_sun_glare(img, (W + 100.0, 30.0), 0.5, 0.2, K, bloom_strength=0.0) - img
    full = apply_sun_glare(img, (W + 100.0, 30.0), 1.0, 0.2, K, bloom_strength=0.0) - img
    np.testing.assert_allclose(2 * half, full, rtol=1e-5)
    assert np.array_equal(img, img0)


def test_sun_uv_from_direction() -> None:
    assert sun_uv_from_direction(np.array([0.0, 0.0, 1.0]), K) == pytest.approx((240.0, CY))
    assert sun_uv_from_direction(np.array([0.0, 0.0, -1.0]), K) is None


def test_sensor_noise_is_poisson_gaussian_with_gain() -> None:
    rng = np.random.default_rng(0)
    level, e_white, read, gain = 0.01, 4000.0, 3.0, 8.0
    img = np.full((200, 200, 3), level, np.float32)
    img0 = img.copy()
    out = apply_sensor_noise(
        img, rng, exposure_gain=gain, read_noise_e=read, electrons_at_white=e_white
    )
    electrons = level * e_white
    assert out.mean() == pytest.approx(gain * level, rel=0.01)
    expected_std = gain * np.sqrt(electrons + read**2) / e_white
    assert out.std() == pytest.approx(expected_std, rel=0.03)
    assert np.array_equal(img, img0)
    # Low light (exact Poisson branch) keeps its mean and variance too.
    dim = apply_sensor_noise(
        np.full((300, 300, 3), 0.001, np.float32), rng, read_noise_e=0.0, electrons_at_white=e_white
    )
    assert dim.mean() == pytest.approx(0.001, rel=0.02)
    assert dim.var() == pytest.approx(4.0 / e_white**2, rel=0.05)


def _exact_shot_and_read_e(rng, mean_e: float, read_e: float, n: int) -> np.ndarray:
    """Reference: exact Poisson photo-electrons plus Gaussian read noise, clipped at 0."""
    return np.clip(rng.poisson(mean_e, n) + read_e * rng.standard_normal(n), 0.0, None)


@pytest.mark.parametrize("mean_e", [0.5, 3.0, 9.9, 30.0, 100.0])
def test_shot_and_read_noise_has_the_moments_of_exact_poisson_draws(mean_e: float) -> None:
    # Poisson(m) + N(0, r^2): mean m, variance m + r^2, third central moment m (the
    # Poisson's third cumulant). Compared with exact draws within 5 standard errors; from
    # 10 e up a plain normal (third moment 0) is more than 5 standard errors off.
    e_white, read, shape = 1000.0, 4.0, (400, 500, 3)
    n = int(np.prod(shape))
    img = np.full(shape, mean_e / e_white, np.float32)
    noisy = apply_sensor_noise(
        img, np.random.default_rng(11), read_noise_e=read, electrons_at_white=e_white
    )
    got = noisy.ravel().astype(np.float64) * e_white
    ref = _exact_shot_and_read_e(np.random.default_rng(12), mean_e, read, n)
    for x in (got, ref):
        assert x.min() >= 0.0
    for k in (1, 2, 3):
        moments = []
        for x in (got, ref):
            d = x - x.mean() if k > 1 else x
            moments.append(d**k)
        stderr = np.sqrt(sum(m.var() for m in moments) / n)
        assert abs(moments[0].mean() - moments[1].mean()) < 5 * stderr, k
    if mean_e >= 30:
        third = ((ref - ref.mean()) ** 3).mean()
        assert third == pytest.approx(mean_e, rel=0.3)  # the skew the sampler must keep


@pytest.mark.parametrize("mean_e", [0.3, 1.0, 3.0, 9.9, 30.0])
@pytest.mark.parametrize("night", [False, True])
def test_noisy_8bit_output_is_indistinguishable_from_exact_poisson(
    mean_e: float, night: bool
) -> None:
    # The camera's own settings (KITTI_LIKE_ISP; the longest night exposure, x30, at the
    # highest night gain, 800), through its tone curve to 8 bits: the histogram of codes
    # against exact Poisson draws differs no more than two exact draws differ from each
    # other, and the mean code by less than half a quantisation step.
    from scenegen.effects import linear_to_srgb_u8
    from scenegen.sensors.camera_effects import MAX_EXPOSURE_FACTOR, MAX_NIGHT_BRIGHTENING
    from scenegen.sensors.isp import KITTI_LIKE_ISP

    isp = KITTI_LIKE_ISP

    factor, gain = (MAX_EXPOSURE_FACTOR, MAX_NIGHT_BRIGHTENING) if night else (1.0, 1.0)
    e_white = isp.electrons_at_white * factor
    shape = (400, 500, 3)
    n = int(np.prod(shape))

    def codes(lin: np.ndarray) -> np.ndarray:
        lin = lin.reshape(shape).astype(np.float32)
        return linear_to_srgb_u8(lin, exposure=1.0, tone_map="filmic", contrast=isp.contrast)

    got = codes(
        apply_sensor_noise(
            np.full(shape, mean_e / e_white, np.float32),
            np.random.default_rng(21),
            exposure_gain=gain,
            read_noise_e=isp.read_noise_e,
            electrons_at_white=e_white,
            full_well_e=isp.full_well_e,
        )
    )
    refs = [
        codes(
            np.minimum(
                _exact_shot_and_read_e(np.random.default_rng(s), mean_e, isp.read_noise_e, n),
                isp.full_well_e,
            )
            * (gain / e_white)
        )
        for s in (22, 23)
    ]

    def hist(c: np.ndarray) -> np.ndarray:
        return np.bincount(c.ravel(), minlength=256) / c.size

    def total_variation(a: np.ndarray, b: np.ndarray) -> float:
        return 0.5 * float(np.abs(hist(a) - hist(b)).sum())

    assert total_variation(got, refs[0]) <= 1.5 * total_variation(refs[1], refs[0])
    assert abs(float(got.mean()) - float(refs[0].mean())) < 0.5
    assert float(got.std()) == pytest.approx(float(refs[0].std()), rel=0.01)


def test_noise_is_relatively_stronger_when_gain_brightens_a_dark_scene() -> None:
    # Same output brightness: a bright scene at gain 1 vs a dark one at gain 16.
    bright = apply_sensor_noise(
        np.full((100, 100, 3), 0.32, np.float32), np.random.default_rng(1), 1.0
    )
    dark = apply_sensor_noise(
        np.full((100, 100, 3), 0.02, np.float32), np.random.default_rng(1), 16.0
    )
    assert dark.mean() == pytest.approx(bright.mean(), rel=0.02)
    assert dark.std() > 3 * bright.std()


def test_sensor_noise_determinism() -> None:
    img = np.random.default_rng(2).random((30, 40, 3), dtype=np.float32)
    a = apply_sensor_noise(img, np.random.default_rng(7), 4.0)
    b = apply_sensor_noise(img, np.random.default_rng(7), 4.0)
    c = apply_sensor_noise(img, np.random.default_rng(8), 4.0)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_bloom_conserves_energy_and_leaves_dim_images_alone() -> None:
    img = np.random.default_rng(3).uniform(0, 0.9, (H, W, 3)).astype(np.float32)
    assert np.array_equal(bloom(img, threshold=1.0), img)
    img[100:103, 240:243] = 500.0
    img0 = img.copy()
    out = bloom(img, threshold=1.0, strength=0.1)
    assert out.sum() == pytest.approx(img.sum(), rel=1e-4)
    halo = (out - img)[101, 250:400:10, 0]
    assert np.all(np.diff(halo) <= 0) and halo[0] > 0.1
    assert out[101, 241, 0] < img[101, 241, 0]
    assert np.array_equal(img, img0)
