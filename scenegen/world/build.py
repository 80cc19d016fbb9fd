"""``SceneSpec`` -> ``World``: road, scenery, rare events, traffic and lamps.

Deterministic: all randomness comes from ``spec.rng("world")``, split into one child
generator per stage (road, scenery, events, traffic) so that, e.g., adding an event
never moves a building.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from scenegen.frame import CLASS_NAMES
from scenegen.scenario.spec import ActorGroupSpec, SceneSpec
from scenegen.world import lights as lamps
from scenegen.world.assets import read_user_mesh
from scenegen.world.context import BuildContext, WorldSpecError
from scenegen.world.events import build_event
from scenegen.world.placement import Footprint, ego_footprint
from scenegen.world.randomize import colour_factors, light_scales, place_distractors, recolour
from scenegen.world.road import RoadLayout, build_road, road_layout_from_spec
from scenegen.world.scenery import build_scenery
from scenegen.world.traffic import populate_group
from scenegen.world.types import Light, World


@dataclass(frozen=True)
class BuildReport:
    """What the builder made and what it could not fit.

    ``requested_by_class`` / ``placed_by_class`` count the scenario's actor groups
    (event objects are listed by ``events_placed``). ``skipped_by_class`` counts actors of the scenario's groups that found no free spot
    within the placement budget; ``events_skipped`` lists events that occur but could
    place none of their labelled objects.
    """

    layout: RoadLayout
    requested_by_class: dict[str, int] = field(default_factory=dict)
    placed_by_class: dict[str, int] = field(default_factory=dict)
    skipped_by_class: dict[str, int] = field(default_factory=dict)
    distractors_skipped: int = 0  # randomize.distractors that found no free spot
    events_placed: tuple[str, ...] = ()
    events_skipped: tuple[str, ...] = ()
    face_count: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped_by_class.values())


SIGHT_LINE_WIDTH_M = 2.2


def _reserve_sight_lines(ctx: BuildContext) -> None:
    """Keep traffic out of the line of sight from the camera to each event.

    A rare event hidden behind an ordinary car in the ego lane is a wasted frame; events
    that are meant to be hidden (occluded_pedestrian) bring their own occluder.
    """
    nearest: dict[str, np.ndarray] = {}
    for placed in ctx.placed:
        obj = placed.obj
        if obj.event is None or obj.instance_id <= 0:
            continue
        xy = obj.pose_world[:2, 3]
        if obj.event not in nearest or np.hypot(*xy) < np.hypot(*nearest[obj.event]):
            nearest[obj.event] = xy
    for xy in nearest.values():
        start = np.array([3.0, 0.0])
        length = float(np.hypot(*(xy - start))) - 3.0
        if length <= 1.0:
            continue
        mid = start + (xy - start) * (length / 2) / (length + 3.0)
        yaw = float(np.arctan2(xy[1] - start[1], xy[0] - start[0]))
        ctx.occupancy.add(
            Footprint(float(mid[0]), float(mid[1]), yaw, length / 2, SIGHT_LINE_WIDTH_M / 2)
        )


@dataclass(frozen=True)
class BuiltWorld:
    """A built world with what posing it over time needs: the build context (each placed
    actor's model, which ones have their lamps lit), the street lamps, and the actor group
    each ordinary actor came from (by instance id)."""

    world: World
    report: BuildReport
    ctx: BuildContext
    street_lights: tuple[Light, ...]
    group_of_instance: dict[int, ActorGroupSpec]


def build_world_with_report(spec: SceneSpec) -> tuple[World, BuildReport]:
    """Build the world of ``spec`` and report what was placed and skipped."""
    built = build_world_parts(spec)
    return built.world, built.report


def build_world_parts(spec: SceneSpec) -> BuiltWorld:
    """Build the world of ``spec``, keeping what :mod:`scenegen.world.sequence` needs."""
    road_rng, scenery_rng, event_rng, traffic_rng = spec.rng("world").spawn(4)
    layout = road_layout_from_spec(spec.road, road_rng)
    environment = spec.environment
    ctx = BuildContext(
        layout=layout,
        camera=spec.camera,
        is_night=environment.is_night,
        user_meshes={
            cls: read_user_mesh(path, cls) for cls, path in sorted(spec.user_meshes.items())
        },
    )
    ctx.occupancy.add(ego_footprint())
    objects = build_road(layout, road_rng)
    scenery = build_scenery(layout, scenery_rng)
    objects.extend(scenery.objects)
    for footprint in scenery.obstacles:
        ctx.occupancy.add(footprint)

    events_placed, events_skipped = [], []
    for event in spec.events:
        if not event.occurs:
            continue
        made = build_event(ctx, event.type, event.params, event_rng)
        (events_placed if made else events_skipped).append(event.type)

    _reserve_sight_lines(ctx)

    skipped: Counter[str] = Counter()
    requested: Counter[str] = Counter()
    group_of_instance: dict[int, ActorGroupSpec] = {}
    for group in spec.actors:
        if group.cls not in CLASS_NAMES:
            raise WorldSpecError(f"actor class {group.cls!r} is not one of {CLASS_NAMES}")
        requested[group.cls] += group.count
        first = len(ctx.placed)
        skipped[group.cls] += populate_group(ctx, group, traffic_rng)
        group_of_instance.update({p.obj.instance_id: group for p in ctx.placed[first:]})

    randomize = spec.randomize
    randomize_rng = spec.rng("randomize_world")
    distractors_skipped = place_distractors(ctx, randomize.distractors, randomize_rng)

    street_lights: list[Light] = []
    if ctx.is_night:
        street_lights = lamps.street_lamp_lights(scenery.lamp_heads_world)
        ctx.lights.extend(street_lights)
        ctx.lights.extend(lamps.ego_headlights())
    objects.extend(ctx.scenery)
    objects.extend(p.obj for p in ctx.placed)
    if randomize.colour_jitter > 0:
        recolour(objects, colour_factors(randomize.colour_jitter, randomize_rng))
    light_level, sun_colour = light_scales(randomize, randomize_rng)
    world = World(
        objects=objects,
        lights=ctx.lights,
        sun_direction_world=lamps.sun_direction_world(
            environment.sun_elevation_deg, environment.sun_azimuth_deg
        ),
        sun_elevation_deg=environment.sun_elevation_deg,
        cloud_cover=environment.cloud_cover,
        is_night=environment.is_night,
        road_wetness=environment.weather.road_wetness,
        snow_rate_mm_h=environment.weather.snow_rate_mm_h,
        light_level_scale=light_level,
        sun_colour_scale_rgb=sun_colour,
    )
    placed = Counter(p.obj.class_name for p in ctx.placed if p.obj.event is None)
    report = BuildReport(
        layout=layout,
        requested_by_class=dict(requested),
        placed_by_class=dict(placed),
        skipped_by_class={cls: n for cls, n in skipped.items() if n},
        distractors_skipped=distractors_skipped,
        events_placed=tuple(events_placed),
        events_skipped=tuple(events_skipped),
        face_count=sum(len(part.mesh.faces) for obj in objects for part in obj.parts),
    )
    return BuiltWorld(world, report, ctx, tuple(street_lights), group_of_instance)


def build_world(spec: SceneSpec) -> World:
    """Build the world of ``spec`` (see :func:`build_world_with_report` for what was skipped)."""
    return build_world_with_report(spec)[0]
