"""Road frame and road meshes: the curve, the lanes and where the markings are painted."""

from __future__ import annotations

import numpy as np
import pytest

from scenegen.scenario.spec import RoadSpec
from scenegen.world.road import (
    KERB_HEIGHT_M,
    MARKING_WIDTH_M,
    build_road,
    marking_boundaries,
    road_layout_from_spec,
)


def _layout(**road):
    return road_layout_from_spec(RoadSpec(**road), np.random.default_rng(0))


@pytest.mark.parametrize("curvature", [0.0, 0.012, -0.008])
def test_ego_lane_centre_is_the_world_origin_heading_forward(curvature):
    layout = _layout(curvature_1_m=curvature)
    x, y, heading = layout.road_pose(0.0, layout.ego_t_m)
    assert (x, y, heading) == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)


@pytest.mark.parametrize("curvature", [0.01, -0.015])
def test_constant_t_lines_are_circles_with_the_signed_curvature(curvature):
    layout = _layout(curvature_1_m=curvature)
    s = np.linspace(-10, 150, 50)
    for t in (-5.0, 0.0, 3.0):
        x, y, heading = layout.road_pose(s, np.full_like(s, t))
        centre = np.array([0.0, -layout.ego_t_m + 1.0 / curvature])
        radius = np.hypot(x - centre[0], y - centre[1])
        np.testing.assert_allclose(radius, abs(1.0 / curvature - t), rtol=1e-9)
        np.testing.assert_allclose(heading, curvature * s)
    # Positive curvature bends left (+y) ahead of the camera.
    _, y_ahead, _ = layout.road_pose(60.0, layout.ego_t_m)
    assert np.sign(y_ahead) == np.sign(curvature)


@pytest.mark.parametrize("curvature", [0.0, 0.01, -0.02])
def test_road_coords_inverts_road_pose(curvature):
    layout = _layout(curvature_1_m=curvature)
    rng = np.random.default_rng(1)
    s, t = rng.uniform(-10, 120, 200), rng.uniform(-15, 15, 200)
    x, y, _ = layout.road_pose(s, t)
    s2, t2 = layout.road_coords(x, y)
    np.testing.assert_allclose(s2, s, atol=1e-8)
    np.testing.assert_allclose(t2, t, atol=1e-8)


def test_lane_directions_by_road_type():
    urban = _layout(type="urban", lanes=4)
    assert urban.two_way and urban.n_forward == 2 and urban.ego_lane == 0
    assert urban.lane_center_t(urban.ego_lane) < 0  # right of the centre line
    highway = _layout(type="highway", lanes=3, sidewalks=False)
    assert not highway.two_way and highway.ego_lane < 2  # never the fast lane
    rural = _layout(type="rural", lanes=2, sidewalks=False)
    assert rural.two_way and rural.ego_lane == 0
    kinds = dict((round(t, 6), k) for t, k in marking_boundaries(rural))
    assert kinds[0.0] == "solid"  # the centre line between the two directions
    kinds = [k for _, k in marking_boundaries(highway)]
    assert kinds.count("dashed") == 2 and kinds.count("solid") == 0


def _markings(objects):
    return next(o for o in objects if o.name == "lane_markings")


@pytest.mark.parametrize("curvature", [0.0, 0.01, -0.012])
def test_lane_markings_follow_the_curve(curvature):
    layout = _layout(type="urban", lanes=4, curvature_1_m=curvature)
    markings = _markings(build_road(layout, np.random.default_rng(2)))
    vertices = np.concatenate([p.mesh.vertices for p in markings.parts])
    assert np.all(markings.parts[0].mesh.face_normals[:, 2] > 0.99)  # flat, facing up
    assert np.all(vertices[:, 2] > 0.0) and np.all(vertices[:, 2] < 0.05)  # just above asphalt
    s, t = layout.road_coords(vertices[:, 0], vertices[:, 1])
    boundaries = np.array([b for b, _ in marking_boundaries(layout)])
    offset = np.min(np.abs(t[:, None] - boundaries[None, :]), axis=1)
    np.testing.assert_allclose(offset, MARKING_WIDTH_M / 2, atol=1e-6)
    # The markings run the whole length of the road (well past the camera's range).
    assert s.min() < 0 and s.max() > 120
    if curvature:
        # ...and really bend: 100 m ahead the markings are metres to the side.
        ahead = vertices[(s > 95) & (s < 105)]
        assert np.sign(ahead[:, 1].mean()) == np.sign(curvature)
        assert abs(ahead[:, 1].mean()) > 20


def test_dashed_lines_have_gaps_and_solid_lines_do_not():
    layout = _layout(type="urban", lanes=4)
    markings = _markings(build_road(layout, np.random.default_rng(3)))
    vertices = np.concatenate([p.mesh.vertices for p in markings.parts])
    s, t = layout.road_coords(vertices[:, 0], vertices[:, 1])
    for boundary, kind in marking_boundaries(layout):
        on_line = np.sort(s[np.abs(t - boundary) < 0.2])
        largest_gap = np.max(np.diff(on_line))
        if kind == "dashed":
            assert 4.0 < largest_gap < 6.0  # urban pattern: 3 m dash, 5 m gap
        else:
            assert largest_gap <= 20.0 + 1e-6  # continuous (only tessellation vertices)


def test_sidewalks_and_kerbs_are_kerb_high_and_triangle_count_is_low():
    layout = _layout(type="urban", lanes=2, curvature_1_m=0.01)
    objects = build_road(layout, np.random.default_rng(4))
    names = {o.name for o in objects}
    assert {"road_surface", "lane_markings", "kerbs", "sidewalks", "verges"} <= names
    walks = next(o for o in objects if o.name == "sidewalks")
    top = np.concatenate([p.mesh.vertices for p in walks.parts])
    assert top[:, 2].max() == pytest.approx(KERB_HEIGHT_M)
    assert layout.surface_z_m(layout.sidewalk_span_t(-1)[0] - 0.5) == pytest.approx(KERB_HEIGHT_M)
    assert layout.surface_z_m(layout.ego_t_m) == 0.0
    faces = sum(len(p.mesh.faces) for o in objects for p in o.parts)
    assert faces < 6000


def test_rural_road_has_grass_verges_and_no_kerbs():
    objects = build_road(_layout(type="rural", sidewalks=False), np.random.default_rng(5))
    names = {o.name for o in objects}
    assert "kerbs" not in names and "verges" in names
    verges = next(o for o in objects if o.name == "verges")
    assert {p.material for p in verges.parts} == {"grass"}
