"""LiDAR sensor: beam patterns, exact geometry, labels, imperfections, box point counts."""

from __future__ import annotations

import itertools

import numpy as np
import open3d as o3d
import pytest
import trimesh

from scenegen.frame import Box3D
from scenegen.labels.lidar_counts import count_points_in_boxes
from scenegen.scenario.spec import CameraSpec, LidarSpec
from scenegen.sensors.lidar import (
    LidarScanner,
    beam_directions_lidar,
    resolve_beam_height_offsets_m,
    resolve_vertical_angles_deg,
)
from scenegen.sensors.rig import T_world_from_lidar, calibration_from_spec, transform_points
from scenegen.world.types import SEMANTIC_IDS, MeshPart, World, WorldObject

CAMERA = CameraSpec()
EXACT = LidarSpec(range_noise_m=0.0)


def _box(extents, centre) -> trimesh.Trimesh:
    mesh = trimesh.creation.box(extents=extents)
    mesh.apply_translation(centre)
    return mesh


def _pose(x: float, y: float, yaw: float = 0.0) -> np.ndarray:
    T = np.eye(4)
    T[:2, :2] = [[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]]
    T[:2, 3] = (x, y)
    return T


def box_world() -> World:
    """Ground 5 cm below z = 0, walls all round at 30 m, two boxes on z = 0, a glass pane."""
    ground = WorldObject(
        "ground", "road", [MeshPart(_box((100, 100, 0.1), (0, 0, -0.1)), "asphalt")], np.eye(4)
    )
    walls = WorldObject(
        "walls",
        "building",
        [
            MeshPart(_box((1, 62, 40), (30.5, 0, 19.9)), "building"),
            MeshPart(_box((1, 62, 40), (-30.5, 0, 19.9)), "building"),
            MeshPart(_box((62, 1, 40), (0, 30.5, 19.9)), "building"),
            MeshPart(_box((62, 1, 40), (0, -30.5, 19.9)), "building"),
        ],
        np.eye(4),
    )
    car = WorldObject(
        "car",
        "car",
        [MeshPart(_box((4.0, 1.8, 1.5), (0, 0, 0.75)), "car_paint")],
        _pose(12.0, 2.0),
        instance_id=7,
        class_name="car",
        dimensions_m=(4.0, 1.8, 1.5),
    )
    van = WorldObject(
        "van",
        "van",
        [MeshPart(_box((5.0, 2.0, 2.2), (0, 0, 1.1)), "cargo")],
        _pose(9.0, -5.0, 0.4),
        instance_id=9,
        class_name="van",
        dimensions_m=(5.0, 2.0, 2.2),
    )
    pane = WorldObject(
        "pane",
        "building",
        [MeshPart(_box((0.05, 4.0, 3.0), (0, 0, 1.5)), "building_window")],
        _pose(-8.0, 0.0),
        instance_id=11,
        class_name="debris",
    )
    return World(objects=[ground, walls, car, van, pane])


@pytest.fixture(scope="module")
def world() -> World:
    return box_world()


@pytest.fixture(scope="module")
def scanner(world: World) -> LidarScanner:
    return LidarScanner(world)


def _pose_lidar(lidar: LidarSpec = EXACT) -> np.ndarray:
    return T_world_from_lidar(CAMERA, lidar)


def _surface_distance_m(world: World, points_world: np.ndarray, only=None) -> np.ndarray:
    scene = o3d.t.geometry.RaycastingScene()
    for obj in world.objects:
        if only is not None and obj.instance_id != only:
            continue
        for part in obj.parts:
            verts = transform_points(obj.pose_world, part.mesh.vertices).astype(np.float32)
            scene.add_triangles(
                o3d.core.Tensor(verts), o3d.core.Tensor(np.asarray(part.mesh.faces, np.uint32))
            )
    return scene.compute_distance(o3d.core.Tensor(points_world.astype(np.float32))).numpy()


# ------------------------------------------------------------------------------ presets


def test_hdl64_pattern_matches_the_kitti_sensor():
    angles = resolve_vertical_angles_deg(LidarSpec(preset="hdl64"))
    assert len(angles) == 64
    assert angles.max() == pytest.approx(2.0) and angles.min() == pytest.approx(-24.9)
    assert np.all(np.diff(angles) < 0)  # top to bottom
    upper, lower = -np.diff(angles[:32]), -np.diff(angles[32:])
    assert np.allclose(upper, 1 / 3, atol=0.01)  # dense upper block
    assert np.allclose(lower, 0.5, atol=0.03)  # sparser lower block
    assert angles[31] == pytest.approx(-8.33, abs=0.01)
    assert angles[32] == pytest.approx(-8.83, abs=0.01)


@pytest.mark.parametrize(
    ("preset", "beams", "top", "bottom"),
    [("vlp16", 16, 15.0, -15.0), ("vlp32", 32, 15.0, -25.0), ("os1-128", 128, 22.5, -22.5)],
)
def test_other_presets(preset, beams, top, bottom):
    angles = resolve_vertical_angles_deg(LidarSpec(preset=preset))
    assert (len(angles), angles[0], angles[-1]) == (
        beams,
        pytest.approx(top),
        pytest.approx(bottom),
    )
    if preset != "vlp32":
        assert np.allclose(np.diff(angles), np.diff(angles)[0])  # uniform


def test_custom_angles_win_and_unknown_preset_is_an_error():
    custom = LidarSpec(preset=None, vertical_angles_deg=(3.0, 0.0, -7.5))
    assert list(resolve_vertical_angles_deg(custom)) == [3.0, 0.0, -7.5]
    assert not resolve_beam_height_offsets_m(custom).any()
    with pytest.raises(ValueError, match="unknown lidar preset 'hdl65'"):
        resolve_vertical_angles_deg(LidarSpec(preset="hdl65"))
    with pytest.raises(ValueError, match="vertical_angles_deg"):
        resolve_vertical_angles_deg(LidarSpec(preset=None, vertical_angles_deg=(95.0,)))


def test_beam_directions_are_unit_and_at_the_beam_elevations():
    angles = resolve_vertical_angles_deg(LidarSpec())
    dirs, ring = beam_directions_lidar(angles, 360)
    assert dirs.shape == (64 * 360, 3) and ring.shape == (64 * 360,)
    assert np.allclose(np.linalg.norm(dirs, axis=1), 1.0, atol=1e-6)
    elevation = np.degrees(np.arcsin(dirs[:, 2]))
    assert np.allclose(elevation, angles[ring], atol=1e-4)
    assert elevation.max() == pytest.approx(2.0, abs=1e-4)
    assert elevation.min() == pytest.approx(-24.9, abs=1e-4)


# ------------------------------------------------------------------------- exact geometry


def test_points_lie_on_the_surfaces_they_are_labelled_with(world, scanner):
    scan = scanner.scan(EXACT, _pose_lidar(), np.random.default_rng(1))
    points_world = transform_points(_pose_lidar(), scan.points.xyz)
    assert np.max(_surface_distance_m(world, points_world)) < 1e-3
    for obj in world.objects:
        if obj.instance_id == 0:
            continue
        mine = scan.points.instance_ids == obj.instance_id
        if obj.name == "pane":
            assert not mine.any()  # glass gives no return
            continue
        assert mine.sum() > 50
        assert np.max(_surface_distance_m(world, points_world[mine], only=obj.instance_id)) < 1e-3
        assert np.all(scan.points.class_ids[mine] == SEMANTIC_IDS[obj.semantic])
    walls = scan.points.class_ids == SEMANTIC_IDS["building"]
    assert walls.sum() > 1000
    # Range is the distance along the beam from its origin (0.145-0.205 m above the sensor).
    offsets = resolve_beam_height_offsets_m(EXACT)[scan.points.ring]
    along = scan.points.xyz - np.column_stack([0 * offsets, 0 * offsets, offsets])
    assert np.allclose(np.linalg.norm(along, axis=1), scan.points.range_m, atol=1e-3)


def test_every_beam_returns_inside_a_closed_room(scanner):
    scan = scanner.scan(EXACT, _pose_lidar(), np.random.default_rng(2))
    assert np.array_equal(np.unique(scan.points.ring), np.arange(64))
    assert scan.points.xyz.dtype == scan.points.intensity.dtype == np.float32
    ids = (scan.points.ring, scan.points.class_ids, scan.points.instance_ids)
    assert all(column.dtype == np.int32 for column in ids)
    assert np.all(
        (scan.points.range_m >= EXACT.min_range_m) & (scan.points.range_m <= EXACT.max_range_m)
    )
    assert np.all((scan.points.intensity >= 0) & (scan.points.intensity <= 1))
    # Glass and dropped beams are reported as missed with the range of what they met.
    assert len(scan) + len(scan.missed.ring) == 64 * EXACT.azimuth_steps


def test_same_seed_same_scan_and_noise_follows_the_spec(scanner):
    noisy = LidarSpec(range_noise_m=0.05)
    a = scanner.scan(noisy, _pose_lidar(noisy), np.random.default_rng(5))
    b = scanner.scan(noisy, _pose_lidar(noisy), np.random.default_rng(5))
    c = scanner.scan(noisy, _pose_lidar(noisy), np.random.default_rng(6))
    for field in ("xyz", "intensity", "ring", "class_ids", "instance_ids", "range_m"):
        assert np.array_equal(getattr(a.points, field), getattr(b.points, field))
    assert not np.array_equal(a.points.xyz, c.points.xyz)
    exact = scanner.scan(EXACT, _pose_lidar(), np.random.default_rng(5))
    # Same draws decide dropout, so the same beams return; only ranges differ.
    assert np.array_equal(exact.points.ring, a.points.ring)
    error = a.points.range_m - exact.points.range_m
    assert np.std(error) == pytest.approx(0.05, rel=0.05)
    assert abs(np.mean(error)) < 0.002


def test_dropout_grows_with_range_and_intensity_with_reflectivity():
    dark = WorldObject(
        "ground", "road", [MeshPart(_box((400, 400, 0.1), (0, 0, -0.05)), "asphalt")], np.eye(4)
    )
    scanner = LidarScanner(World(objects=[dark]))
    lidar = LidarSpec(max_range_m=400.0)
    scan = scanner.scan(lidar, _pose_lidar(lidar), np.random.default_rng(0))
    # Each lower-block beam meets the flat ground at a fixed range: the return share falls.
    shares = [
        np.mean(scan.points.ring == ring) * len(scan) / lidar.azimuth_steps
        for ring in (63, 24, 20, 16, 14, 12)
    ]  # ground at 4, 18, 23, 33, 41, 54 m
    assert shares[0] > 0.99 and shares[-1] < 0.1
    assert all(a > b for a, b in itertools.pairwise(shares))
    bright = WorldObject(
        "ground",
        "road",
        [MeshPart(_box((400, 400, 0.1), (0, 0, -0.05)), "lane_marking")],
        np.eye(4),
    )
    scan_bright = LidarScanner(World(objects=[bright])).scan(
        lidar, _pose_lidar(lidar), np.random.default_rng(0)
    )
    near = scan.points.ring == 63
    near_bright = scan_bright.points.ring == 63
    assert (
        scan_bright.points.intensity[near_bright].mean() > 1.5 * scan.points.intensity[near].mean()
    )
    assert len(scan_bright) > len(scan)


# ------------------------------------------------------------------ projection and counts


def _box3d_cam(obj: WorldObject, calib) -> Box3D:
    bottom = transform_points(calib.T_cam_from_world, obj.pose_world[:3, 3][None])[0]
    yaw = np.arctan2(obj.pose_world[1, 0], obj.pose_world[0, 0])
    length, width, height = obj.dimensions_m
    rotation_y = float(np.arctan2(np.sin(-(yaw + np.pi / 2)), np.cos(-(yaw + np.pi / 2))))
    return Box3D(
        h=height, w=width, l=length, x=bottom[0], y=bottom[1], z=bottom[2], rotation_y=rotation_y
    )


def test_points_project_into_their_box_and_counts_match_instances(world, scanner):
    calib = calibration_from_spec(CAMERA, EXACT)
    scan = scanner.scan(EXACT, _pose_lidar(), np.random.default_rng(3))
    pts_cam = transform_points(calib.T_cam_from_lidar, scan.points.xyz)
    objects = [o for o in world.objects if o.name in ("car", "van")]
    boxes = [_box3d_cam(o, calib) for o in objects]
    counts = count_points_in_boxes(scan.points.xyz, calib.T_cam_from_lidar, boxes, margin_m=0.01)
    for obj, box, count in zip(objects, boxes, counts, strict=True):
        mine = scan.points.instance_ids == obj.instance_id
        # 3D: the object's points are inside its box and nobody else's are.
        inside = box.contains_cam(pts_cam, margin_m=0.01)
        assert inside[mine].all()
        assert not inside[~mine].any()
        assert count == mine.sum() > 50
        # 2D: projected points of the object fall inside its projected box.
        in_front = pts_cam[mine][:, 2] > 0
        uv = calib.project(pts_cam[mine][in_front])
        corners = calib.project(box.corners_cam())
        assert in_front.any()
        assert np.all(uv >= corners.min(axis=0) - 1e-6)
        assert np.all(uv <= corners.max(axis=0) + 1e-6)
    assert count_points_in_boxes(scan.points.xyz, calib.T_cam_from_lidar, []).shape == (0,)
