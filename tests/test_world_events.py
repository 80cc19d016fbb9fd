"""Rare events: tagged objects, in the camera's view, at the requested distance."""

from __future__ import annotations

import numpy as np
import pytest

from scenegen.errors import ScenegenError
from scenegen.scenario.spec import EnvironmentSpec, EventSpec, RoadSpec, SceneSpec
from scenegen.sensors.rig import calibration_from_spec
from scenegen.world import build_world, build_world_with_report
from scenegen.world.events import EVENT_BUILDERS
from scenegen.world.placement import Footprint, Occupancy, footprints_overlap

DISTANCES = {
    "jaywalker": 20.0,
    "stalled_vehicle": 35.0,
    "debris": 25.0,
    "cut_in": 12.0,
    "wrong_way": 40.0,
    "animal": 22.0,
    "lost_cargo": 30.0,
    "construction_zone": 25.0,
    "occluded_pedestrian": 18.0,
}
ROADS = {
    "urban": RoadSpec(type="urban", lanes=2),
    "highway_curve": RoadSpec(type="highway", lanes=3, sidewalks=False, curvature_1_m=0.008),
    "rural_curve": RoadSpec(type="rural", lanes=2, sidewalks=False, curvature_1_m=-0.01),
}


def _spec(event_type: str, road: RoadSpec, seed: int, params=None, occurs=True, night=False):
    params = {"distance_m": DISTANCES[event_type]} if params is None else params
    return SceneSpec(
        "event",
        0,
        seed,
        road=road,
        environment=EnvironmentSpec(sun_elevation_deg=-20.0 if night else 40.0),
        events=(EventSpec(event_type, occurs, params),),
    )


def _box_centre_world(obj) -> np.ndarray:
    return (
        obj.pose_world[:3, :3] @ np.array([0.0, 0.0, obj.dimensions_m[2] / 2])
        + obj.pose_world[:3, 3]
    )


def _project(spec, points_world: np.ndarray) -> np.ndarray:
    calibration = calibration_from_spec(spec.camera, spec.lidar)
    homogeneous = np.column_stack([points_world, np.ones(len(points_world))])
    points_cam = (calibration.T_cam_from_world @ homogeneous.T).T[:, :3]
    return calibration.project(points_cam)


def test_every_event_type_is_known():
    assert set(DISTANCES) == set(EVENT_BUILDERS)


@pytest.mark.parametrize("road_name", list(ROADS))
@pytest.mark.parametrize("event_type", list(DISTANCES))
def test_event_objects_are_tagged_in_view_and_at_distance(event_type, road_name):
    spec = _spec(event_type, ROADS[road_name], seed=3)
    world, report = build_world_with_report(spec)
    assert report.events_placed == (event_type,)
    tagged = [o for o in world.labelled() if o.event == event_type]
    assert tagged, "the event placed no labelled object"
    assert all(o.event == event_type for o in world.labelled())  # nothing else is labelled here
    centres = np.array([_box_centre_world(o) for o in tagged])
    uv = _project(spec, centres)
    width, height = spec.camera.width, spec.camera.height
    assert np.all(np.isfinite(uv)), "an event object is behind the camera"
    assert np.all((uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height))
    # The nearest object of the event stands at roughly the requested distance ahead.
    distance = DISTANCES[event_type]
    ranges = np.hypot(centres[:, 0], centres[:, 1])
    assert distance - 8.0 <= ranges.min() <= distance + 8.0, ranges.min()


@pytest.mark.parametrize("event_type", list(DISTANCES))
def test_events_asked_for_too_close_still_land_in_view_and_clear_of_the_ego(event_type):
    spec = _spec(
        event_type, ROADS["urban"], seed=12, params={"distance_m": 3.0, "from_between_parked": True}
    )
    world = build_world(spec)
    tagged = [o for o in world.labelled() if o.event == event_type]
    assert tagged
    uv = _project(spec, np.array([_box_centre_world(o) for o in tagged]))
    assert np.all(np.isfinite(uv))
    assert np.all((uv[:, 0] >= 0) & (uv[:, 0] < spec.camera.width))
    assert np.all((uv[:, 1] >= 0) & (uv[:, 1] < spec.camera.height))
    ego = Footprint(0.0, 0.0, 0.0, 2.5, 1.1)
    for obj in tagged:
        assert not footprints_overlap(Footprint.of_pose(obj.pose_world, *obj.dimensions_m[:2]), ego)


@pytest.mark.parametrize("event_type", list(DISTANCES))
def test_event_that_does_not_occur_adds_nothing(event_type):
    world = build_world(_spec(event_type, ROADS["urban"], seed=1, occurs=False))
    assert world.labelled() == []
    assert not any(o.event for o in world.objects)


@pytest.mark.parametrize("event_type", list(DISTANCES))
def test_events_use_defaults_when_params_are_missing(event_type):
    world = build_world(_spec(event_type, ROADS["urban"], seed=2, params={}))
    assert any(o.event == event_type for o in world.labelled())


def test_jaywalker_crosses_the_ego_lane():
    spec = _spec("jaywalker", ROADS["urban"], seed=4)
    world, report = build_world_with_report(spec)
    person = next(o for o in world.labelled() if o.class_name == "pedestrian")
    _, t = report.layout.road_coords(person.pose_world[0, 3], person.pose_world[1, 3])
    assert abs(float(t) - report.layout.ego_t_m) < report.layout.lane_width_m
    heading = np.arctan2(person.pose_world[1, 0], person.pose_world[0, 0])
    assert abs(abs(heading) - np.pi / 2) < 0.3  # walking across the road


def test_jaywalker_from_between_parked_cars_steps_out_between_them():
    spec = _spec(
        "jaywalker",
        ROADS["urban"],
        seed=5,
        params={"distance_m": 20.0, "from_between_parked": True},
    )
    world = build_world(spec)
    person = next(o for o in world.labelled() if o.class_name == "pedestrian")
    cars = [o for o in world.labelled() if o.class_name == "car"]
    assert len(cars) == 2 and all(not c.moving and c.event == "jaywalker" for c in cars)
    xs = sorted(c.pose_world[0, 3] for c in cars)
    assert xs[0] < person.pose_world[0, 3] < xs[1]


def test_stalled_vehicle_has_hazard_lamps_that_glow_by_day():
    world = build_world(_spec("stalled_vehicle", ROADS["urban"], seed=6))
    (vehicle,) = world.labelled()
    assert not vehicle.moving
    assert any(p.material == "hazard_light" for p in vehicle.parts)


def test_event_parameters_are_honoured():
    urban, highway = ROADS["urban"], ROADS["highway_curve"]
    (vehicle,) = build_world(
        _spec("stalled_vehicle", urban, 1, {"distance_m": 30.0, "hazard_lights": False})
    ).labelled()
    assert not any(p.material == "hazard_light" for p in vehicle.parts)
    cones = build_world(
        _spec("debris", urban, 2, {"distance_m": 20.0, "kind": "cones", "count": 3})
    ).labelled()
    assert len(cones) == 3 and all(any(p.material == "cone_orange" for p in o.parts) for o in cones)
    world, report = build_world_with_report(
        _spec("cut_in", highway, 3, {"distance_m": 15.0, "gap_m": 1.2})
    )
    (car,) = world.labelled()
    _, t = report.layout.road_coords(car.pose_world[0, 3], car.pose_world[1, 3])
    assert abs(float(t) - report.layout.ego_t_m) == pytest.approx(1.2, abs=1e-6)
    world = build_world(_spec("occluded_pedestrian", urban, 4, {"distance_m": 22.0}))
    person = next(o for o in world.labelled() if o.class_name == "pedestrian")
    assert np.hypot(*person.pose_world[:2, 3]) == pytest.approx(22.0, abs=2.0)
    with pytest.raises(ScenegenError, match="confetti"):
        build_world(_spec("debris", urban, 5, {"kind": "confetti"}))


def test_wrong_way_car_faces_the_ego_with_headlights_on_by_day():
    spec = _spec("wrong_way", ROADS["urban"], seed=7)
    world = build_world(spec)
    (car,) = world.labelled()
    assert car.pose_world[0, 0] < -0.99  # its +x (front) points back at the camera
    headlights = [light for light in world.lights if light.direction_world is not None]
    assert len(headlights) == 2 and all(light.direction_world[0] < -0.9 for light in headlights)


def test_cut_in_car_is_angled_towards_the_ego_lane():
    spec = _spec("cut_in", ROADS["highway_curve"], seed=8)
    world, report = build_world_with_report(spec)
    (car,) = world.labelled()
    layout = report.layout
    s, t = layout.road_coords(car.pose_world[0, 3], car.pose_world[1, 3])
    _, _, road_heading = layout.road_pose(float(s), float(t))
    yaw = np.arctan2(car.pose_world[1, 0], car.pose_world[0, 0]) - road_heading
    side = np.sign(float(t) - layout.ego_t_m)
    assert side != 0 and np.sign(yaw) == -side  # heading back towards the ego lane
    assert np.deg2rad(5) < abs(yaw) < np.deg2rad(25)


def test_occluded_pedestrian_is_hidden_behind_a_parked_vehicle():
    spec = _spec("occluded_pedestrian", ROADS["urban"], seed=9)
    world = build_world(spec)
    person = next(o for o in world.labelled() if o.class_name == "pedestrian")
    occluder = next(o for o in world.labelled() if o.class_name in ("van", "car"))
    assert not occluder.moving
    assert person.pose_world[0, 3] > occluder.pose_world[0, 3]  # further from the camera
    # The sight line from the camera to the pedestrian's chest passes through the occluder box.
    camera = np.array([0.0, 0.0, spec.camera.height_m])
    chest = person.pose_world[:3, 3] + np.array([0.0, 0.0, 1.2])
    inverse = np.linalg.inv(occluder.pose_world)
    length, width, height = occluder.dimensions_m
    samples = camera + np.linspace(0.0, 1.0, 400)[:, None] * (chest - camera)
    local = samples @ inverse[:3, :3].T + inverse[:3, 3]
    inside = (
        (np.abs(local[:, 0]) <= length / 2)
        & (np.abs(local[:, 1]) <= width / 2)
        & (local[:, 2] >= 0)
        & (local[:, 2] <= height)
    )
    assert inside.any()


def test_construction_zone_has_cones_and_a_barrier():
    world = build_world(_spec("construction_zone", ROADS["urban"], seed=10))
    cones = [o for o in world.labelled() if o.event == "construction_zone"]
    assert len(cones) >= 5 and all(o.class_name == "debris" for o in cones)
    barrier = [o for o in world.objects if o.event == "construction_zone" and o.instance_id == 0]
    assert barrier and any(p.material == "barrier" for p in barrier[0].parts)


def test_debris_lies_in_the_ego_lane():
    spec = _spec("debris", ROADS["rural_curve"], seed=11, params={"distance_m": 25.0, "count": 4})
    world, report = build_world_with_report(spec)
    items = world.labelled()
    assert len(items) == 4
    for item in items:
        _, t = report.layout.road_coords(item.pose_world[0, 3], item.pose_world[1, 3])
        assert abs(float(t) - report.layout.ego_t_m) < report.layout.lane_width_m / 2


def test_occupancy_detects_rotated_overlap_and_respects_margin():
    a = Footprint(0.0, 0.0, 0.0, 2.0, 1.0)
    diagonal = Footprint(2.9, 1.2, np.pi / 4, 1.0, 0.3)  # corner pokes into a
    assert footprints_overlap(diagonal, a)
    apart = Footprint(3.2, 0.0, 0.0, 1.0, 1.0)
    assert not footprints_overlap(apart, a)
    assert footprints_overlap(apart, a, margin_m=0.3)
    occupancy = Occupancy()
    occupancy.add(a)
    occupancy.add(Footprint(10.0, 0.0, 0.3, 2.0, 1.0))
    assert occupancy.is_free(Footprint(5.5, 0.0, 0.0, 1.0, 1.0))
    assert not occupancy.is_free(Footprint(8.5, 0.0, 0.0, 1.0, 1.0))
