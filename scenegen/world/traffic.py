"""Everyday actors from the scenario's actor groups: traffic in lanes, parked vehicles,
pedestrians on sidewalks or crossing, cyclists by the lane edge, animals on the verge.

Each actor is placed by rejection sampling with a bounded budget; one that finds no
free spot is skipped and counted. How far ahead vehicles and sidewalk pedestrians stand
follows the distance prior fitted to real labels, and parked vehicles line up in rows
along the kerb (:mod:`scenegen.world.placement_priors`).
"""

from __future__ import annotations

import numpy as np

from scenegen.frame import CLASS_NAMES
from scenegen.scenario.spec import ActorGroupSpec
from scenegen.world.actors import ActorModel
from scenegen.world.context import BuildContext, WorldSpecError
from scenegen.world.placement_priors import placement_priors

PLACEMENT_TRIES = 40
NEAR_S_M, FAR_S_M = 3.0, 80.0  # where actors go: mostly in front of the camera
PARKED_FAR_S_M, SIDEWALK_FAR_S_M = 70.0, 60.0  # where a parked row or a walker may start
VEHICLES = ("car", "van", "truck", "bus")
PARKABLE = ("car", "van")
PLACEMENTS = ("road", "sidewalk", "parked", "any")


class _Slot:
    """A candidate spot: road coordinates, yaw relative to the road, and spacing rules."""

    def __init__(
        self,
        s: float,
        t: float,
        yaw: float,
        moving: bool,
        gap_m: float = 0.0,
        margin_m: float = 0.3,
        row_side: int | None = None,
    ) -> None:
        self.s, self.t, self.yaw, self.moving = s, t, yaw, moving
        self.gap_m, self.margin_m = gap_m, margin_m
        self.row_side = row_side  # the kerb side of the parked row this slot extends


def _moving_vehicle(ctx: BuildContext, model: ActorModel, rng: np.random.Generator) -> _Slot:
    layout = ctx.layout
    lane = int(rng.integers(layout.lanes))
    forward = layout.lane_is_forward(lane)
    near = 9.0 if lane == layout.ego_lane else -8.0
    s = placement_priors().distance.draw(rng, near, FAR_S_M + 10.0)
    t = layout.lane_center_t(lane) + float(rng.normal(0.0, 0.15))
    yaw = (0.0 if forward else np.pi) + float(rng.normal(0.0, 0.015))
    return _Slot(s, t, yaw, moving=True, gap_m=float(rng.uniform(1.5, 4.0)))


def _parked_vehicle(ctx: BuildContext, model: ActorModel, rng: np.random.Generator) -> _Slot:
    layout = ctx.layout
    side = -1
    if layout.type == "urban" and layout.two_way and rng.random() < 0.4:
        side = 1
    t = ctx.parking_t(side, model.dimensions_m[1]) + float(rng.uniform(-0.1, 0.1))
    yaw = (0.0 if side < 0 else np.pi) + float(rng.normal(0.0, 0.02))
    priors = placement_priors()
    row_end_s = ctx.parked_row_end_s.get(side)
    s = None
    if row_end_s is not None and rng.random() >= priors.parked_rows.new_row_probability:
        s = row_end_s + float(rng.uniform(*priors.parked_rows.gap_m)) + model.dimensions_m[0] / 2
    if s is None or s > FAR_S_M:
        s = priors.distance.draw(rng, NEAR_S_M, PARKED_FAR_S_M)
    return _Slot(s, t, yaw, moving=False, margin_m=0.4, row_side=side)


def _on_sidewalk(ctx: BuildContext, model: ActorModel, rng: np.random.Generator) -> _Slot:
    layout = ctx.layout
    side = int(rng.choice([-1, 1]))
    if layout.sidewalks:
        inner, outer = layout.sidewalk_span_t(side)
        lo, hi = sorted((inner, outer))
        t = float(rng.uniform(lo + 0.4, hi - 0.4))
    else:
        t = layout.roadside_t(side) + side * float(rng.uniform(0.6, 2.5))
    heading = float(rng.choice([0.0, np.pi])) + float(rng.normal(0.0, 0.2))
    if model.variant == "standing":
        heading = float(rng.uniform(-np.pi, np.pi))
    s = placement_priors().distance.draw(rng, NEAR_S_M, SIDEWALK_FAR_S_M)
    return _Slot(s, t, heading, moving=model.variant == "walking")


def _crossing(ctx: BuildContext, model: ActorModel, rng: np.random.Generator) -> _Slot:
    layout = ctx.layout
    t = float(rng.uniform(layout.asphalt_right_t_m + 0.5, layout.asphalt_left_t_m - 0.5))
    yaw = float(rng.choice([-1.0, 1.0])) * np.pi / 2 + float(rng.normal(0.0, 0.2))
    return _Slot(float(rng.uniform(8.0, 50.0)), t, yaw, moving=True)


def _cyclist_on_road(ctx: BuildContext, model: ActorModel, rng: np.random.Generator) -> _Slot:
    layout = ctx.layout
    half_w = model.dimensions_m[1] / 2
    if layout.two_way and rng.random() < 0.25:  # oncoming, at the far edge
        t = layout.lanes_width_m / 2 - 0.4 - half_w - float(rng.uniform(0.0, 0.4))
        return _Slot(float(rng.uniform(NEAR_S_M + 5, FAR_S_M)), t, np.pi, moving=True, gap_m=1.0)
    t = -layout.lanes_width_m / 2 + 0.4 + half_w + float(rng.uniform(0.0, 0.4))
    near = 8.0 if layout.ego_lane == 0 else NEAR_S_M
    return _Slot(
        float(rng.uniform(near, FAR_S_M)), t, float(rng.normal(0.0, 0.03)), moving=True, gap_m=1.0
    )


def _animal_slot(
    ctx: BuildContext, model: ActorModel, rng: np.random.Generator, on_road: bool
) -> _Slot:
    layout = ctx.layout
    if on_road:
        t = float(rng.uniform(layout.asphalt_right_t_m + 0.5, layout.asphalt_left_t_m - 0.5))
    else:
        side = int(rng.choice([-1, 1]))
        t = layout.roadside_t(side) + side * float(rng.uniform(1.0, 8.0))
    return _Slot(float(rng.uniform(10.0, 70.0)), t, float(rng.uniform(-np.pi, np.pi)), moving=False)


def _slot_for(
    ctx: BuildContext,
    group: ActorGroupSpec,
    model: ActorModel,
    parked: bool,
    rng: np.random.Generator,
) -> _Slot:
    cls, placement = group.cls, group.placement
    if cls in VEHICLES:
        return _parked_vehicle(ctx, model, rng) if parked else _moving_vehicle(ctx, model, rng)
    if cls == "pedestrian":
        on_road = placement == "road" or (placement == "any" and rng.random() < 0.2)
        return _crossing(ctx, model, rng) if on_road else _on_sidewalk(ctx, model, rng)
    if cls == "cyclist":
        return (
            _on_sidewalk(ctx, model, rng)
            if placement == "sidewalk"
            else _cyclist_on_road(ctx, model, rng)
        )
    if cls == "animal":
        return _animal_slot(
            ctx,
            model,
            rng,
            on_road=placement == "road" or (placement == "any" and rng.random() < 0.3),
        )
    return _animal_slot(ctx, model, rng, on_road=True)  # debris lies on the road


def populate_group(ctx: BuildContext, group: ActorGroupSpec, rng: np.random.Generator) -> int:
    """Place one actor group; returns how many of its actors found no free spot."""
    if group.cls not in CLASS_NAMES:
        raise WorldSpecError(f"actor class {group.cls!r} is not one of {CLASS_NAMES}")
    if group.placement not in PLACEMENTS:
        raise WorldSpecError(f"actor placement {group.placement!r} is not one of {PLACEMENTS}")
    parkable = group.cls in PARKABLE
    n_parked = (
        group.count
        if (parkable and group.placement == "parked")
        else (round(group.count * group.parked_fraction) if parkable else 0)
    )
    skipped = 0
    for index in range(group.count):
        parked = index < n_parked
        model = ctx.make_actor(group.cls, rng)
        for _ in range(PLACEMENT_TRIES):
            slot = _slot_for(ctx, group, model, parked, rng)
            pose, footprint = ctx.footprint_at(model, slot.s, slot.t, slot.yaw)
            if ctx.is_free(footprint, slot.margin_m, slot.gap_m):
                moving = slot.moving and (group.speed_m_s is None or group.speed_m_s > 0)
                ctx.add(model, pose, footprint, moving=moving)
                if slot.row_side is not None:
                    ctx.parked_row_end_s[slot.row_side] = slot.s + model.dimensions_m[0] / 2
                break
        else:
            skipped += 1
    return skipped
