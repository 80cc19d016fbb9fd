"""Scenario files: format, validation, distributions and sampling.

A scenario file (YAML, format version 1) describes a *distribution* of driving scenes:
road, ego speed, sensors, light, weather, traffic and rare events, where any value that
may vary is written as an expression such as ``uniform(60, 300)``. ::

    scenario = load_scenario("scenarios/night-jaywalker.yaml")   # validates everything
    spec = sample_scene(scenario, frame_index=0, base_seed=7, n_frames=100)

Modules:

* :mod:`~scenegen.scenario.schema`: the key table (one source of truth: the validator,
  the JSON Schema and the sampled spec derive from it), built from the key kinds of
  :mod:`~scenegen.scenario.fields`;
* :mod:`~scenegen.scenario.json_schema`: :func:`scenario_json_schema`, the table as a
  JSON Schema for standard YAML tools;
* :mod:`~scenegen.scenario.yaml_reader`: safe YAML reading (size, syntax, depth, tags),
  nothing constructed, warnings for legacy unquoted expressions; :func:`load_scenario_data`
  for tools;
* :mod:`~scenegen.scenario.validator`: a YAML node tree checked against the key table with
  ``FILE:LINE:COL: key.path: message`` errors;
* :mod:`~scenegen.scenario.leaves`: one value checked against its key (type, range,
  options, expressions); :mod:`~scenegen.scenario.context`: where the errors go and how
  they are worded;
* :mod:`~scenegen.scenario.loader`: :func:`load_scenario`, the checks that span keys and
  the assembly of the :class:`Scenario`;
* :mod:`~scenegen.scenario.expr` and :mod:`~scenegen.scenario.distributions`: the
  expression grammar and the distributions it builds;
* :mod:`~scenegen.scenario.presets`: camera/LiDAR presets and the sun model;
* :mod:`~scenegen.scenario.model`: :class:`Scenario`;
* :mod:`~scenegen.scenario.sampling`: :func:`sample_scene` and :func:`frame_seed`;
* :mod:`~scenegen.scenario.spec`: :class:`SceneSpec`, the concrete sample.
"""

from scenegen.scenario.distributions import (
    Choice,
    Constant,
    Distribution,
    Normal,
    RandInt,
    TruncNormal,
    Uniform,
)
from scenegen.scenario.json_schema import scenario_json_schema
from scenegen.scenario.loader import load_scenario, load_scenario_text
from scenegen.scenario.model import Scenario, SweepAxis
from scenegen.scenario.sampling import frame_seed, sample_scene
from scenegen.scenario.spec import SceneSpec
from scenegen.scenario.yaml_reader import load_scenario_data

__all__ = [
    "Choice",
    "Constant",
    "Distribution",
    "Normal",
    "RandInt",
    "Scenario",
    "SceneSpec",
    "SweepAxis",
    "TruncNormal",
    "Uniform",
    "frame_seed",
    "load_scenario",
    "load_scenario_data",
    "load_scenario_text",
    "sample_scene",
    "scenario_json_schema",
]
