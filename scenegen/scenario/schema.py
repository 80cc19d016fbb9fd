"""The scenario file format, version 1: one key table, one source of truth.

:func:`scenario_fields` describes every key a scenario file may hold: its type, its
allowed range, whether it may be a distribution, its default and a description. The
validator (:mod:`scenegen.scenario.validator`) checks files against this table,
:mod:`scenegen.scenario.json_schema` renders it as a JSON Schema for editors and
standard validators, and :mod:`scenegen.scenario.sampling` builds the
:class:`~scenegen.scenario.spec.SceneSpec` from it (:data:`SPEC_SECTIONS`). The kinds
of key are defined in :mod:`scenegen.scenario.fields`.

Ranges are closed intervals. A distribution is accepted only if its whole support lies
inside the key's range, so ``visibility_m: uniform(-5, 10)`` is an error even though
most of its draws would be valid.
"""

from __future__ import annotations

import functools
from types import MappingProxyType

from scenegen.scenario.fields import (
    BoolField,
    EnumField,
    Field,
    ListField,
    NumberField,
    NumberListField,
    ObjectField,
    PathField,
    SearchField,
    SweepField,
    TextField,
    UnionField,
)
from scenegen.scenario.fields import object_field as _obj
from scenegen.scenario.schema_events import event_union
from scenegen.scenario.schema_gate import gate_fields
from scenegen.scenario.schema_randomize import randomize_fields
from scenegen.scenario.schema_require import require_fields

FORMAT_VERSION = 1
MAX_FILE_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 32
# YAML values (scalars, lists, mappings, aliases) in one file: pure-Python YAML parses about
# 10,000 a second, so this bounds the time to reject a hostile file; a sweep axis of
# MAX_SWEEP_CELLS values still fits.
MAX_YAML_NODES = 20_000
MAX_FRAMES = 1_000_000
MAX_ACTORS_PER_GROUP = 200
MAX_IMAGE_SIDE_PX = 8192
MAX_LIDAR_RAYS = 4_000_000
MAX_SWEEP_CELLS = 10_000
MAX_ACTOR_GROUPS = 64
MAX_EVENTS = 64
MAX_SEQUENCE_FRAMES = 10_000
MAX_SWEEP_AXES = 16

ACTOR_CLASSES = ("car", "van", "truck", "bus", "pedestrian", "cyclist", "animal")
VEHICLE_CLASSES = ("car", "van", "truck", "bus")
MESH_SUFFIXES = (".glb", ".obj")

CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


# Words users write for an option, for "did you mean" (only the options are accepted).
_ROAD_ALIASES = MappingProxyType(
    {
        word: option
        for option, words in {
            "highway": ("motorway", "freeway", "expressway", "autobahn", "interstate"),
            "urban": ("city", "town", "street", "downtown"),
            "rural": ("country", "countryside", "village"),
        }.items()
        for word in words
    }
)
_ACTOR_ALIASES = MappingProxyType(
    {
        word: option
        for option, words in {
            "cyclist": ("bicycle", "bike", "bicyclist"),
            "pedestrian": ("person", "people", "walker"),
            "truck": ("lorry",),
            "car": ("vehicle", "automobile"),
            "animal": ("deer", "dog", "boar"),
        }.items()
        for word in words
    }
)


@functools.cache
def scenario_fields() -> ObjectField:
    """The key table of scenario format version 1 (the root mapping)."""
    road = _obj(
        "The road the ego vehicle drives on.",
        {
            "type": EnumField(
                "Road kind: urban (kerbs, sidewalks, parked cars), highway "
                "(wide lanes, barriers), rural (narrow, no sidewalks).",
                ("urban", "highway", "rural"),
                "urban",
                aliases=_ROAD_ALIASES,
            ),
            "lanes": NumberField(
                "Total number of lanes, both directions together.", 1, 8, 2, integer=True
            ),
            "lane_width_m": NumberField("Lane width in metres.", 2.5, 5.0, 3.5),
            "curvature_1_m": NumberField(
                "Signed curvature in 1/m (1/radius); positive curves to the left, 0 is straight.",
                -0.05,
                0.05,
                0.0,
            ),
            "sidewalks": BoolField("Whether the road has raised sidewalks on both sides.", True),
            "length_m": NumberField(
                "Length of road built ahead of the ego vehicle, metres.", 40.0, 500.0, 160.0
            ),
        },
    )
    ego = _obj(
        "The ego vehicle that carries the sensors.",
        {
            "speed_m_s": NumberField("Ego speed in m/s.", 0.0, 70.0, 10.0),
            "lane_change": _obj(
                "A lane change of the ego vehicle during a sequence (sequences only).",
                {
                    "start_s": NumberField(
                        "Seconds after the sequence starts at which it begins.", 0.0, 600.0, 1.0
                    ),
                    "duration_s": NumberField("Seconds it takes.", 0.5, 20.0, 3.0),
                    "direction": EnumField(
                        "Towards which side: left or right.", ("left", "right"), "left"
                    ),
                },
                optional=True,
            ),
        },
    )
    camera = _obj(
        "The forward camera. Name a preset (kitti, nuscenes, wide) and optionally override "
        "keys, or give width, height and fov_deg for a custom centred pinhole camera.",
        {
            "preset": EnumField(
                "Camera preset: kitti (1242x375, KITTI P2), nuscenes "
                "(1600x900), wide (1920x1080, 90 deg), custom. Default: kitti, "
                "or custom when width, height or fov_deg is given.",
                ("kitti", "nuscenes", "wide", "custom"),
                random=False,
            ),
            "width": NumberField(
                "Image width in pixels (default: from the preset).",
                16,
                MAX_IMAGE_SIDE_PX,
                None,
                integer=True,
                random=False,
            ),
            "height": NumberField(
                "Image height in pixels (default: from the preset).",
                16,
                MAX_IMAGE_SIDE_PX,
                None,
                integer=True,
                random=False,
            ),
            "fov_deg": NumberField(
                "Horizontal field of view in degrees; square pixels, "
                "principal point at the image centre (default: from the preset).",
                1.0,
                170.0,
                None,
                random=False,
            ),
            "height_m": NumberField(
                "Camera height above the ground in metres (default: "
                "from the preset, 1.65 for kitti).",
                0.3,
                5.0,
                None,
            ),
            "pitch_deg": NumberField(
                "Camera pitch in degrees, positive looks down (default: from the preset, 0).",
                -30.0,
                30.0,
                None,
            ),
            "stereo_baseline_m": NumberField(
                "Also render a right stereo camera this many metres to the right (KITTI "
                "image_3 with its P3; KITTI's baseline is 0.54); 0 renders one camera "
                "(default 0).",
                0.0,
                2.0,
                None,
                random=False,
            ),
        },
    )
    lidar = _obj(
        "The spinning LiDAR. Name a preset (hdl64, vlp32, vlp16, os1-128) and optionally "
        "override keys, or preset custom with channels (+ fov_up_deg, fov_down_deg) or "
        "vertical_angles_deg. `lidar: false` or `enabled: false` disables it.",
        {
            "enabled": BoolField("Whether the LiDAR is simulated.", True, random=False),
            "preset": EnumField(
                "LiDAR preset: hdl64 (KITTI's Velodyne HDL-64E), vlp32, vlp16, os1-128, or custom.",
                ("hdl64", "vlp32", "vlp16", "os1-128", "custom"),
                "hdl64",
                random=False,
            ),
            "channels": NumberField(
                "Number of beams, evenly spaced from fov_up_deg to "
                "fov_down_deg (default: from the preset).",
                1,
                1024,
                None,
                integer=True,
                random=False,
            ),
            "fov_up_deg": NumberField(
                "Angle of the top beam in degrees above horizontal (default: from the preset).",
                -90.0,
                90.0,
                None,
                random=False,
            ),
            "fov_down_deg": NumberField(
                "Angle of the bottom beam in degrees, negative below "
                "horizontal (default: from the preset).",
                -90.0,
                90.0,
                None,
                random=False,
            ),
            "vertical_angles_deg": NumberListField(
                "Explicit beam elevation angles in degrees, "
                "top to bottom; replaces channels and "
                "fov_*.",
                -90.0,
                90.0,
                1,
                1024,
            ),
            "azimuth_steps": NumberField(
                "Rays per revolution per beam (default: from the preset, 2000 for hdl64).",
                16,
                100_000,
                None,
                integer=True,
                random=False,
            ),
            "min_range_m": NumberField(
                "Closest range returned, metres (default: preset).", 0.0, 50.0, None, random=False
            ),
            "max_range_m": NumberField(
                "Farthest range returned, metres (default: preset).",
                1.0,
                1000.0,
                None,
                random=False,
            ),
            "range_noise_m": NumberField(
                "Standard deviation of range noise, metres (default: preset, 0.02 for hdl64).",
                0.0,
                1.0,
                None,
                random=False,
            ),
            "height_m": NumberField(
                "LiDAR height above the ground, metres (default 1.73).",
                0.3,
                5.0,
                None,
                random=False,
            ),
            "forward_m": NumberField(
                "LiDAR position ahead of the camera, metres; negative is behind (default -0.27, KITTI).",
                -5.0,
                5.0,
                None,
                random=False,
            ),
        },
        accepts_bool=True,
    )
    sensors = _obj("Sensors on the ego vehicle.", {"camera": camera, "lidar": lidar})
    weather = _obj(
        "Weather; each effect is a physical quantity.",
        {
            "fog": _obj(
                "Fog; absent means clear air.",
                {
                    "visibility_m": NumberField(
                        "Meteorological optical range in metres (distance at "
                        "which contrast falls to 5%).",
                        5.0,
                        100_000.0,
                    ),
                },
                required=("visibility_m",),
                optional=True,
            ),
            "rain": _obj(
                "Rain.",
                {
                    "rate_mm_h": NumberField(
                        "Rain rate in mm/h (0 dry, 2.5 moderate, 8 heavy, 50 violent).",
                        0.0,
                        200.0,
                        0.0,
                    ),
                },
            ),
            "snow": _obj(
                "Snowfall.",
                {
                    "rate_mm_h": NumberField(
                        "Snowfall rate in mm/h of liquid-water equivalent "
                        "(0.5 light, 1-3 heavy, 10 the heaviest observed).",
                        0.0,
                        10.0,
                        0.0,
                    ),
                },
            ),
            "road_wetness": NumberField(
                "Road surface wetness: 0 dry .. 1 standing water.", 0.0, 1.0, 0.0
            ),
        },
    )
    environment = _obj(
        "Light and weather.",
        {
            "time_of_day": TextField(
                "Local solar time HH:MM; sets the sun by a simple model "
                "(latitude 49 N, equinox). Default 12:00 unless sun is given.",
                None,
                CLOCK_PATTERN,
                'a time "HH:MM" from "00:00" to "23:59"',
                random=True,
            ),
            "sun": _obj(
                "Sun position given directly, in the world frame (instead of time_of_day).",
                {
                    "elevation_deg": NumberField(
                        "Sun elevation above the horizon in degrees; below -6 is night.",
                        -90.0,
                        90.0,
                        45.0,
                    ),
                    "azimuth_deg": NumberField(
                        "Sun azimuth in degrees, counter-clockwise from the "
                        "ego's forward axis (0 ahead, 90 left, 180 behind).",
                        -180.0,
                        180.0,
                        180.0,
                    ),
                },
                optional=True,
            ),
            "heading_deg": NumberField(
                "Compass heading of the ego vehicle in degrees "
                "(0 north, 90 east); turns time_of_day's sun into the world frame.",
                0.0,
                360.0,
                90.0,
            ),
            "cloud_cover": NumberField(
                "Fraction of the sky covered by cloud, 0..1.", 0.0, 1.0, 0.2
            ),
            "weather": weather,
        },
    )
    actor = _obj(
        "A group of actors of one class.",
        {
            "class": EnumField(
                "Actor class: " + ", ".join(ACTOR_CLASSES) + ".",
                ACTOR_CLASSES,
                random=False,
                aliases=_ACTOR_ALIASES,
            ),
            "count": NumberField(
                f"Number of actors in the group, 0..{MAX_ACTORS_PER_GROUP}.",
                0,
                MAX_ACTORS_PER_GROUP,
                1,
                integer=True,
            ),
            "parked_fraction": NumberField(
                "Fraction of the group parked at the kerb (vehicles only), 0..1.", 0.0, 1.0, 0.0
            ),
            "placement": EnumField(
                "Where the (non-parked) actors go: road, sidewalk, parked or "
                "any. Default: sidewalk for pedestrians, road otherwise.",
                ("road", "sidewalk", "parked", "any"),
            ),
            "speed_m_s": NumberField(
                "Speed in m/s (default: typical for the class).", 0.0, 70.0, None
            ),
            "mesh": PathField(
                "Optional GLB/OBJ mesh for this class, relative to the scenario "
                "file's folder (must stay inside it).",
                MESH_SUFFIXES,
            ),
        },
        required=("class",),
    )
    events = event_union()
    return _obj(
        "A scenegen scenario (format version 1).",
        {
            "version": NumberField(
                "Scenario format version; must be 1.",
                FORMAT_VERSION,
                FORMAT_VERSION,
                None,
                integer=True,
                random=False,
            ),
            "name": TextField(
                "Scenario name: letters, digits, '.', '_', '-'; at most 64 characters.",
                None,
                NAME_PATTERN,
                "letters, digits, '.', '_' or '-', starting with a letter or digit, "
                "at most 64 characters",
                64,
            ),
            "description": TextField("Free-text description.", ""),
            "seed": NumberField(
                "Default base seed of a batch (the command line may override).",
                0,
                2**32 - 1,
                0,
                integer=True,
                random=False,
            ),
            "frames": NumberField(
                "Default number of frames of a batch (the command line may override).",
                1,
                MAX_FRAMES,
                100,
                integer=True,
                random=False,
            ),
            "min_visible_pixels": NumberField(
                "Objects with fewer visible pixels are not labelled.",
                0,
                1_000_000,
                25,
                integer=True,
                random=False,
            ),
            "sequence": _obj(
                "Frames over time: each of the batch's `frames` becomes one sequence of "
                "this many frames of one world, at t = k / rate_hz. Absent: independent "
                "frames.",
                {
                    "frames": NumberField(
                        "Frames per sequence.",
                        1,
                        MAX_SEQUENCE_FRAMES,
                        10,
                        integer=True,
                        random=False,
                    ),
                    "rate_hz": NumberField("Frames per second.", 0.5, 100.0, 10.0, random=False),
                    "exposure_s": NumberField(
                        "Camera exposure time in seconds: motion during it blurs the image "
                        "(0: no motion blur).",
                        0.0,
                        0.1,
                        0.01,
                        random=False,
                    ),
                    "lidar_sweep_s": NumberField(
                        "Time of one LiDAR revolution in seconds: points are measured along "
                        "it while everything moves (rolling shutter; 0: all at the frame's "
                        "time).",
                        0.0,
                        1.0,
                        0.1,
                        random=False,
                    ),
                },
                optional=True,
            ),
            "road": road,
            "ego": ego,
            "sensors": sensors,
            "environment": environment,
            "actors": ListField("Groups of traffic participants.", actor, MAX_ACTOR_GROUPS),
            "events": ListField("Rare events, each with its probability.", events, MAX_EVENTS),
            "sweep": SweepField(
                "Optional grid: each key is a dotted path into this file (e.g. environment."
                "weather.fog.visibility_m or actors[0].count), each value the list of values "
                "of that axis. Cells are the cartesian product; frame i of n goes to cell "
                "i * ncells // n.",
                MAX_SWEEP_AXES,
            ),
            "search": SearchField(),  # described in fields.py
            **require_fields(),
            **gate_fields(),
            **randomize_fields(),
        },
        required=("version", "name"),
    )


def table_section(path: str) -> ObjectField:
    """The object of the key table at dotted ``path``; ``actors`` gives one actor group.

    Raises ``KeyError`` naming the path when the table has no such object, so code that
    reads the table by path fails the moment a key is renamed.
    """
    spec: Field = scenario_fields()
    for name in path.split("."):
        child = spec.fields.get(name) if isinstance(spec, ObjectField) else None
        if isinstance(child, ListField) and isinstance(child.item, ObjectField):
            child = child.item
        if not isinstance(child, ObjectField):
            raise KeyError(f"the key table has no object at {path!r}")
        spec = child
    assert isinstance(spec, ObjectField)
    return spec


def event_fields(event_type: str) -> ObjectField:
    """The keys of one event type (``type`` and ``probability`` included)."""
    events = scenario_fields().fields["events"]
    assert isinstance(events, ListField) and isinstance(events.item, UnionField)
    return events.item.variants[event_type]
