"""``require:`` constraints: held on every accepted sample, deterministic per seed, an
impossible one fails naming its file, line and text, the world quantities are geometry.
"""

from __future__ import annotations

import math
from dataclasses import replace

import jsonschema
import numpy as np
import pytest
import yaml

from scenegen.errors import ScenarioError
from scenegen.labels.visibility import event_view_quantities
from scenegen.scenario import load_scenario_text, sample_scene
from scenegen.scenario.json_schema import scenario_json_schema
from scenegen.sensors.rig import calibration_from_spec
from scenegen.world.build import build_world

BASE = """version: 1
name: require-test
ego: {speed_m_s: "uniform(0, 25)"}
environment:
  time_of_day: choice(["06:30", "12:00", "19:00", "23:00"])
events:
  - {type: stalled_vehicle, probability: 0.7, distance_m: "uniform(5, 120)"}
"""
TTC_BAND = """require:
  - "not events[0].occurs or (events[0].ttc_s > 1.5 and events[0].ttc_s < 4)"
  - "ego.speed_m_s >= 8 and environment.time_of_day != '23:00'"
"""


def test_every_accepted_sample_meets_its_constraints() -> None:
    scenario = load_scenario_text(BASE + TTC_BAND, "ttc.yaml")
    attempts = []
    for i in range(40):
        spec = sample_scene(scenario, i, 11, 40)
        event = spec.events[0]
        speed = spec.ego_speed_m_s
        # Time to collision written out here: distance / speed (the event stands still).
        if event.occurs:
            assert 1.5 < event.params["distance_m"] / speed < 4
        assert speed >= 8 and spec.environment.time_of_day != "23:00"
        attempts.append(spec.params["require.attempts"])
    # The constraints reject something (a test of rejection, not of luck) ...
    assert max(attempts) > 1
    # ... and every frame's draws are its own: frame i's draw k is the same whatever n is.
    assert sample_scene(scenario, 3, 11, 40).params == sample_scene(scenario, 3, 11, 40).params


def test_rejection_is_deterministic_per_seed_and_first_draw_is_the_unconstrained_frame() -> None:
    constrained = load_scenario_text(BASE + TTC_BAND)
    free = load_scenario_text(BASE)
    specs = [sample_scene(constrained, i, 5, 20) for i in range(20)]
    assert specs == [sample_scene(constrained, i, 5, 20) for i in range(20)]
    assert specs != [sample_scene(constrained, i, 6, 20) for i in range(20)]
    for i, spec in enumerate(specs):
        if spec.params["require.attempts"] == 1:  # draw 0: exactly what the file alone gives
            unconstrained = sample_scene(free, i, 5, 20)
            assert replace(spec, params={}) == replace(unconstrained, params={})
        else:  # later draws have their own seed
            assert spec.seed != sample_scene(free, i, 5, 20).seed


def test_an_impossible_constraint_fails_naming_file_line_and_text() -> None:
    text = (
        BASE
        + TTC_BAND.replace("ego.speed_m_s >= 8", "ego.speed_m_s > 30")
        + ("require_budget: 50\n")
    )
    scenario = load_scenario_text(text, "impossible.yaml")
    with pytest.raises(ScenarioError) as caught:
        sample_scene(scenario, 0, 0, 1)
    message = str(caught.value)
    line = text.splitlines().index(
        "  - \"ego.speed_m_s > 30 and environment.time_of_day != '23:00'\""
    )
    assert message.startswith(f"impossible.yaml:{line + 1}:5: require[1]: ")
    assert "ego.speed_m_s > 30" in message and "require_budget = 50" in message
    assert "require[1] 0/50" in message and "acceptance rate 0 %" in message


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ("ego.sped_m_s > 3", "unknown name 'ego.sped_m_s' (did you mean 'ego.speed_m_s'?)"),
        ("ego.speed_m_s = 3", "write == to compare"),
        ("ego.speed_m_s + 3", "is a number, expected a condition"),
        ("environment.time_of_day > 3", "'>' compares numbers, found a text"),
        ("events[0].occurs and 3", "'and' takes a flag, found a number"),
        ("__import__('os').system('x')", "unknown function '__import__'"),
        ("(ego.speed_m_s > 3", "expected ')'"),
    ],
)
def test_bad_conditions_are_load_errors_at_their_column(condition: str, problem: str) -> None:
    text = BASE + f'require:\n  - "{condition}"\n'
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, "bad.yaml")
    assert f"bad.yaml:{len(text.splitlines())}:" in str(caught.value)
    assert "require[0]" in str(caught.value) and problem in str(caught.value)


def test_arithmetic_and_chained_comparisons_follow_the_usual_rules() -> None:
    text = BASE + (
        "require:\n"
        '  - "0 < ego.speed_m_s * 3.6 - 20 <= 50"\n'  # km/h band, chained
        '  - "max(ego.speed_m_s, 12) == 12 or not -ego.speed_m_s > -12"\n'
    )
    scenario = load_scenario_text(text)
    for i in range(15):
        speed = sample_scene(scenario, i, 2, 15).ego_speed_m_s
        assert 0 < speed * 3.6 - 20 <= 50


def test_world_quantities_are_the_event_objects_geometry() -> None:
    text = BASE.replace("probability: 0.7", "probability: 1.0") + (
        "require:\n"
        '  - "events[0].in_view_fraction == 1 and events[0].object_distance_m < 25"\n'
        "require_budget: 400\n"
    )
    scenario = load_scenario_text(text)
    with pytest.raises(ValueError, match="reads the built world"):
        sample_scene(scenario, 0, 3, 4)
    for i in range(3):
        spec = sample_scene(scenario, i, 3, 3, world_quantities=event_view_quantities)
        world = build_world(spec)
        stalled = [o for o in world.labelled() if o.event == "stalled_vehicle"]
        assert len(stalled) == 1
        calibration = calibration_from_spec(spec.camera, spec.lidar)
        # Every vertex, projected by the pinhole model written out here, lies in the image.
        T = calibration.T_cam_from_world @ stalled[0].pose_world
        vertices = np.concatenate([np.asarray(p.mesh.vertices) for p in stalled[0].parts])
        cam = vertices @ T[:3, :3].T + T[:3, 3]
        k = calibration.intrinsics
        u = k.fx * cam[:, 0] / cam[:, 2] + k.cx
        v = k.fy * cam[:, 1] / cam[:, 2] + k.cy
        assert (cam[:, 2] > 0).all()
        assert (u >= 0).all() and (u <= spec.camera.width).all()
        assert (v >= 0).all() and (v <= spec.camera.height).all()
        quantities = event_view_quantities(spec)
        assert quantities["events[0].object_distance_m"] < 25
        # The ego-lane vehicle stands about distance_m ahead: its centre is that far, give
        # or take its half length and the camera's height.
        assert math.isclose(
            quantities["events[0].object_distance_m"],
            spec.events[0].params["distance_m"],
            abs_tol=3,
        )


def test_an_event_that_does_not_occur_has_no_object() -> None:
    scenario = load_scenario_text(BASE.replace("probability: 0.7", "probability: 0.0"))
    quantities = event_view_quantities(sample_scene(scenario, 0, 0, 1))
    assert quantities == {
        "events[0].in_view_fraction": 0.0,
        "events[0].in_view": False,
        "events[0].object_distance_m": math.inf,
    }


def test_require_is_standard_yaml_under_the_published_schema() -> None:
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    data = yaml.safe_load(BASE + TTC_BAND + "require_budget: 20\n")
    assert [e.message for e in validator.iter_errors(data)] == []
    data["require"] = ["ego.speed_m_s > 3;"]
    assert list(validator.iter_errors(data))
