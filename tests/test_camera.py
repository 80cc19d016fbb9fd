"""The camera's geometry, depth, shading and labels on hand-built worlds with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import box_object, simple_world

from scenegen.labels.objects import MAX_HIDDEN_SHARE, MIN_BOX_SIDE_PX, compute_labels
from scenegen.scenario.spec import CameraSpec
from scenegen.sensors.rig import calibration_from_spec


@pytest.fixture(scope="module")
def renderer(gl_backend):
    from scenegen.sensors.camera import CameraRenderer

    with CameraRenderer() as r:
        yield r


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_ground_depth_is_exact(renderer):
    """A level camera h metres above a plane sees row v at z = h * fy / (v + 0.5 - cy)."""
    calib = calibration_from_spec(CameraSpec(), None)
    g = renderer.render(simple_world([]), calib)
    k = calib.intrinsics
    rows = np.arange(int(k.cy) + 20, k.height)
    expected = 1.65 * k.fy / (rows + 0.5 - k.cy)
    got = g.depth_m[rows, k.width // 2]
    np.testing.assert_allclose(got, expected, rtol=2e-4)
    assert np.isinf(g.depth_m[: int(k.cy) - 5]).all(), "above the horizon is sky"


def test_pixel_convention_matches_projection(renderer):
    """A pixel is covered when its centre (i + 0.5) falls inside the projected face:
    P2 projects into the same continuous pixel coordinates the renderer uses."""
    calib = calibration_from_spec(CameraSpec(), None)
    cube = box_object(1, 20.0, 0.0, size_lwh_m=(1.0, 1.0, 1.0))
    cube.pose_world[2, 3] = 1.0  # floats from 1 m to 2 m: only the front face is seen
    g = renderer.render(simple_world([cube]), calib)
    rows, cols = np.nonzero(g.instance_ids == 1)
    face_world = np.array([[19.5, 0.5, 2.0], [19.5, -0.5, 1.0]])
    (u1, v1), (u2, v2) = calib.project(
        (face_world @ calib.T_cam_from_world[:3, :3].T) + calib.T_cam_from_world[:3, 3]
    )
    # First covered pixel: its centre is inside, its left neighbour's is not (same for all sides).
    assert cols.min() - 0.5 < u1 <= cols.min() + 0.5
    assert cols.max() + 0.5 <= u2 < cols.max() + 1.5
    assert rows.min() - 0.5 < v1 <= rows.min() + 0.5
    assert rows.max() + 0.5 <= v2 < rows.max() + 1.5


def test_labels_box_encloses_mask_and_matches_projected_3d_box(renderer):
    calib = calibration_from_spec(CameraSpec(), None)
    objects = [
        box_object(1, 15.0, 1.5, yaw_rad=0.3),
        box_object(2, 25.0, -2.0),
        box_object(
            3,
            40.0,
            -5.0,
            yaw_rad=-0.8,
            size_lwh_m=(0.6, 0.6, 1.8),
            class_name="pedestrian",
            material="clothing",
        ),
    ]
    g = renderer.render(simple_world(objects), calib)
    labels, ignored = compute_labels(simple_world(objects), g.instance_ids, calib, 25)
    assert [lab.instance_id for lab in labels] == [1, 2, 3]
    assert ignored == []
    for lab in labels:
        rows, cols = np.nonzero(g.instance_ids == lab.instance_id)
        x1, y1, x2, y2 = lab.box_2d
        # The mask lies inside the box and touches all four sides.
        assert cols.min() == x1 and cols.max() + 1 == x2
        assert rows.min() == y1 and rows.max() + 1 == y2
        assert lab.occlusion_level == 0 and lab.truncation == 0.0
        corners = calib.project(lab.box_3d.corners_cam())
        projected = np.array([*corners.min(0), *corners.max(0)])
        assert iou(projected, lab.box_2d) >= 0.8, (lab.instance_id, projected, lab.box_2d)
        assert lab.difficulty in ("easy", "moderate")


def test_occlusion_and_truncation(renderer):
    calib = calibration_from_spec(CameraSpec(), None)
    front = box_object(1, 12.0, 0.0, size_lwh_m=(4.5, 2.0, 2.5))
    behind = box_object(2, 25.0, 1.6)  # mostly hidden behind the front car
    edge = box_object(3, 6.0, 5.0)  # sticks out of the left image edge
    world = simple_world([front, behind, edge])
    g = renderer.render(world, calib)
    labels = {lab.instance_id: lab for lab in compute_labels(world, g.instance_ids, calib, 1)[0]}
    assert labels[1].occlusion < 0.05 and labels[1].occlusion_level == 0
    assert labels[2].occlusion > 0.5 and labels[2].occlusion_level >= 2
    assert labels[3].truncation > 0.3
    assert labels[3].box_2d[0] == 0.0


def test_small_objects_are_counted_not_labelled(renderer):
    calib = calibration_from_spec(CameraSpec(), None)
    far = box_object(
        1, 150.0, 0.0, size_lwh_m=(0.3, 0.3, 0.3), class_name="debris", material="cardboard"
    )
    world = simple_world([far])
    g = renderer.render(world, calib)
    visible = int((g.instance_ids == 1).sum())
    assert 0 < visible < 25
    labels, ignored = compute_labels(world, g.instance_ids, calib, 25)
    assert labels == [] and [o.instance_id for o in ignored] == [1]
    # The ignore region (KITTI DontCare) is the box of the visible pixels.
    rows, cols = np.nonzero(g.instance_ids == 1)
    expected = [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
    np.testing.assert_array_equal(ignored[0].box_2d, expected)
    assert ignored[0].visible_pixels == visible


def test_slivers_of_hidden_objects_are_ignored_not_labelled(renderer):
    calib = calibration_from_spec(CameraSpec(), None)
    front = box_object(1, 12.0, 0.0, size_lwh_m=(4.5, 2.4, 3.0))
    # Directly behind the front box, but for a few columns on its right side.
    behind = box_object(2, 30.0, -2.55, size_lwh_m=(4.5, 1.8, 1.5))
    world = simple_world([front, behind])
    g = renderer.render(world, calib)
    visible = int((g.instance_ids == 2).sum())
    labels, ignored = compute_labels(world, g.instance_ids, calib, 1)
    assert visible > 0
    assert [o.instance_id for o in labels] == [1]
    assert [o.instance_id for o in ignored] == [2]
    x1, y1, x2, y2 = ignored[0].box_2d
    assert ignored[0].occlusion > MAX_HIDDEN_SHARE or min(x2 - x1, y2 - y1) < MIN_BOX_SIDE_PX


def test_sun_casts_shadows_and_lights_faces(renderer):
    from scenegen.sensors.raycast import WorldRaycaster
    from scenegen.sensors.shading import shade

    calib = calibration_from_spec(CameraSpec(), None)
    # Sun low on the left: the box's shadow falls to its right on the road.
    world = simple_world([box_object(1, 15.0, 0.0, size_lwh_m=(2.0, 2.0, 2.0))], 20.0, 90.0)
    g = renderer.render(world, calib)
    radiance, _ = shade(g, world, calib, WorldRaycaster(world))
    no_shadow, _ = shade(g, world, calib, None)
    shadow_point = calib.project(
        (calib.T_cam_from_world @ np.array([15.0, -3.0, 0.0, 1.0]))[None, :3]
    )[0]
    lit_point = calib.project((calib.T_cam_from_world @ np.array([15.0, 4.0, 0.0, 1.0]))[None, :3])[
        0
    ]
    u_s, v_s = int(shadow_point[0]), int(shadow_point[1])
    u_l, v_l = int(lit_point[0]), int(lit_point[1])
    assert radiance[v_s, u_s].mean() < 0.6 * radiance[v_l, u_l].mean()
    assert no_shadow[v_s, u_s].mean() == pytest.approx(no_shadow[v_l, u_l].mean(), rel=0.05)


def test_normals_from_depth_recover_a_plane():
    from scenegen.sensors.shading import PixelGrid, normals_from_depth

    calib = calibration_from_spec(
        CameraSpec(width=320, height=240, fx=300, fy=300, cx=160, cy=120), None
    )
    grid = PixelGrid.of(calib)
    n_true = np.array([0.3, -0.8, -0.52])
    n_true /= np.linalg.norm(n_true)
    # Plane n . p = d with d < 0 (facing the camera): z = d / (n . (a, b, 1)).
    d = -5.0
    z = d / (n_true[0] * grid.a + n_true[1] * grid.b + n_true[2])
    nx, ny, nz = normals_from_depth(z.astype(np.float32), grid)
    got = np.stack([nx, ny, nz], -1)[5:-5, 5:-5].reshape(-1, 3)
    assert np.abs(got - n_true).max() < 1e-2
