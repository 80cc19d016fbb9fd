"""User meshes: any up axis and length axis in, the object frame and exact box out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from scenegen.errors import ScenegenError
from scenegen.scenario.spec import ActorGroupSpec, RoadSpec, SceneSpec
from scenegen.world import AssetError, build_world, load_user_mesh, read_user_mesh
from scenegen.world.actors import build_actor
from scenegen.world.assets import detect_axes

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "data" / "assets"
needs_assets = pytest.mark.skipif(
    not ASSETS.is_dir(), reason=f"shared meshes not found at {ASSETS}"
)

# What each file really is (from the assets' README): class, file axis of length, file up axis.
KNOWN = {
    "NormalCar1": ("car", 1, 2),
    "NormalCar2": ("car", 1, 2),
    "SUV": ("car", 1, 2),
    "SportsCar": ("car", 1, 2),
    "Taxi": ("car", 1, 2),
    "Cop": ("car", 1, 2),
    "Ambulance": ("van", 2, 1),
    "Bicycle": ("cyclist", 2, 1),
    "Bus": ("bus", 0, 1),
    "TrafficCone": ("debris", None, 1),
}


def _asset_files() -> list[Path]:
    return sorted(ASSETS.glob("*/*.glb")) if ASSETS.is_dir() else []


def _class_of(path: Path) -> str:
    return "pedestrian" if path.parent.name == "pedestrians" else KNOWN[path.stem][0]


def _vertices(parts) -> np.ndarray:
    return np.concatenate([p.mesh.vertices for p in parts])


@needs_assets
def test_there_are_assets_to_test():
    assert len(_asset_files()) >= 10


@needs_assets
@pytest.mark.parametrize("path", _asset_files(), ids=lambda p: p.stem)
def test_asset_fits_requested_box_exactly(path):
    box = (4.3, 1.8, 1.5) if _class_of(path) != "pedestrian" else (0.6, 0.5, 1.75)
    parts = load_user_mesh(path, _class_of(path), *box)
    vertices = _vertices(parts)
    length, width, height = box
    np.testing.assert_allclose(vertices.min(axis=0), [-length / 2, -width / 2, 0.0], atol=1e-9)
    np.testing.assert_allclose(vertices.max(axis=0), [length / 2, width / 2, height], atol=1e-9)


@needs_assets
@pytest.mark.parametrize("path", _asset_files(), ids=lambda p: p.stem)
def test_asset_axes_are_detected(path):
    oriented = read_user_mesh(path, _class_of(path))
    extents = oriented.extents
    if _class_of(path) == "pedestrian":
        assert extents[2] == extents.max()  # people are taller than long or wide
        return
    cls, length_axis, up_axis = KNOWN[path.stem]
    scene = trimesh.load(path, force="scene")
    file_vertices = np.concatenate(
        [
            trimesh.transform_points(scene.geometry[g].vertices, t)
            for t, g in (scene.graph[n] for n in scene.graph.nodes_geometry)
        ]
    )
    length, _, up = detect_axes(file_vertices, cls)
    assert up == up_axis
    if length_axis is not None:
        assert length == length_axis
        assert extents[0] > extents[1]  # vehicles are longer than wide


@needs_assets
@pytest.mark.parametrize("name", ["NormalCar1", "SUV", "Taxi"])
def test_car_assets_face_forward_with_their_colours(name):
    parts = load_user_mesh(ASSETS / "vehicles" / f"{name}.glb", "car", 4.5, 1.8, 1.5)
    materials = {p.material for p in parts}
    assert {"car_paint", "car_glass", "headlight", "taillight"} <= materials
    head = np.concatenate([p.mesh.vertices for p in parts if p.material == "headlight"])
    tail = np.concatenate([p.mesh.vertices for p in parts if p.material == "taillight"])
    assert head[:, 0].mean() > 1.5 and tail[:, 0].mean() < -1.5
    paints = {p.albedo_rgb for p in parts if p.material == "car_paint"}
    assert len(paints) >= 2 and None not in paints  # per-geometry colours kept


@pytest.mark.parametrize(
    "up,length_axis", [("z", "x"), ("z", "y"), ("y", "x"), ("y", "z"), ("x", "y")]
)
def test_obj_round_trip_recovers_any_orientation(tmp_path, up, length_axis):
    """A procedural car written with other axes conventions comes back as a car."""
    model = build_actor("car", np.random.default_rng(0), style="sedan")
    mesh = trimesh.util.concatenate([p.mesh for p in model.parts])
    index = {"x": 0, "y": 1, "z": 2}
    width_axis = 3 - index[up] - index[length_axis]
    rotation = np.zeros((3, 3))
    rotation[index[length_axis], 0] = 1.0
    rotation[index[up], 2] = 1.0
    rotation[width_axis, 1] = 1.0
    if np.linalg.det(rotation) < 0:
        rotation[width_axis, 1] = -1.0
    mesh.vertices = np.asarray(mesh.vertices) @ rotation.T * 37.0  # any unit
    path = tmp_path / "car.obj"
    mesh.export(path)
    oriented = read_user_mesh(path, "car")
    np.testing.assert_allclose(oriented.extents / 37.0, model.dimensions_m, rtol=1e-5)


def test_missing_and_corrupt_files_raise_clear_errors(tmp_path):
    with pytest.raises(AssetError, match="not found"):
        load_user_mesh(tmp_path / "nope.glb", "car", 4.0, 1.8, 1.5)
    corrupt = tmp_path / "broken.glb"
    corrupt.write_bytes(b"glTF\x02\x00\x00\x00garbage that is not a mesh")
    with pytest.raises(AssetError, match=r"broken\.glb"):
        load_user_mesh(corrupt, "car", 4.0, 1.8, 1.5)
    assert issubclass(AssetError, ScenegenError)


@needs_assets
def test_world_uses_user_mesh_for_its_class():
    path = ASSETS / "vehicles" / "SUV.glb"
    spec = SceneSpec(
        "u",
        0,
        3,
        road=RoadSpec(type="urban", lanes=2),
        actors=(ActorGroupSpec("car", 4), ActorGroupSpec("pedestrian", 3, placement="sidewalk")),
        user_meshes={"car": str(path)},
    )
    world = build_world(spec)
    faces_in_file = sum(len(g.faces) for g in trimesh.load(path, force="scene").geometry.values())
    cars = [o for o in world.labelled() if o.class_name == "car"]
    assert cars
    for car in cars:
        assert sum(len(p.mesh.faces) for p in car.parts) >= faces_in_file * 0.9
        length, width, height = car.dimensions_m
        assert 2.47 <= length <= 4.53 and length > width > height * 0.9  # the size prior
        vertices = _vertices(car.parts)
        np.testing.assert_allclose(vertices.max(axis=0), [length / 2, width / 2, height], atol=1e-9)
    people = [o for o in world.labelled() if o.class_name == "pedestrian"]
    assert all(sum(len(p.mesh.faces) for p in o.parts) < 1000 for o in people)  # still procedural
