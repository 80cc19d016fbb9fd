"""LiDAR weather: fog, rain, snow, wet road and spray on synthetic and real scans."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from conftest import load_benchmark

from scenegen.effects.lidar_weather import (
    FOG_RETURN,
    HARD_RETURN,
    MAX_SNOW_RATE_MM_H,
    RAIN_RETURN,
    SNOW_RETURN,
    SPRAY_RETURN,
    FogOptics,
    LidarRadiometry,
    LidarWeatherSetup,
    apply_lidar_weather,
    fog_extinction_per_m,
    fog_response,
    rain_extinction_per_m,
    ring_from_elevation,
    snow_extinction_per_m,
)
from scenegen.points import PointCloud
from scenegen.scenario.spec import CameraSpec, LidarSpec, WeatherSpec
from scenegen.sensors.lidar import LidarScan, LidarScanner, apply_weather_to_scan
from scenegen.sensors.rig import T_world_from_lidar
from scenegen.world.types import SEMANTIC_IDS

REPO = Path(__file__).resolve().parents[1]
KITTI_SCAN = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "kitti"
    / "training"
    / "velodyne"
    / "000001.bin"
)
LIDAR = LidarSpec()


def _bench():
    return load_benchmark("bench_lidar")


@pytest.fixture(scope="module")
def street():
    return _bench().urban_world()


@pytest.fixture(scope="module")
def clear_scan(street) -> LidarScan:
    scanner = LidarScanner(street)
    return scanner.scan(LIDAR, T_world_from_lidar(CameraSpec(), LIDAR), np.random.default_rng(0))


def _weather(scan: LidarScan, seed: int, **kwargs):
    return apply_weather_to_scan(
        scan, WeatherSpec(**kwargs), np.random.default_rng(seed), min_range_m=LIDAR.min_range_m
    )


def _kinds(scan: LidarScan, seed: int, **kwargs):
    from scenegen.effects.lidar_weather import apply_lidar_weather as apply

    setup = LidarWeatherSetup(min_range_m=LIDAR.min_range_m, missed=scan.missed)
    return apply(scan.points, WeatherSpec(**kwargs), np.random.default_rng(seed), setup)


def test_coefficients_follow_the_definitions():
    assert fog_extinction_per_m(100.0) == pytest.approx(np.log(20) / 100)  # 5 % at MOR
    assert fog_extinction_per_m(float("inf")) == 0.0
    rain = [rain_extinction_per_m(r) for r in (0.0, 1.0, 10.0, 50.0)]
    assert rain[0] == 0 and all(a < b for a, b in itertools.pairwise(rain))
    assert 3.0 / rain[2] > 1000  # 10 mm/h of rain still leaves > 1 km visibility
    assert snow_extinction_per_m(1.0) > rain_extinction_per_m(1.0)  # snow hides more
    with pytest.raises(ValueError, match="visibility_m"):
        fog_extinction_per_m(0.0)


def test_clear_weather_is_identity(clear_scan):
    scan = clear_scan.points.replace(instance_ids=None)
    out = apply_lidar_weather(scan, WeatherSpec(), np.random.default_rng(0))
    assert np.array_equal(out.points.xyzi(), scan.xyzi())
    assert np.array_equal(out.points.ring, scan.ring)
    assert np.array_equal(out.points.class_ids, scan.class_ids)
    assert out.points.instance_ids is None  # a column the input lacks stays unknown
    assert np.array_equal(out.source_index, np.arange(len(clear_scan)))
    assert not out.points.kind.any()


def test_same_seed_same_arrays_and_labels_follow_their_points(clear_scan):
    weather = dict(fog_visibility_m=80.0, rain_rate_mm_h=10.0, road_wetness=0.5)
    a = _kinds(clear_scan, 3, **weather)
    b = _kinds(clear_scan, 3, **weather)
    assert np.array_equal(a.source_index, b.source_index)
    for field in ("xyz", "intensity", "ring", "class_ids", "instance_ids", "kind", "range_m"):
        assert np.array_equal(getattr(a.points, field), getattr(b.points, field))
    hard = a.points.kind == HARD_RETURN
    assert np.array_equal(hard, a.source_index >= 0)
    assert np.array_equal(~hard, a.points.is_weather)
    src = a.source_index[hard]
    clear = clear_scan.points
    assert np.array_equal(a.points.class_ids[hard], clear.class_ids[src])
    assert np.array_equal(a.points.instance_ids[hard], clear.instance_ids[src])
    assert np.array_equal(a.points.ring[hard], clear.ring[src])
    assert not a.points.class_ids[~hard].any() and not a.points.instance_ids[~hard].any()
    # Fog and particle echoes lie on a beam of the sensor: its ring is known.
    assert np.all(a.points.ring[a.points.kind != SPRAY_RETURN] >= 0)
    c = _kinds(clear_scan, 4, **weather).points
    assert len(c) != len(a.points) or not np.array_equal(c.xyz, a.points.xyz)


def test_fog_dims_hard_returns_as_exp_minus_2_alpha_r_and_never_deletes_one(clear_scan):
    replaced = []
    for visibility in (1000.0, 200.0, 100.0, 50.0, 30.0):
        out = _kinds(clear_scan, 0, fog_visibility_m=visibility)
        hard = out.points.kind == HARD_RETURN
        fog = out.points.kind == FOG_RETURN
        # Every clear return is still there: kept, or turned into this beam's fog echo.
        assert hard.sum() + fog.sum() >= len(clear_scan)
        src = out.source_index[hard]
        alpha = np.log(20.0) / visibility
        range_m = np.linalg.norm(clear_scan.points.xyz[src], axis=1)
        exact = clear_scan.points.intensity[src] * np.exp(-2 * alpha * range_m) * 255
        # Reported in 8-bit steps: rounded (half a step, float32 rounding aside).
        assert np.abs(out.points.intensity[hard] * 255 - exact).max() <= 0.5 + 1e-3
        replaced.append(1 - hard.sum() / len(clear_scan))
    assert all(a <= b for a, b in itertools.pairwise(replaced))
    assert replaced[0] < 0.001 and replaced[-1] > 0.01


def test_dropping_undetectable_returns_is_a_separate_option(clear_scan):
    setup = LidarWeatherSetup(min_range_m=LIDAR.min_range_m)
    weather = WeatherSpec(fog_visibility_m=100.0)
    pts = clear_scan.points
    plain = apply_lidar_weather(pts, weather, np.random.default_rng(0), setup)
    dropping_setup = LidarWeatherSetup(
        min_range_m=LIDAR.min_range_m, fog_optics=FogOptics(drop_undetectable=True)
    )
    dropping = apply_lidar_weather(pts, weather, np.random.default_rng(0), dropping_setup)
    fog_plain = (plain.points.kind == FOG_RETURN).sum()
    assert (plain.points.kind == HARD_RETURN).sum() + fog_plain == len(pts)  # none lost
    far = np.flatnonzero(clear_scan.points.range_m > 40.0)
    assert len(far) > 500
    kept_plain = np.isin(far, plain.source_index).mean()
    kept_dropping = np.isin(far, dropping.source_index).mean()
    assert kept_plain > 0.5
    assert kept_dropping < kept_plain - 0.3


def test_fog_optics_refuse_impossible_sensors():
    with pytest.raises(ValueError, match="overlap_start_m < overlap_full_m"):
        FogOptics(overlap_start_m=1.0, overlap_full_m=0.9)
    with pytest.raises(ValueError, match="intensity_levels >= 1"):
        FogOptics(intensity_levels=0)


def test_fog_returns_appear_at_the_waveform_peak_only_in_fog(clear_scan):
    counts = []
    for visibility in (float("inf"), 1000.0, 100.0, 30.0):
        out = _kinds(clear_scan, 1, fog_visibility_m=visibility)
        fog = out.points.kind == FOG_RETURN
        counts.append(int(fog.sum()))
        if fog.any():
            range_m = np.linalg.norm(out.points.xyz[fog], axis=1)
            # The reference's echo peaks at ~1.6 m, nearer than this sensor reports: the
            # strongest reportable part of the waveform is at its minimum range.
            assert np.allclose(range_m, LIDAR.min_range_m, atol=0.06)
            assert np.median(out.points.intensity[fog]) < np.median(clear_scan.points.intensity)
    assert counts[0] == 0
    assert counts[1] <= counts[2] < counts[3]
    assert counts[3] > 100


def test_fog_response_peaks_where_the_reference_puts_it():
    thin, dense = fog_response(1000.0), fog_response(50.0)
    # Echo per unit of a return's power grows with the fog's backscatter (0.046 / MOR).
    assert dense.echo_ratio_per_m2[-1] > 15 * thin.echo_ratio_per_m2[-1]
    # Peak of the waveform: 4.6-4.7 m of reception minus half the 6 m pulse (reference table).
    assert 1.5 < float(dense.echo_range_m[-1]) < 1.8
    assert np.all(np.diff(dense.echo_ratio_per_m2) >= 0)  # peak over R <= R0 only grows
    assert dense.echo_ratio_per_m2[25] < dense.echo_ratio_per_m2[-1]  # a close target cuts it
    blanked = fog_response(50.0, min_range_m=2.5)
    assert np.allclose(blanked.echo_range_m[60:], 2.5, atol=0.06)
    assert 0.8 < blanked.echo_ratio_per_m2[-1] / dense.echo_ratio_per_m2[-1] < 1.0


@pytest.mark.parametrize(
    ("kind", "key"), [(RAIN_RETURN, "rain_rate_mm_h"), (SNOW_RETURN, "snow_rate_mm_h")]
)
def test_particle_clutter_grows_with_rate(clear_scan, kind, key):
    means = []
    for rate in (0.5, 2.5, 10.0):
        counts = []
        for seed in range(3):
            out = _kinds(clear_scan, seed, **{key: rate})
            mine = out.points.kind == kind
            counts.append(mine.sum())
            if mine.any():
                range_m = np.linalg.norm(out.points.xyz[mine], axis=1)
                # Clutter is near the sensor: drops within LISA's 30 m grid; flakes mostly
                # within 10 m (Hahner et al.: a far flake rarely outshines the target).
                if kind == RAIN_RETURN:
                    assert range_m.max() < 30.0
                else:
                    assert np.median(range_m) < 10.0 and np.percentile(range_m, 95) < 25.0
                # LISA's geometry: particles nearer than the minimum range are not seen
                # and do not hide the target behind them.
                assert range_m.min() >= LIDAR.min_range_m
        means.append(np.mean(counts))
    assert all(a < b for a, b in itertools.pairwise(means))
    assert means[-1] > 50


def test_rain_drops_inside_the_minimum_range_do_not_delete_returns(clear_scan):
    out = _kinds(clear_scan, 0, rain_rate_mm_h=10.0)
    drops = out.points.kind == RAIN_RETURN
    assert drops.sum() > 20
    # Returns are lost to extinction only: at 10 mm/h (alpha ~ 1e-3 / m) few percent.
    lost = 1 - (out.points.kind == HARD_RETURN).sum() / len(clear_scan)
    assert lost < 0.05


def test_snow_rates_beyond_natural_snowfall_are_refused():
    points = PointCloud.from_xyzi(np.array([[10.0, 0.0, 0.0, 0.3]], np.float32))
    apply_lidar_weather(
        points, WeatherSpec(snow_rate_mm_h=MAX_SNOW_RATE_MM_H), np.random.default_rng(0)
    )
    with pytest.raises(ValueError, match=r"snow_rate_mm_h must be <= 10 mm/h"):
        apply_lidar_weather(points, WeatherSpec(snow_rate_mm_h=25.0), np.random.default_rng(0))


def test_rain_adds_range_noise_growing_with_rate():
    rng = np.random.default_rng(0)
    n = 20000
    directions = rng.normal(size=(n, 3)).astype(np.float32)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    points = PointCloud(directions * 20.0, np.full(n, 0.5, np.float32))
    spreads = []
    for rate in (2.0, 20.0, 60.0):
        out = apply_lidar_weather(
            points, WeatherSpec(rain_rate_mm_h=rate), np.random.default_rng(1)
        )
        hard = out.points.kind == HARD_RETURN
        spreads.append(np.std(np.linalg.norm(out.points.xyz[hard], axis=1)))
    assert all(a < b for a, b in itertools.pairwise(spreads))


def test_wet_road_darkens_and_thins_ground_returns_only(clear_scan):
    out = _weather(clear_scan, 0, road_wetness=1.0).points
    clear = clear_scan.points
    road = SEMANTIC_IDS["road"]
    building = SEMANTIC_IDS["building"]
    dry_road = clear.class_ids == road
    wet_road = out.class_ids == road
    assert wet_road.sum() < 0.9 * dry_road.sum()
    assert out.intensity[wet_road].mean() < 0.6 * clear.intensity[dry_road].mean()
    assert (out.class_ids == building).sum() == (clear.class_ids == building).sum()


def test_spray_appears_behind_vehicles_in_rain_on_a_wet_road():
    car = np.array([[12.0, 0.0, -1.73, 4.2, 1.8, 1.5, 0.0]])  # driving away along +x
    points = PointCloud.from_xyzi(np.array([[30.0, 5.0, 0.0, 0.4]], np.float32))
    setup = LidarWeatherSetup(vehicle_boxes_lidar=car, min_range_m=2.5)
    dry = apply_lidar_weather(
        points, WeatherSpec(rain_rate_mm_h=10.0), np.random.default_rng(0), setup
    )
    wet = apply_lidar_weather(
        points, WeatherSpec(rain_rate_mm_h=10.0, road_wetness=1.0), np.random.default_rng(0), setup
    )
    assert not (dry.points.kind == SPRAY_RETURN).any()
    spray = wet.points.xyz[wet.points.kind == SPRAY_RETURN]
    assert len(spray) > 20
    assert np.all((spray[:, 0] < 12.0 - 2.1 + 0.01) & (spray[:, 0] > 12.0 - 2.1 - 3.01))
    assert np.all(np.abs(spray[:, 1]) <= 1.1 + 1e-3)
    assert np.all((spray[:, 2] >= -1.73) & (spray[:, 2] <= -1.73 + 1.2 + 1e-4))


def test_radiometry_round_trips_and_detection_is_monotonic():
    rad = LidarRadiometry()
    range_m = np.array([3.0, 10.0, 40.0], np.float32)
    power = rad.received_power(np.float32(0.3), np.float32(0.8), range_m)
    intensity = rad.intensity_from_power(power, range_m)
    assert np.allclose(rad.power_from_intensity(intensity, range_m), power, rtol=1e-4)
    assert rad.detection_probability(np.float32(rad.detection_power)) == pytest.approx(0.5)
    p = rad.detection_probability(np.logspace(-7, -2, 20).astype(np.float32))
    assert np.all(np.diff(p) > 0)
    assert np.allclose(rad.survival_probability(power, np.ones(3, np.float32)), 1.0)


def test_ring_from_elevation_recovers_rings_of_a_sensor_without_offsets(street):
    lidar = LidarSpec(preset="vlp16", range_noise_m=0.0)
    scan = LidarScanner(street).scan(
        lidar, T_world_from_lidar(CameraSpec(), lidar), np.random.default_rng(0)
    )
    angles = np.linspace(15.0, -15.0, 16)
    assert np.array_equal(ring_from_elevation(scan.points.xyz, angles), scan.points.ring)


@pytest.mark.skipif(not KITTI_SCAN.exists(), reason=f"real KITTI scan not found at {KITTI_SCAN}")
def test_fog_on_a_real_kitti_scan_keeps_positions_and_every_point():
    real = np.fromfile(KITTI_SCAN, dtype=np.float32).reshape(-1, 4)
    fog_counts = []
    for visibility in (float("inf"), 200.0, 50.0, 30.0):
        out = apply_lidar_weather(
            PointCloud.from_xyzi(real),
            WeatherSpec(fog_visibility_m=visibility),
            np.random.default_rng(0),
            LidarWeatherSetup(min_range_m=2.5),
        )
        hard = out.points.kind == HARD_RETURN
        assert np.array_equal(out.points.xyz[hard], real[out.source_index[hard], :3])
        assert len(out.points) == len(real)  # fog moves points, never deletes them
        fog_counts.append(int((out.points.kind == FOG_RETURN).sum()))
    assert fog_counts[0] == 0 and fog_counts[1] <= fog_counts[2] < fog_counts[3]


def test_scenario_files_cannot_ask_for_snow_the_lidar_model_refuses():
    from scenegen.effects.lidar_weather import MAX_SNOW_RATE_MM_H
    from scenegen.scenario.schema import table_section

    snow_rate = table_section("environment.weather.snow").fields["rate_mm_h"]
    assert snow_rate.maximum == MAX_SNOW_RATE_MM_H
