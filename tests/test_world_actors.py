"""Procedural actors and mesh primitives: exact boxes, realistic sizes, closed solids."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from scenegen.frame import CLASS_NAMES
from scenegen.world import meshes
from scenegen.world.actors import ACTOR_BUILDERS, build_actor

# Realistic size ranges (length, width, height) in metres that every draw must respect.
# Cars and vans, pedestrian and cyclist heights: the ranges of the real KITTI boxes their
# size priors were fitted to (kitti45 frames 000004-000029, tests/test_size_priors.py).
SIZE_RANGES = {
    "car": ((2.47, 4.53), (1.35, 1.89), (1.26, 1.86)),
    "van": ((4.41, 5.78), (1.70, 2.20), (1.97, 2.72)),
    "truck": ((6.0, 10.0), (2.3, 2.55), (2.9, 3.8)),
    "bus": ((10.5, 12.8), (2.45, 2.55), (2.9, 3.4)),
    "pedestrian": ((0.2, 1.2), (0.35, 0.75), (1.54, 1.96)),
    "cyclist": ((1.4, 2.2), (0.45, 0.8), (1.59, 1.86)),
    "animal": ((0.5, 2.2), (0.15, 0.7), (0.4, 2.1)),
    "debris": ((0.3, 1.3), (0.15, 1.1), (0.15, 1.0)),
}


def _all_vertices(parts) -> np.ndarray:
    return np.concatenate([p.mesh.vertices for p in parts])


def test_every_class_has_a_builder():
    assert set(ACTOR_BUILDERS) == set(CLASS_NAMES)


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_actor_mesh_spans_its_box_exactly(class_name):
    rng = np.random.default_rng(42)
    for _ in range(40):
        model = build_actor(class_name, rng)
        length, width, height = model.dimensions_m
        vertices = _all_vertices(model.parts)
        np.testing.assert_allclose(vertices.min(axis=0), [-length / 2, -width / 2, 0.0], atol=1e-9)
        np.testing.assert_allclose(vertices.max(axis=0), [length / 2, width / 2, height], atol=1e-9)


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_actor_dimensions_are_realistic_and_varied(class_name):
    rng = np.random.default_rng(7)
    dims = np.array([build_actor(class_name, rng).dimensions_m for _ in range(40)])
    for axis, (lo, hi) in enumerate(SIZE_RANGES[class_name]):
        assert dims[:, axis].min() >= lo - 1e-9, (class_name, axis, dims[:, axis].min())
        assert dims[:, axis].max() <= hi + 1e-9, (class_name, axis, dims[:, axis].max())
        # Varied: the draws are not all the same size.
        assert dims[:, axis].std() > 0.01 * (hi - lo)


def test_pedestrian_height_range_and_walking_pose_is_longer():
    rng = np.random.default_rng(3)
    walkers = [build_actor("pedestrian", rng, walking=True) for _ in range(30)]
    standers = [build_actor("pedestrian", rng, walking=False) for _ in range(30)]
    heights = [m.dimensions_m[2] for m in walkers + standers]
    assert min(heights) >= 1.54 and max(heights) <= 1.96  # the size prior's range
    # A stride spreads the legs along x: walkers' boxes are longer than standers'.
    assert (
        np.mean([m.dimensions_m[0] for m in walkers])
        > np.mean([m.dimensions_m[0] for m in standers]) + 0.2
    )


@pytest.mark.parametrize("class_name", ["car", "van", "truck", "bus"])
def test_vehicles_have_glass_tyres_and_lamps_at_the_right_ends(class_name):
    rng = np.random.default_rng(11)
    for _ in range(10):
        model = build_actor(class_name, rng)
        by_material = {p.material: p for p in model.parts}
        assert {"car_paint", "car_glass", "tyre", "headlight", "taillight"} <= set(by_material)
        length = model.dimensions_m[0]
        assert by_material["headlight"].mesh.vertices[:, 0].min() > length / 2 - 0.1  # front
        assert by_material["taillight"].mesh.vertices[:, 0].max() < -length / 2 + 0.1  # rear
        # Tyres touch the ground.
        assert by_material["tyre"].mesh.vertices[:, 2].min() == pytest.approx(0.0, abs=1e-9)
        # Lamp anchors for night lights sit on the lamps.
        assert np.all(model.headlights_obj[:, 0] > length / 2 - 0.1)
        assert np.all(model.taillights_obj[:, 0] < -length / 2 + 0.1)
        if class_name == "car":
            assert model.face_count < 1000


def test_car_styles_differ_in_shape_and_paint_varies():
    rng = np.random.default_rng(5)
    heights = {
        style: np.mean([build_actor("car", rng, style=style).dimensions_m[2] for _ in range(10)])
        for style in ("sedan", "hatchback", "suv")
    }
    assert heights["suv"] > heights["sedan"] + 0.1
    paints = {
        next(p.albedo_rgb for p in build_actor("car", rng).parts if p.material == "car_paint")
        for _ in range(20)
    }
    assert len(paints) > 5


def test_stalled_vehicle_option_adds_hazard_lamps():
    rng = np.random.default_rng(0)
    model = build_actor("car", rng, hazard=True)
    assert any(p.material == "hazard_light" for p in model.parts)
    assert not any(p.material == "hazard_light" for p in build_actor("car", rng).parts)


def test_cyclist_is_one_object_with_bike_and_rider():
    model = build_actor("cyclist", np.random.default_rng(1))
    materials = {p.material for p in model.parts}
    assert {"tyre", "metal_pole", "clothing", "skin"} <= materials
    length, width, height = model.dimensions_m
    assert length > width and height > 1.3  # a bike is long; the rider sits high


@pytest.mark.parametrize(
    "geometry",
    [
        meshes.box((0, 0, 0), (1, 2, 3)),
        meshes.cylinder(0.5, 2.0, 10, (1, 1, 1), axis="x"),
        meshes.cylinder(0.5, 2.0, 10, (1, 1, 1), axis="y"),
        meshes.frustum(0.5, 0.1, 1.0, 8),
        meshes.ellipsoid((1.0, 0.5, 0.3), (0, 0, 1)),
        meshes.prism_xz([(0, 0), (2, 0), (2, 1), (1, 1.5), (0, 1)], -0.5, 0.5),
        meshes.beam((0, 0, 0), (1, 0.5, 2), 0.2, 0.1),
    ],
)
def test_primitives_are_closed_and_wound_outwards(geometry):
    mesh = trimesh.Trimesh(*geometry, process=True)
    assert mesh.is_watertight
    assert mesh.is_winding_consistent
    assert mesh.volume > 0  # outward normals give a positive signed volume


def test_beam_runs_between_its_end_points():
    p0, p1 = np.array([0.3, -0.2, 0.5]), np.array([1.0, 0.4, 2.0])
    vertices, _ = meshes.beam(p0, p1, 0.1, 0.1)
    axis = (p1 - p0) / np.linalg.norm(p1 - p0)
    along = (vertices - p0) @ axis
    assert along.min() == pytest.approx(0.0, abs=1e-9)
    assert along.max() == pytest.approx(np.linalg.norm(p1 - p0), abs=1e-9)


def test_road_strip_faces_up():
    a = np.array([[0.0, -1.0, 0.0], [10.0, -1.0, 0.0]])
    b = np.array([[0.0, 1.0, 0.0], [10.0, 1.0, 0.0]])
    mesh = trimesh.Trimesh(*meshes.strip(a, b), process=False)
    assert np.all(mesh.face_normals[:, 2] > 0.99)
