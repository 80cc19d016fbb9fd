"""The built world: meshes with poses, classes, materials and lights.

Frames: see :mod:`scenegen.frame`. Every object's meshes are in the object's own frame
(x forward / along its length, y left / across its width, z up, origin at the centre of
the box's bottom face); ``pose_world`` places that frame in the world. Pose lives on the
object, not in the vertices, so the renderer and the ray caster share one set of meshes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

# Re-exported: the palette's owner is scenegen.world.materials.
from scenegen.world.materials import MATERIALS as MATERIALS
from scenegen.world.materials import Material as Material

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
    # Domain randomisation of the light (scenegen.world.randomize): sun and sky levels and
    # the sun's colour are scaled by these (1 = as the sun elevation and clouds give).
    light_level_scale: float = 1.0
    sun_colour_scale_rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)
    # Where the road surface is, for effects and depth on real frames: z = 0 plane.
    ground_z_m: float = 0.0

    def labelled(self) -> list[WorldObject]:
        return [o for o in self.objects if o.instance_id > 0]

    def by_instance(self) -> dict[int, WorldObject]:
        return {o.instance_id: o for o in self.objects if o.instance_id > 0}
