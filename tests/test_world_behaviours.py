"""Behaviours over time: each object of a sequence is where its documented law puts it.

Positions are read from the world a sequence frame renders (``SequenceWorld.at``: the ego
frame of the moment, x forward, y left), on straight roads, so the expected numbers are
plain kinematics written here.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from scenegen.errors import ScenarioError, ScenarioErrors
from scenegen.scenario import load_scenario_text, sample_scene
from scenegen.world.behaviours import G_M_S2, blink_on
from scenegen.world.sequence import CARGO_BED_HEIGHT_M, build_sequence_world

SMALL_CAMERA = "sensors: {camera: {width: 160, height: 64, fov_deg: 70}, lidar: false}"


def _world(text: str, seed: int = 0):
    scenario = load_scenario_text(f"version: 1\nname: t\n{SMALL_CAMERA}\n{text}")
    return build_sequence_world(sample_scene(scenario, 0, seed, 1))


def _event_objects(world, time_s: float, event: str):
    posed, motion = world.at(time_s)
    return [o for o in posed.labelled() if o.event == event], motion


def test_ego_drives_its_lane_at_its_speed():
    world = _world("sequence: {frames: 20}\nego: {speed_m_s: 12.5}")
    for time_s in (0.0, 0.7, 1.9):
        _, motion = world.at(time_s)
        assert motion.ego_pose_start[:3, 3] == pytest.approx([12.5 * time_s, 0.0, 0.0], abs=1e-9)
        assert motion.ego_velocity_m_s == pytest.approx([12.5, 0.0, 0.0], abs=1e-6)


def test_ego_lane_change_ends_one_lane_over():
    world = _world(
        "sequence: {frames: 60}\nroad: {type: highway, lanes: 3, lane_width_m: 3.5}\n"
        "ego: {speed_m_s: 20, lane_change: {start_s: 1.0, duration_s: 2.0, direction: left}}"
    )
    y = [world.at(t)[1].ego_pose_start[1, 3] for t in (0.5, 1.0, 2.0, 3.0, 5.0)]
    assert y == pytest.approx([0.0, 0.0, 1.75, 3.5, 3.5], abs=1e-9)


def test_cut_in_moves_from_the_adjacent_lane_to_the_ego_lane_over_its_duration():
    world = _world(
        "sequence: {frames: 40}\nroad: {type: highway, lanes: 3, lane_width_m: 3.5}\n"
        "ego: {speed_m_s: 15}\n"
        "events: [{type: cut_in, distance_m: 15, start_s: 1.0, duration_s: 2.0, "
        "relative_speed_m_s: 0}]"
    )
    lateral = {}
    for time_s in (0.0, 0.9, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5):
        (car,), _ = _event_objects(world, time_s, "cut_in")
        lateral[time_s] = abs(float(car.pose_world[1, 3]))
        # relative speed 0: the gap ahead stays the distance it started at
        assert car.pose_world[0, 3] == pytest.approx(15.0, abs=1e-6)
    assert lateral[0.0] == pytest.approx(3.5, abs=1e-6)  # the adjacent lane's centre
    assert lateral[1.0] == pytest.approx(3.5, abs=1e-6)
    assert lateral[2.0] == pytest.approx(1.75, abs=1e-6)  # half way at half the duration
    assert lateral[3.0] == pytest.approx(0.0, abs=1e-6)  # in the ego lane, and stays
    assert lateral[3.5] == pytest.approx(0.0, abs=1e-6)
    values = [lateral[t] for t in sorted(lateral)]
    assert all(a >= b for a, b in itertools.pairwise(values))


def test_jaywalker_waits_then_crosses_at_its_walking_speed():
    world = _world(
        "sequence: {frames: 40}\nroad: {type: urban, lanes: 2}\nego: {speed_m_s: 8}\n"
        "events: [{type: jaywalker, distance_m: 18, speed_m_s: 1.6, step_out_s: 1.0}]"
    )
    (before,), _ = _event_objects(world, 0.2, "jaywalker")
    (still,), _ = _event_objects(world, 1.0, "jaywalker")
    (walking,), motion = _event_objects(world, 2.5, "jaywalker")
    # Standing: the ego closes in at its speed, the pedestrian does not move sideways.
    assert still.pose_world[0, 3] - before.pose_world[0, 3] == pytest.approx(-8 * 0.8, abs=1e-6)
    assert still.pose_world[1, 3] == pytest.approx(before.pose_world[1, 3], abs=1e-9)
    # Walking along its heading (across the road) at 1.6 m/s for 1.5 s.
    heading = still.pose_world[:2, 0]
    moved = walking.pose_world[:2, 3] - still.pose_world[:2, 3] - np.array([-8 * 1.5, 0.0])
    assert moved == pytest.approx(1.6 * 1.5 * heading, abs=1e-6)
    assert abs(heading[1]) > 0.9  # it faces across the road
    speed = np.linalg.norm(motion.velocities_m_s[walking.instance_id][:2])
    assert speed == pytest.approx(1.6, abs=1e-6)


def test_wrong_way_vehicle_closes_the_gap_at_the_closing_speed():
    world = _world(
        "sequence: {frames: 30}\nroad: {type: rural, lanes: 2}\nego: {speed_m_s: 10}\n"
        "events: [{type: wrong_way, distance_m: 80, closing_speed_m_s: 30}]"
    )
    (start,), _ = _event_objects(world, 0.0, "wrong_way")
    (later,), motion = _event_objects(world, 2.0, "wrong_way")
    gap_start = float(np.hypot(*start.pose_world[:2, 3]))
    gap_later = float(np.hypot(*later.pose_world[:2, 3]))
    assert gap_start - gap_later == pytest.approx(60.0, abs=0.05)
    relative = motion.relative_velocity_m_s(later.instance_id)
    assert relative[0] == pytest.approx(-30.0, abs=0.05)


def test_lost_cargo_rides_on_the_truck_then_falls_to_the_road():
    world = _world(
        "sequence: {frames: 30}\nroad: {type: highway, lanes: 3}\nego: {speed_m_s: 20}\n"
        "events: [{type: lost_cargo, distance_m: 30, count: 2, drop_s: 1.0}]"
    )
    objects, _ = _event_objects(world, 0.5, "lost_cargo")
    assert sorted(o.class_name for o in objects) == ["debris", "debris", "truck"]
    fall_s = math.sqrt(2 * CARGO_BED_HEIGHT_M / G_M_S2)
    for time_s, height in ((0.5, CARGO_BED_HEIGHT_M), (1.0 + fall_s / 2, None), (3.0, 0.0)):
        cargo = [
            o for o in _event_objects(world, time_s, "lost_cargo")[0] if o.class_name == "debris"
        ]
        expected = (
            CARGO_BED_HEIGHT_M - 0.5 * G_M_S2 * (fall_s / 2) ** 2 if height is None else height
        )
        assert [o.pose_world[2, 3] for o in cargo] == pytest.approx([expected] * 2, abs=1e-6)
    # It slides to rest: 20 m/s at 0.5 g stops 20 / 4.905 = 4.08 s after landing.
    _, motion = world.at(1.0 + fall_s + 4.2)
    debris = [o.instance_id for o in world.built.world.labelled() if o.class_name == "debris"]
    assert all(np.linalg.norm(motion.velocities_m_s[i]) < 1e-6 for i in debris)


def test_stalled_vehicle_hazard_lights_flash_at_their_rate():
    world = _world(
        "sequence: {frames: 30}\nego: {speed_m_s: 0}\n"
        "events: [{type: stalled_vehicle, distance_m: 25, blink_hz: 1.25}]"
    )

    def lit(time_s: float) -> bool:
        (car,), _ = _event_objects(world, time_s, "stalled_vehicle")
        materials = {p.material for p in car.parts}
        return "hazard_light" in materials

    times = np.arange(0.0, 2.4, 0.1)
    assert [lit(t) for t in times] == [((t * 1.25) % 1.0) < 0.5 for t in times]
    assert blink_on(0.0, 1.5) and not blink_on(0.4, 1.5) and blink_on(0.7, 1.5)


def test_traffic_keeps_its_lane_and_track_ids_stay():
    world = _world(
        "sequence: {frames: 30}\nroad: {type: highway, lanes: 4}\nego: {speed_m_s: 25}\n"
        "actors: [{class: car, count: 6, speed_m_s: 30}]"
    )
    start, _ = world.at(0.0)
    later, _ = world.at(2.0)
    assert [o.instance_id for o in start.labelled()] == [o.instance_id for o in later.labelled()]
    for a, b in zip(start.labelled(), later.labelled(), strict=True):
        forward = math.cos(math.atan2(a.pose_world[1, 0], a.pose_world[0, 0])) > 0
        assert b.pose_world[1, 3] == pytest.approx(a.pose_world[1, 3], abs=1e-6)  # its lane
        along = (30.0 if forward else -30.0) - 25.0
        assert b.pose_world[0, 3] - a.pose_world[0, 3] == pytest.approx(along * 2.0, abs=1e-6)


def test_the_same_seed_builds_the_same_sequence_world():
    text = "sequence: {frames: 10}\nactors: [{class: car, count: 4}, {class: pedestrian, count: 3}]"
    a, b = _world(text, seed=5).at(0.6)[0], _world(text, seed=5).at(0.6)[0]
    assert [o.name for o in a.objects] == [o.name for o in b.objects]
    assert all(
        np.array_equal(x.pose_world, y.pose_world)
        for x, y in zip(a.objects, b.objects, strict=True)
    )


def test_files_without_a_sequence_sample_what_they_always_did():
    text = "version: 1\nname: t\nevents: [{type: cut_in}, {type: jaywalker}]"
    spec = sample_scene(load_scenario_text(text), 0, 0, 1)
    assert spec.sequence is None
    assert not any(k.endswith(("start_s", "step_out_s", "duration_s")) for k in spec.params)
    in_sequence = sample_scene(load_scenario_text(text + "\nsequence: {frames: 5}"), 0, 0, 1)
    assert in_sequence.events[0].params["start_s"] == 0.5  # the sequence default
    assert in_sequence.params["events[1].step_out_s"] == 0.5


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("sequence: {frames: 0}", "sequence.frames"),
        ("sequence: {rate_hz: 1000}", "sequence.rate_hz"),
        ("ego: {lane_change: {direction: up}}", "ego.lane_change.direction"),
        ("events: [{type: stalled_vehicle, blink_hz: 4}]", "events[0].blink_hz"),
    ],
)
def test_bad_sequence_keys_are_errors_naming_the_key(text, where):
    with pytest.raises((ScenarioError, ScenarioErrors)) as info:
        load_scenario_text(f"version: 1\nname: t\n{text}", "f.yaml")
    assert where in str(info.value) and "f.yaml:" in str(info.value)
