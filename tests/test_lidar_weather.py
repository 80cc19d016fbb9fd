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
    RAIN_RETURN,
    SNOW_RETURN,
    SPRAY_RETURN,
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


def test_fog_removes_far_returns_more_as_visibility_falls(clear_scan):
    far = clear_scan.points.range_m > 20.0
    assert far.sum() > 1000
    shares = []
    for visibility in (1000.0, 200.0, 100.0, 50.0):
        out = _kinds(clear_scan, 0, fog_visibility_m=visibility)
        kept = out.source_index[out.points.kind == HARD_RETURN]
        shares.append(np.isin(np.flatnonzero(far), kept).mean())
        beyond = clear_scan.points.range_m > visibility
        if beyond.any():  # past the visibility distance almost nothing comes back
            assert np.isin(np.flatnonzero(beyond), kept).mean() < 0.1
    assert all(a > b for a, b in itertools.pairwise(shares))
    assert shares[0] > 0.8 and shares[-1] < 0.1


def test_fog_returns_appear_near_the_sensor_only_in_fog(clear_scan):
    counts = []
    for visibility in (float("inf"), 1000.0, 100.0, 30.0):
        out = _kinds(clear_scan, 1, fog_visibility_m=visibility).points
        fog = out.kind == FOG_RETURN
        counts.append(int(fog.sum()))
        if fog.any():
            range_m = np.linalg.norm(out.xyz[fog], axis=1)
            assert range_m.max() < 12.0 and range_m.min() >= LIDAR.min_range_m
            # Fog echoes are dim compared with the scene's hard returns.
            assert np.median(out.intensity[fog]) < np.median(clear_scan.points.intensity)
    assert counts[0] == 0
    assert counts[1] < counts[2] < counts[3]
    assert counts[3] > 1000


def test_fog_response_peaks_near_the_sensor_and_grows_with_density():
    thin, dense = fog_response(1000.0), fog_response(50.0)
    assert dense.peak_power[-1] > 5 * thin.peak_power[-1]
    assert 2.0 < float(dense.peak_range_m[-1]) < 6.0
    # A hard target close by cuts the fog echo short.
    assert dense.peak_power[10] < dense.peak_power[-1]
    assert np.all(np.diff(dense.peak_power) >= -1e-12)


@pytest.mark.parametrize(
    ("kind", "key"), [(RAIN_RETURN, "rain_rate_mm_h"), (SNOW_RETURN, "snow_rate_mm_h")]
)
def test_particle_clutter_grows_with_rate(clear_scan, kind, key):
    means = []
    for rate in (0.5, 5.0, 25.0):
        counts = []
        for seed in range(3):
            out = _kinds(clear_scan, seed, **{key: rate}).points
            mine = out.kind == kind
            counts.append(mine.sum())
            if mine.any():
                assert np.linalg.norm(out.xyz[mine], axis=1).max() < 30.0
        means.append(np.mean(counts))
    assert all(a < b for a, b in itertools.pairwise(means))
    assert means[-1] > 50


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
        ).points
        hard = out.kind == HARD_RETURN
        spreads.append(np.std(np.linalg.norm(out.xyz[hard], axis=1)))
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
    ).points
    wet = apply_lidar_weather(
        points, WeatherSpec(rain_rate_mm_h=10.0, road_wetness=1.0), np.random.default_rng(0), setup
    ).points
    assert not (dry.kind == SPRAY_RETURN).any()
    spray = wet.xyz[wet.kind == SPRAY_RETURN]
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
def test_fog_on_a_real_kitti_scan():
    real = np.fromfile(KITTI_SCAN, dtype=np.float32).reshape(-1, 4)
    counts = []
    for visibility in (float("inf"), 200.0, 50.0):
        result = apply_lidar_weather(
            PointCloud.from_xyzi(real),
            WeatherSpec(fog_visibility_m=visibility),
            np.random.default_rng(0),
            LidarWeatherSetup(min_range_m=1.0),
        )
        out, hard = result.points, result.points.kind == HARD_RETURN
        assert (
            np.array_equal(out.xyzi()[hard], real[result.source_index[hard]]) or visibility < np.inf
        )  # intensities change under fog; positions must not
        assert np.allclose(out.xyz[hard], real[result.source_index[hard], :3])
        counts.append(int(hard.sum()))
        far = np.linalg.norm(out.xyz[hard], axis=1) > 40
        if visibility == 50.0:
            assert far.sum() < 0.02 * (np.linalg.norm(real[:, :3], axis=1) > 40).sum()
    assert counts[0] == len(real) and counts[0] > counts[1] > counts[2]
