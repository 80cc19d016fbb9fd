"""``require:`` constraints: what they may read, how a file's list is checked, the error
when sampling cannot meet them.

A constraint is a condition (:mod:`scenegen.scenario.condition`) over

* every sampled value by its key path (``ego.speed_m_s``, ``events[0].distance_m``,
  ``environment.weather.fog.visibility_m``, swept keys too) and ``events[i].occurs``;
* quantities derived from the sampled spec (:data:`SPEC_QUANTITIES`): the resolved sun
  elevation, night, and per event its closing speed and time to collision;
* quantities of the built world (:data:`WORLD_QUANTITIES`): the event object's distance
  from the camera and the share of its outline inside the image. They need the world,
  so :func:`~scenegen.scenario.sampling.sample_scene` takes a ``world_quantities``
  function from a layer that can build one (the batch worker passes
  :func:`scenegen.labels.visibility.event_view_quantities`).

:func:`~scenegen.scenario.sampling.sample_scene` enforces them by rejection sampling:
draw, evaluate, accept the first draw that meets every constraint, at most
``require_budget`` draws (:func:`unmet_error` otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from yaml.nodes import Node, ScalarNode, SequenceNode

from scenegen.errors import ScenarioError
from scenegen.scenario.condition import (
    FLAG,
    NUMBER,
    TEXT,
    CondNode,
    Value,
    check_types,
    names_in,
    parse_condition,
)
from scenegen.scenario.context import ValidationContext, clip, did_you_mean, node_kind
from scenegen.scenario.distributions import Distribution
from scenegen.scenario.expr import ExpressionError
from scenegen.scenario.spec import SceneSpec
from scenegen.scenario.yaml_reader import STR

# name -> (type, meaning); per event names are written events[i].NAME.
SPEC_QUANTITIES: Mapping[str, tuple[str, str]] = {
    "sun_elevation_deg": (NUMBER, "sun elevation in degrees, from sun or time_of_day"),
    "is_night": (FLAG, "sun below -6 degrees (civil twilight)"),
}
SPEC_EVENT_QUANTITIES: Mapping[str, tuple[str, str]] = {
    "closing_speed_m_s": (NUMBER, "speed at which the ego closes on the event (its own speed)"),
    "ttc_s": (NUMBER, "time to collision: distance_m / closing_speed_m_s (inf at standstill)"),
}
WORLD_QUANTITIES: Mapping[str, tuple[str, str]] = {
    "object_distance_m": (NUMBER, "camera-to-centre distance of the event object (inf if none)"),
    "in_view_fraction": (
        NUMBER,
        "share of the event object's projected outline inside the image, 0..1 "
        "(geometry only: occlusion by other objects is not counted)",
    ),
    "in_view": (FLAG, "in_view_fraction > 0"),
}
PER_EVENT_DERIVED = {**SPEC_EVENT_QUANTITIES, **WORLD_QUANTITIES}


@dataclass(frozen=True)
class Constraint:
    """One ``require:`` entry: its text, tree and place in the file."""

    index: int
    text: str
    tree: CondNode
    file: str
    line: int
    col: int
    needs_world: bool

    @property
    def key_path(self) -> str:
        return f"require[{self.index}]"


def quantity_types(
    values: Mapping[str, Distribution], swept: Mapping[str, Distribution], n_events: int
) -> dict[str, str]:
    """The type of every name a constraint of this scenario may read."""
    types = {path: _type_of(dist) for path, dist in {**values, **swept}.items()}
    types.update({name: kind for name, (kind, _) in SPEC_QUANTITIES.items()})
    for i in range(n_events):
        types[f"events[{i}].occurs"] = FLAG
        types.pop(f"events[{i}].probability", None)  # describes the event, never drawn
        types.update({f"events[{i}].{n}": kind for n, (kind, _) in PER_EVENT_DERIVED.items()})
    return types


def _type_of(dist: Distribution) -> str:
    options = dist.values()
    if options is None:
        return NUMBER
    first = options[0]
    if isinstance(first, bool):
        return FLAG
    return TEXT if isinstance(first, str) else NUMBER


def resolve_require(
    ctx: ValidationContext, node: Node | None, types: Mapping[str, str]
) -> tuple[Constraint, ...]:
    """Parse and type-check the file's ``require:`` list; problems go to ``ctx``."""
    if node is None:
        return ()
    if not isinstance(node, SequenceNode):
        ctx.error(node, "require", f"found {node_kind(node)}, expected a list of conditions")
        return ()
    constraints = []
    for index, item in enumerate(node.value):
        path = f"require[{index}]"
        if not isinstance(item, ScalarNode) or item.tag != STR or not item.value.strip():
            ctx.error(item, path, f"found {node_kind(item)}, expected a condition as text")
            continue
        text = item.value
        try:
            tree = parse_condition(text)
            kind = check_types(tree, types)
        except ExpressionError as error:
            message = error.message
            if message.startswith("unknown name"):
                unknown = message.split("'")[1]
                message += did_you_mean(unknown, list(types))
                message += (
                    ", expected a sampled key path or a derived quantity ("
                    + ", ".join([*SPEC_QUANTITIES, *(f"events[i].{n}" for n in PER_EVENT_DERIVED)])
                    + ")"
                )
            ctx.error(item, path, f"bad condition {clip(text)!r}: {message}", error.offset)
            continue
        if kind != FLAG:
            ctx.error(item, path, f"{clip(text)!r} is a {kind}, expected a condition (a flag)")
            continue
        needs_world = any(n.path.rsplit(".", 1)[-1] in WORLD_QUANTITIES for n in names_in(tree))
        mark = item.start_mark
        constraints.append(
            Constraint(index, text, tree, ctx.filename, mark.line + 1, mark.column + 1, needs_world)
        )
    return tuple(constraints)


def spec_quantities(spec: SceneSpec) -> dict[str, Value]:
    """Every sampled value of ``spec`` and the quantities derived from it alone."""
    values: dict[str, Value] = dict(spec.params)
    env = spec.environment
    values["sun_elevation_deg"] = float(env.sun_elevation_deg)
    values["is_night"] = bool(env.is_night)
    for i, event in enumerate(spec.events):
        # Events are frozen in a frame: the ego closes on them at its own speed.
        closing = float(spec.ego_speed_m_s)
        distance = float(event.params.get("distance_m", math.inf))
        values[f"events[{i}].closing_speed_m_s"] = closing
        values[f"events[{i}].ttc_s"] = distance / closing if closing > 0 else math.inf
    return values


def unmet_error(
    constraints: tuple[Constraint, ...], failures: list[int], budget: int
) -> ScenarioError:
    """The error when no draw of ``budget`` met every constraint: it names the constraint
    that failed most often (file, line, text) and how often each held."""
    worst = max(range(len(constraints)), key=lambda i: (failures[i], -i))
    constraint = constraints[worst]
    held = ", ".join(
        f"require[{c.index}] {budget - failures[i]}/{budget}" for i, c in enumerate(constraints)
    )
    return ScenarioError(
        constraint.file,
        constraint.line,
        constraint.col,
        constraint.key_path,
        f"{clip(constraint.text)!r} cannot be met: no draw of require_budget = {budget} met "
        f"every constraint (acceptance rate 0 %; held: {held}), expected constraints that "
        "sampling can meet (widen the distributions they read, or raise require_budget)",
    )
