"""Procedural animals on the road and debris (boxes, tyres, lost cargo)."""

from __future__ import annotations

import numpy as np

from scenegen.world.actors.common import (
    ActorModel,
    finish,
    jitter,
    pick,
    v3,
)
from scenegen.world.meshes import PartsBuilder, beam, box, cylinder, ellipsoid, frustum
from scenegen.world.types import MATERIALS

_SPECIES = {
    # body length, body depth, body width, leg length, fur colours
    "deer": (
        (1.1, 1.5),
        (0.42, 0.55),
        (0.32, 0.42),
        (0.55, 0.8),
        ((0.36, 0.22, 0.12), (0.3, 0.2, 0.12)),
    ),
    "dog": (
        (0.5, 0.85),
        (0.2, 0.32),
        (0.18, 0.28),
        (0.25, 0.45),
        ((0.03, 0.03, 0.03), (0.35, 0.22, 0.1), (0.7, 0.55, 0.3), (0.75, 0.72, 0.68)),
    ),
    "boar": (
        (0.95, 1.35),
        (0.45, 0.6),
        (0.38, 0.52),
        (0.25, 0.36),
        ((0.12, 0.09, 0.07), (0.2, 0.15, 0.1)),
    ),
}


def build_animal(rng: np.random.Generator, *, species: str | None = None) -> ActorModel:
    """A deer, dog or wild boar standing or walking, facing +x."""
    species = species or str(rng.choice(list(_SPECIES)))
    body_l_r, depth_r, width_r, leg_r, furs = _SPECIES[species]
    body_l, depth, width, leg = (
        float(rng.uniform(*v)) for v in (body_l_r, depth_r, width_r, leg_r)
    )
    fur = pick(furs, rng)
    stride = float(rng.uniform(0.0, 0.35))
    b = PartsBuilder()
    body_z = leg + depth / 2
    b.add(ellipsoid((body_l / 2, width / 2, depth / 2), (0.0, 0.0, body_z)), "fur", fur)
    for x_sign, phase in ((1, 1.0), (-1, -1.0)):
        for side in (-1, 1):
            top = np.array([x_sign * (body_l / 2 - 0.12 * body_l), side * width * 0.28, body_z])
            angle = phase * side * stride
            foot = top + np.array([np.tan(angle) * body_z, 0.0, -body_z])
            thick = 0.035 + 0.09 * depth
            b.add(beam(top, foot, thick, thick), "fur", fur)
    if species == "deer":
        neck_base = np.array([body_l / 2 - 0.1, 0.0, body_z + depth * 0.2])
        head = neck_base + np.array([0.2, 0.0, 0.45])
        b.add(beam(neck_base, head, 0.14, 0.16), "fur", fur)
        b.add(ellipsoid((0.16, 0.08, 0.09), tuple(head + v3(0.08, 0.0, 0.0))), "fur", fur)
        if rng.random() < 0.5:
            for side in (-1, 1):
                base = head + v3(0.0, side * 0.05, 0.06)
                tip = base + v3(0.05, side * 0.18, 0.25)
                b.add(beam(base, tip, 0.03, 0.03), "bark")
                b.add(
                    beam(base + (tip - base) * 0.5, tip + v3(0.12, 0.0, 0.05), 0.025, 0.025), "bark"
                )
    elif species == "dog":
        head = np.array([body_l / 2 + 0.05, 0.0, body_z + depth * 0.6])
        b.add(beam((body_l / 2 - 0.08, 0.0, body_z), head, 0.1, 0.1), "fur", fur)
        b.add(ellipsoid((0.12, 0.07, 0.07), tuple(head + v3(0.05, 0.0, 0.0))), "fur", fur)
        b.add(
            beam(
                (-body_l / 2 + 0.02, 0.0, body_z + 0.02),
                (-body_l / 2 - 0.15, 0.0, body_z + 0.15),
                0.04,
                0.04,
            ),
            "fur",
            fur,
        )
    else:  # boar: big low head with a snout
        head = np.array([body_l / 2 + 0.05, 0.0, body_z - depth * 0.1])
        b.add(ellipsoid((0.25, width * 0.35, depth * 0.35), tuple(head)), "fur", fur)
        b.add(
            cylinder(0.06, 0.12, 8, tuple(head + v3(0.28, 0.0, -0.05)), axis="x"),
            "skin",
            (0.35, 0.25, 0.22),
        )
    lo, hi = b.bounds()
    dims = (float(hi[0] - lo[0]), float(hi[1] - lo[1]), float(hi[2]))
    return finish(b, "animal", species, dims, [], [])


def build_debris(rng: np.random.Generator, *, kind: str | None = None) -> ActorModel:
    """A lost tyre, cardboard box, traffic cone or cargo crate lying on the road."""
    kind = kind or str(rng.choice(["tyre", "box", "cone", "cargo"]))
    b = PartsBuilder()
    if kind == "tyre":
        r, width = float(rng.uniform(0.3, 0.38)), float(rng.uniform(0.18, 0.26))
        if rng.random() < 0.6:  # lying flat
            b.add(cylinder(r, width, 14, (0.0, 0.0, width / 2), axis="z"), "rubber")
            b.add(
                cylinder(r * 0.55, width + 0.004, 8, (0.0, 0.0, width / 2), axis="z"), "metal_pole"
            )
            dims = (2 * r, 2 * r, width + 0.002)
        else:
            b.add(cylinder(r, width, 14, (0.0, 0.0, r), axis="y"), "rubber")
            b.add(cylinder(r * 0.55, width + 0.004, 8, (0.0, 0.0, r), axis="y"), "metal_pole")
            dims = (2 * r, width + 0.004, 2 * r)
    elif kind == "box":
        l, w, h = (
            float(rng.uniform(0.3, 0.9)),
            float(rng.uniform(0.3, 0.7)),
            float(rng.uniform(0.2, 0.6)),
        )
        b.add(
            box((-l / 2, -w / 2, 0.0), (l / 2, w / 2, h)),
            "cardboard",
            jitter(MATERIALS["cardboard"].albedo_rgb, rng, 0.15),
        )
        b.add(box((-l / 2 - 0.003, -0.03, h - 0.01), (l / 2 + 0.003, 0.03, h + 0.002)), "cargo")
        dims = (l + 0.006, w, h + 0.002)
    elif kind == "cone":
        h, base = float(rng.uniform(0.5, 0.9)), float(rng.uniform(0.34, 0.45))
        r0 = base * 0.4
        b.add(box((-base / 2, -base / 2, 0.0), (base / 2, base / 2, 0.035)), "cone_orange")
        band0, band1 = 0.45 * h, 0.62 * h

        def radius(z: float) -> float:
            return r0 + (0.025 - r0) * z / h

        b.add(frustum(r0, radius(band0), band0, 10, (0.0, 0.0, 0.0)), "cone_orange")
        b.add(
            frustum(radius(band0), radius(band1), band1 - band0, 10, (0.0, 0.0, band0)),
            "reflective_white",
        )
        b.add(frustum(radius(band1), 0.025, h - band1, 10, (0.0, 0.0, band1)), "cone_orange")
        dims = (base, base, h)
    else:  # cargo: a pallet with a load
        l, w, h = (
            float(rng.uniform(0.6, 1.2)),
            float(rng.uniform(0.5, 1.0)),
            float(rng.uniform(0.4, 1.0)),
        )
        b.add(box((-l / 2, -w / 2, 0.0), (l / 2, w / 2, 0.12)), "bark")
        b.add(
            box((-l / 2 + 0.03, -w / 2 + 0.03, 0.12), (l / 2 - 0.03, w / 2 - 0.03, h)),
            "cargo",
            jitter(MATERIALS["cargo"].albedo_rgb, rng, 0.2),
        )
        dims = (l, w, h)
    return finish(b, "debris", kind, dims, [], [])
