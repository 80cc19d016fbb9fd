"""Behaviours: where an object is at time ``t``, as plain functions of time.

A behaviour maps seconds since the start of a sequence to a :class:`RoadState` in the road
frame of :mod:`scenegen.world.road` (``s`` along the road, ``t`` to the left, a yaw offset
from the road's heading). No physics engine and no interaction: each object follows its own
documented law, so a frame at any time is a pure function of the time.

=================  ===========================================================================
behaviour          law
=================  ===========================================================================
:class:`Still`     stays where it was built (parked cars, debris, a stalled vehicle)
:class:`FollowLane`  keeps its lateral offset and moves along the road at ``speed_m_s``,
                   forwards or, when it faces against the road, backwards (oncoming lanes,
                   wrong-way drivers, walking either way along a sidewalk)
:class:`Straight`  stands until ``start_s``, then moves along its own heading at
                   ``speed_m_s`` (crossing the road)
:class:`LaneChange`  drives along the road at ``speed_m_s``; from ``start_s`` for
                   ``duration_s`` its lateral offset goes from ``t_from_m`` to ``t_to_m`` on a
                   half cosine (no lateral speed at either end), heading along its path
:class:`Falling`   rides on a carrier (a truck's load bed) until ``drop_s``, falls freely from
                   the bed keeping the carrier's speed, then slides to rest on the road
                   decelerating at ``SLIDE_FRICTION * g``
=================  ===========================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from scenegen.world.road import RoadLayout

G_M_S2 = 9.81
SLIDE_FRICTION = 0.5  # a crate sliding on asphalt: friction coefficient ~0.4-0.6


@dataclass(frozen=True)
class RoadState:
    """A pose in the road frame; ``z_m`` ``None`` means standing on the surface at ``t_m``
    (a pedestrian stepping off the kerb goes down to the road)."""

    s_m: float
    t_m: float
    z_m: float | None
    yaw_offset_rad: float


class Behaviour(Protocol):
    def state(self, time_s: float) -> RoadState:
        """Where the object is ``time_s`` seconds after the sequence starts."""
        ...


@dataclass(frozen=True)
class Still:
    start: RoadState

    def state(self, time_s: float) -> RoadState:
        return self.start


@dataclass(frozen=True)
class Straight:
    start: RoadState
    speed_m_s: float
    start_s: float = 0.0

    def state(self, time_s: float) -> RoadState:
        travelled = self.speed_m_s * max(0.0, time_s - self.start_s)
        yaw = self.start.yaw_offset_rad
        return RoadState(
            self.start.s_m + travelled * math.cos(yaw),
            self.start.t_m + travelled * math.sin(yaw),
            self.start.z_m,
            yaw,
        )


@dataclass(frozen=True)
class FollowLane:
    start: RoadState
    speed_m_s: float

    def state(self, time_s: float) -> RoadState:
        direction = 1.0 if math.cos(self.start.yaw_offset_rad) >= 0 else -1.0
        return replace(self.start, s_m=self.start.s_m + direction * self.speed_m_s * time_s)


@dataclass(frozen=True)
class LaneChange:
    s0_m: float
    t_from_m: float
    t_to_m: float
    speed_m_s: float
    start_s: float
    duration_s: float
    z_m: float | None = 0.0

    def lateral(self, time_s: float) -> tuple[float, float]:
        """Lateral offset ``t`` (m) and its rate (m/s) at ``time_s``."""
        u = min(1.0, max(0.0, (time_s - self.start_s) / self.duration_s))
        change = self.t_to_m - self.t_from_m
        rate = 0.0
        if 0.0 < u < 1.0:
            rate = change * math.pi / (2.0 * self.duration_s) * math.sin(math.pi * u)
        return self.t_from_m + change * (1.0 - math.cos(math.pi * u)) / 2.0, rate

    def state(self, time_s: float) -> RoadState:
        t_m, rate = self.lateral(time_s)
        yaw = math.atan2(rate, self.speed_m_s) if self.speed_m_s > 0 else 0.0
        return RoadState(self.s0_m + self.speed_m_s * time_s, t_m, self.z_m, yaw)


@dataclass(frozen=True)
class Falling:
    carrier: Straight
    offset_s_m: float
    offset_t_m: float
    bed_height_m: float
    drop_s: float
    yaw_offset_rad: float = 0.0

    def state(self, time_s: float) -> RoadState:
        speed = self.carrier.speed_m_s
        if time_s <= self.drop_s:
            on_bed = self.carrier.state(time_s)
            return RoadState(
                on_bed.s_m + self.offset_s_m,
                on_bed.t_m + self.offset_t_m,
                self.bed_height_m,
                self.yaw_offset_rad,
            )
        dropped = self.carrier.state(self.drop_s)
        s_drop, t_m = dropped.s_m + self.offset_s_m, dropped.t_m + self.offset_t_m
        fall_s = math.sqrt(2.0 * self.bed_height_m / G_M_S2)
        tau = time_s - self.drop_s
        if tau <= fall_s:
            z = self.bed_height_m - 0.5 * G_M_S2 * tau**2
            return RoadState(s_drop + speed * tau, t_m, z, self.yaw_offset_rad)
        decel = SLIDE_FRICTION * G_M_S2
        slide = min(tau - fall_s, speed / decel)
        s_m = s_drop + speed * fall_s + speed * slide - 0.5 * decel * slide**2
        return RoadState(s_m, t_m, 0.0, self.yaw_offset_rad)


def road_state_of(layout: RoadLayout, pose_world: np.ndarray) -> RoadState:
    """The road-frame state of a world pose (its yaw relative to the road's heading)."""
    x, y, z = (float(v) for v in pose_world[:3, 3])
    s_m, t_m = (float(v) for v in layout.road_coords(x, y))
    heading = layout.road_pose(s_m, t_m)[2]
    yaw = math.atan2(pose_world[1, 0], pose_world[0, 0]) - heading
    return RoadState(s_m, t_m, z, math.atan2(math.sin(yaw), math.cos(yaw)))


def pose_world(layout: RoadLayout, state: RoadState) -> np.ndarray:
    """The 4x4 world pose of a road-frame state."""
    z = layout.surface_z_m(state.t_m) if state.z_m is None else state.z_m
    return layout.pose(state.s_m, state.t_m, z, state.yaw_offset_rad)


def velocity_world(layout: RoadLayout, behaviour: Behaviour, time_s: float) -> np.ndarray:
    """World-frame velocity (m/s, ``(3,)`` float64) at ``time_s``: a central difference
    over 2 ms, exact for straight motion at constant speed."""
    step = 1e-3
    ahead = pose_world(layout, behaviour.state(time_s + step))[:3, 3]
    behind = pose_world(layout, behaviour.state(max(0.0, time_s - step)))[:3, 3]
    return (ahead - behind) / (time_s + step - max(0.0, time_s - step))


def blink_on(time_s: float, rate_hz: float) -> bool:
    """Whether a lamp flashing at ``rate_hz`` is lit at ``time_s`` (on for the first half
    of each period, from the sequence's start)."""
    return (time_s * rate_hz) % 1.0 < 0.5
