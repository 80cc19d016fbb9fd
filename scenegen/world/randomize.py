"""Domain randomisation of the world: material colours, light, and unlabelled clutter.

Follows the scenario's ``randomize:`` amplitudes (:class:`~scenegen.scenario.spec.RandomizeSpec`,
whose module cites Tremblay et al. 2018 and Prakash et al. 2019); every draw comes from the
frame's ``randomize_world`` generator, so the same spec builds the same world. Distractors
are scenery: ``instance_id`` 0, no class, never labelled; they hide what stands behind
them like any other scenery.
"""

from __future__ import annotations

import numpy as np

from scenegen.scenario.schema_randomize import DISTRACTOR_KINDS
from scenegen.scenario.spec import RandomizeSpec
from scenegen.world.actors import build_debris
from scenegen.world.context import BuildContext
from scenegen.world.meshes import PartsBuilder, box, cylinder
from scenegen.world.placement import Footprint
from scenegen.world.types import MATERIALS, MeshPart, WorldObject

DISTRACTOR_TRIES = 20
DISTRACTOR_NEAR_S_M, DISTRACTOR_FAR_S_M = 4.0, 60.0
_BIN_COLOURS = ((0.05, 0.18, 0.07), (0.12, 0.12, 0.13), (0.35, 0.06, 0.04), (0.05, 0.08, 0.3))


def colour_factors(amplitude: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per material (sorted by name, so the draws do not depend on which are used) a
    ``(3,)`` albedo factor ``1 + u``, ``u`` uniform in ``[-amplitude, amplitude]``."""
    names = sorted(MATERIALS)
    u = rng.uniform(-1.0, 1.0, (len(names), 3))
    return {name: 1.0 + amplitude * u[i] for i, name in enumerate(names)}


def recolour(objects: list[WorldObject], factors: dict[str, np.ndarray]) -> None:
    """Scale every part's albedo (its own, or its material's) by its material's factor."""
    for obj in objects:
        parts = []
        for part in obj.parts:
            albedo = np.asarray(part.albedo_rgb or MATERIALS[part.material].albedo_rgb)
            rgb = np.clip(albedo * factors[part.material], 0.0, 1.0)
            parts.append(MeshPart(part.mesh, part.material, tuple(float(c) for c in rgb)))
        obj.parts = parts


def light_scales(
    amplitudes: RandomizeSpec, rng: np.random.Generator
) -> tuple[float, tuple[float, float, float]]:
    """``(sun and sky level factor, sun colour factor per channel)``; four draws."""
    u = rng.uniform(-1.0, 1.0, 4)
    level = 1.0 + amplitudes.light_intensity_jitter * float(u[0])
    colour = tuple(float(1.0 + amplitudes.light_colour_jitter * c) for c in u[1:])
    return level, colour  # type: ignore[return-value]


def _distractor(kind: str, rng: np.random.Generator) -> tuple[list[MeshPart], tuple, str]:
    """Parts, ``(length, width, height)`` and semantic class of one clutter object."""
    if kind == "cone":
        model = build_debris(rng, kind="cone")
        return model.parts, model.dimensions_m, "debris"
    b = PartsBuilder()
    if kind == "bin":  # a wheelie bin: body and lid
        w, h = float(rng.uniform(0.5, 0.75)), float(rng.uniform(0.9, 1.1))
        colour = _BIN_COLOURS[int(rng.integers(len(_BIN_COLOURS)))]
        b.add(box((-w / 2, -w / 2, 0.0), (w / 2, w / 2, h - 0.05)), "rubber", colour)
        b.add(
            box((-w / 2 - 0.02, -w / 2 - 0.02, h - 0.05), (w / 2 + 0.02, w / 2 + 0.02, h)),
            "rubber",
            colour,
        )
        return b.parts(), (w + 0.04, w + 0.04, h), "debris"
    h, r = float(rng.uniform(1.0, 3.0)), float(rng.uniform(0.04, 0.08))  # bollard or post
    b.add(cylinder(r, h, 8, (0.0, 0.0, h / 2), axis="z"), "metal_pole")
    return b.parts(), (2 * r, 2 * r, h), "pole"


def place_distractors(ctx: BuildContext, count: int, rng: np.random.Generator) -> int:
    """Put ``count`` unlabelled clutter objects on the sidewalks or verges (into
    ``ctx.scenery``); returns how many found no free spot."""
    layout = ctx.layout
    skipped = 0
    for _ in range(count):
        kind = DISTRACTOR_KINDS[int(rng.integers(len(DISTRACTOR_KINDS)))]
        parts, dims, semantic = _distractor(kind, rng)
        for _ in range(DISTRACTOR_TRIES):
            side = int(rng.choice([-1, 1]))
            if layout.sidewalks:
                lo, hi = sorted(layout.sidewalk_span_t(side))
                t = float(rng.uniform(lo + 0.2, hi - 0.2))
            else:
                t = layout.roadside_t(side) + side * float(rng.uniform(0.4, 2.0))
            s = float(rng.uniform(DISTRACTOR_NEAR_S_M, DISTRACTOR_FAR_S_M))
            pose = layout.pose(s, t, layout.surface_z_m(t), float(rng.uniform(-np.pi, np.pi)))
            footprint = Footprint.of_pose(pose, dims[0], dims[1])
            if ctx.is_free(footprint, 0.2):
                ctx.occupancy.add(footprint)
                ctx.scenery.append(
                    WorldObject(f"distractor_{kind}", semantic, parts, pose, dimensions_m=dims)
                )
                break
        else:
            skipped += 1
    return skipped
