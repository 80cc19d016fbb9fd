"""Night, rain and settled snow on real KITTI frames: the physical properties they promise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from scenegen.augment import functional
from scenegen.augment.depth import recover_depth
from scenegen.io import read_kitti_frame


@pytest.fixture(scope="module")
def real():
    root = SHARED_DATA / "kitti45" / "training"
    if not root.is_dir():
        pytest.skip(f"real KITTI frames not found at {root} (the shared data folder is absent)")
    frame = read_kitti_frame(Path(root), "000010")
    rec = recover_depth(frame.calibration, frame.points.xyz, frame.rgb)
    return frame, rec


def _luma(image: np.ndarray) -> np.ndarray:
    return functional.srgb_to_linear(image).mean(axis=2)


def test_headlights_fall_off_with_the_inverse_square_of_distance() -> None:
    """A wall facing the car at 10 m and at 20 m, seen 2 degrees below the lamps: the same
    beam angle, normal incidence, so the illuminance ratio is (20 / 10)^2 = 4."""
    height, width = 375, 1242
    K = functional.default_intrinsics(height, width)
    lux = {}
    for z in (10.0, 20.0):
        depth = np.full((height, width), z, np.float32)
        row = int(K[1, 2] + K[1, 1] * (0.95 + z * np.tan(np.radians(2.0))) / z)
        lux[z] = functional.headlight_illuminance_lux(depth, K)[row, width // 2]
    assert lux[10.0] / lux[20.0] == pytest.approx(4.0, rel=0.05)
    # and the magnitude: two ~20,000 cd lamps at 10 m, about 400 lux together
    assert 250 < lux[10.0] < 450


def test_night_darkens_the_sky_below_the_scene_and_lights_what_is_ahead(real) -> None:
    frame, rec = real
    day = _luma(frame.rgb)
    out = functional.night(
        frame.rgb,
        np.random.default_rng(0),
        0.01,
        depth_m=rec.depth_m,
        K=frame.calibration.intrinsics.K,
    )
    night = _luma(out)
    sky = np.isinf(rec.depth_m)
    assert sky.mean() > 0.02
    scene = np.isfinite(rec.depth_m)
    # By day the sky is the brightest part of the frame; at night it is darker than the
    # scene (urban night sky: 4 % of the residual light).
    assert day[sky].mean() > 2 * day[scene].mean()
    assert night[sky].mean() < night[scene].mean()
    # The headlights: near surfaces in the beam gain light against the unlit version.
    unlit = _luma(functional.night(frame.rgb, np.random.default_rng(0), 0.01))
    lux = functional.headlight_illuminance_lux(rec.depth_m, frame.calibration.intrinsics.K)
    lit = lux > 20
    assert lit.mean() > 0.01
    assert night[lit].mean() > 1.5 * unlit[lit].mean()


def _ground(frame, rec) -> np.ndarray:
    return functional.level_ground_mask(rec.depth_m, frame.calibration.intrinsics.K, 1.65)


def test_rain_at_10_mm_h_is_visible_and_grows_with_the_rate(real) -> None:
    frame, rec = real
    K = frame.calibration.intrinsics.K
    ground = _ground(frame, rec)

    def change(rate: float) -> float:
        out = functional.rain(frame.rgb, rec.depth_m, rate, K, np.random.default_rng(0))
        return float(np.abs(out.astype(float) - frame.rgb)[ground].mean())

    assert ground.mean() > 0.1
    # A wet road (reflections, darker asphalt) and overcast light: ~10 sRGB codes on average
    # over the road at 10 mm/h, against 0 for an invisible model.
    assert change(10.0) > 8.0
    assert change(10.0) > change(1.0) > change(0.1)


def test_settled_snow_has_soft_edges_and_is_not_flat_white(real) -> None:
    from scenegen.effects.snow import settled_snow_cover

    frame, rec = real
    K = frame.calibration.intrinsics.K
    ground = _ground(frame, rec)
    cover = settled_snow_cover(ground, rec.depth_m, K, 0.5, np.random.default_rng(0))
    # Soft edges: partly covered pixels are common, and within 25 m (where a 1.5 m patch
    # spans dozens of pixels) cover hardly ever jumps from bare to full between neighbours.
    on = ground & (cover > 0)
    partial = (cover > 0.05) & (cover < 0.95)
    assert partial[on].mean() > 0.2
    near = (np.nan_to_num(rec.depth_m, nan=np.inf) < 25.0) & ground
    steps = np.concatenate(
        [
            np.abs(np.diff(cover, axis=0))[near[1:] & near[:-1]],
            np.abs(np.diff(cover, axis=1))[near[:, 1:] & near[:, :-1]],
        ]
    )
    assert np.percentile(steps, 99) < 0.3  # measured 0.21
    assert (steps > 0.5).mean() < 1e-3  # measured 1e-4: where recovered depth jumps
    out = functional.snow(
        frame.rgb, rec.depth_m, 0.5, K, np.random.default_rng(0), ground, ground_cover=0.5
    )
    # Not flat white: where fully covered the snow keeps texture and rarely clips (7.6 %
    # of those pixels here, where the sky is bright; before, snow took 7.5x the sunlit
    # road's radiance and clipped nearly everywhere).
    full = ground & (cover > 0.95)
    assert full.mean() > 0.02
    snow_pixels = out[full].astype(float)
    assert (snow_pixels >= 254).all(axis=1).mean() < 0.1
    assert snow_pixels.mean(axis=1).std() > 4.0


def test_rain_streaks_on_real_frames_are_visible_like_a_2_ms_exposure(real) -> None:
    """Streak contrast in a known band: rain with two seeds differs only by the streaks, so
    at one seed's streak pixels the difference is what the streaks add."""
    from scenegen.effects.rain import rain_streak_alpha

    frame, rec = real
    K = frame.calibration.intrinsics.K

    def luma_of(seed: int, exposure_s: float = functional.REAL_FRAME_EXPOSURE_S) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = functional.rain(frame.rgb, rec.depth_m, 10.0, K, rng, exposure_s=exposure_s)
        return out.astype(float).mean(axis=2)

    # The streak opacity of seed 0 is what functional.rain draws with it (its only draw).
    alpha = rain_streak_alpha(
        rec.depth_m, 10.0, K, np.random.default_rng(0), functional.REAL_FRAME_EXPOSURE_S
    )
    clear = alpha >= 0.05
    added = (luma_of(0) - luma_of(1))[clear]
    # Measured on kitti45 frames 000004 / 000010: 0.46 % of the frame, median +18-20 codes,
    # 95th percentile +36-38 (at the rendered camera's 5 ms: 0.02 % of the frame).
    assert 0.002 < clear.mean() < 0.02
    assert 10.0 < np.median(added) < 40.0
    assert np.percentile(added, 95) > 25.0
    five_ms = rain_streak_alpha(rec.depth_m, 10.0, K, np.random.default_rng(0), 0.005)
    assert (five_ms >= 0.05).mean() < clear.mean() / 5
