"""Rare events: the objects each one adds, placed where the camera sees them.

Every event reads its parameters from ``EventSpec.params`` with defaults for missing
ones (``distance_m`` is the distance ahead along the road), tags each object it creates
with ``event = spec.type`` and keeps its labelled objects inside the camera's view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from scenegen.world.actors import ActorModel
from scenegen.world.context import BuildContext, WorldSpecError
from scenegen.world.meshes import PartsBuilder, box
from scenegen.world.placement import Footprint
from scenegen.world.types import WorldObject

EVENT_MARGIN_M = 0.15
RETRY_STEP_M = 1.5
DEBRIS_KINDS = {
    "tyre": ["tyre"],
    "box": ["box"],
    "cones": ["cone"],
    "mixed": ["tyre", "box", "cone", "tyre", "box"],
}


class UnknownEventError(WorldSpecError):
    """An event type this world builder does not know."""


def _place(
    ctx: BuildContext,
    model: ActorModel,
    s: float,
    t: float,
    yaw: float,
    *,
    event: str,
    moving: bool = False,
    headlights_always: bool = False,
    rng: np.random.Generator | None = None,
    s_spread_m: float = 0.0,
    t_spread_m: float = 0.0,
    tries: int = 16,
) -> WorldObject | None:
    """Place ``model`` at ``(s, t)`` or nearby, each retry a little further ahead.

    Moving ahead keeps an event in view when the requested spot is too close or hidden
    by a curve; ``rng`` with spreads also jitters the retries. Positions must be free
    and in view. Returns ``None`` when no try succeeds.
    """
    for attempt in range(tries):
        s_try, t_try = s + RETRY_STEP_M * attempt, t
        if attempt and rng is not None and (s_spread_m or t_spread_m):
            s_try += float(rng.uniform(-s_spread_m, s_spread_m))
            t_try += float(rng.uniform(-t_spread_m, t_spread_m))
        pose, footprint = ctx.footprint_at(model, s_try, t_try, yaw)
        if ctx.is_free(footprint, EVENT_MARGIN_M) and ctx.in_view(model, pose):
            return ctx.add(
                model,
                pose,
                footprint,
                moving=moving,
                event=event,
                headlights_always=headlights_always,
            )
    return None


def _distance(params: dict[str, Any], default_m: float) -> float:
    return float(params.get("distance_m", default_m))


def _adjacent_lane(ctx: BuildContext, prefer: str = "left") -> int | None:
    """A lane next to the ego's running the same way, or ``None``."""
    layout = ctx.layout
    left, right = layout.ego_lane + 1, layout.ego_lane - 1
    options = [left, right] if prefer == "left" else [right, left]
    for lane in options:
        if 0 <= lane < layout.lanes and layout.lane_is_forward(lane):
            return lane
    return None


def jaywalker(ctx: BuildContext, params: dict, rng: np.random.Generator) -> list[WorldObject]:
    """A pedestrian crossing the ego lane; optionally stepping out between parked cars."""
    d = _distance(params, 20.0)
    layout = ctx.layout
    if params.get("from_between_parked", False):
        person = ctx.make_actor("pedestrian", rng, walking=True)
        t_person = -layout.lanes_width_m / 2 - 0.3  # at the parking strip's inner edge
        # Find the pedestrian a spot with room for a parked car on either side.
        cars = [ctx.make_actor("car", rng) for _ in range(2)]
        gap = person.dimensions_m[0] + 0.8
        for attempt in range(16):
            s_person = d + 1.5 * attempt
            slots = []
            for sign, car in zip((-1, 1), cars, strict=True):
                s_car = s_person + sign * (gap / 2 + car.dimensions_m[0] / 2)
                pose, footprint = ctx.footprint_at(
                    car, s_car, ctx.parking_t(-1, car.dimensions_m[1]), 0.0
                )
                slots.append((car, pose, footprint))
            pose, footprint = ctx.footprint_at(person, s_person, t_person, np.pi / 2)
            if (
                all(ctx.is_free(f, EVENT_MARGIN_M) and ctx.in_view(c, p) for c, p, f in slots)
                and ctx.is_free(footprint, EVENT_MARGIN_M)
                and ctx.in_view(person, pose)
            ):
                placed = [ctx.add(c, p, f, moving=False, event="jaywalker") for c, p, f in slots]
                return [*placed, ctx.add(person, pose, footprint, moving=True, event="jaywalker")]
        return []
    person = ctx.make_actor("pedestrian", rng, walking=True)
    direction = (
        1.0 if params.get("direction", str(rng.choice(["left", "right"]))) == "left" else -1.0
    )
    t = layout.ego_t_m + float(rng.uniform(-1.0, 1.0))
    obj = _place(
        ctx,
        person,
        d,
        t,
        direction * np.pi / 2 + float(rng.uniform(-0.2, 0.2)),
        event="jaywalker",
        moving=True,
    )
    return [obj] if obj is not None else []


def stalled_vehicle(ctx: BuildContext, params: dict, rng: np.random.Generator) -> list[WorldObject]:
    """A stopped vehicle with hazard lights in the ego lane or the next one."""
    d = _distance(params, 30.0)
    lane = ctx.layout.ego_lane
    if params.get("lane", "ego") == "adjacent":
        lane = _adjacent_lane(ctx) if _adjacent_lane(ctx) is not None else lane
    vehicle = str(params.get("vehicle", "car"))
    model = ctx.make_actor(vehicle, rng, hazard=bool(params.get("hazard_lights", True)))
    t = ctx.layout.lane_center_t(lane) + float(rng.uniform(-0.3, 0.3))
    obj = _place(ctx, model, d, t, float(rng.uniform(-0.12, 0.12)), event="stalled_vehicle")
    return [obj] if obj is not None else []


def _scatter(
    ctx: BuildContext,
    rng: np.random.Generator,
    event: str,
    kinds: list[str],
    count: int,
    d: float,
    s_spread_m: float,
    t_centre: float,
    t_spread_m: float,
) -> list[WorldObject]:
    placed = []
    for _ in range(count):
        model = ctx.make_actor("debris", rng, kind=str(rng.choice(kinds)))
        s = d + float(rng.uniform(-s_spread_m, s_spread_m))
        t = t_centre + float(rng.uniform(-t_spread_m, t_spread_m))
        obj = _place(
            ctx,
            model,
            s,
            t,
            float(rng.uniform(-np.pi, np.pi)),
            event=event,
            rng=rng,
            s_spread_m=s_spread_m,
            t_spread_m=t_spread_m,
        )
        if obj is not None:
            placed.append(obj)
    return placed


def debris(ctx: BuildContext, params: dict, rng: np.random.Generator) -> list[WorldObject]:
    """Tyres, boxes or cones (``kind``: tyre, box, cones, mixed) lying in the ego lane."""
    kind = str(params.get("kind", "mixed"))
    if kind not in DEBRIS_KINDS:
        raise WorldSpecError(f"debris kind {kind!r} is not one of {sorted(DEBRIS_KINDS)}")
    kinds = DEBRIS_KINDS[kind]
    count = int(params.get("count", 3))
    return _scatter(
        ctx,
        rng,
        "debris",
        kinds,
        count,
        _distance(params, 25.0),
        3.0,
        ctx.layout.ego_t_m,
        ctx.layout.lane_width_m * 0.35,
    )


def lost_cargo(ctx: BuildContext, params: dict, rng: np.random.Generator) -> list[WorldObject]:
    """Cargo crates and boxes scattered over the ego lane and its neighbour."""
    count = int(params.get("count", 5))
    layout = ctx.layout
    neighbour = _adjacent_lane(ctx)
    t_centre = (
        layout.ego_t_m
        if neighbour is None
        else (layout.ego_t_m + layout.lane_center_t(neighbour)) / 2
    )
    spread = layout.lane_width_m * (0.4 if neighbour is None else 0.9)
    return _scatter(
        ctx,
        rng,
        "lost_cargo",
        ["cargo", "cargo", "box"],
        count,
        _distance(params, 30.0),
        6.0,
        t_centre,
        spread,
    )


def cut_in(ctx: BuildContext, params: dict, rng: np.random.Generator) -> list[WorldObject]:
    """A car from a neighbouring lane (or the kerb) angled into the ego lane just ahead."""
    layout = ctx.layout
    lane = _adjacent_lane(ctx, prefer=str(params.get("side", "left")))
    model = ctx.make_actor("car", rng)
    if lane is None:  # nobody beside us: a car pulling out from the kerb
        source_t = ctx.parking_t(-1, model.dimensions_m[1])
    else:
        source_t = layout.lane_center_t(lane)
    side = float(np.sign(source_t - layout.ego_t_m))
    # gap_m: lateral distance from the car's centre to the ego lane's centre.
    gap = float(params.get("gap_m", 0.55 * abs(source_t - layout.ego_t_m)))
    t = layout.ego_t_m + side * gap
    angle = np.deg2rad(float(params.get("angle_deg", rng.uniform(8.0, 18.0))))
    yaw = -side * angle
    obj = _place(ctx, model, _distance(params, 12.0), t, float(yaw), event="cut_in", moving=True)
    return [obj] if obj is not None else []


def wrong_way(ctx: BuildContext, params: dict, rng: np.random.Generator) -> list[WorldObject]:
    """A car in the ego lane driving towards the ego with its headlights on."""
    model = ctx.make_actor(str(params.get("vehicle", "car")), rng)
    t = ctx.layout.ego_t_m + float(rng.uniform(-0.3, 0.3))
    obj = _place(
        ctx,
        model,
        _distance(params, 35.0),
        t,
        np.pi + float(rng.uniform(-0.05, 0.05)),
        event="wrong_way",
        moving=True,
        headlights_always=True,
    )
    return [obj] if obj is not None else []


def animal(ctx: BuildContext, params: dict, rng: np.random.Generator) -> list[WorldObject]:
    """A deer, dog or boar (or a few) on the road ahead, crossing."""
    species = params.get("species")
    placed = []
    for _ in range(int(params.get("count", 1))):
        model = ctx.make_actor("animal", rng, species=species)
        t = ctx.layout.ego_t_m + float(rng.uniform(-0.6, 0.6)) * ctx.layout.lane_width_m
        yaw = float(rng.choice([-1.0, 1.0])) * np.pi / 2 + float(rng.uniform(-0.4, 0.4))
        obj = _place(
            ctx,
            model,
            _distance(params, 25.0),
            t,
            yaw,
            event="animal",
            moving=True,
            rng=rng,
            s_spread_m=3.0,
            t_spread_m=1.5,
        )
        if obj is not None:
            placed.append(obj)
    return placed


def _barrier(length_m: float) -> PartsBuilder:
    """A road-works barrier board on two feet, ``length_m`` long, 1 m high (object frame)."""
    b = PartsBuilder()
    for x in (-length_m / 2 + 0.1, length_m / 2 - 0.1):
        b.add(box((x - 0.04, -0.3, 0.0), (x + 0.04, 0.3, 0.05)), "metal_pole")
        b.add(box((x - 0.03, -0.03, 0.05), (x + 0.03, 0.03, 1.0)), "metal_pole")
    b.add(box((-length_m / 2, -0.02, 0.6), (length_m / 2, 0.02, 0.95)), "barrier")
    b.add(
        box((-length_m / 2 + 0.2, -0.025, 0.72), (length_m / 2 - 0.2, 0.025, 0.83)),
        "reflective_white",
    )
    return b


def construction_zone(
    ctx: BuildContext, params: dict, rng: np.random.Generator
) -> list[WorldObject]:
    """A lane closed by a taper of cones and orange barriers along its side."""
    layout = ctx.layout
    lane = layout.ego_lane
    if params.get("lane", "ego") == "adjacent" and _adjacent_lane(ctx) is not None:
        lane = _adjacent_lane(ctx)
    d = _distance(params, 25.0)
    zone_m = float(params.get("length_m", 30.0))
    centre = layout.lane_center_t(lane)
    half = layout.lane_width_m / 2
    # Traffic passes on the side with more road: the taper runs towards that side.
    open_side = 1.0 if lane + 1 < layout.lanes else -1.0
    taper_m = 3.0 * layout.lane_width_m
    placed: list[WorldObject] = []
    first = _place(
        ctx,
        ctx.make_actor("debris", rng, kind="cone"),
        d,
        centre - open_side * (half - 0.3),
        0.0,
        event="construction_zone",
    )
    if first is None:
        return []
    placed.append(first)
    d = float(layout.road_coords(first.pose_world[0, 3], first.pose_world[1, 3])[0])
    for frac in np.linspace(0.25, 1.0, 4):
        model = ctx.make_actor("debris", rng, kind="cone")
        t = centre - open_side * (half - 0.3) + open_side * frac * (2 * half - 0.6)
        obj = _place(ctx, model, d + frac * taper_m, t, 0.0, event="construction_zone", tries=1)
        if obj is not None:
            placed.append(obj)
    line_t = centre + open_side * (half - 0.3)
    for s in np.arange(d + taper_m + 4.0, min(d + taper_m + zone_m, layout.s_end_m - 5.0), 6.0):
        model = ctx.make_actor("debris", rng, kind="cone")
        obj = _place(ctx, model, float(s), line_t, 0.0, event="construction_zone", tries=1)
        if obj is not None:
            placed.append(obj)
    # Barrier boards across the closed lane behind the taper (scenery, tagged with the event).
    board_l = layout.lane_width_m - 0.8
    barrier_s = d + taper_m + 1.5
    pose = layout.pose(barrier_s, centre, 0.0, yaw_offset_rad=np.pi / 2)
    footprint = Footprint.of_pose(pose, board_l, 0.6)
    if ctx.is_free(footprint, 0.05):
        ctx.occupancy.add(footprint)
        builder = _barrier(board_l)
        ctx.scenery.append(
            WorldObject(
                name="construction_barrier",
                semantic="fence",
                parts=builder.parts(),
                pose_world=pose,
                dimensions_m=(board_l, 0.6, 1.0),
                event="construction_zone",
            )
        )
    return placed


def occluded_pedestrian(
    ctx: BuildContext, params: dict, rng: np.random.Generator
) -> list[WorldObject]:
    """A pedestrian (at ``distance_m``) mostly hidden behind a parked van or car, stepping
    towards the road."""
    d = _distance(params, 20.0)
    occluder = ctx.make_actor(str(params.get("occluder", "van")), rng)
    person = ctx.make_actor("pedestrian", rng, walking=True)
    length, width, _ = occluder.dimensions_m
    offset = length / 2 + 0.3 + person.dimensions_m[0] / 2  # occluder centre to pedestrian
    t_parked = ctx.parking_t(-1, width)
    placed: list[WorldObject] = []
    for attempt in range(16):
        s_parked = d - offset + RETRY_STEP_M * attempt
        pose, footprint = ctx.footprint_at(occluder, s_parked, t_parked, 0.0)
        if ctx.is_free(footprint, EVENT_MARGIN_M) and ctx.in_view(occluder, pose):
            placed.append(
                ctx.add(occluder, pose, footprint, moving=False, event="occluded_pedestrian")
            )
            break
    else:
        return []
    s_person = s_parked + offset
    t_person = t_parked + float(rng.uniform(-0.1, 0.4))  # within the van's shadow
    obj = _place(
        ctx,
        person,
        s_person,
        t_person,
        np.pi / 2,
        event="occluded_pedestrian",
        moving=True,
        rng=rng,
        s_spread_m=0.3,
        t_spread_m=0.2,
    )
    return [*placed, obj] if obj is not None else placed


EVENT_BUILDERS: dict[
    str, Callable[[BuildContext, dict, np.random.Generator], list[WorldObject]]
] = {
    "jaywalker": jaywalker,
    "stalled_vehicle": stalled_vehicle,
    "debris": debris,
    "cut_in": cut_in,
    "wrong_way": wrong_way,
    "animal": animal,
    "lost_cargo": lost_cargo,
    "construction_zone": construction_zone,
    "occluded_pedestrian": occluded_pedestrian,
}


def build_event(
    ctx: BuildContext, event_type: str, params: dict, rng: np.random.Generator
) -> list[WorldObject]:
    """Add one event's objects to ``ctx``; returns the labelled ones it placed."""
    builder = EVENT_BUILDERS.get(event_type)
    if builder is None:
        raise UnknownEventError(
            f"unknown event type {event_type!r}; expected one of {sorted(EVENT_BUILDERS)}"
        )
    return builder(ctx, dict(params), rng)
