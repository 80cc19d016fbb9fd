"""The built world: meshes with poses, classes, materials and lights.

Frames: see :mod:`scenegen.frame`. Every object's meshes are in the object's own frame
(x forward / along its length, y left / across its width, z up, origin at the centre of
the box's bottom face); ``pose_world`` places that frame in the world. Pose lives on the
object, not in the vertices, so the renderer and the ray caster share one set of meshes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import trimesh


@dataclass(frozen=True)
class Material:
    """Surface appearance for the camera and the LiDAR.

    ``albedo_rgb`` is linear reflectance in [0, 1]; ``emissive_rgb`` is light emitted
    when the lamp is on (linear, may exceed 1); ``lidar_reflectivity`` is the diffuse
    reflectivity at 905 nm in [0, 1]; ``glass`` surfaces give no LiDAR return.
    """

    albedo_rgb: tuple[float, float, float]
    lidar_reflectivity: float = 0.2
    specular: float = 0.0  # 0 matte .. 1 mirror-like highlights
    emissive_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)
    emissive_at_night_only: bool = True
    glass: bool = False


# Window panes, dark; the lit ones below add a room's glow.
WINDOW_GLASS = Material((0.05, 0.07, 0.09), lidar_reflectivity=0.05, specular=0.6, glass=True)

# The palette. Parts refer to these names; a part may override the albedo (car paint).
MATERIALS: dict[str, Material] = {
    "asphalt": Material((0.09, 0.09, 0.095), lidar_reflectivity=0.12),
    "lane_marking": Material((0.80, 0.80, 0.78), lidar_reflectivity=0.65),
    "kerb": Material((0.45, 0.44, 0.42), lidar_reflectivity=0.25),
    "sidewalk": Material((0.38, 0.37, 0.35), lidar_reflectivity=0.22),
    "grass": Material((0.10, 0.22, 0.06), lidar_reflectivity=0.35),
    "building": Material((0.45, 0.40, 0.35), lidar_reflectivity=0.25),
    # Window panes: dark glass, or a lit room behind it at night (warm tungsten / LED, or
    # the cool light of a screen); a lit window is about 10-50 cd/m^2, a few times a
    # lamp-lit road, far dimmer than the lamps themselves.
    "building_window": WINDOW_GLASS,
    "building_window_lit": replace(WINDOW_GLASS, emissive_rgb=(0.006, 0.0042, 0.002)),
    "building_window_lit_cool": replace(WINDOW_GLASS, emissive_rgb=(0.0028, 0.0032, 0.0036)),
    "foliage": Material((0.07, 0.18, 0.05), lidar_reflectivity=0.30),
    "bark": Material((0.20, 0.13, 0.08), lidar_reflectivity=0.20),
    "metal_pole": Material((0.30, 0.30, 0.32), lidar_reflectivity=0.30, specular=0.3),
    "lamp": Material((0.9, 0.9, 0.8), lidar_reflectivity=0.4, emissive_rgb=(6.0, 5.2, 3.6)),
    "car_paint": Material((0.5, 0.5, 0.5), lidar_reflectivity=0.35, specular=0.5),
    "car_glass": Material((0.03, 0.04, 0.05), lidar_reflectivity=0.05, specular=0.8, glass=True),
    "tyre": Material((0.03, 0.03, 0.03), lidar_reflectivity=0.05),
    "headlight": Material((0.85, 0.85, 0.80), lidar_reflectivity=0.6, emissive_rgb=(8.0, 7.6, 6.4)),
    "taillight": Material((0.45, 0.02, 0.02), lidar_reflectivity=0.5, emissive_rgb=(5.0, 0.2, 0.1)),
    "hazard_light": Material(
        (0.9, 0.45, 0.02),
        lidar_reflectivity=0.5,
        emissive_rgb=(6.0, 2.8, 0.2),
        emissive_at_night_only=False,
    ),
    "skin": Material((0.55, 0.38, 0.28), lidar_reflectivity=0.30),
    "clothing": Material((0.2, 0.2, 0.3), lidar_reflectivity=0.25),
    "fur": Material((0.35, 0.25, 0.15), lidar_reflectivity=0.25),
    "rubber": Material((0.04, 0.04, 0.04), lidar_reflectivity=0.08),
    "cardboard": Material((0.55, 0.42, 0.25), lidar_reflectivity=0.40),
    "cone_orange": Material((0.9, 0.25, 0.02), lidar_reflectivity=0.7),
    "reflective_white": Material((0.85, 0.85, 0.85), lidar_reflectivity=0.9),
    "cargo": Material((0.35, 0.30, 0.22), lidar_reflectivity=0.30),
    "barrier": Material((0.85, 0.35, 0.05), lidar_reflectivity=0.7),
}

# Semantic classes of scenery and actors (SemanticKITTI-like ids for LiDAR .label files).
SEMANTIC_IDS: dict[str, int] = {
    "unlabeled": 0,
    "car": 10,
    "bicycle": 11,
    "bus": 13,
    "truck": 18,
    "van": 20,  # "other-vehicle"
    "pedestrian": 30,
    "cyclist": 31,
    "animal": 32,  # not in SemanticKITTI; kept in its "person-like" block
    "road": 40,
    "sidewalk": 48,
    "kerb": 49,
    "building": 50,
    "fence": 51,
    "vegetation": 70,
    "terrain": 72,
    "pole": 80,
    "traffic-sign": 81,
    "debris": 99,  # SemanticKITTI "other-object"
}


# Flat ground: the camera shades it with the world's up normal, the LiDAR's wet-road model
# weakens its returns.
GROUND_SEMANTICS: tuple[str, ...] = ("road", "sidewalk", "kerb", "terrain")


@dataclass
class MeshPart:
    """One mesh with one material, in its object's frame."""

    mesh: trimesh.Trimesh
    material: str
    albedo_rgb: tuple[float, float, float] | None = None  # overrides the material's albedo


@dataclass(frozen=True)
class Light:
    """A lamp. Spot lights (headlights) have a direction and a cone; point lights do not.

    Positions and directions are in the world frame; ``intensity_cd`` in candela.
    """

    position_world: tuple[float, float, float]
    color_rgb: tuple[float, float, float] = (1.0, 0.95, 0.85)
    intensity_cd: float = 1000.0
    direction_world: tuple[float, float, float] | None = None
    cone_half_angle_deg: float = 30.0


@dataclass
class WorldObject:
    """An object in the world.

    ``instance_id`` > 0 and ``class_name`` set for objects that are labelled (actors,
    debris, animals); scenery has ``instance_id == 0`` and ``class_name is None``.
    ``dimensions_m`` is ``(length, width, height)`` of the object's tight box, whose
    bottom-centre is the object frame's origin.
    """

    name: str
    semantic: str
    parts: list[MeshPart]
    pose_world: np.ndarray  # 4x4 float64, object frame -> world frame
    instance_id: int = 0
    class_name: str | None = None
    dimensions_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    event: str | None = None
    moving: bool = False


@dataclass
class World:
    """All objects and lamps of one scene, plus the sky and sun for lighting."""

    objects: list[WorldObject]
    lights: list[Light] = field(default_factory=list)
    sun_direction_world: tuple[float, float, float] = (0.0, 0.0, 1.0)  # towards the sun
    sun_elevation_deg: float = 45.0
    cloud_cover: float = 0.2
    is_night: bool = False
    road_wetness: float = 0.0
    snow_rate_mm_h: float = 0.0  # falling now, and settled on the ground (the camera's business)
    # Where the road surface is, for effects and depth on real frames: z = 0 plane.
    ground_z_m: float = 0.0

    def labelled(self) -> list[WorldObject]:
        return [o for o in self.objects if o.instance_id > 0]

    def by_instance(self) -> dict[int, WorldObject]:
        return {o.instance_id: o for o in self.objects if o.instance_id > 0}
