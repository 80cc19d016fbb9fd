"""Scenario files: loading, validation errors with exact positions, safety, JSON Schema."""

from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from scenegen.errors import ScenarioError, ScenarioErrors, ScenarioWarning, ScenegenError
from scenegen.scenario import (
    Constant,
    RandInt,
    Scenario,
    load_scenario,
    load_scenario_data,
    load_scenario_text,
    sample_scene,
    scenario_json_schema,
)
from scenegen.scenario.schema import scenario_fields

EXAMPLE = """\
version: 1
name: night-jaywalker                  # required
description: Pedestrian steps out between parked cars at night, light rain.
seed: 7                                # default base seed; --seed overrides
frames: 100                            # default batch size; --frames overrides
road:
  type: urban                          # urban | highway | rural
  lanes: randint(2, 4)                 # total lanes
  lane_width_m: 3.5
  curvature_1_m: uniform(-0.01, 0.01)
  sidewalks: true
ego:
  speed_m_s: uniform(5, 14)
sensors:
  camera: {preset: kitti}              # or width, height, fov_deg, height_m, pitch_deg
  lidar: {preset: hdl64}
environment:
  time_of_day: choice(["21:30", "23:00", "05:45"])   # or sun: {elevation_deg, azimuth_deg}
  cloud_cover: uniform(0.3, 1.0)
  weather:
    fog:  {visibility_m: "uniform(60, 300)"}            # meteorological optical range
    rain: {rate_mm_h: "uniform(0, 8)"}
    snow: {rate_mm_h: 0}
    road_wetness: uniform(0.5, 1.0)
actors:
  - {class: car, count: "randint(6, 14)", parked_fraction: 0.5}
  - {class: pedestrian, count: "randint(0, 6)", placement: sidewalk}
  - {class: cyclist, count: "choice([0, 1, 2])"}
events:
  - {type: jaywalker, probability: 0.8, distance_m: "uniform(8, 30)", from_between_parked: true}
sweep:                                 # optional grid; frames are spread evenly over its cells
  environment.weather.fog.visibility_m: [1000, 200, 100, 50]
"""

HEADER = "version: 1\nname: t\n"


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> tuple[Path, ScenarioError]:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return path, caught.value


# ---------------------------------------------------------------- the example


def test_example_loads_with_every_key(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, EXAMPLE))
    assert isinstance(scenario, Scenario)
    assert scenario.name == "night-jaywalker"
    assert scenario.description.startswith("Pedestrian steps out")
    assert (scenario.default_seed, scenario.default_frames) == (7, 100)
    assert scenario.path == tmp_path / "scenario.yaml"
    assert scenario.values["road.lanes"] == RandInt(2, 4)
    # Quoted in flow mappings, expressions keep their commas and brackets.
    assert str(scenario.values["actors[2].count"]) == "choice([0, 1, 2])"
    assert str(scenario.values["actors[0].count"]) == "randint(6, 14)"
    assert scenario.values["actors[0].parked_fraction"] == Constant(0.5)
    assert scenario.values["events[0].from_between_parked"] == Constant(True)
    assert scenario.actor_classes == ("car", "pedestrian", "cyclist")
    assert scenario.event_types == ("jaywalker",)
    assert scenario.sweep_cells == [
        {"environment.weather.fog.visibility_m": v} for v in (1000.0, 200.0, 100.0, 50.0)
    ]
    assert scenario.camera.width == 1242 and scenario.camera.fx == pytest.approx(721.5377)
    assert scenario.lidar is not None and scenario.lidar.preset == "hdl64"


def test_minimal_file_gets_documented_defaults() -> None:
    scenario = load_scenario_text(HEADER)
    assert scenario.default_seed == 0 and scenario.default_frames == 100
    assert scenario.min_visible_pixels == 25
    assert scenario.sweep_cells == [{}]
    spec = sample_scene(scenario, 0, 0, 1)
    assert spec.road.type == "urban" and spec.road.lanes == 2
    assert spec.road.lane_width_m == 3.5 and spec.ego_speed_m_s == 10.0
    assert spec.environment.weather.fog_visibility_m == float("inf")
    assert spec.environment.time_of_day == "12:00"
    assert spec.camera.preset == "kitti" and spec.lidar is not None
    assert spec.actors == () and spec.events == ()


def test_every_event_type_loads_with_its_defaults() -> None:
    events = scenario_fields().fields["events"].item.variants  # type: ignore[union-attr]
    text = HEADER + "events:\n" + "".join(f"  - {{type: {name}}}\n" for name in events)
    scenario = load_scenario_text(text)
    spec = sample_scene(scenario, 0, 3, 1)
    assert [e.type for e in spec.events] == list(events)
    for event in spec.events:
        assert 2.0 <= event.params["distance_m"] <= 150.0
        assert event.occurs  # default probability 1.0


def test_scenario_pickles_for_worker_processes(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, EXAMPLE))
    clone = pickle.loads(pickle.dumps(scenario))
    assert clone == scenario
    assert sample_scene(clone, 5, 7, 100) == sample_scene(scenario, 5, 7, 100)


def test_key_order_in_the_file_does_not_change_the_draws() -> None:
    a = "ego: {speed_m_s: 'uniform(5, 14)'}\nroad: {curvature_1_m: 'uniform(-0.01, 0.01)'}\n"
    b = "road: {curvature_1_m: 'uniform(-0.01, 0.01)'}\nego: {speed_m_s: 'uniform(5, 14)'}\n"
    spec_a = sample_scene(load_scenario_text(HEADER + a), 0, 1, 1)
    spec_b = sample_scene(load_scenario_text(HEADER + b), 0, 1, 1)
    assert spec_a == spec_b


# ---------------------------------------------------------------- errors, with exact positions

MALFORMED = [
    # (id, body after the header, line, col, key path, words the message must contain)
    ("unknown key", "road: {lanse: 2}\n", 3, 8, "road.lanse", "did you mean 'lanes'"),
    # Values outside a key's options get the same hint as keys, typos and known synonyms.
    ("option typo", "road: {type: hihgway}\n", 3, 14, "road.type", "did you mean 'highway'"),
    ("option synonym", "road: {type: motorway}\n", 3, 14, "road.type", "did you mean 'highway'"),
    (
        "class synonym",
        "actors:\n  - {class: bicycle}\n",
        4,
        13,
        "actors[0].class",
        "did you mean 'cyclist'",
    ),
    (
        "event type typo",
        "events:\n  - {type: jaywalking}\n",
        4,
        12,
        "events[0].type",
        "did you mean 'jaywalker'",
    ),
    (
        "option typo in choice",
        'actors:\n  - class: car\n    placement: choice(["road", "sidwalk"])\n',
        5,
        16,
        "actors[0].placement",
        "did you mean 'sidewalk'",
    ),
    (
        "option typo in sweep",
        "sweep:\n  road.type: [urban, rurl]\n",
        4,
        22,
        "sweep.road.type[1]",
        "did you mean 'rural'",
    ),
    ("out of range", "road:\n  lanes: 9\n", 4, 10, "road.lanes", "[1, 8]"),
    (
        "support leaves range",
        "environment:\n  weather:\n    fog: {visibility_m: 'uniform(-5, 10)'}\n",
        5,
        25,
        "environment.weather.fog.visibility_m",
        "within [5, 100000]",
    ),
    ("low > high", "ego:\n  speed_m_s: uniform(14, 5)\n", 4, 22, "ego.speed_m_s", "low <= high"),
    (
        "negative std",
        "ego:\n  speed_m_s: truncnormal(10, -2, 0, 20)\n",
        4,
        30,
        "ego.speed_m_s",
        "std",
    ),
    (
        "unknown function",
        "ego:\n  speed_m_s: gauss(1, 2)\n",
        4,
        14,
        "ego.speed_m_s",
        "unknown function 'gauss'",
    ),
    ("wrong arity", "ego:\n  speed_m_s: uniform(1)\n", 4, 14, "ego.speed_m_s", "missing high"),
    ("syntax", "ego:\n  speed_m_s: uniform(1,, 2)\n", 4, 24, "ego.speed_m_s", "expected a value"),
    (
        "weights mismatch",
        "actors:\n  - class: car\n    count: choice([1, 2], weights=[1])\n",
        5,
        35,
        "actors[0].count",
        "one weight per option",
    ),
    (
        "unbounded normal",
        "ego:\n  speed_m_s: normal(10, 2)\n",
        4,
        14,
        "ego.speed_m_s",
        "truncnormal",
    ),
    ("wrong type", "road:\n  sidewalks: 3\n", 4, 14, "road.sidewalks", "true or false"),
    (
        "list for number",
        "actors:\n  - {class: van, count: [3]}\n",
        4,
        25,
        "actors[0].count",
        "found a list",
    ),
    (
        "non-finite",
        "environment:\n  cloud_cover: .nan\n",
        4,
        16,
        "environment.cloud_cover",
        "finite",
    ),
    ("integer expected", "frames: 2.5\n", 3, 9, "frames", "integer"),
    ("enum", "road: {type: motorway}\n", 3, 14, "road.type", "urban, highway, rural"),
    (
        "bad clock",
        "environment: {time_of_day: '24:10'}\n",
        3,
        28,
        "environment.time_of_day",
        "HH:MM",
    ),
    ("duplicate key", "road:\n  lanes: 2\n  lanes: 3\n", 5, 3, "road.lanes", "duplicate key"),
    ("unknown event", "events:\n  - {type: meteor}\n", 4, 12, "events[0].type", "jaywalker"),
    (
        "count limit",
        "actors:\n  - {class: car, count: 'randint(0, 500)'}\n",
        4,
        25,
        "actors[0].count",
        "[0, 200]",
    ),
    ("frames limit", "frames: 1000001\n", 3, 9, "frames", "1000000"),
    (
        "image limit",
        "sensors:\n  camera: {width: 9000, height: 100, fov_deg: 60}\n",
        4,
        19,
        "sensors.camera.width",
        "8192",
    ),
    (
        "lidar rays",
        "sensors:\n  lidar: {preset: os1-128, azimuth_steps: 40000}\n",
        4,
        43,
        "sensors.lidar.azimuth_steps",
        "4000000",
    ),
    (
        "parked pedestrian",
        "actors:\n  - {class: pedestrian, parked_fraction: 0.3}\n",
        4,
        42,
        "actors[0].parked_fraction",
        "cannot park",
    ),
    (
        "sweep parks a pedestrian",
        "actors:\n  - {class: pedestrian}\nsweep:\n  actors[0].placement: [sidewalk, parked]\n",
        6,
        35,
        "sweep.actors[0].placement[1]",
        "cannot be parked",
    ),
    (
        "sweep unknown path",
        "sweep:\n  road.widht_m: [3, 4]\n",
        4,
        3,
        "sweep.road.widht_m",
        "unknown key",
    ),
    ("sweep bad value", "sweep:\n  road.lanes: [2, 12]\n", 4, 19, "sweep.road.lanes[1]", "[1, 8]"),
    (
        "sweep cells",
        "sweep:\n  road.lanes: [1, 2, 3, 4, 5, 6, 7, 8]\n"
        "  ego.speed_m_s: [" + ", ".join(str(v) for v in range(70)) + "]\n"
        "  road.lane_width_m: [3, 3.5, 4, 4.5, 5]\n"
        "  environment.cloud_cover: [0, 0.25, 0.5, 1]\n",
        4,
        3,
        "sweep",
        "10000",
    ),
    (
        "sun and clock",
        "environment:\n  time_of_day: '12:00'\n  sun: {elevation_deg: 10}\n",
        5,
        8,
        "environment.sun",
        "one of them",
    ),
    (
        "missing class",
        "actors:\n  - {count: 2}\n",
        4,
        5,
        "actors[0].class",
        "missing required key 'class'",
    ),
]


@pytest.mark.parametrize(
    ("body", "line", "col", "key_path", "words"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_file_names_line_column_and_key(
    tmp_path: Path, body: str, line: int, col: int, key_path: str, words: str
) -> None:
    path, error = load_error(tmp_path, HEADER + body)
    assert str(error).startswith(f"{path}:{line}:{col}: {key_path}: "), str(error)
    assert words in error.message
    assert (error.file, error.line, error.col, error.key_path) == (str(path), line, col, key_path)
    assert isinstance(error, ScenegenError)


def test_missing_required_keys_and_wrong_version(tmp_path: Path) -> None:
    path, error = load_error(tmp_path, "version: 2\n")
    assert isinstance(error, ScenarioErrors)
    lines = str(error).splitlines()
    assert (
        lines[0] == f"{path}:1:1: name: missing required key 'name', expected letters, "
        "digits, '.', '_' or '-', starting with a letter or digit, at most 64 "
        "characters"
    )
    assert lines[1].startswith(f"{path}:1:10: version: 2 is out of range")


def test_all_errors_of_a_file_are_reported_in_file_order(tmp_path: Path) -> None:
    body = textwrap.dedent("""\
        road:
          lanes: 0
          colour: red
        ego: {speed_m_s: "uniform(5, 100)"}
        actors:
          - {class: dragon}
        """)
    path, error = load_error(tmp_path, HEADER + body)
    assert isinstance(error, ScenarioErrors)
    positions = [(e.line, e.col, e.key_path) for e in error.errors]
    assert positions == [
        (4, 10, "road.lanes"),
        (5, 3, "road.colour"),
        (6, 18, "ego.speed_m_s"),
        (8, 13, "actors[0].class"),
    ]
    assert all(line.startswith(f"{path}:") for line in str(error).splitlines())


def test_yaml_syntax_error_position(tmp_path: Path) -> None:
    path, error = load_error(tmp_path, HEADER + "road: {lanes: 2\nego: {}\n")
    assert str(error).startswith(f"{path}:4:4: <yaml>: YAML syntax error")


@pytest.mark.parametrize(
    ("data", "line", "col", "words"),
    [
        (b"", 1, 1, "empty"),
        (b"# only a comment\n", 1, 1, "empty"),
        (b"version: 1\nname: \xff\xfe\n", 2, 7, "not valid UTF-8"),
        (b"version: 1\x00\x01\x02binary", 1, 11, "NUL"),
        (b"version: 1\nname: a\x07b\n", 2, 8, "control character"),
        (b"- 1\n- 2\n", 1, 1, "expected a mapping"),
    ],
)
def test_unreadable_files(tmp_path: Path, data: bytes, line: int, col: int, words: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(data)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}:{line}:{col}: ")
    assert words in str(caught.value)


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "nope.yaml")


def test_resource_limits(tmp_path: Path) -> None:
    big = HEADER + "description: '" + "x" * (1024 * 1024) + "'\n"
    with pytest.raises(ScenarioError, match="larger than 1048576 bytes"):
        load_scenario(write(tmp_path, big))
    deep = HEADER + "road: " + "[" * 40 + "]" * 40 + "\n"
    path, error = load_error(tmp_path, deep)
    assert str(error).startswith(f"{path}:3:38: <yaml>: YAML nests deeper than 32 levels")
    long_expression = HEADER + "ego: {speed_m_s: 'uniform(1, 2" + " " * 1000 + ")'}\n"
    with pytest.raises(ScenarioError, match="at most 1000"):
        load_scenario_text(long_expression)
    nested = HEADER + "ego: {speed_m_s: 'choice(" + "[" * 40 + "1" + "]" * 40 + ")'}\n"
    with pytest.raises(ScenarioError, match="deeper than 32"):
        load_scenario_text(nested)


def test_alias_bomb_and_recursive_alias_are_harmless() -> None:
    bomb = HEADER + "".join(
        f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9 if i else ["1"] * 9) + "]\n"
        for i in range(10)
    )
    with pytest.raises(ScenarioErrors) as caught:  # unknown keys, not a billion lists
        load_scenario_text(bomb)
    assert {e.key_path for e in caught.value.errors} == {f"x{i}" for i in range(10)}
    with pytest.raises(ScenarioError, match=r"actors\[0\]: found a list"):
        load_scenario_text(HEADER + "actors: &a [*a]\n")


# ---------------------------------------------------------------- nothing in a file runs


def test_python_tag_is_rejected_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    body = f'road: !!python/object/apply:os.system ["touch {marker}"]\n'
    path, error = load_error(tmp_path, HEADER + body)
    assert str(error).startswith(
        f"{path}:3:7: road: YAML tag !!python/object/apply:os.system is not allowed"
    )
    assert not marker.exists()
    # A tag on the whole document, or any custom tag, is refused the same way.
    with pytest.raises(ScenarioError, match=r"^f.yaml:1:1: <root>: YAML tag"):
        load_scenario_text(f'!!python/object/apply:os.system ["touch {marker}"]\n', "f.yaml")
    with pytest.raises(ScenarioError, match=r"^f.yaml:3:14: road.type: YAML tag !custom"):
        load_scenario_text(HEADER + "road: {type: !custom urban}\n", "f.yaml")
    assert not marker.exists()


def test_python_expression_is_a_grammar_error_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    body = f"road:\n  lanes: __import__('os').system('touch {marker}')\n"
    path, error = load_error(tmp_path, HEADER + body)
    assert str(error).startswith(f"{path}:4:10: road.lanes: bad expression")
    assert "unknown function '__import__'" in error.message
    for text in (
        f"road: {{type: \"__import__('os').system('touch {marker}')\"}}\n",
        f'environment: {{time_of_day: "eval(\'open(\\"{marker}\\", \\"w\\")\')"}}\n',
    ):
        with pytest.raises(ScenarioError, match="unknown function"):
            load_scenario_text(HEADER + text)
    assert not marker.exists()


def test_standard_tags_and_yaml_spellings_are_accepted() -> None:
    text = HEADER + "seed: 0x10\nroad: {type: !!str urban, lanes: !!int '3', sidewalks: no}\n"
    scenario = load_scenario_text(text)
    assert scenario.default_seed == 16
    assert scenario.values["road.lanes"] == Constant(3)
    assert scenario.values["road.sidewalks"] == Constant(False)
    # Unquoted HH:MM stays a clock time (not YAML 1.1's sexagesimal 1290), with a warning
    # to quote it: PyYAML and the JSON Schema see the integer 1290.
    text = HEADER + "environment: {time_of_day: 21:30}\n"
    assert yaml.safe_load(text)["environment"]["time_of_day"] == 1290
    with pytest.warns(ScenarioWarning, match=r'^<string>:3:28: environment.time_of_day: .*"21:30"'):
        spec = sample_scene(load_scenario_text(text), 0, 0, 1)
    assert spec.environment.time_of_day == "21:30"


# ---------------------------------------------------------------- user meshes


def test_mesh_paths_must_stay_in_the_scenario_folder(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    (folder / "meshes").mkdir(parents=True)
    mesh = folder / "meshes" / "deer.glb"
    mesh.write_bytes(b"glTF")
    (tmp_path / "outside.glb").write_bytes(b"glTF")
    ok = (
        HEADER + "actors:\n  - {class: animal, mesh: meshes/deer.glb}\n"
        f"  - {{class: animal, mesh: {mesh}}}\n"
    )
    scenario = load_scenario(write(folder, ok))
    assert scenario.user_meshes == {"animal": str(mesh.resolve())}
    for bad, words in [
        ("../outside.glb", "leaves the scenario's folder"),
        (str(tmp_path / "outside.glb"), "leaves the scenario's folder"),
        ("meshes/../../outside.glb", "leaves the scenario's folder"),
        ("meshes/missing.glb", "not found"),
        ("meshes/deer.fbx", ".glb or .obj"),
    ]:
        path, error = load_error(
            folder, HEADER + f"actors:\n  - {{class: animal, mesh: '{bad}'}}\n"
        )
        assert str(error).startswith(f"{path}:4:27: actors[0].mesh: "), str(error)
        assert words in error.message
    link = folder / "link.glb"
    link.symlink_to(tmp_path / "outside.glb")
    _, error = load_error(folder, HEADER + "actors:\n  - {class: animal, mesh: link.glb}\n")
    assert "leaves the scenario's folder" in error.message


# ---------------------------------------------------------------- JSON Schema


def test_json_schema_is_valid_and_accepts_the_example() -> None:
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator = jsonschema.Draft202012Validator(schema)
    data = load_scenario_data(EXAMPLE)
    assert list(validator.iter_errors(data)) == []
    # The schema is not trivially permissive: the loader's errors are its errors too.
    for bad in (
        {**data, "colour": "red"},
        {**data, "version": 2},
        {**data, "road": {**data["road"], "lanes": 2.5}},
        {**data, "actors": [{"class": "dragon"}]},
        {**data, "events": [{"type": "jaywalker", "kind": "box"}]},
    ):
        assert list(validator.iter_errors(bad)), bad


def test_json_schema_describes_every_key_and_numbers_accept_expressions() -> None:
    schema = scenario_json_schema()

    def walk(node: dict, path: str) -> None:
        for key, child in node.get("properties", {}).items():
            assert child.get("description"), f"{path}.{key} has no description"
            walk(child, f"{path}.{key}")
        for alternative in node.get("oneOf", []):
            walk(alternative, path)
        if "items" in node:
            walk(node["items"], path + "[]")

    walk(schema, "")
    lanes = schema["properties"]["road"]["properties"]["lanes"]
    assert lanes["default"] == 2
    assert [alt.get("type") for alt in lanes["oneOf"]] == ["integer", "string"]
    validator = jsonschema.Draft202012Validator({**lanes, "$schema": schema["$schema"]})
    assert validator.is_valid("randint(2, 4)") and validator.is_valid(3)
    assert not validator.is_valid("uniform(2, 4)")  # not an integer distribution


# ---------------------------------------------------------------- sampling the example


def test_example_samples_stay_in_each_distribution_support(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, EXAMPLE))
    n_frames = 200
    for frame in range(n_frames):
        spec = sample_scene(scenario, frame, 7, n_frames)
        cell = scenario.sweep_cells[scenario.sweep_cell_index(frame, n_frames)]
        for path, distribution in scenario.values.items():
            value = spec.params[path]
            if path in cell:
                assert value == cell[path]
            elif distribution.values() is not None:
                assert value in distribution.values(), path
            else:
                low, high = distribution.support()
                assert low <= value <= high, (path, value)
        assert 2 <= spec.road.lanes <= 4
        assert 6 <= spec.actors[0].count <= 14 and spec.actors[2].count in (0, 1, 2)
        assert spec.environment.time_of_day in ("21:30", "23:00", "05:45")
        assert (
            spec.environment.weather.fog_visibility_m
            == cell["environment.weather.fog.visibility_m"]
        )
        assert spec.events[0].occurs == spec.params["events[0].occurs"]
        assert 8 <= spec.events[0].params["distance_m"] <= 30
        plain = json.loads(json.dumps([spec.params, spec.sweep_cell], allow_nan=False))
        assert plain == [spec.params, spec.sweep_cell]  # plain JSON types, nothing lost


def test_same_seed_same_spec_and_frames_differ(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, EXAMPLE))
    again = load_scenario(write(tmp_path, EXAMPLE, "copy.yaml"))
    first = [sample_scene(scenario, i, 7, 100) for i in range(10)]
    assert first == [sample_scene(again, i, 7, 100) for i in range(10)]
    speeds = {spec.ego_speed_m_s for spec in first}
    assert len(speeds) == 10  # every frame draws its own values
    assert len({spec.seed for spec in first}) == 10
    assert sample_scene(scenario, 0, 8, 100) != first[0]  # another base seed, another scene


def test_sweep_spreads_frames_evenly_over_cells(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, EXAMPLE))
    for n_frames in (100, 10, 7, 4):
        visibilities = [
            sample_scene(scenario, i, 7, n_frames).environment.weather.fog_visibility_m
            for i in range(n_frames)
        ]
        counts = [visibilities.count(v) for v in (1000.0, 200.0, 100.0, 50.0)]
        assert sum(counts) == n_frames and max(counts) - min(counts) <= 1
        assert visibilities == sorted(visibilities, reverse=True)  # cells in order, contiguous
    spec = sample_scene(scenario, 99, 7, 100)
    assert spec.sweep_cell == {"environment.weather.fog.visibility_m": 50.0}


def test_two_axis_sweep_is_a_cartesian_product() -> None:
    text = (
        HEADER + "sweep:\n  road.type: [urban, rural]\n"
        "  environment.sun.elevation_deg: [30, 'uniform(-20, -10)', -5]\n"
    )
    scenario = load_scenario_text(text)
    assert scenario.sweep_cells == [
        {"road.type": t, "environment.sun.elevation_deg": e}
        for t in ("urban", "rural")
        for e in (30.0, "uniform(-20, -10)", -5.0)
    ]
    specs = [sample_scene(scenario, i, 1, 6) for i in range(6)]
    assert [s.road.type for s in specs] == ["urban"] * 3 + ["rural"] * 3
    assert specs[0].environment.sun_elevation_deg == 30.0
    assert -20 <= specs[1].environment.sun_elevation_deg <= -10
    assert specs[0].environment.sun_azimuth_deg == 180.0  # sun's default azimuth
    assert specs[0].environment.time_of_day is None


def test_json_schema_defaults_satisfy_their_own_schemas() -> None:
    schema = scenario_json_schema()
    checked = 0

    def walk(node: dict) -> None:
        nonlocal checked
        if "default" in node:
            validator = jsonschema.Draft202012Validator(node)
            assert validator.is_valid(node["default"]), node
            checked += 1
        for child in node.get("properties", {}).values():
            walk(child)
        for alternative in node.get("oneOf", []):
            walk(alternative)
        if isinstance(node.get("items"), dict):
            walk(node["items"])

    walk(schema)
    assert checked > 50
