"""The warp ray-casting backend against the open3d one, on worlds built from the examples."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from scenegen.scenario import load_scenario, sample_scene
from scenegen.sensors.lidar import LidarScanner, beam_directions_lidar, resolve_vertical_angles_deg
from scenegen.sensors.raycast import RAYCAST_BACKENDS, WorldRaycaster
from scenegen.sensors.rig import T_world_from_lidar
from scenegen.world.build import build_world

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
needs_warp = pytest.mark.skipif(
    importlib.util.find_spec("warp") is None, reason="warp-lang is not installed (the warp extra)"
)


def _sweep(name: str, frame: int = 0):
    spec = sample_scene(load_scenario(SCENARIOS / name), frame, base_seed=3, n_frames=4)
    world = build_world(spec)
    assert spec.lidar is not None
    dirs_lidar, _ring = beam_directions_lidar(
        resolve_vertical_angles_deg(spec.lidar), spec.lidar.azimuth_steps
    )
    T = T_world_from_lidar(spec.camera, spec.lidar)
    dirs_world = (dirs_lidar @ T[:3, :3].T).astype(np.float32)
    origins = np.broadcast_to(T[:3, 3].astype(np.float32), dirs_world.shape)
    return spec, world, np.ascontiguousarray(np.concatenate([origins, dirs_world], axis=1))


def test_unknown_backend_is_refused_with_the_choices():
    _spec, world, _ = _sweep("clear_day_urban.yaml")
    with pytest.raises(ValueError, match="open3d, warp"):
        WorldRaycaster(world, backend="embree")
    assert RAYCAST_BACKENDS == ("open3d", "warp")


@needs_warp
@pytest.mark.parametrize(
    "scenario", ["clear_day_urban.yaml", "heavy_rain_cyclists.yaml", "lost_cargo_highway.yaml"]
)
def test_warp_hits_match_open3d_on_a_full_sweep(scenario):
    _spec, world, rays = _sweep(scenario)
    reference = WorldRaycaster(world, "open3d").cast(rays)
    hits = WorldRaycaster(world, "warp").cast(rays)
    hit_ref, hit = np.isfinite(reference.t_hit), np.isfinite(hits.t_hit)
    assert hit_ref.mean() > 0.5  # a street, not the empty sky
    # Same hit / miss for every ray but the odd one grazing a triangle's edge.
    assert np.mean(hit_ref == hit) >= 0.9999
    both = hit_ref & hit
    close = np.abs(hits.t_hit[both] - reference.t_hit[both]) <= 1e-3
    assert close.mean() >= 0.999
    # The same object and material is hit, and the same triangle's normal comes back. Where
    # two surfaces touch (parked cars bumper to bumper, a kerb under a wheel) a ray can meet
    # both at the same distance: either answer is right, but only at a tie.
    other = both & (hits.geometry != reference.geometry)
    assert np.mean(other[both]) <= 0.005
    assert (np.abs(hits.t_hit[other] - reference.t_hit[other]) <= 1e-4).all()
    same_geometry = both & (hits.geometry == reference.geometry)
    cos = np.einsum("ij,ij->i", hits.normals[same_geometry], reference.normals[same_geometry])
    assert np.mean(np.abs(cos) > 0.999) >= 0.999
    assert (hits.geometry[~hit] == len(WorldRaycaster(world, "open3d").instance) - 1).all()


@needs_warp
def test_warp_scan_equals_open3d_scan_point_for_point():
    spec, world, _ = _sweep("clear_day_urban.yaml")
    assert spec.lidar is not None
    T = T_world_from_lidar(spec.camera, spec.lidar)
    scans = [
        LidarScanner(world, raycaster=WorldRaycaster(world, b)).scan(
            spec.lidar, T, np.random.default_rng(5)
        )
        for b in RAYCAST_BACKENDS
    ]
    a, b = scans[0].points, scans[1].points
    # Detection draws one number per candidate beam: equal hit sets give equal draws.
    assert abs(len(a) - len(b)) <= max(3, len(a) // 1000)
    if len(a) == len(b):
        assert np.mean(np.abs(a.range_m - b.range_m) <= 1e-3) >= 0.999


@needs_warp
def test_warp_shadow_rays_match_open3d():
    _spec, world, _rays = _sweep("low_sun_cut_in.yaml")
    # Shadow queries from 1 m above the ground towards a low sun.
    rng = np.random.default_rng(0)
    origins = np.column_stack(
        [rng.uniform(-20, 60, 20_000), rng.uniform(-15, 15, 20_000), np.full(20_000, 1.0)]
    ).astype(np.float32)
    sun = np.array([-0.6, 0.3, 0.35], np.float32)
    dirs = np.broadcast_to(sun / np.linalg.norm(sun), origins.shape)
    ref = WorldRaycaster(world, "open3d").occluded(origins, dirs, 200.0)
    got = WorldRaycaster(world, "warp").occluded(origins, dirs, 200.0)
    assert 0.02 < ref.mean() < 0.98
    assert np.mean(ref == got) >= 0.999


def test_render_refuses_an_unknown_lidar_backend(tmp_path):
    from test_cli import scenegen

    result = scenegen(
        "render", str(SCENARIOS / "clear_day_urban.yaml"), "--lidar-backend", "embree",
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.returncode == 2
    assert "--lidar-backend 'embree': expected open3d or warp" in result.stderr
    assert "Traceback" not in result.stderr


@needs_warp
def test_render_with_the_warp_backend_writes_the_same_scan(tmp_path, gl_backend):
    from test_cli import scenegen

    scans = {}
    for backend in RAYCAST_BACKENDS:
        out = tmp_path / backend
        result = scenegen(
            "render", str(SCENARIOS / "clear_day_urban.yaml"), "--frames", "1", "--seed", "2",
            "--formats", "kitti", "--workers", "1", "--lidar-backend", backend, "--out", str(out),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        [path] = (out / "kitti" / "training" / "velodyne").glob("*.bin")
        scans[backend] = np.fromfile(path, np.float32).reshape(-1, 4)
    a, b = scans["open3d"], scans["warp"]
    assert len(a) > 10_000
    assert abs(len(a) - len(b)) <= len(a) // 1000
    if len(a) == len(b):
        assert np.mean(np.linalg.norm(a[:, :3] - b[:, :3], axis=1) <= 1e-3) >= 0.999


def test_core_imports_and_renders_without_warp_and_names_the_extra():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['warp'] = None\n"  # as if warp-lang were not installed
        "import scenegen.pipeline, scenegen.cli.app, scenegen.sensors.lidar\n"
        "from scenegen.batch.settings import parse_lidar_backend\n"
        "from scenegen.errors import InvalidInputError\n"
        "from scenegen.sensors.raycast import WorldRaycaster\n"
        "from scenegen.world.types import World\n"
        "import importlib.util; importlib.util.find_spec = lambda name, *a: None\n"
        "try:\n    parse_lidar_backend('warp')\nexcept InvalidInputError as e:\n    print(e)\n"
        "try:\n    WorldRaycaster(World(objects=[]), 'warp')\nexcept ImportError as e:\n    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "pip install 'scenegen[warp]'" in lines[0] and "--lidar-backend open3d" in lines[0]
    assert "pip install 'scenegen[warp]'" in lines[1]
