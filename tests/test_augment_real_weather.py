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
    rec = recover_depth(frame.calibration, frame.points_lidar, frame.rgb)
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
