"""LiDAR fog against Hahner et al.'s public code, ported in tests/reference_fog_sim.py.

Both run on the same real KITTI scans with the same parameters (visibility, the reference's
sensor constants, KITTI reflectance x 255 for the reference). Goal of the comparison: share
of fog returns within 10 % relative or 1 point absolute, the same range distribution and
the same intensity law.
"""

from __future__ import annotations

import numpy as np
import pytest
import reference_fog_sim as reference
from conftest import SHARED_DATA

from scenegen.effects.lidar_weather import (
    FOG_RETURN,
    HARD_RETURN,
    apply_lidar_weather,
    fog_response,
)
from scenegen.scenario.spec import WeatherSpec

SCANS = [
    SHARED_DATA / "kitti" / "training" / "velodyne" / "000000.bin",
    SHARED_DATA / "kitti" / "training" / "velodyne" / "000001.bin",
    *[SHARED_DATA / "kitti45" / "training" / "velodyne" / f"{i:06d}.bin" for i in (4, 6, 10, 20)],
]


@pytest.fixture(scope="module")
def scans() -> list[np.ndarray]:
    missing = [p for p in SCANS if not p.exists()]
    if missing:
        pytest.skip(f"real KITTI scans not found ({missing[0]}; the shared data folder is absent)")
    return [np.fromfile(p, dtype=np.float32).reshape(-1, 4) for p in SCANS]


def _reference(points: np.ndarray, visibility_m: float) -> tuple[np.ndarray, np.ndarray]:
    scaled = points.copy()
    scaled[:, 3] *= 255.0  # the reference viewer's KITTI loader (intensity_multiplier 255)
    return reference.simulate_fog(scaled, visibility_m)


def _ours(points: np.ndarray, visibility_m: float, min_range_m: float):
    return apply_lidar_weather(
        points,
        WeatherSpec(fog_visibility_m=visibility_m),
        np.random.default_rng(0),
        min_range_m=min_range_m,
    )


@pytest.mark.parametrize("visibility_m", [200.0, 100.0, 50.0, 30.0])
def test_fog_follows_the_reference_on_real_scans(scans, visibility_m):
    ours_total = reference_total = 0
    for points in scans:
        ref_points, ref_fog = _reference(points, visibility_m)
        out = _ours(points, visibility_m, min_range_m=0.0)
        assert len(out.points_lidar) == len(points)  # the reference deletes nothing
        fog = out.clutter_kind == FOG_RETURN
        ours_total += int(fog.sum())
        reference_total += int(ref_fog.sum())
        # Same beams become fog echoes, at the reference's range (its 0.1 m grid).
        fog_src = np.flatnonzero(ref_fog)
        ours_fog_src = np.flatnonzero(~np.isin(np.arange(len(points)), out.source_index))
        assert abs(len(ours_fog_src) - len(fog_src)) <= max(1, 0.1 * len(fog_src))
        differing = np.setxor1d(ours_fog_src, fog_src)
        assert len(differing) <= max(1, 0.01 * len(fog_src))  # beam for beam
        if fog.any():
            ref_range = np.linalg.norm(ref_points[ref_fog, :3], axis=1)
            for q in (5, 50, 95):
                assert np.percentile(out.range_m[fog], q) == pytest.approx(
                    np.percentile(ref_range, q), rel=0.1, abs=0.1
                )
        # Hard returns: intensity exp(-2 alpha R) I, rounded to the reference's 0..255 steps.
        hard = out.clutter_kind == HARD_RETURN
        src = out.source_index[hard]
        kept_in_reference = ~ref_fog[src]
        step_error = np.abs(
            out.points_lidar[hard, 3][kept_in_reference] * 255.0
            - ref_points[src[kept_in_reference], 3]
        )
        # KITTI reflectance x 255 often ends in .5: float32 vs float64 may round either way.
        assert step_error.max() <= 1.0 + 1e-3
        assert np.mean(step_error > 1e-3) < 0.01
    assert abs(ours_total - reference_total) <= max(1, 0.1 * reference_total)
    if visibility_m == 200.0:
        assert reference_total == 0  # light fog: the reference adds no fog echo
    if visibility_m == 30.0:
        assert reference_total > 0.02 * sum(len(p) for p in scans)


@pytest.mark.parametrize("visibility_m", [5000.0, 599.0, 100.0])
def test_returns_of_intensity_zero_survive_fog(scans, visibility_m):
    zero_total = zero_kept = 0
    for points in scans:
        zero = np.flatnonzero(points[:, 3] == 0)
        out = _ours(points, visibility_m, min_range_m=2.5)  # the augmentation's setting
        kept = out.source_index[out.clutter_kind == HARD_RETURN]
        zero_total += len(zero)
        zero_kept += int(np.isin(zero, kept).sum())
    assert zero_total > 0.05 * sum(len(p) for p in scans)  # KITTI: ~9.5 % read 0
    # The reference scales the fog echo by the return's intensity: 0 never turns into fog.
    assert zero_kept == zero_total


@pytest.mark.parametrize("visibility_m", [100.0, 50.0, 30.0])
def test_a_minimum_range_moves_fog_echoes_out_to_it_and_deletes_nothing(scans, visibility_m):
    ours_total = reference_total = 0
    for points in scans:
        _, ref_fog = _reference(points, visibility_m)
        out = _ours(points, visibility_m, min_range_m=2.5)
        assert len(out.points_lidar) == len(points)
        fog = out.clutter_kind == FOG_RETURN
        assert np.all(np.abs(out.range_m[fog] - 2.5) < 0.06)
        ours_total += int(fog.sum())
        reference_total += int(ref_fog.sum())
    # The waveform 2.5 m out is ~13 % weaker than its peak: a few percent fewer echoes.
    assert 0.8 * reference_total - 1 <= ours_total <= reference_total


@pytest.mark.parametrize("visibility_m", [200.0, 50.0, 30.0])
def test_fog_table_is_the_references(visibility_m):
    alpha = np.log(20.0) / visibility_m
    ref_distance, ref_integral = reference.integral_table(alpha)
    ref_ratio = ref_integral * (0.046 / visibility_m) / reference.BETA_0
    table = fog_response(visibility_m)
    # Below R0 = 3 m the reference's echo would be reported at a negative range (it never
    # wins there: the return is far brighter); scenegen reports none.
    assert np.all(table.echo_ratio_per_m2[:30] == 0)
    for r0_m in (3.5, 4.0, 4.5, 5.0, 10.0, 15.0):
        k = round(r0_m * 10)
        # Past the peak (R0 >= ~4.7 m) the tables agree to 0.1 %; on the rising edge the
        # reference's reception grid (linspace(0, 200, 2000), 0.10005 m) stops up to 0.1 m
        # short of R0, hence up to 6 % less there.
        rel = 0.001 if r0_m >= 5.0 else 0.07
        assert table.echo_ratio_per_m2[k] == pytest.approx(ref_ratio[k], rel=rel)
        assert table.echo_range_m[k] == pytest.approx(ref_distance[k], abs=0.11)
