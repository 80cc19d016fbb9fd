"""Shared fixtures: headless GL chosen once per test session, tiny hand-built worlds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import trimesh

from scenegen.world.types import MeshPart, World, WorldObject

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="session")
def gl_backend():
    """Pick the GL backend once, before anything imports pyrender."""
    from scenegen.sensors.gl import configure_backend

    return configure_backend("auto")


@pytest.fixture(scope="session")
def kitti_root() -> Path:
    root = SHARED_DATA / "kitti" / "training"
    if not root.is_dir():
        pytest.skip(f"real KITTI frames not found at {root} (the shared data folder is absent)")
    return root


def box_object(
    instance_id: int,
    x_m: float,
    y_m: float,
    *,
    size_lwh_m: tuple[float, float, float] = (4.2, 1.8, 1.5),
    yaw_rad: float = 0.0,
    class_name: str = "car",
    material: str = "car_paint",
) -> WorldObject:
    """A box-shaped labelled object standing on the ground at (x, y)."""
    length, width, height = size_lwh_m
    mesh = trimesh.creation.box(extents=(length, width, height))
    mesh.apply_translation((0, 0, height / 2))
    pose = np.eye(4)
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    pose[:2, :2] = [[c, -s], [s, c]]
    pose[:3, 3] = (x_m, y_m, 0.0)
    return WorldObject(
        name=f"{class_name}{instance_id}",
        semantic=class_name,
        parts=[MeshPart(mesh, material, (0.6, 0.1, 0.1))],
        pose_world=pose,
        instance_id=instance_id,
        class_name=class_name,
        dimensions_m=size_lwh_m,
    )


def ground_object(length_m: float = 400.0, width_m: float = 200.0) -> WorldObject:
    mesh = trimesh.creation.box(extents=(length_m, width_m, 0.02))
    mesh.apply_translation((length_m / 2 - 20, 0, -0.01))
    return WorldObject("ground", "road", [MeshPart(mesh, "asphalt")], np.eye(4))


def sun_world(elevation_deg: float, azimuth_deg: float) -> tuple[float, float, float]:
    e, a = np.deg2rad(elevation_deg), np.deg2rad(azimuth_deg)
    return (float(np.cos(e) * np.cos(a)), float(np.cos(e) * np.sin(a)), float(np.sin(e)))


def simple_world(
    objects: list[WorldObject], sun_elevation_deg: float = 40.0, sun_azimuth_deg: float = 60.0
) -> World:
    return World(
        objects=[ground_object(), *objects],
        sun_direction_world=sun_world(sun_elevation_deg, sun_azimuth_deg),
        sun_elevation_deg=sun_elevation_deg,
        cloud_cover=0.0,
    )


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/NAME.py`` (tests reuse the benchmarks' scene builders)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
