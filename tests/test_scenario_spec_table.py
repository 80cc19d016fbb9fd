"""The key table and the SceneSpec agree: a key added in one place only fails here.

Sampling names each random key's spec field by its key path below its section, joined
by "_" (``environment.weather.fog.visibility_m`` -> ``WeatherSpec.fog_visibility_m``).
These tests check that rule against the dataclasses in both directions, and that a file
giving every random key a value of its own gets exactly those values in the spec.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from scenegen.scenario import load_scenario_text, sample_scene
from scenegen.scenario.fields import (
    BoolField,
    EnumField,
    ListField,
    NumberField,
    ObjectField,
    TextField,
    UnionField,
    random_leaves,
)
from scenegen.scenario.schema import event_fields, scenario_fields, table_section
from scenegen.scenario.spec import (
    ActorGroupSpec,
    CameraSpec,
    EnvironmentSpec,
    RandomizeSpec,
    RoadSpec,
    SceneSpec,
    WeatherSpec,
)

# The table's sections that sampling turns into the spec; events become EventSpec.params.
SAMPLED_SECTIONS = (
    "road",
    "ego",
    "sensors.camera",
    "environment",
    "actors",
    "events",
    "randomize",
)


def _attributes(path: str, skip: tuple[str, ...] = ()) -> set[str]:
    return {
        relative.replace(".", "_")
        for relative, _ in random_leaves(table_section(path))
        if relative.split(".")[0] not in skip
    }


def _field_names(spec_class: type) -> set[str]:
    return {f.name for f in dataclasses.fields(spec_class)}


def test_road_and_weather_specs_are_exactly_their_table_sections() -> None:
    assert _field_names(RoadSpec) == _attributes("road")
    assert _field_names(WeatherSpec) == _attributes("environment.weather")


def test_randomize_spec_is_its_table_section() -> None:
    assert _field_names(RandomizeSpec) == _attributes("randomize")
    spec = sample_scene(
        load_scenario_text("version: 1\nname: r\nrandomize: {focal_jitter: 0.1, distractors: 3}"),
        0,
        0,
        1,
    )
    assert spec.randomize == RandomizeSpec(focal_jitter=0.1, distractors=3)
    assert type(spec.randomize.distractors) is int


def test_environment_spec_is_its_table_section() -> None:
    # heading_deg only turns the clock's sun into the world frame; weather is its own spec.
    table = _attributes("environment", skip=("weather",)) - {"heading_deg"}
    assert _field_names(EnvironmentSpec) == table | {"weather"}


def test_actor_group_spec_is_its_table_section() -> None:
    # The class is fixed per group (not random) and "class" is a Python keyword.
    assert _field_names(ActorGroupSpec) == _attributes("actors") | {"cls"}


def test_camera_and_ego_keys_have_spec_fields() -> None:
    # The camera's other fields come from its preset, resolved when the file is loaded.
    assert _attributes("sensors.camera") <= _field_names(CameraSpec)
    assert {"ego_" + name for name in _attributes("ego")} <= _field_names(SceneSpec)


def test_every_random_key_of_the_table_is_in_a_sampled_section() -> None:
    """A new section (or a random key outside the known ones) would be drawn but dropped."""

    def walk(spec: object, path: str) -> list[str]:
        if isinstance(spec, ObjectField):
            return [p for name, c in spec.fields.items() for p in walk(c, f"{path}.{name}")]
        if isinstance(spec, ListField):
            return walk(spec.item, path)
        if isinstance(spec, UnionField):
            return [p for variant in spec.variants.values() for p in walk(variant, path)]
        random_leaf = isinstance(spec, NumberField | BoolField | EnumField | TextField)
        return [path.lstrip(".")] if random_leaf and spec.random else []

    paths = walk(scenario_fields(), "")
    assert "road.lanes" in paths and "events.distance_m" in paths
    outside = [p for p in paths if not any(p.startswith(s + ".") for s in SAMPLED_SECTIONS)]
    assert outside == []


def _value_for(field: NumberField | BoolField | EnumField | TextField) -> object:
    """An in-range value that differs from the key's default, to see where it lands."""
    if isinstance(field, NumberField):
        value = field.minimum + 0.37 * (field.maximum - field.minimum)
        return round(value) if field.integer else round(value, 3)
    if isinstance(field, BoolField):
        return not field.default
    if isinstance(field, EnumField):
        return next(o for o in reversed(field.options) if o != field.default)
    return "07:45"  # the only random text key is time_of_day


def test_every_value_of_a_file_lands_in_its_spec_field() -> None:
    given: dict[str, object] = {}
    lines = ["version: 1", "name: every-key"]
    for section in ("road", "ego", "environment"):
        for relative, leaf in random_leaves(table_section(section)):
            if relative.startswith("sun."):  # sun and time_of_day exclude each other
                continue
            given[f"{section}.{relative}"] = _value_for(leaf)
    actor_keys = {r: _value_for(leaf) for r, leaf in random_leaves(table_section("actors"))}
    actor_keys.update(placement="road", parked_fraction=0.25)  # a car may park
    debris_keys = {
        r: _value_for(leaf)
        for r, leaf in random_leaves(event_fields("debris"))
        if r != "probability"
    }

    def nested(prefix: str) -> dict:
        tree: dict = {}
        for path, value in given.items():
            if path.startswith(prefix + "."):
                *parents, last = path[len(prefix) + 1 :].split(".")
                node = tree
                for parent in parents:
                    node = node.setdefault(parent, {})
                node[last] = value
        return tree

    for section in ("road", "ego", "environment"):
        lines.append(f"{section}: {json.dumps(nested(section))}")
    lines.append(f"actors: [{json.dumps({'class': 'car', **actor_keys})}]")
    lines.append(f"events: [{json.dumps({'type': 'debris', **debris_keys})}]")
    spec = sample_scene(load_scenario_text("\n".join(lines)), 0, 0, 1)

    def attribute(obj: object, prefix: str, section_given: dict) -> None:
        for relative, value in section_given.items():
            assert getattr(obj, prefix + relative.replace(".", "_")) == pytest.approx(value)

    flat = {section: {} for section in ("road", "ego", "environment")}
    for path, value in given.items():
        section, relative = path.split(".", 1)
        flat[section][relative] = value
    weather = {
        k.split(".", 1)[1]: v for k, v in flat["environment"].items() if k.startswith("weather.")
    }
    light = {
        k: v
        for k, v in flat["environment"].items()
        if not k.startswith("weather.") and k != "heading_deg"
    }
    attribute(spec.road, "", flat["road"])
    attribute(spec, "ego_", flat["ego"])
    attribute(spec.environment, "", light)
    attribute(spec.environment.weather, "", weather)
    attribute(spec.actors[0], "", actor_keys)
    assert spec.events[0].params == pytest.approx(debris_keys)
    assert type(spec.road.lanes) is int and type(spec.road.lane_width_m) is float
