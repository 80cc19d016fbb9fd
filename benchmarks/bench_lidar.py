"""LiDAR speed and realism benchmark.

    python benchmarks/bench_lidar.py              # speed: clear / fog scans, fog on a real scan
    python benchmarks/bench_lidar.py --realism    # synthetic vs real KITTI scans
    python benchmarks/bench_lidar.py --realism --scenes 10   # more build_world scenes
    python benchmarks/bench_lidar.py --backends   # rays/s of the open3d and warp backends

Speed: a full 64 x 2048 labelled HDL-64 scan of an urban street with and without fog
(median ms per scan over ``--repeat`` runs), and the fog model alone on a real ~120k point
KITTI scan. Realism: points per scan, the histogram of point elevations in 1 degree bins
(Jensen-Shannon distance to each real scan) and the intensity mean / spread, against
``shared/data/kitti/training/velodyne/00000{0,1}.bin``, for a hand-built street and for
the first ``--scenes`` scenes of ``scenarios/clear_day_urban.yaml`` as ``build_world``
makes them (each scene, then their mean and spread). Backends: the same 64 x 2048 sweep of
the urban street cast by each ray-casting backend (``sensors/raycast.py``; warp on the GPU
when there is one), rays only and as a full labelled scan. Prints markdown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import trimesh

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scenegen.effects.lidar_weather import (  # noqa: E402
    LidarWeatherSetup,
    apply_lidar_weather,
    elevation_deg,
)
from scenegen.points import PointCloud  # noqa: E402
from scenegen.scenario.spec import CameraSpec, LidarSpec, WeatherSpec  # noqa: E402
from scenegen.sensors.lidar import LidarScanner, apply_weather_to_scan  # noqa: E402
from scenegen.sensors.raycast import RAYCAST_BACKENDS, WorldRaycaster  # noqa: E402
from scenegen.sensors.rig import T_world_from_lidar  # noqa: E402
from scenegen.world.types import MeshPart, World, WorldObject  # noqa: E402

KITTI_VELODYNE = REPO.parent / "shared" / "data" / "kitti" / "training" / "velodyne"
URBAN_SCENARIO = REPO / "scenarios" / "clear_day_urban.yaml"
REAL_SCANS = ("000000.bin", "000001.bin")
ELEVATION_BINS_DEG = np.arange(-27.0, 6.0, 1.0)


# ------------------------------------------------------------------ a hand-built street


def _box(
    extents: tuple[float, float, float], centre: tuple[float, float, float]
) -> trimesh.Trimesh:
    mesh = trimesh.creation.box(extents=extents)
    mesh.apply_translation(centre)
    return mesh


def _pose(x: float, y: float, yaw_rad: float = 0.0) -> np.ndarray:
    T = np.eye(4)
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    T[:2, :2] = [[c, -s], [s, c]]
    T[:2, 3] = (x, y)
    return T


def car_object(
    name: str, instance_id: int, x: float, y: float, yaw_rad: float = 0.0
) -> WorldObject:
    """A 4.2 x 1.8 x 1.5 m car: painted body, glass cabin, painted roof, dark tyres."""
    parts = [
        MeshPart(_box((4.2, 1.8, 0.7), (0.0, 0.0, 0.65)), "car_paint"),
        MeshPart(_box((2.2, 1.6, 0.4), (-0.2, 0.0, 1.2)), "car_glass"),
        MeshPart(_box((2.0, 1.5, 0.1), (-0.2, 0.0, 1.45)), "car_paint"),
    ]
    for dx in (-1.35, 1.35):
        for dy in (-0.8, 0.8):
            tyre = trimesh.creation.cylinder(radius=0.32, height=0.22, sections=16)
            tyre.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
            tyre.apply_translation((dx, dy, 0.32))
            parts.append(MeshPart(tyre, "tyre"))
    return WorldObject(
        name,
        "car",
        parts,
        _pose(x, y, yaw_rad),
        instance_id=instance_id,
        class_name="car",
        dimensions_m=(4.2, 1.8, 1.5),
    )


def urban_world(seed: int = 0) -> World:
    """A KITTI-like street: 7 m road, kerbs, sidewalks, building rows, trees and cars."""
    rng = np.random.default_rng(seed)
    objects: list[WorldObject] = []

    def scenery(name: str, semantic: str, parts: list[MeshPart]) -> None:
        objects.append(WorldObject(name, semantic, parts, np.eye(4)))

    scenery("road", "road", [MeshPart(_box((240.0, 7.0, 0.02), (0.0, 0.0, -0.01)), "asphalt")])
    for k, y0 in enumerate((-1.0, 1.0)):
        dashes = (
            [
                MeshPart(_box((3.0, 0.12, 0.02), (x, 0.0, 0.0)), "lane_marking")
                for x in np.arange(-118.0, 120.0, 9.0)
            ]
            if k == 0
            else []
        )
        side = np.sign(y0)
        scenery(
            f"kerb{k}",
            "kerb",
            [MeshPart(_box((240.0, 0.3, 0.15), (0.0, side * 3.65, 0.075)), "kerb"), *dashes],
        )
        scenery(
            f"sidewalk{k}",
            "sidewalk",
            [MeshPart(_box((240.0, 3.2, 0.15), (0.0, side * 5.4, 0.075)), "sidewalk")],
        )
        walls, windows = [], []
        x = -120.0
        while x < 120.0:
            length = float(rng.uniform(8.0, 22.0))
            height = float(rng.uniform(6.0, 16.0))
            setback = float(rng.uniform(0.0, 2.5))
            y_face = side * (7.0 + setback)
            walls.append(
                MeshPart(
                    _box((length, 1.0, height), (x + length / 2, y_face + side * 0.5, height / 2)),
                    "building",
                )
            )
            for wx in np.arange(x + 1.5, x + length - 1.5, 3.0):
                for wz in np.arange(1.0, height - 1.0, 3.0):
                    windows.append(
                        MeshPart(
                            _box((1.2, 0.05, 1.4), (wx + 0.6, y_face - side * 0.02, wz + 0.7)),
                            "building_window",
                        )
                    )
            x += length
        scenery(f"buildings{k}", "building", walls)
        scenery(f"windows{k}", "building", windows)
        trees = []
        for tx in np.arange(-110.0, 110.0, float(rng.uniform(9.0, 14.0))):
            ty = side * 4.6
            trunk = trimesh.creation.cylinder(radius=0.15, height=2.5, sections=10)
            trunk.apply_translation((tx, ty, 1.25))
            crown = trimesh.creation.icosphere(subdivisions=2, radius=1.6)
            crown.apply_translation((tx, ty, 3.6))
            trees += [MeshPart(trunk, "bark"), MeshPart(crown, "foliage")]
        scenery(f"trees{k}", "vegetation", trees)
    # Far end of the street and what lies beyond the road's ends.
    for k, xe in enumerate((-120.0, 120.0)):
        scenery(
            f"end{k}", "building", [MeshPart(_box((1.0, 40.0, 20.0), (xe, 0.0, 10.0)), "building")]
        )
    instance = 1
    for side in (-1.0, 1.0):
        for x in np.arange(-40.0, 45.0, float(rng.uniform(6.5, 9.0))):
            if rng.random() < 0.65:
                objects.append(car_object(f"parked{instance}", instance, float(x), side * 2.6))
                instance += 1
    for x, y in ((14.0, -1.75), (32.0, 1.75), (-18.0, 1.75)):
        objects.append(car_object(f"moving{instance}", instance, x, y))
        instance += 1
    return World(objects=objects)


def scenario_worlds(scenario_path: Path, frames: int) -> dict[str, World]:
    """Worlds of the first ``frames`` scenes of a scenario file, built by ``build_world``."""
    from scenegen.scenario import load_scenario, sample_scene
    from scenegen.world.build import build_world

    scenario = load_scenario(scenario_path)
    worlds = {}
    for index in range(frames):
        spec = sample_scene(scenario, index, scenario.default_seed, frames)
        worlds[f"{scenario_path.stem} #{index}"] = build_world(spec)
    return worlds


# ------------------------------------------------------------------------------ metrics


def load_kitti_scan(path: Path) -> np.ndarray:
    """Float32 ``(N, 4)`` x, y, z (m, velodyne frame), reflectance of a KITTI ``.bin``."""
    return np.fromfile(path, dtype=np.float32).reshape(-1, 4)


def elevation_histogram(points_lidar: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(elevation_deg(points_lidar), bins=ELEVATION_BINS_DEG)
    return counts / max(counts.sum(), 1)


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two histograms."""
    p = p / p.sum()
    q = q / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return float(np.sqrt(max(0.5 * kl(p) + 0.5 * kl(q), 0.0)))


@dataclass
class ScanStats:
    name: str
    points: int
    js_to_real: list[float]
    intensity_mean: float
    intensity_std: float


def scan_stats(name: str, points_lidar: np.ndarray, real: list[np.ndarray]) -> ScanStats:
    hist = elevation_histogram(points_lidar)
    return ScanStats(
        name,
        len(points_lidar),
        [js_distance(hist, elevation_histogram(r)) for r in real],
        float(points_lidar[:, 3].mean()),
        float(points_lidar[:, 3].std()),
    )


def uniform_pattern(lidar: LidarSpec) -> LidarSpec:
    """The same sensor with 64 uniformly spaced beams over its field of view."""
    return replace(lidar, vertical_angles_deg=tuple(np.linspace(2.0, -24.9, 64)))


def load_real_scans() -> tuple[list[np.ndarray], list[str]]:
    """The real KITTI scans present on disk and their names."""
    paths = [KITTI_VELODYNE / name for name in REAL_SCANS if (KITTI_VELODYNE / name).exists()]
    return [load_kitti_scan(p) for p in paths], [p.stem for p in paths]


def realism(
    worlds: dict[str, World], seed: int = 0, *, with_uniform: bool = True
) -> tuple[list[ScanStats], list[str]]:
    """Stats of real scans (each against the others) and of synthetic scans of ``worlds``."""
    real, names = load_real_scans()
    rows = [scan_stats(f"real {n}", r, real) for n, r in zip(names, real, strict=True)]
    lidar = LidarSpec()
    pose = T_world_from_lidar(CameraSpec(), lidar)
    for world_name, world in worlds.items():
        scanner = LidarScanner(world)
        scan = scanner.scan(lidar, pose, np.random.default_rng(seed))
        rows.append(scan_stats(f"synthetic hdl64, {world_name}", scan.points.xyzi(), real))
        if with_uniform:
            uniform = scanner.scan(uniform_pattern(lidar), pose, np.random.default_rng(seed))
            rows.append(scan_stats(f"uniform 64-beam, {world_name}", uniform.points.xyzi(), real))
    return rows, names


def summary_row(name: str, rows: list[ScanStats]) -> str:
    """One markdown row: mean +- standard deviation of ``rows``' statistics."""

    def ms(values: list[float], fmt: str) -> str:
        return f"{np.mean(values):{fmt}} ± {np.std(values):{fmt}}"

    n_real = len(rows[0].js_to_real)
    js = " | ".join(ms([r.js_to_real[k] for r in rows], ".3f") for k in range(n_real))
    return (
        f"| **{name}** (mean ± std of {len(rows)}) | {ms([r.points for r in rows], '.0f')} | "
        f"{js} | {ms([r.intensity_mean for r in rows], '.3f')} | "
        f"{ms([r.intensity_std for r in rows], '.3f')} |"
    )


def realism_markdown(
    rows: list[ScanStats], real_names: list[str], summaries: list[str] = ()
) -> str:
    head = "| scan | points | " + " | ".join(f"JS elevation vs {n}" for n in real_names)
    lines = [
        head + " | intensity mean | intensity std |",
        "|---|---:|" + "---:|" * len(real_names) + "---:|---:|",
    ]
    for r in rows:
        js = " | ".join(f"{d:.3f}" for d in r.js_to_real)
        lines.append(
            f"| {r.name} | {r.points} | {js} | {r.intensity_mean:.3f} | {r.intensity_std:.3f} |"
        )
    lines.extend(summaries)
    return "\n".join(lines)


# -------------------------------------------------------------------------------- speed


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def speed_markdown(repeat: int, threads: int) -> str:
    world = urban_world()
    lidar = LidarSpec(azimuth_steps=2048)
    pose = T_world_from_lidar(CameraSpec(), lidar)
    start = time.perf_counter()
    scanner = LidarScanner(world, n_threads=threads)
    build_ms = (time.perf_counter() - start) * 1e3
    rng = np.random.default_rng(0)
    scanner.scan(lidar, pose, rng)  # warm-up: builds the BVH and the ray array
    fog = WeatherSpec(fog_visibility_m=50.0)
    clear_ms = _median_ms(lambda: scanner.scan(lidar, pose, rng), repeat)
    fog_ms = _median_ms(
        lambda: apply_weather_to_scan(
            scanner.scan(lidar, pose, rng), fog, rng, min_range_m=lidar.min_range_m
        ),
        repeat,
    )
    scan = scanner.scan(lidar, pose, rng)
    triangles = sum(len(p.mesh.faces) for o in world.objects for p in o.parts)
    lines = [
        f"Urban street: {triangles} triangles, scanner build {build_ms:.0f} ms, "
        f"{len(scan)} points per clear scan; open3d threads: {threads or 'all'}.",
        "",
        f"| case | rays | ms per scan (median of {repeat}) |",
        "|---|---:|---:|",
        f"| HDL-64 64x2048 labelled scan, clear | {64 * 2048} | {clear_ms:.1f} |",
        f"| HDL-64 64x2048 labelled scan + fog (MOR 50 m) | {64 * 2048} | {fog_ms:.1f} |",
    ]
    real_path = KITTI_VELODYNE / "000001.bin"
    if real_path.exists():
        real = PointCloud.from_xyzi(load_kitti_scan(real_path))
        setup = LidarWeatherSetup(min_range_m=1.0)
        fog_real_ms = _median_ms(lambda: apply_lidar_weather(real, fog, rng, setup), repeat)
        lines.append(
            f"| fog model alone on real KITTI 000001 | {len(real)} points | {fog_real_ms:.1f} |"
        )
    else:
        lines.append("| fog model alone on real KITTI scan | - | skipped: no shared/data |")
    return "\n".join(lines)


def backends_markdown(repeat: int, threads: int) -> str:
    """Rays per second of every installed ray-casting backend on the same sweep."""
    import importlib.util

    world = urban_world()
    lidar = LidarSpec(azimuth_steps=2048)
    pose = T_world_from_lidar(CameraSpec(), lidar)
    lines = [
        f"| backend | device | scene build ms | rays | cast ms (median of {repeat}) | "
        "rays/s | labelled scan ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for backend in RAYCAST_BACKENDS:
        if backend == "warp" and importlib.util.find_spec("warp") is None:
            lines.append("| warp | - | - | - | skipped: warp-lang not installed | - | - |")
            continue
        WorldRaycaster(world, backend)  # warm-up: imports, kernel compilation
        start = time.perf_counter()
        raycaster = WorldRaycaster(world, backend)
        build_ms = (time.perf_counter() - start) * 1e3
        scanner = LidarScanner(world, raycaster=raycaster, n_threads=threads)
        rng = np.random.default_rng(0)
        scanner.scan(lidar, pose, rng)  # warm-up: kernels, BVH, the ray array
        rays = next(iter(scanner._ray_cache.values())).rays
        raycaster.cast(rays, threads)
        cast_ms = _median_ms(lambda rc=raycaster, r=rays: rc.cast(r, threads), repeat)
        scan_ms = _median_ms(lambda sc=scanner, g=rng: sc.scan(lidar, pose, g), repeat)
        device = getattr(raycaster.backend, "device", f"cpu, threads {threads or 'all'}")
        lines.append(
            f"| {backend} | {device} | {build_ms:.0f} | {len(rays)} | {cast_ms:.2f} | "
            f"{len(rays) / cast_ms * 1e3:,.0f} | {scan_ms:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realism", action="store_true", help="compare with real KITTI scans")
    parser.add_argument("--repeat", type=int, default=20, help="runs per timing")
    parser.add_argument("--scenes", type=int, default=6, help="build_world scenes for --realism")
    parser.add_argument("--threads", type=int, default=0, help="open3d threads (0 = all)")
    parser.add_argument("--backends", action="store_true", help="rays/s of each backend")
    args = parser.parse_args()
    if args.backends:
        print(backends_markdown(args.repeat, args.threads))
    elif args.realism:
        rows, names = realism({"hand-built street": urban_world()})
        built_rows, _ = realism(scenario_worlds(URBAN_SCENARIO, args.scenes), with_uniform=False)
        built = [r for r in built_rows if not r.name.startswith("real")]
        print(
            realism_markdown(
                rows + built, names, [summary_row(f"build_world, {URBAN_SCENARIO.name}", built)]
            )
        )
    else:
        print(speed_markdown(args.repeat, args.threads))


if __name__ == "__main__":
    main()
