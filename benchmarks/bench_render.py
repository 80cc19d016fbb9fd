"""Camera render throughput at 1242x375, side by side with a naive pyrender pipeline.

Measures, on the same sampled worlds (one process, one GL context each):

* ``naive pyrender``: the peer - meshes with materials, a sun light, pyrender's lit colour
  pass plus a segmentation pass for instance ids and exact depth;
* ``scenegen camera``: RGB + depth + instance ids + labels, clear weather, world build
  included; and the same on worlds built untimed, as the peer gets them;
* ``scenegen camera + weather``: the same scenario with its fog / rain / wet road on;
* ``scenegen full frame``: camera + weather + 64x2000 LiDAR + labels + KITTI/COCO/YOLO writers.

Usage:  python benchmarks/bench_render.py [--frames 30] [--scenario scenarios/x.yaml] [--no-naive]
                                         [--shading-backend numpy|torch]
        python benchmarks/bench_render.py --realism [--frames 10] [--scenario ...]
        python benchmarks/bench_render.py --shading-compare [--frames 10]
``--shading-backend`` shades the scenegen rows with that backend (torch: CUDA when present).
``--shading-compare`` times ``shade()`` alone, numpy against torch, on the same G-buffers of
the clear and the weather scenario (ms per frame, median; torch's first frame, its warm-up,
is left out).
``--realism`` instead times each realism stage on its own, on the scenario's frames: the
procedural textures, the sun-shadow edge refinement, the lens / sensor / ISP model, the wet
road and the settled-snow share (ms per frame, median).
Prints a markdown table (frames/s and ms per frame, median of per-frame times, wall clock
and CPU time of this process - the CPU column is the steadier one on a shared machine).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from scenegen.sensors.gl import configure_backend

REPO = Path(__file__).resolve().parents[1]


def naive_renderer(world, calibration, renderer, pr):
    """The peer: pyrender's own lit colour pass, then a segmentation pass."""
    import trimesh

    from scenegen.world.types import MATERIALS

    scene = pr.Scene(ambient_light=(0.3, 0.3, 0.3), bg_color=(0.6, 0.7, 0.9, 1.0))
    seg = {}
    for obj in world.objects:
        for part in obj.parts:
            albedo = part.albedo_rgb or MATERIALS[part.material].albedo_rgb
            material = pr.MetallicRoughnessMaterial(baseColorFactor=(*albedo, 1.0))
            mesh = pr.Mesh.from_trimesh(
                trimesh.Trimesh(part.mesh.vertices, part.mesh.faces, process=False),
                material=material,
            )
            node = scene.add(mesh, pose=obj.pose_world)
            seg[node] = np.array([obj.instance_id % 256, obj.instance_id // 256, 0], np.uint8)
    sun = pr.DirectionalLight(intensity=3.0)
    pose = np.eye(4)
    pose[:3, :3] = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float)
    scene.add(sun, pose=pose)
    k = calibration.intrinsics
    cam = pr.IntrinsicsCamera(k.fx, k.fy, k.cx, k.cy, znear=0.05, zfar=2000)
    T = np.linalg.inv(calibration.T_cam_from_world) @ np.diag([1.0, -1.0, -1.0, 1.0])
    scene.add(cam, pose=T)
    color, _ = renderer.render(scene)
    ids, depth = renderer.render(scene, flags=pr.RenderFlags.SEG, seg_node_map=seg)
    return color, ids, depth


def realism_costs(specs: list) -> dict[str, list[float]]:
    """Seconds per frame of each realism stage, timed on its own on real G-buffers."""
    from scenegen.effects import apply_wet_road
    from scenegen.pipeline import FrameRenderer
    from scenegen.sensors.isp import KITTI_LIKE_ISP, apply_isp
    from scenegen.sensors.pixel_grid import PixelGrid, SurfacePixels
    from scenegen.sensors.raycast import WorldRaycaster
    from scenegen.sensors.rig import calibration_from_spec
    from scenegen.sensors.settled_snow import settled_snow_share
    from scenegen.sensors.shading import normals_from_depth, shade
    from scenegen.sensors.sun_shadows import sun_visibility
    from scenegen.sensors.textures import apply_textures
    from scenegen.world.build import build_world
    from scenegen.world.types import SEMANTIC_IDS

    costs: dict[str, list[float]] = {}

    def timed(name: str, fn, *args) -> object:
        t = time.perf_counter()
        out = fn(*args)
        costs.setdefault(name, []).append(time.perf_counter() - t)
        return out

    with FrameRenderer(lidar=False) as renderer:
        for spec in specs:
            world = build_world(spec)
            calib = calibration_from_spec(spec.camera, spec.lidar)
            grid = PixelGrid.of(calib)
            g = renderer._camera.render(world, calib)
            raycaster = WorldRaycaster(world)
            radiance, _ = timed("shade (all of it)", shade, g, world, calib, raycaster, grid)
            nodes, ids, depth = g.nodes, g.node_ids, g.depth_m
            valid = np.isfinite(depth)
            T_wc = np.linalg.inv(calib.T_cam_from_world)
            up = (calib.T_cam_from_world[:3, :3] @ np.array([0.0, 0.0, 1.0])).astype(np.float32)
            normals = normals_from_depth(depth, grid)
            ground = np.take(nodes.is_ground, ids)
            surface = SurfacePixels(depth, grid, normals, ground, up)
            albedo = np.ones((*ids.shape, 4), np.float32)
            timed("textures", apply_textures, albedo, nodes.texture, ids, surface, T_wc)
            sun = np.asarray(world.sun_direction_world, np.float64)
            sun /= np.linalg.norm(sun)
            lit = valid.copy()
            z_half = np.where(valid[::2, ::2], depth[::2, ::2], np.float32(0.0))
            points_half = (grid.a_half * z_half, grid.b_half * z_half, z_half)
            normals_half = tuple(np.ascontiguousarray(c[::2, ::2]) for c in normals)
            if sun[2] > 0:
                timed(
                    "sun shadows (half res + full-res edges)",
                    sun_visibility,
                    *(points_half, normals_half, lit[::2, ::2], surface, lit, sun, T_wc, raycaster),
                )
            K = calib.intrinsics.K
            rng = np.random.default_rng(0)
            timed("lens + sensor + ISP", apply_isp, radiance, K, KITTI_LIKE_ISP, rng)
            wet_ids = [SEMANTIC_IDS[s] for s in ("road", "sidewalk", "kerb")]
            wet_mask = np.take(np.isin(nodes.semantic_id, wet_ids), ids)
            timed(
                "wet road (wetness 0.7)",
                apply_wet_road,
                *(radiance, depth, wet_mask, 0.7, K, spec.camera.height_m),
            )
            world.snow_rate_mm_h = 2.0
            n_up = normals[0] * up[0] + normals[1] * up[1] + normals[2] * up[2]
            n_up[ground] = 1.0
            timed(
                "settled snow share (2 mm/h)",
                settled_snow_share,
                *(world, nodes, ids, n_up, valid, depth, grid, T_wc),
            )
    return costs


def shading_compare(specs: list) -> dict[str, list[float]]:
    """Seconds per ``shade()`` call of each backend on the same G-buffers."""
    from scenegen.pipeline import FrameRenderer
    from scenegen.sensors.pixel_grid import PixelGrid
    from scenegen.sensors.raycast import WorldRaycaster
    from scenegen.sensors.rig import calibration_from_spec
    from scenegen.sensors.shading import shade
    from scenegen.sensors.shading_torch import shading_device
    from scenegen.world.build import build_world

    device = shading_device()
    costs: dict[str, list[float]] = {"numpy": [], f"torch ({device})": []}
    with FrameRenderer(lidar=False) as renderer:
        for i, spec in enumerate(specs):
            world = build_world(spec)
            calib = calibration_from_spec(spec.camera, spec.lidar)
            grid = PixelGrid.of(calib)
            g = renderer._camera.render(world, calib)
            raycaster = WorldRaycaster(world)
            for name, backend in (("numpy", "numpy"), (f"torch ({device})", "torch")):
                t = time.perf_counter()
                shade(g, world, calib, raycaster, grid, backend)
                if i > 0 or backend == "numpy":
                    costs[name].append(time.perf_counter() - t)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument(
        "--scenario", type=Path, default=REPO / "scenarios" / "night_jaywalker.yaml"
    )
    parser.add_argument(
        "--clear-scenario", type=Path, default=REPO / "scenarios" / "clear_day_urban.yaml"
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive pyrender row")
    parser.add_argument("--realism", action="store_true", help="time each realism stage")
    parser.add_argument(
        "--shading-backend", choices=("numpy", "torch"), default="numpy",
        help="shading backend of the scenegen rows",
    )  # fmt: skip
    parser.add_argument(
        "--shading-compare", action="store_true", help="time shade() with numpy and torch"
    )
    args = parser.parse_args()
    backend = configure_backend("auto")
    if args.shading_compare:
        from scenegen.scenario import load_scenario, sample_scene

        print(f"GL: {backend.kind}; {args.frames} frames of each scenario, shade() only")
        print()
        print("| scenario | backend | ms/frame (median) |")
        print("|---|---|---:|")
        for path in (args.clear_scenario, args.scenario):
            scenario = load_scenario(path)
            specs = [sample_scene(scenario, i, 0, args.frames) for i in range(args.frames)]
            for name, seconds in shading_compare(specs).items():
                print(f"| {path.name} | {name} | {1e3 * statistics.median(seconds):.1f} |")
        return
    if args.realism:
        from scenegen.scenario import load_scenario, sample_scene

        scenario = load_scenario(args.scenario)
        specs = [sample_scene(scenario, i, 0, args.frames) for i in range(args.frames)]
        costs = realism_costs(specs)
        print(f"GL: {backend.kind}; {args.frames} frames of {args.scenario.name}")
        print()
        print("| stage | ms/frame (median) |")
        print("|---|---:|")
        for name, seconds in costs.items():
            print(f"| {name} | {1e3 * statistics.median(seconds):.1f} |")
        return

    from scenegen.io import DatasetWriter
    from scenegen.pipeline import FrameRenderer, StageTimes
    from scenegen.scenario import load_scenario, sample_scene
    from scenegen.sensors.gl import import_pyrender
    from scenegen.sensors.rig import calibration_from_spec
    from scenegen.world.build import build_world

    pr = import_pyrender()
    rows = []
    clear = load_scenario(args.clear_scenario)
    weather = load_scenario(args.scenario)
    clear_specs = [sample_scene(clear, i, 0, args.frames) for i in range(args.frames)]
    weather_specs = [sample_scene(weather, i, 0, args.frames) for i in range(args.frames)]
    worlds = [build_world(s) for s in clear_specs]
    triangles = [sum(len(p.mesh.faces) for o in w.objects for p in o.parts) for w in worlds]

    if not args.no_naive:
        naive = pr.OffscreenRenderer(1242, 375)
        times, cpu = [], []
        for spec, world in zip(clear_specs, worlds, strict=True):
            calib = calibration_from_spec(spec.camera, spec.lidar)
            t, c = time.perf_counter(), time.process_time()
            naive_renderer(world, calib, naive, pr)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        naive.delete()
        rows.append(("naive pyrender (lit colour + seg pass), clear", times, cpu))

    stage_totals: dict[str, list[float]] = {}
    shading = args.shading_backend
    with FrameRenderer(lidar=False, shading_backend=shading) as renderer:
        for label, specs in (
            ("scenegen camera, clear", clear_specs),
            ("scenegen camera + weather", weather_specs),
        ):
            times, cpu = [], []
            for spec in specs:
                st = StageTimes()
                t, c = time.perf_counter(), time.process_time()
                renderer.render(spec, st)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            rows.append((label, times, cpu))
        # The peer is handed built worlds (its timing has no world build); this row times
        # scenegen's camera the same way, on worlds built from the same specs untimed.
        times, cpu = [], []
        for spec in clear_specs:
            world = build_world(spec)
            t, c = time.perf_counter(), time.process_time()
            renderer.render_world(spec, world, StageTimes())
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        rows.append(("scenegen camera, clear, world built untimed (as the peer)", times, cpu))
    with (
        tempfile.TemporaryDirectory() as tmp,
        FrameRenderer(lidar=True, shading_backend=shading) as renderer,
    ):
        writer = DatasetWriter(Path(tmp), ("kitti", "coco", "yolo"))
        times, cpu = [], []
        for i, spec in enumerate(weather_specs):
            st = StageTimes()
            t, c = time.perf_counter(), time.process_time()
            frame = renderer.render(spec, st)
            t_w = time.perf_counter()
            writer.write_frame(frame, i)
            st.add("write", t_w)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            for k, v in st.seconds.items():
                stage_totals.setdefault(k, []).append(v)
        rows.append(
            ("scenegen full frame (camera + weather + LiDAR + labels + 3 writers)", times, cpu)
        )

    print(
        f"GL: {backend.kind} ({backend.renderer}); {args.frames} frames per row; "
        f"clear scenes {int(np.median(triangles))} triangles median; shading: {shading}"
    )
    print()
    print("| pipeline | frames/s | ms/frame (median) | CPU ms/frame (median) |")
    print("|---|---:|---:|---:|")
    for label, times, cpu in rows:
        med = statistics.median(times)
        print(
            f"| {label} | {len(times) / sum(times):.2f} | {1e3 * med:.0f} "
            f"| {1e3 * statistics.median(cpu):.0f} |"
        )
    print()
    print("Full frame, per stage (ms, median):")
    print()
    print("| stage | ms |")
    print("|---|---:|")
    for k, v in stage_totals.items():
        print(f"| {k} | {1e3 * statistics.median(v):.1f} |")


if __name__ == "__main__":
    main()
