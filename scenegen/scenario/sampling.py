"""Sampling: one frame of a scenario -> one concrete ``SceneSpec``.

Frame ``i`` of a batch of ``n`` frames with base seed ``s``:

1. its generator is ``np.random.default_rng(np.random.SeedSequence([s, i]))`` and its
   seed (``SceneSpec.seed``) is :func:`frame_seed` ``(s, i)``;
2. it belongs to sweep cell ``i * ncells // n``, whose values replace the file's;
3. every value of ``Scenario.values`` is drawn in order (constants draw nothing), then
   one uniform number per event decides whether it ``occurs`` (``u < probability``);
4. the draws are assembled into a frozen ``SceneSpec``: presets applied, the sun placed
   from ``time_of_day`` (see :mod:`scenegen.scenario.presets`) or ``sun``, and every
   drawn value recorded in ``params`` under its key path (plus ``events[i].occurs``).

The same scenario, seed, frame index and batch size always give an equal ``SceneSpec``,
whichever process draws it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from scenegen.scenario import presets
from scenegen.scenario.model import Scenario
from scenegen.scenario.spec import (
    ActorGroupSpec,
    EnvironmentSpec,
    EventSpec,
    RoadSpec,
    SceneSpec,
    WeatherSpec,
)

# Keys of an event that describe it rather than parametrise it.
_EVENT_META_KEYS = ("type", "probability")


def frame_seed(base_seed: int, frame_index: int) -> int:
    """The seed of frame ``frame_index`` of a batch: an int in [0, 2**32)."""
    state = np.random.SeedSequence([base_seed, frame_index]).generate_state(1, dtype=np.uint32)
    return int(state[0])


def sample_scene(scenario: Scenario, frame_index: int, base_seed: int, n_frames: int) -> SceneSpec:
    """Draw frame ``frame_index`` (of ``n_frames``) of ``scenario`` with ``base_seed``."""
    if n_frames < 1:
        raise ValueError(f"n_frames is {n_frames}, expected at least 1")
    if not 0 <= frame_index < n_frames:
        raise ValueError(f"frame_index is {frame_index}, expected 0 <= frame_index < {n_frames}")
    if base_seed < 0:
        raise ValueError(f"base_seed is {base_seed}, expected a seed >= 0")
    rng = np.random.default_rng(np.random.SeedSequence([base_seed, frame_index]))
    cell_index = scenario.sweep_cell_index(frame_index, n_frames)
    overrides = scenario.sweep_overrides(cell_index)
    drawn: dict[str, Any] = {}
    for path, value in scenario.values.items():
        drawn[path] = overrides.get(path, value).sample(rng)
    for path, value in overrides.items():  # swept keys the file leaves out (e.g. fog)
        if path not in drawn:
            drawn[path] = value.sample(rng)
    occurs = []
    for index in range(len(scenario.event_types)):
        happens = bool(rng.random() < drawn[f"events[{index}].probability"])
        occurs.append(happens)
    return _scene_spec(
        scenario,
        frame_index,
        frame_seed(base_seed, frame_index),
        drawn,
        occurs,
        scenario.sweep_cells[cell_index] if scenario.sweep_axes else {},
    )


def _scene_spec(
    scenario: Scenario,
    frame_index: int,
    seed: int,
    drawn: dict[str, Any],
    occurs: list[bool],
    sweep_cell: dict[str, Any],
) -> SceneSpec:
    road = RoadSpec(
        type=drawn["road.type"],
        lanes=int(drawn["road.lanes"]),
        lane_width_m=float(drawn["road.lane_width_m"]),
        curvature_1_m=float(drawn["road.curvature_1_m"]),
        sidewalks=bool(drawn["road.sidewalks"]),
        length_m=float(drawn["road.length_m"]),
    )
    camera = replace(
        scenario.camera,
        height_m=float(drawn["sensors.camera.height_m"]),
        pitch_deg=float(drawn["sensors.camera.pitch_deg"]),
    )
    actors = tuple(
        ActorGroupSpec(
            cls=cls,
            count=int(drawn[f"actors[{i}].count"]),
            parked_fraction=float(drawn[f"actors[{i}].parked_fraction"]),
            placement=drawn[f"actors[{i}].placement"],
            speed_m_s=(
                float(drawn[f"actors[{i}].speed_m_s"])
                if f"actors[{i}].speed_m_s" in drawn
                else None
            ),
        )
        for i, cls in enumerate(scenario.actor_classes)
    )
    events = tuple(
        EventSpec(type=event_type, occurs=occurs[i], params=_event_params(drawn, f"events[{i}]."))
        for i, event_type in enumerate(scenario.event_types)
    )
    params = dict(drawn)
    params.update({f"events[{i}].occurs": happens for i, happens in enumerate(occurs)})
    return SceneSpec(
        scenario_name=scenario.name,
        frame_index=frame_index,
        seed=seed,
        road=road,
        ego_speed_m_s=float(drawn["ego.speed_m_s"]),
        camera=camera,
        lidar=scenario.lidar,
        environment=_environment(drawn),
        actors=actors,
        events=events,
        user_meshes=dict(scenario.user_meshes),
        sweep_cell=dict(sweep_cell),
        params=params,
        min_visible_pixels=scenario.min_visible_pixels,
    )


def _event_params(drawn: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {
        path[len(prefix) :]: value
        for path, value in drawn.items()
        if path.startswith(prefix) and path[len(prefix) :] not in _EVENT_META_KEYS
    }


def _environment(drawn: dict[str, Any]) -> EnvironmentSpec:
    clock = drawn.get("environment.time_of_day")
    if "environment.sun.elevation_deg" in drawn:
        elevation_deg = float(drawn["environment.sun.elevation_deg"])
        azimuth_deg = float(drawn["environment.sun.azimuth_deg"])  # world frame, as written
        clock = None
    else:
        elevation_deg, compass_deg = presets.sun_from_clock(presets.parse_clock(clock))
        azimuth_deg = presets.world_sun_azimuth_deg(
            float(drawn["environment.heading_deg"]), compass_deg
        )
    weather = WeatherSpec(
        fog_visibility_m=float(drawn.get("environment.weather.fog.visibility_m", math.inf)),
        rain_rate_mm_h=float(drawn["environment.weather.rain.rate_mm_h"]),
        snow_rate_mm_h=float(drawn["environment.weather.snow.rate_mm_h"]),
        road_wetness=float(drawn["environment.weather.road_wetness"]),
    )
    return EnvironmentSpec(
        sun_elevation_deg=elevation_deg,
        sun_azimuth_deg=azimuth_deg,
        cloud_cover=float(drawn["environment.cloud_cover"]),
        time_of_day=clock,
        weather=weather,
    )
