"""Scenario files are standard YAML that a standard validator accepts with `scenegen schema`.

Each shipped scenario and each ```yaml block of the README is read with PyYAML's
``yaml.safe_load`` and checked with ``jsonschema`` against the published schema, as an
editor or CI job outside scenegen would. Older files with unquoted expressions in flow
mappings still load, to the same scenario, with a warning naming the line to quote.
"""

from __future__ import annotations

import re
import warnings

import jsonschema
import pytest
import yaml
from conftest import REPO, SCENARIOS

from scenegen.errors import ScenarioWarning
from scenegen.scenario import load_scenario, load_scenario_text, sample_scene
from scenegen.scenario.json_schema import scenario_json_schema

# The README's scenario files (its other YAML blocks are detector and bench configs).
README_YAML = [
    block
    for block in re.findall(r"^```yaml\n(.*?)^```", (REPO / "README.md").read_text(), re.S | re.M)
    if re.search(r"^version:", block, re.M)
]
FILES = {p.name: p.read_text() for p in SCENARIOS} | {
    f"README.md yaml block {i + 1}": block for i, block in enumerate(README_YAML)
}
# An unquoted expression in a flow mapping, as files written for older versions have it.
_QUOTED_IN_FLOW = re.compile(
    r"""(?<=: )(["'])((?:uniform|normal|truncnormal|randint|choice)\(.*?\))\1"""
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_there_are_files_to_check() -> None:
    assert len(SCENARIOS) == 16 and README_YAML


@pytest.mark.parametrize("name", sorted(FILES))
def test_file_is_standard_yaml_valid_under_the_published_schema(
    name: str, validator: jsonschema.Draft202012Validator
) -> None:
    data = yaml.safe_load(FILES[name])
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)  # nothing needs the legacy reading
        load_scenario_text(FILES[name])


def _legacy(text: str) -> str:
    """``text`` with the quotes around flow-mapping expressions removed."""
    lines = [
        _QUOTED_IN_FLOW.sub(r"\2", line) if "{" in line else line for line in text.splitlines()
    ]
    return "\n".join(lines) + "\n"


def test_the_schema_rejects_what_only_scenegen_reads(
    validator: jsonschema.Draft202012Validator,
) -> None:
    """The schema is not permissive: unquoted flow expressions and typos fail it."""
    legacy = _legacy((REPO / "scenarios" / "clear_day_urban.yaml").read_text())
    # {count: randint(6, 14)} is split at the comma: a key " 14)" the schema refuses.
    assert list(validator.iter_errors(yaml.safe_load(legacy)))
    data = yaml.safe_load(FILES["clear_day_urban.yaml"])
    for bad in (
        {**data, "road": {"type": "motorway"}},
        {**data, "road": {"lanes": "randint(2, 4"}},  # no closing parenthesis
        {**data, "road": {"lanes": "uniform(2, 4)"}},  # an integer key
        {**data, "road": {"sidewalks": "maybe"}},
        {**data, "environment": {"time_of_day": 1290}},  # YAML 1.1's reading of 21:30
    ):
        assert list(validator.iter_errors(bad)), bad


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_legacy_unquoted_file_reads_as_the_quoted_one_with_a_warning_per_value(path, tmp_path):
    quoted_text = path.read_text()
    legacy_text = _legacy(quoted_text)
    n_quoted = sum(len(_QUOTED_IN_FLOW.findall(line)) for line in quoted_text.splitlines())
    assert legacy_text != quoted_text and n_quoted > 0
    legacy_path = tmp_path / path.name
    legacy_path.write_text(legacy_text)
    with pytest.warns(ScenarioWarning) as caught:
        legacy = load_scenario(legacy_path)
    found = [w.message for w in caught if isinstance(w.message, ScenarioWarning)]
    assert len(found) == n_quoted
    for warning in found:  # the position is the value's, and the fix is spelled out
        line = legacy_text.splitlines()[warning.line - 1]
        suggested = warning.message.split("expected it quoted: ", 1)[1]
        value = yaml.safe_load(f"{{key: {suggested}}}")["key"]  # standard YAML reads it whole
        assert line[warning.col - 1 :].startswith(value) and f"unquoted {value!r}" in str(warning)
        assert str(warning).startswith(f"{legacy_path}:{warning.line}:{warning.col}: ")
    quoted = load_scenario(path)
    assert legacy.values == quoted.values and legacy.sweep_axes == quoted.sweep_axes
    n = quoted.default_frames
    for frame in (0, n // 2, n - 1):
        assert sample_scene(legacy, frame, 3, n) == sample_scene(quoted, frame, 3, n)


def test_warning_names_file_line_column_and_key() -> None:
    text = "version: 1\nname: t\nactors:\n  - {class: car, count: randint(1, 3)}\n"
    with pytest.warns(ScenarioWarning) as caught:
        scenario = load_scenario_text(text, "old.yaml")
    assert [str(w.message) for w in caught] == [
        "old.yaml:4:25: actors[0].count: unquoted 'randint(1, 3)' is not standard YAML "
        "(other YAML tools and JSON Schema validators split it), expected it quoted: "
        '"randint(1, 3)"'
    ]
    assert str(scenario.values["actors[0].count"]) == "randint(1, 3)"


@pytest.mark.parametrize(
    "actors",
    [
        "  - class: car\n    count: randint(1, 3)\n",  # block style: a plain string
        '  - {class: car, count: "randint(1, 3)"}\n',
        "  - {class: car, count: 'randint(1, 3)'}\n",
    ],
)
def test_standard_spellings_give_no_warning(actors: str) -> None:
    text = "version: 1\nname: t\nactors:\n" + actors
    assert yaml.safe_load(text)["actors"][0]["count"] == "randint(1, 3)"  # one string to PyYAML
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        scenario = load_scenario_text(text)
    assert str(scenario.values["actors[0].count"]) == "randint(1, 3)"
