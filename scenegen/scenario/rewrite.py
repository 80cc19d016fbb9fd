"""Scenario files written from scenario files: the same file with some keys replaced.

A parameter search reports what it found as scenarios: one per failure with the failing
values as constants (it replays the failure with ``scenegen render --seed``), and one that
samples the failure region. :func:`rewrite_scenario` reads the original as plain data,
sets each dotted key path (``environment.weather.fog.visibility_m``, ``actors[0].count``)
to a constant or an expression text such as ``"uniform(20, 80)"``, drops ``sweep`` and
``search`` (the values replace them), makes mesh paths absolute (the new file may live
elsewhere) and dumps YAML. The caller validates the result with
:func:`~scenegen.scenario.loader.load_scenario_text`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from scenegen.scenario.distributions import Scalar
from scenegen.scenario.yaml_reader import load_scenario_data

_SEGMENT = re.compile(r"([a-z_0-9]+)(?:\[([0-9]+)\])?")


def rewrite_scenario(
    path: Path,
    values: Mapping[str, Scalar],
    *,
    name: str,
    description: str,
    frames: int | None = None,
    seed: int | None = None,
) -> str:
    """The YAML text of the scenario at ``path`` with ``values`` set by key path.

    String values that are expressions (``"uniform(1, 2)"``) stay expressions, as in any
    scenario file. Raises ``KeyError`` naming a path that leads through a missing list
    item (the original must hold ``actors[i]`` for ``actors[i].count``).
    """
    path = Path(path)
    data = load_scenario_data(path.read_text(encoding="utf-8"), str(path))
    data.pop("sweep", None)
    data.pop("search", None)
    data["name"] = name
    data["description"] = description
    if frames is not None:
        data["frames"] = frames
    if seed is not None:
        data["seed"] = seed
    for actor in data.get("actors") or []:
        if isinstance(actor, dict) and isinstance(actor.get("mesh"), str):
            actor["mesh"] = str((path.parent / actor["mesh"]).resolve())
    for key, value in values.items():
        _set_path(data, key, value)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _set_path(data: dict[str, Any], key: str, value: Scalar) -> None:
    cursor: Any = data
    segments = key.split(".")
    for position, segment in enumerate(segments):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            raise KeyError(f"{key}: {segment!r} is not a key path segment")
        name, index = match.group(1), match.group(2)
        last = position == len(segments) - 1
        if index is None:
            if last:
                cursor[name] = value
                return
            child = cursor.get(name)
            if not isinstance(child, dict):  # absent (or true/false: an optional block on)
                child = cursor[name] = {}
            cursor = child
            continue
        items = cursor.get(name)
        if not isinstance(items, list) or int(index) >= len(items):
            raise KeyError(f"{key}: the scenario has no {name}[{index}]")
        if last:
            items[int(index)] = value
            return
        cursor = items[int(index)]
