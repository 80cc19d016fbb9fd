"""Sampling: one frame of a scenario -> one concrete ``SceneSpec``.

Frame ``i`` of a batch of ``n`` frames with base seed ``s``:

1. its generator is ``np.random.default_rng(np.random.SeedSequence([s, i]))`` and its
   seed (``SceneSpec.seed``) is :func:`frame_seed` ``(s, i)``;
2. it belongs to sweep cell ``i * ncells // n``, whose values replace the file's;
3. every value of ``Scenario.values`` is drawn in order (constants draw nothing), then
   one uniform number per event decides whether it ``occurs`` (``u < probability``);
4. the draws are assembled into a frozen ``SceneSpec`` by the key table
   (:func:`section_values`: each random key of ``road``, ``ego``, ``sensors.camera``,
   ``environment``, ``actors[i]`` and ``events[i]`` lands in the spec field its path
   names), presets applied, the sun placed from ``time_of_day`` (see
   :mod:`scenegen.scenario.presets`) or ``sun``, and every drawn value recorded in
   ``params`` under its key path (plus ``events[i].occurs``).

With ``require:`` constraints (:mod:`scenegen.scenario.require`) this is rejection
sampling: draw ``k`` (0, 1, ...) uses ``SeedSequence([s, i])`` for ``k = 0`` and
``SeedSequence([s, i, k])`` after it (the frame seed likewise), the first draw that meets
every constraint is the frame, its ``params["require.attempts"]`` says how many draws it
took, and no accepted draw within ``require_budget`` is an error naming the constraint.
A scenario without constraints draws exactly as before.

The same scenario, seed, frame index and batch size always give an equal ``SceneSpec``,
whichever process draws it.

A parameter search pins some keys instead: :func:`sample_spec_at` is frame 0 of a batch
of one of the scenario with those keys made constants and its sweep removed
(:func:`pin_values`), so a pinned point replays with ``scenegen render`` of a scenario file
that holds the same constants (:mod:`scenegen.scenario.rewrite`) and the same seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from scenegen.scenario import presets
from scenegen.scenario.condition import Value, evaluate
from scenegen.scenario.distributions import Constant, Scalar
from scenegen.scenario.fields import BoolField, LeafField, NumberField, ObjectField, random_leaves
from scenegen.scenario.model import Scenario
from scenegen.scenario.randomize import randomized
from scenegen.scenario.require import spec_quantities, unmet_error
from scenegen.scenario.schema import event_fields, table_section
from scenegen.scenario.spec import (
    ActorGroupSpec,
    EnvironmentSpec,
    EventSpec,
    RandomizeSpec,
    RoadSpec,
    SceneSpec,
    WeatherSpec,
)


def frame_seed(base_seed: int, frame_index: int) -> int:
    """The seed of frame ``frame_index`` of a batch: an int in [0, 2**32)."""
    state = np.random.SeedSequence([base_seed, frame_index]).generate_state(1, dtype=np.uint32)
    return int(state[0])


WorldQuantities = Callable[[SceneSpec], Mapping[str, Value]]


def sample_scene(
    scenario: Scenario,
    frame_index: int,
    base_seed: int,
    n_frames: int,
    world_quantities: WorldQuantities | None = None,
) -> SceneSpec:
    """Draw frame ``frame_index`` (of ``n_frames``) of ``scenario`` with ``base_seed``.

    ``world_quantities`` gives the quantities of a spec's built world
    (:data:`~scenegen.scenario.require.WORLD_QUANTITIES`); it is needed only when a
    constraint reads one. Raises :class:`~scenegen.errors.ScenarioError` when no draw
    within ``require_budget`` meets every constraint.
    """
    _check_frame(frame_index, base_seed, n_frames)
    constraints = scenario.require
    if not constraints:
        return _draw(scenario, frame_index, base_seed, n_frames, 0)
    needs_world = [c for c in constraints if c.needs_world]
    if needs_world and world_quantities is None:
        raise ValueError(
            f"{needs_world[0].key_path} {needs_world[0].text!r} reads the built world, "
            "expected sample_scene(..., world_quantities=event_view_quantities) "
            "(scenegen.labels.visibility)"
        )
    failures = [0] * len(constraints)
    for attempt in range(scenario.require_budget):
        spec = _draw(scenario, frame_index, base_seed, n_frames, attempt)
        values = spec_quantities(spec)
        if world_quantities is not None and needs_world:
            values.update(world_quantities(spec))
        held = [bool(evaluate(c.tree, values)) for c in constraints]
        if all(held):
            return replace(spec, params={**spec.params, "require.attempts": attempt + 1})
        for index, ok in enumerate(held):
            failures[index] += not ok
    raise unmet_error(constraints, failures, scenario.require_budget)


def _check_frame(frame_index: int, base_seed: int, n_frames: int) -> None:
    if n_frames < 1:
        raise ValueError(f"n_frames is {n_frames}, expected at least 1")
    if not 0 <= frame_index < n_frames:
        raise ValueError(f"frame_index is {frame_index}, expected 0 <= frame_index < {n_frames}")
    if base_seed < 0:
        raise ValueError(f"base_seed is {base_seed}, expected a seed >= 0")


def _draw(
    scenario: Scenario, frame_index: int, base_seed: int, n_frames: int, attempt: int
) -> SceneSpec:
    """Draw ``attempt`` of one frame; draw 0 is the frame of a scenario without constraints."""
    entropy = [base_seed, frame_index] if attempt == 0 else [base_seed, frame_index, attempt]
    sequence = np.random.SeedSequence(entropy)
    seed = int(sequence.generate_state(1, dtype=np.uint32)[0])
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    cell_index = scenario.sweep_cell_index(frame_index, n_frames)
    overrides = scenario.sweep_overrides(cell_index)
    drawn: dict[str, Any] = {}
    for path, value in scenario.values.items():
        drawn[path] = overrides.get(path, value).sample(rng)
    for path, value in overrides.items():  # swept keys the file leaves out (e.g. fog)
        if path not in drawn:
            drawn[path] = value.sample(rng)
    events = []
    for index, event_type in enumerate(scenario.event_types):
        params = section_values(drawn, f"events[{index}]", event_fields(event_type))
        probability = params.pop("probability")  # describes the event, not a parameter
        events.append(EventSpec(event_type, bool(rng.random() < probability), params))
    params = dict(drawn)
    params.update({f"events[{i}].occurs": event.occurs for i, event in enumerate(events)})
    spec = SceneSpec(
        scenario_name=scenario.name,
        frame_index=frame_index,
        seed=seed,
        road=RoadSpec(**section_values(drawn, "road")),
        camera=replace(scenario.camera, **section_values(drawn, "sensors.camera")),
        lidar=scenario.lidar,
        environment=_environment(drawn),
        actors=tuple(
            ActorGroupSpec(
                cls=cls, **section_values(drawn, f"actors[{i}]", table_section("actors"))
            )
            for i, cls in enumerate(scenario.actor_classes)
        ),
        events=tuple(events),
        user_meshes=dict(scenario.user_meshes),
        sweep_cell=dict(
            scenario.sweep_cells[cell_index] if scenario.sweep_axes or scenario.pinned_cells else {}
        ),
        params=params,
        min_visible_pixels=scenario.min_visible_pixels,
        sequence=scenario.sequence,
        **section_values(drawn, "ego", name_prefix="ego_"),
    )
    if any(path.startswith("randomize.") for path in drawn):
        spec = randomized(spec, RandomizeSpec(**section_values(drawn, "randomize")))
    return spec


def pin_values(scenario: Scenario, point: Mapping[str, Scalar]) -> Scenario:
    """``scenario`` with each key path of ``point`` a constant and without its sweep.

    A swept key that ``point`` does not pin keeps the file's value (or the first sweep value
    where the file leaves the key out). Keys are taken as given: they come from a validated
    search space (:attr:`Scenario.search_space` or the scenario's own distributions).
    """
    values = dict(scenario.values)
    for axis in scenario.sweep_axes:
        values.setdefault(axis.path, axis.values[0])
    for path, value in point.items():
        values[path] = Constant(value)
    return replace(scenario, values=values, sweep_axes=())


def sample_spec_at(scenario: Scenario, point: Mapping[str, Scalar], seed: int) -> SceneSpec:
    """The scene of ``scenario`` with the keys of ``point`` pinned, drawn with base seed
    ``seed``: frame 0 of a batch of one of :func:`pin_values` (everything not pinned is
    drawn as usual)."""
    return sample_scene(pin_values(scenario, point), 0, seed, 1)


def section_values(
    drawn: dict[str, Any],
    path: str,
    table: ObjectField | None = None,
    name_prefix: str = "",
    skip: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The drawn values of the random keys of the table object at ``path``, as spec fields.

    This is where the key table becomes the ``SceneSpec``: each value is typed as its key
    declares (integer, number, flag, text) and named by its key path below ``path``
    joined by ``_`` (under ``environment.weather``, ``fog.visibility_m`` becomes
    ``WeatherSpec.fog_visibility_m``), so a key added to the table without its spec field
    fails at the spec's constructor. ``table`` defaults to the table's object at ``path``
    (give it for list items); keys under ``skip`` are left out; keys not drawn (an absent
    optional object such as fog) keep the spec's default.
    """
    table = table_section(path) if table is None else table
    values: dict[str, Any] = {}
    for relative, leaf in random_leaves(table):
        key = f"{path}.{relative}"
        if key in drawn and relative.split(".")[0] not in skip:
            values[name_prefix + relative.replace(".", "_")] = _typed(leaf, drawn[key])
    return values


def _typed(leaf: LeafField, value: Any) -> Any:
    if isinstance(leaf, NumberField):
        return int(value) if leaf.integer else float(value)
    if isinstance(leaf, BoolField):
        return bool(value)
    return value  # options and text are strings already


def _environment(drawn: dict[str, Any]) -> EnvironmentSpec:
    """Light and weather; the sun is given directly or placed from the clock and heading."""
    light = section_values(drawn, "environment", skip=("weather",))
    heading_deg = light.pop("heading_deg")
    if "sun_elevation_deg" not in light:  # no sun given: time_of_day (the loader's default)
        elevation_deg, compass_deg = presets.sun_from_clock(
            presets.parse_clock(light["time_of_day"])
        )
        light["sun_elevation_deg"] = elevation_deg
        light["sun_azimuth_deg"] = presets.world_sun_azimuth_deg(heading_deg, compass_deg)
    return EnvironmentSpec(
        **light, weather=WeatherSpec(**section_values(drawn, "environment.weather"))
    )
