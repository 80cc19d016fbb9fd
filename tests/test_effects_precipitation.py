"""Rain and snow: extinction relations, streak statistics, occlusion, determinism."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from scenegen.effects.particles import ParticleStreaks, render_streak_alpha
from scenegen.effects.rain import (
    apply_rain,
    marshall_palmer_density_per_m3,
    rain_attenuation_db_per_km_measured,
    rain_extinction_per_m,
    rain_streak_alpha,
    rain_visibility_m,
    sample_rain_streaks,
)
from scenegen.effects.snow import (
    apply_snow,
    sample_snowflakes,
    settled_snow_cover,
    snow_extinction_per_m,
    snow_visibility_m,
    snowflake_alpha,
)

H, W = 150, 400
K = np.array([[380.0, 0.0, 200.0], [0.0, 380.0, 70.0], [0.0, 0.0, 1.0]])
AIRLIGHT = np.array([0.7, 0.72, 0.75], np.float32)


def _scene() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    img = rng.uniform(0.02, 0.4, (H, W, 3)).astype(np.float32)
    depth = np.full((H, W), np.inf, np.float32)
    rows = np.arange(H, dtype=np.float32)[:, None]
    depth[:] = np.where(rows > 72, 380.0 * 1.65 / np.maximum(rows - 70.0, 1e-3), np.inf)
    depth[40:120, 150:220] = 6.0  # a vehicle 6 m ahead
    depth[0:10, 0:10] = np.nan
    return img, depth


def _coverage(alpha: np.ndarray) -> int:
    return int(np.count_nonzero(alpha > 0.005))


def test_rain_extinction_matches_the_measured_optical_attenuation() -> None:
    db_to_per_m = np.log(10) / 10 / 1000
    for rate in (1.0, 5.0, 25.0, 100.0):
        measured = rain_attenuation_db_per_km_measured(rate) * db_to_per_m
        assert rain_attenuation_db_per_km_measured(rate) == pytest.approx(1.076 * rate**0.67)
        assert 0.7 * measured < rain_extinction_per_m(rate) < 1.6 * measured
        assert rain_extinction_per_m(rate) == pytest.approx(3.65e-4 * rate**0.63, rel=0.01)
    assert rain_extinction_per_m(0.0) == 0.0 and rain_visibility_m(0.0) == np.inf
    # Heavy rain (25 mm/h) leaves roughly a kilometre of visibility.
    assert 600 < rain_visibility_m(25.0) < 2000


def test_marshall_palmer_density_grows_with_rate_for_every_size() -> None:
    edges = np.geomspace(0.5, 6.0, 13)
    low, high = (
        marshall_palmer_density_per_m3(edges, 2.0),
        marshall_palmer_density_per_m3(edges, 20.0),
    )
    assert np.all(high > low) and np.all(low > 0)


def test_snow_dims_far_more_than_rain_at_the_same_rate() -> None:
    for rate in (0.1, 0.5, 1.0, 3.0, 10.0):
        assert snow_extinction_per_m(rate) > 5 * rain_extinction_per_m(rate)
    # Heavy snow (a few mm/h of water) leaves a few hundred metres.
    assert 150 < snow_visibility_m(3.0) < 500


def test_streak_count_grows_monotonically_with_rain_rate() -> None:
    _, depth = _scene()
    rates = [0.5, 2.0, 8.0, 30.0]
    coverage = [
        np.mean(
            [_coverage(rain_streak_alpha(depth, r, K, np.random.default_rng(s))) for s in range(4)]
        )
        for r in rates
    ]
    assert all(a < b for a, b in itertools.pairwise(coverage)), coverage
    counts = [
        np.mean([len(sample_rain_streaks(r, K, H, W, np.random.default_rng(s))) for s in range(4)])
        for r in rates
    ]
    assert all(a < b for a, b in itertools.pairwise(counts)), counts


def test_flake_coverage_grows_monotonically_with_snow_rate() -> None:
    _, depth = _scene()
    rates = [0.1, 0.4, 1.5]
    coverage = [
        np.mean(
            [_coverage(snowflake_alpha(depth, r, K, np.random.default_rng(s))) for s in range(3)]
        )
        for r in rates
    ]
    assert all(a < b for a, b in itertools.pairwise(coverage)), coverage


@pytest.mark.parametrize("apply", [apply_rain, apply_snow])
def test_zero_rate_is_identity(apply: Callable[..., np.ndarray]) -> None:
    img, depth = _scene()
    assert np.array_equal(apply(img, depth, 0.0, K, np.random.default_rng(0), AIRLIGHT), img)


@pytest.mark.parametrize("apply", [apply_rain, apply_snow])
def test_same_seed_same_image_and_inputs_untouched(apply: Callable[..., np.ndarray]) -> None:
    img, depth = _scene()
    img0, depth0 = img.copy(), depth.copy()
    a = apply(img, depth, 5.0, K, np.random.default_rng(42), AIRLIGHT, ego_speed_m_s=8.0)
    b = apply(img, depth, 5.0, K, np.random.default_rng(42), AIRLIGHT, ego_speed_m_s=8.0)
    c = apply(img, depth, 5.0, K, np.random.default_rng(43), AIRLIGHT, ego_speed_m_s=8.0)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.array_equal(img, img0) and np.array_equal(depth, depth0, equal_nan=True)
    assert a.dtype == np.float32 and np.all(np.isfinite(a))


@pytest.mark.parametrize(
    ("sample", "rate_mm_h"), [(sample_rain_streaks, 20.0), (sample_snowflakes, 2.0)]
)
def test_particles_never_cover_a_closer_surface(
    sample: Callable[..., ParticleStreaks], rate_mm_h: float
) -> None:
    # A wall 1.2 m away over the left half: only particles nearer than 1.2 m may cover it.
    depth = np.full((H, W), np.inf, np.float32)
    depth[:, : W // 2] = 1.2
    total_left = 0.0
    for seed in range(3):
        streaks = sample(rate_mm_h, K, H, W, np.random.default_rng(seed))
        behind = streaks.depth_m >= 1.2
        far = ParticleStreaks(
            streaks.start_uv[behind],
            streaks.end_uv[behind],
            streaks.width_px[behind],
            streaks.alpha[behind],
            streaks.depth_m[behind],
            streaks.diameter_mm[behind],
        )
        alpha = render_streak_alpha(far, depth)
        assert len(far) > 0
        assert not np.any(alpha[:, : W // 2]), "a particle behind the wall was drawn over it"
        assert np.any(alpha[:, W // 2 + 2 :])
        total_left += float(render_streak_alpha(streaks, depth)[:, : W // 2].sum())
    assert total_left > 0  # the nearer particles do cover the wall


def test_streak_opacity_is_the_drop_coverage() -> None:
    # A drop whose disc covers pi d^2 / 4 pixels over the exposure spreads exactly that.
    streak = ParticleStreaks(
        np.float32([[50.3, 20.6]]),
        np.float32([[52.0, 60.2]]),
        np.float32([3.0]),
        np.float32([0.02]),
        np.float32([2.0]),
        np.float32([2.0]),
    )
    alpha = render_streak_alpha(streak, np.full((100, 100), np.inf, np.float32))
    length = np.hypot(1.7, 39.6)
    assert alpha.sum() == pytest.approx(0.02 * (length + 3.0) * 3.0, rel=1e-4)
    cols = np.nonzero(alpha.sum(axis=0))[0]
    assert cols.min() >= 47 and cols.max() <= 55


def test_rain_fades_distant_contrast_more_than_near() -> None:
    img, depth = _scene()
    out = apply_rain(img, depth, 50.0, K, np.random.default_rng(0), AIRLIGHT)
    far_row, near_row = 74, 149  # ground far away vs right under the camera
    gap_far = np.abs(out[far_row] - AIRLIGHT).mean() / np.abs(img[far_row] - AIRLIGHT).mean()
    gap_near = np.abs(out[near_row] - AIRLIGHT).mean() / np.abs(img[near_row] - AIRLIGHT).mean()
    assert gap_far < gap_near


def test_settled_snow_covers_the_requested_share_of_ground_only() -> None:
    _, depth = _scene()
    ground = np.isfinite(depth) & (np.arange(H)[:, None] > 72)
    ground[40:120, 150:220] = False
    share = settled_snow_cover(ground, depth, K, 0.4, np.random.default_rng(0))
    assert not np.any(share[~ground])
    assert share[ground].mean() == pytest.approx(0.4, abs=0.05)
    img, _ = _scene()
    out = apply_snow(
        img, depth, 0.0, K, np.random.default_rng(0), AIRLIGHT, ground_mask=ground, ground_cover=0.4
    )
    assert np.array_equal(out[~ground], img[~ground])
    assert out[ground].mean() > img[ground].mean()
