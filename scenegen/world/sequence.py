"""A sequence's world over time: one world built once, posed at any time ``t``.

:func:`build_sequence_world` builds the world of a sequence's ``SceneSpec`` once and gives
every labelled object a behaviour (:mod:`scenegen.world.behaviours`); the ego drives along
its lane at ``ego_speed_m_s``, with its lane change if the scenario asks for one.
:meth:`SequenceWorld.at` returns the :class:`World` at time ``t`` in the ego's frame at
that time (the frame every sensor and label expects: origin on the ground under the
camera, x forward), with the velocities of the ego and of every labelled object.

Who does what:

* ordinary traffic: parked -> still; moving vehicles, cyclists and pedestrians follow
  their lane (against it when oncoming) or sidewalk, or cross the road when they face
  across it, at the group's ``speed_m_s`` or :data:`TYPICAL_SPEED_M_S`;
* ``jaywalker`` / ``occluded_pedestrian``: stand until ``step_out_s``, then walk across at
  ``speed_m_s``; the parked cars around them stay;
* ``cut_in``: drives at the ego's speed plus ``relative_speed_m_s``, moving from the
  adjacent lane's centre to the ego lane's between ``start_s`` and ``start_s + duration_s``;
* ``wrong_way``: drives towards the ego so that the gap closes at ``closing_speed_m_s``
  (its own speed is that minus the ego's, at least 0);
* ``animal``: crosses at ``speed_m_s``;
* ``lost_cargo``: a truck drives ahead in the ego lane at the ego's speed with the cargo
  in its open load box; at ``drop_s`` the cargo falls out and slides to rest;
* ``stalled_vehicle``: stays, hazard lights flashing at ``blink_hz``;
* debris and construction zones stay.

Behaviours do not see each other: two objects may pass through one another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from scenegen.scenario.spec import ActorGroupSpec, SceneSpec
from scenegen.world import lights as lamps
from scenegen.world.behaviours import (
    Behaviour,
    Falling,
    FollowLane,
    LaneChange,
    RoadState,
    Still,
    Straight,
    blink_on,
    pose_world,
    road_state_of,
    velocity_world,
)
from scenegen.world.build import BuiltWorld, build_world_parts
from scenegen.world.road import RoadLayout
from scenegen.world.types import Light, MeshPart, World, WorldObject

# Speeds of ordinary moving actors whose group gives none, m/s (vehicles by road type).
TYPICAL_SPEED_M_S = {
    "urban": 12.0,
    "rural": 20.0,
    "highway": 28.0,
    "pedestrian": 1.4,
    "cyclist": 5.0,
    "animal": 1.0,
}
VEHICLES = ("car", "van", "truck", "bus")
CARGO_BED_HEIGHT_M = 1.2
TRUCK_AHEAD_OF_CARGO_M = 6.0
HAZARD_OFF_MATERIAL = "cone_orange"  # an unlit amber lens: orange, no glow


@dataclass(frozen=True)
class MotionState:
    """How things move at one time of a sequence, in the ego frame at that time.

    ``velocities_m_s`` maps instance id -> ``(3,)`` float64 velocity over the ground
    (m/s) in the ego frame's axes; ``ego_velocity_m_s`` is the ego's own.
    ``ego_pose_start`` is the 4x4 pose of the ego frame at ``time_s`` in the ego frame at
    the start of the sequence (the trajectory a poses file records).
    """

    time_s: float
    ego_pose_start: np.ndarray
    ego_velocity_m_s: np.ndarray
    velocities_m_s: dict[int, np.ndarray]

    def relative_velocity_m_s(self, instance_id: int) -> np.ndarray:
        """Velocity of an object (0: the static world) relative to the ego, ego-frame axes."""
        own = self.velocities_m_s.get(instance_id, np.zeros(3))
        return own - self.ego_velocity_m_s


@dataclass
class SequenceWorld:
    """The world of one sequence and the behaviour of everything that moves in it."""

    spec: SceneSpec
    built: BuiltWorld
    ego: Behaviour
    behaviours: dict[int, Behaviour]
    blink_hz: dict[int, float]

    @property
    def layout(self) -> RoadLayout:
        return self.built.report.layout

    def at(self, time_s: float) -> tuple[World, MotionState]:
        """The world at ``time_s`` in the ego frame at that time, and its motion."""
        layout = self.layout
        ego_pose = pose_world(layout, self.ego.state(time_s))
        to_ego = np.linalg.inv(ego_pose)
        rotation = to_ego[:3, :3]
        base = self.built.world
        objects = []
        for obj in base.objects:
            behaviour = self.behaviours.get(obj.instance_id)
            pose = (
                obj.pose_world if behaviour is None else pose_world(layout, behaviour.state(time_s))
            )
            parts = obj.parts
            rate = self.blink_hz.get(obj.instance_id)
            if rate is not None and not blink_on(time_s, rate):
                parts = _hazards_off(parts)
            objects.append(replace(obj, pose_world=to_ego @ pose, parts=parts))
        velocities = {
            instance: rotation @ velocity_world(layout, behaviour, time_s)
            for instance, behaviour in self.behaviours.items()
        }
        world = replace(
            base,
            objects=objects,
            lights=self._lights(objects, to_ego),
            sun_direction_world=tuple(float(v) for v in rotation @ base.sun_direction_world),
        )
        motion = MotionState(
            time_s=time_s,
            ego_pose_start=ego_pose,
            ego_velocity_m_s=rotation @ velocity_world(layout, self.ego, time_s),
            velocities_m_s=velocities,
        )
        return world, motion

    def _lights(self, objects: list[WorldObject], to_ego: np.ndarray) -> list[Light]:
        """Street lamps moved into the ego frame, the ego's low beams, and the lamps of
        every lit vehicle at its pose of the moment."""
        ctx = self.built.ctx
        lights = [_moved(light, to_ego) for light in self.built.street_lights]
        if ctx.is_night:
            lights.extend(lamps.ego_headlights())
        models = {p.obj.instance_id: p.model for p in ctx.placed}
        for obj in objects:
            if obj.instance_id in ctx.lit:
                model = models[obj.instance_id]
                lights.extend(
                    lamps.vehicle_lights(obj.pose_world, model.headlights_obj, model.taillights_obj)
                )
        return lights


def build_sequence_world(spec: SceneSpec) -> SequenceWorld:
    """Build the world of a sequence and give each labelled object its behaviour."""
    # The road reaches as far as the ego drives, beyond the length the file asks for.
    assert spec.sequence is not None, "a sequence's SceneSpec has its sequence"
    duration_s = (spec.sequence.frames - 1) / spec.sequence.rate_hz
    road = replace(spec.road, length_m=spec.road.length_m + spec.ego_speed_m_s * duration_s)
    built = build_world_parts(replace(spec, road=road))
    layout = built.report.layout
    events = {e.type: e.params for e in spec.events if e.occurs}
    behaviours: dict[int, Behaviour] = {}
    blink_hz: dict[int, float] = {}
    if "lost_cargo" in events:
        _load_cargo_on_truck(spec, built, events["lost_cargo"], behaviours)
    for obj in built.world.labelled():
        if obj.instance_id in behaviours:
            continue
        start = road_state_of(layout, obj.pose_world)
        params = events.get(obj.event or "", {})
        if obj.event == "stalled_vehicle" and params.get("hazard_lights", True):
            blink_hz[obj.instance_id] = float(params["blink_hz"])
        behaviours[obj.instance_id] = _behaviour(
            spec, layout, obj, start, params, built.group_of_instance.get(obj.instance_id)
        )
    return SequenceWorld(spec, built, _ego_behaviour(spec, layout), behaviours, blink_hz)


def _ego_behaviour(spec: SceneSpec, layout: RoadLayout) -> Behaviour:
    speed = spec.ego_speed_m_s
    if spec.ego_lane_change_start_s is None:
        return Straight(RoadState(0.0, layout.ego_t_m, 0.0, 0.0), speed)
    side = 1.0 if spec.ego_lane_change_direction == "left" else -1.0
    return LaneChange(
        0.0,
        layout.ego_t_m,
        layout.ego_t_m + side * layout.lane_width_m,
        speed,
        float(spec.ego_lane_change_start_s),
        float(spec.ego_lane_change_duration_s or 3.0),
    )


def _behaviour(
    spec: SceneSpec,
    layout: RoadLayout,
    obj: WorldObject,
    start: RoadState,
    params: dict,
    group: ActorGroupSpec | None,
) -> Behaviour:
    on_foot = obj.class_name in ("pedestrian", "animal")
    walker = replace(start, z_m=None) if on_foot else start
    if obj.event in ("jaywalker", "occluded_pedestrian") and obj.moving:
        return Straight(walker, float(params["speed_m_s"]), float(params["step_out_s"]))
    if obj.event == "animal":
        return Straight(walker, float(params["speed_m_s"]))
    if obj.event == "cut_in":
        side = math.copysign(1.0, start.t_m - layout.ego_t_m)
        return LaneChange(
            start.s_m,
            layout.ego_t_m + side * layout.lane_width_m,
            layout.ego_t_m,
            spec.ego_speed_m_s + float(params["relative_speed_m_s"]),
            float(params["start_s"]),
            float(params["duration_s"]),
            start.z_m,
        )
    if obj.event == "wrong_way":  # faces the ego: following its lane means coming closer
        own = max(0.0, float(params["closing_speed_m_s"]) - spec.ego_speed_m_s)
        return FollowLane(start, own)
    if obj.event is not None or not obj.moving:
        return Still(start)
    speed = group.speed_m_s if group is not None else None
    if speed is None:
        kind = layout.type if obj.class_name in VEHICLES else str(obj.class_name)
        speed = TYPICAL_SPEED_M_S.get(kind, 0.0)
    if abs(math.sin(start.yaw_offset_rad)) > 0.5:  # heading across the road: crossing
        return Straight(walker, float(speed))
    return FollowLane(walker, float(speed))


def _load_cargo_on_truck(
    spec: SceneSpec, built: BuiltWorld, params: dict, behaviours: dict[int, Behaviour]
) -> None:
    """Add the truck the cargo falls from, ahead of the cargo in the ego lane, and put
    each cargo item in its load box (spread as the items lie when built)."""
    ctx, layout = built.ctx, built.report.layout
    cargo = [o for o in built.world.labelled() if o.event == "lost_cargo"]
    if not cargo:
        return
    truck = ctx.make_actor("truck", spec.rng("sequence"))
    s_cargo = float(np.mean([road_state_of(layout, o.pose_world).s_m for o in cargo]))
    length_m, width_m, _ = truck.dimensions_m
    s_truck = s_cargo + TRUCK_AHEAD_OF_CARGO_M
    pose, footprint = ctx.footprint_at(truck, s_truck, layout.ego_t_m, 0.0)
    obj = ctx.add(truck, pose, footprint, moving=True, event="lost_cargo")
    built.world.objects.append(obj)
    carrier = Straight(road_state_of(layout, pose), spec.ego_speed_m_s)
    behaviours[obj.instance_id] = carrier
    for item in cargo:
        state = road_state_of(layout, item.pose_world)
        behaviours[item.instance_id] = Falling(
            carrier,
            # inside the box's rear half, so it drops out of the open back
            offset_s_m=-length_m / 2 + float(np.clip(state.s_m - s_cargo + 1.5, 0.3, 2.5)),
            offset_t_m=float(np.clip(state.t_m - layout.ego_t_m, -width_m / 3, width_m / 3)),
            bed_height_m=CARGO_BED_HEIGHT_M,
            drop_s=float(params["drop_s"]),
            yaw_offset_rad=state.yaw_offset_rad,
        )


def _hazards_off(parts: list[MeshPart]) -> list[MeshPart]:
    return [
        replace(p, material=HAZARD_OFF_MATERIAL) if p.material == "hazard_light" else p
        for p in parts
    ]


def _moved(light: Light, to_ego: np.ndarray) -> Light:
    position = to_ego[:3, :3] @ np.asarray(light.position_world) + to_ego[:3, 3]
    direction = light.direction_world
    if direction is not None:
        direction = tuple(float(v) for v in to_ego[:3, :3] @ np.asarray(direction))
    return replace(
        light, position_world=tuple(float(v) for v in position), direction_world=direction
    )
