"""Procedural labelled actors: vehicles, people, cyclists, animals and debris.

Each class has its own builder that draws realistic dimensions, a shape variant and
colours from ``rng``, assembles a few boxes / cylinders / extrusions, and finally fits
the model to its box exactly (see :meth:`PartsBuilder.fit_to_box`): the object frame is
x forward, y left, z up with the origin at the bottom-centre of the box, and the mesh
spans ``[-l/2, l/2] x [-w/2, w/2] x [0, h]``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scenegen.world.actors.common import CAR_PAINTS, ActorModel
from scenegen.world.actors.obstacles import build_animal, build_debris
from scenegen.world.actors.people import build_cyclist, build_pedestrian
from scenegen.world.actors.vehicles import build_bus, build_car, build_truck, build_van
from scenegen.world.types import MATERIALS, MeshPart

ACTOR_BUILDERS: dict[str, Callable[..., ActorModel]] = {
    "car": build_car,
    "van": build_van,
    "truck": build_truck,
    "bus": build_bus,
    "pedestrian": build_pedestrian,
    "cyclist": build_cyclist,
    "animal": build_animal,
    "debris": build_debris,
}


# Lamp materials glow at night; a parked vehicle's lamps are off, so they become plain
# surfaces of the same colour.
_LAMPS_OFF = {"headlight": "reflective_white", "taillight": "car_paint"}


def with_lamps_off(parts: list[MeshPart]) -> list[MeshPart]:
    """The same parts with head- and taillights switched off (hazard lamps stay on)."""
    switched = []
    for part in parts:
        material = _LAMPS_OFF.get(part.material)
        if material is None:
            switched.append(part)
        else:
            albedo = part.albedo_rgb or MATERIALS[part.material].albedo_rgb
            switched.append(MeshPart(mesh=part.mesh, material=material, albedo_rgb=albedo))
    return switched


def build_actor(class_name: str, rng: np.random.Generator, **options) -> ActorModel:
    """Build one actor of ``class_name`` (one of ``frame.CLASS_NAMES``)."""
    return ACTOR_BUILDERS[class_name](rng, **options)


__all__ = [
    "ACTOR_BUILDERS",
    "CAR_PAINTS",
    "ActorModel",
    "build_actor",
    "build_animal",
    "build_bus",
    "build_car",
    "build_cyclist",
    "build_debris",
    "build_pedestrian",
    "build_truck",
    "build_van",
    "with_lamps_off",
]
