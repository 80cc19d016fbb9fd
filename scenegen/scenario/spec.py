"""``SceneSpec``: one concrete sample of a scenario.

A ``Scenario`` is a distribution; a ``SceneSpec`` is one draw from it. Every value here
is concrete (no distributions). Building the world and rendering are deterministic
functions of a ``SceneSpec``: randomness that they need (where exactly a parked car
stands, rain streak positions, sensor noise) comes from generators seeded by
``SceneSpec.seed`` through :func:`SceneSpec.rng`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Streams derived from a frame seed; each consumer has its own so that adding draws
# in one stage never changes another stage's numbers.
RNG_STREAMS = {
    "world": 1,
    "camera_effects": 2,
    "lidar": 3,
    "lidar_effects": 4,
    "sequence": 5,
    "randomize_camera": 6,
    "randomize_world": 7,
}


@dataclass(frozen=True)
class RoadSpec:
    type: str = "urban"  # urban | highway | rural
    lanes: int = 2
    lane_width_m: float = 3.5
    curvature_1_m: float = 0.0  # signed, 1/radius; positive curves to the left
    sidewalks: bool = True
    length_m: float = 160.0


@dataclass(frozen=True)
class CameraSpec:
    """Pinhole camera mounted on the ego vehicle, looking forward along +x (world)."""

    width: int = 1242
    height: int = 375
    fx: float = 721.5377
    fy: float = 721.5377
    cx: float = 609.5593
    cy: float = 172.854
    height_m: float = 1.65
    pitch_deg: float = 0.0  # positive pitches the camera down
    preset: str | None = "kitti"
    stereo_baseline_m: float = 0.0  # > 0: also a right camera this far along camera +x


@dataclass(frozen=True)
class LidarSpec:
    """Spinning LiDAR; ``vertical_angles_deg`` lists the beams from top to bottom."""

    preset: str | None = "hdl64"
    vertical_angles_deg: tuple[float, ...] = ()
    azimuth_steps: int = 2000
    min_range_m: float = 2.5
    max_range_m: float = 120.0
    height_m: float = 1.73
    forward_m: float = -0.27  # lidar position ahead of the camera (KITTI: 0.27 m behind)
    range_noise_m: float = 0.02
    enabled: bool = True


@dataclass(frozen=True)
class WeatherSpec:
    fog_visibility_m: float = float("inf")  # meteorological optical range; inf = no fog
    rain_rate_mm_h: float = 0.0
    snow_rate_mm_h: float = 0.0
    road_wetness: float = 0.0  # 0 dry .. 1 standing water


@dataclass(frozen=True)
class EnvironmentSpec:
    sun_elevation_deg: float = 45.0
    sun_azimuth_deg: float = 180.0  # world frame: 0 = straight ahead (+x), 90 = left (+y)
    cloud_cover: float = 0.2
    time_of_day: str | None = None  # "HH:MM" when given in the scenario
    weather: WeatherSpec = field(default_factory=WeatherSpec)

    @property
    def is_night(self) -> bool:
        return self.sun_elevation_deg < -6.0  # below civil twilight


@dataclass(frozen=True)
class ActorGroupSpec:
    cls: str  # one of frame.CLASS_NAMES except debris (placed by events)
    count: int
    parked_fraction: float = 0.0
    placement: str = "road"  # road | sidewalk | parked | any
    speed_m_s: float | None = None


@dataclass(frozen=True)
class EventSpec:
    """One rare event of the scenario, after sampling.

    ``occurs`` is the outcome of the event's ``probability``; ``params`` holds its sampled
    parameters (e.g. ``distance_m``), concrete values only.
    """

    type: str
    occurs: bool
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SequenceSpec:
    """Frames over time (the file's ``sequence:``): ``frames`` frames at ``t = k / rate_hz``.

    ``exposure_s`` is the camera's exposure (motion blur), ``lidar_sweep_s`` the time of
    one LiDAR revolution (rolling shutter); 0 turns either off.
    """

    frames: int = 10
    rate_hz: float = 10.0
    exposure_s: float = 0.01
    lidar_sweep_s: float = 0.1

    def time_s(self, frame: int) -> float:
        """Time of frame ``frame`` of the sequence, seconds after its start."""
        return frame / self.rate_hz


@dataclass(frozen=True)
class RandomizeSpec:
    """Domain-randomisation amplitudes of the file's ``randomize:`` (0: off).

    The camera's jitter is already applied to ``SceneSpec.camera``; the world builder
    draws the colour, light and distractor values with the frame's ``randomize_world``
    generator (see :mod:`scenegen.scenario.schema_randomize` for each key's meaning).
    """

    colour_jitter: float = 0.0
    light_intensity_jitter: float = 0.0
    light_colour_jitter: float = 0.0
    camera_height_m: float = 0.0
    camera_pitch_deg: float = 0.0
    focal_jitter: float = 0.0
    principal_point_px: float = 0.0
    distractors: int = 0


@dataclass(frozen=True)
class SceneSpec:
    scenario_name: str
    frame_index: int
    seed: int
    road: RoadSpec = field(default_factory=RoadSpec)
    ego_speed_m_s: float = 10.0
    # The ego's lane change in a sequence (``None``: it keeps its lane).
    ego_lane_change_start_s: float | None = None
    ego_lane_change_duration_s: float | None = None
    ego_lane_change_direction: str | None = None
    camera: CameraSpec = field(default_factory=CameraSpec)
    lidar: LidarSpec | None = None
    environment: EnvironmentSpec = field(default_factory=EnvironmentSpec)
    actors: tuple[ActorGroupSpec, ...] = ()
    events: tuple[EventSpec, ...] = ()
    user_meshes: dict[str, str] = field(default_factory=dict)  # class -> mesh path
    sweep_cell: dict[str, Any] = field(default_factory=dict)
    # Every sampled value by its dotted key path, for the manifest.
    params: dict[str, Any] = field(default_factory=dict)
    min_visible_pixels: int = 25
    sequence: SequenceSpec | None = None  # None: an independent frame
    randomize: RandomizeSpec = field(default_factory=RandomizeSpec)

    def rng(self, stream: str) -> np.random.Generator:
        """A generator for one named stage of this frame (see ``RNG_STREAMS``)."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, RNG_STREAMS[stream]]))
