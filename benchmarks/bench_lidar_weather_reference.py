"""LiDAR fog, rain and snow side by side with the published reference code, on real KITTI scans.

    python benchmarks/bench_lidar_weather_reference.py                 # all tables
    python benchmarks/bench_lidar_weather_reference.py --scans 6 --repeat 30

Fog: scenegen's model against the port of Hahner et al.'s LiDAR_fog_sim in
``tests/reference_fog_sim.py`` (same scans, same visibility; KITTI reflectance x 255 for the
reference): share of fog echoes, their range (5th / 50th / 95th percentile), points lost, and
the share of intensity-0 returns kept, at MOR 5,000 / 599 / 200 / 100 / 50 / 30 m, with the sensor's
minimum range at 0 m (the reference) and at 2.5 m (the augmentation's setting). Rain and snow:
against the port of LISA (Kilic et al.) in ``tests/reference_lisa.py`` on one scan, both with
a 1.5 m minimum range (LISA's); snow also against the port of Hahner et al.'s snowfall
simulation (CVPR 2022) in ``tests/reference_snow_sim.py`` on every scan. Speed: the fog model alone on the 120k-point scan 000001.
Prints markdown; needs ``shared/data`` (kitti, kitti45).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import reference_fog_sim  # noqa: E402
import reference_lisa  # noqa: E402
import reference_snow_sim  # noqa: E402

from scenegen.effects.lidar_radiometry import ring_from_elevation  # noqa: E402
from scenegen.effects.lidar_weather import (  # noqa: E402
    FOG_RETURN,
    HARD_RETURN,
    RAIN_RETURN,
    SNOW_RETURN,
    LidarWeatherSetup,
    WeatheredPoints,
    apply_lidar_weather,
)
from scenegen.points import PointCloud  # noqa: E402
from scenegen.scenario.spec import WeatherSpec  # noqa: E402
from scenegen.sensors.lidar import PRESET_VERTICAL_ANGLES_DEG  # noqa: E402

DATA = REPO.parent / "shared" / "data"
VISIBILITIES_M = (5000.0, 599.0, 200.0, 100.0, 50.0, 30.0)


def kitti_scans(count: int) -> list[Path]:
    paths = sorted((DATA / "kitti" / "training" / "velodyne").glob("*.bin"))
    paths += sorted((DATA / "kitti45" / "training" / "velodyne").glob("*.bin"))
    # 000003 holds only the camera's field of view: not a full scan.
    return [p for p in paths if p.name != "000003.bin"][:count]


def _load(path: Path) -> np.ndarray:
    return np.fromfile(path, dtype=np.float32).reshape(-1, 4)


def _load_all(paths: list[Path]) -> tuple[list[np.ndarray], int]:
    """The scans and their total number of points."""
    scans = [_load(p) for p in paths]
    return scans, sum(len(s) for s in scans)


def _percentiles(range_m: np.ndarray) -> str:
    if len(range_m) == 0:
        return "-"
    return " / ".join(f"{v:.2f}" for v in np.percentile(range_m, (5, 50, 95)))


def fog_table(paths: list[Path]) -> str:
    lines = [
        "| MOR m | min range m | fog echoes, reference | fog echoes, scenegen | "
        "echo range m (p5/p50/p95), reference | scenegen | points lost | intensity-0 kept |",
        "|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    scans, total = _load_all(paths)
    for visibility in VISIBILITIES_M:
        reference_runs = []
        for points in scans:
            scaled = points.copy()
            scaled[:, 3] *= 255.0
            reference_runs.append(reference_fog_sim.simulate_fog(scaled, visibility))
        ref_fog = sum(int(m.sum()) for _, m in reference_runs)
        ref_range = np.concatenate([np.linalg.norm(p[m, :3], axis=1) for p, m in reference_runs])
        for min_range_m in (0.0, 2.5):
            fog = lost = zero = zero_kept = 0
            ranges = []
            for points in scans:
                out = _weather(points, WeatherSpec(fog_visibility_m=visibility), min_range_m)
                is_fog = out.points.kind == FOG_RETURN
                fog += int(is_fog.sum())
                ranges.append(out.points.range_m[is_fog])
                hard_src = out.source_index[out.points.kind == HARD_RETURN]
                lost += len(points) - len(hard_src) - int(is_fog.sum())
                zeros = np.flatnonzero(points[:, 3] == 0)
                zero += len(zeros)
                zero_kept += int(np.isin(zeros, hard_src).sum())
            lines.append(
                f"| {visibility:.0f} | {min_range_m:.1f} | {100 * ref_fog / total:.3f} % | "
                f"{100 * fog / total:.3f} % | {_percentiles(ref_range)} | "
                f"{_percentiles(np.concatenate(ranges))} | {lost} | "
                f"{100 * zero_kept / max(zero, 1):.1f} % |"
            )
    return "\n".join(lines)


def _weather(points: np.ndarray, weather: WeatherSpec, min_range_m: float) -> WeatheredPoints:
    """scenegen's weather on a KITTI ``(N, 4)`` scan, seed 0."""
    cloud = PointCloud.from_xyzi(points)
    setup = LidarWeatherSetup(min_range_m=min_range_m)
    return apply_lidar_weather(cloud, weather, np.random.default_rng(0), setup)


def particle_table(path: Path) -> str:
    points = _load(path)
    lines = [
        "| weather | rate mm/h | clutter, LISA | clutter, scenegen | clutter range m "
        "(p5/p50/p95), LISA | scenegen | lost, LISA | lost, scenegen |",
        "|---|---:|---:|---:|---|---|---:|---:|",
    ]
    for kind, key, code in (
        ("rain", "rain_rate_mm_h", RAIN_RETURN),
        ("snow", "snow_rate_mm_h", SNOW_RETURN),
    ):
        for rate in (0.5, 2.5, 10.0):
            labels, reported = reference_lisa.lisa_strongest(
                points, kind, rate, np.random.default_rng(0)
            )
            scattered = labels == reference_lisa.SCATTERED
            out = _weather(points, WeatherSpec(**{key: rate}), 1.5).points
            mine = out.kind == code
            lost = len(points) - int((out.kind == HARD_RETURN).sum()) - int(mine.sum())
            lines.append(
                f"| {kind} | {rate:g} | {100 * scattered.mean():.3f} % | "
                f"{100 * mine.mean():.3f} % | {_percentiles(reported[scattered])} | "
                f"{_percentiles(out.range_m[mine])} | "
                f"{100 * np.mean(labels == reference_lisa.LOST):.2f} % | "
                f"{100 * lost / len(points):.2f} % |"
            )
    return "\n".join(lines)


def snow_table(paths: list[Path]) -> str:
    """scenegen's snow against the port of Hahner et al.'s snowfall simulation, all scans."""
    lines = [
        "| rate mm/h | snow returns, Hahner | scenegen | range m (p5/p50/p95), Hahner | "
        "scenegen | mean intensity, Hahner | scenegen | seconds per scan, Hahner port | scenegen |",
        "|---:|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    scans, total = _load_all(paths)
    angles = np.asarray(PRESET_VERTICAL_ANGLES_DEG["hdl64"])
    for rate in (0.5, 1.0, 2.5, 10.0):
        ref_r, ref_i, our_r, our_i, ref_s, our_s = [], [], [], [], 0.0, 0.0
        for k, points in enumerate(scans):
            scaled = points.copy()
            scaled[:, 3] *= 255.0
            start = time.perf_counter()
            labels, out = reference_snow_sim.simulate_snow(
                scaled, ring_from_elevation(points, angles), rate, 1.0, np.random.default_rng(k)
            )
            ref_s += time.perf_counter() - start
            snow = labels == reference_snow_sim.SCATTERED
            ref_r.append(np.linalg.norm(out[snow, :3], axis=1))
            ref_i.append(out[snow, 3] / 255.0)
            cloud = PointCloud.from_xyzi(points)
            start = time.perf_counter()
            ours = apply_lidar_weather(
                cloud, WeatherSpec(snow_rate_mm_h=rate), np.random.default_rng(k)
            ).points
            our_s += time.perf_counter() - start
            mine = ours.kind == SNOW_RETURN
            our_r.append(ours.range_m[mine])
            our_i.append(ours.intensity[mine])
        ref_r, ref_i, our_r, our_i = map(np.concatenate, (ref_r, ref_i, our_r, our_i))
        lines.append(
            f"| {rate:g} | {100 * len(ref_r) / total:.2f} % | {100 * len(our_r) / total:.2f} % | "
            f"{_percentiles(ref_r)} | {_percentiles(our_r)} | {ref_i.mean():.4f} | "
            f"{our_i.mean():.4f} | {ref_s / len(scans):.2f} | {our_s / len(scans):.3f} |"
        )
    return "\n".join(lines)


def speed_table(path: Path, repeat: int) -> str:
    points = PointCloud.from_xyzi(_load(path))
    setup = LidarWeatherSetup(min_range_m=2.5)
    lines = [
        f"Fog model alone on {path.name} ({len(points)} points), load average "
        f"{os.getloadavg()[0]:.1f}:",
        "",
        f"| MOR m | ms, median of {repeat} | ms, fastest |",
        "|---:|---:|---:|",
    ]
    for visibility in VISIBILITIES_M:
        weather = WeatherSpec(fog_visibility_m=visibility)
        rng = np.random.default_rng(0)
        apply_lidar_weather(points, weather, rng, setup)  # builds the table once
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            apply_lidar_weather(points, weather, rng, setup)
            times.append((time.perf_counter() - start) * 1e3)
        lines.append(f"| {visibility:.0f} | {statistics.median(times):.1f} | {min(times):.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=6, help="real scans for the fog table")
    parser.add_argument("--repeat", type=int, default=30, help="runs per timing")
    args = parser.parse_args()
    paths = kitti_scans(args.scans)
    if not paths:
        raise SystemExit(f"no KITTI scans under {DATA}: the shared data folder is absent")
    print(f"Fog on {len(paths)} real KITTI scans ({', '.join(p.stem for p in paths)}):\n")
    print(fog_table(paths))
    print(f"\nRain and snow on {paths[min(1, len(paths) - 1)].stem}, minimum range 1.5 m:\n")
    print(particle_table(paths[min(1, len(paths) - 1)]))
    print(f"\nSnow on {len(paths)} real KITTI scans against Hahner et al., no minimum range:\n")
    print(snow_table(paths))
    speed = DATA / "kitti" / "training" / "velodyne" / "000001.bin"
    print()
    print(speed_table(speed if speed.exists() else paths[0], args.repeat))


if __name__ == "__main__":
    main()
