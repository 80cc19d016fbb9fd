"""What every actor builder shares: the model type, paints, wheels, lamps and the final fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenegen.world.meshes import PartsBuilder, box, cylinder
from scenegen.world.types import MeshPart

RGB = tuple[float, float, float]


# Linear-albedo paints with rough market shares (white, black and grey dominate).
CAR_PAINTS: tuple[tuple[RGB, float], ...] = (
    ((0.80, 0.80, 0.80), 0.24),  # white
    ((0.02, 0.02, 0.02), 0.20),  # black
    ((0.45, 0.46, 0.48), 0.16),  # silver
    ((0.16, 0.16, 0.17), 0.14),  # grey
    ((0.05, 0.10, 0.35), 0.09),  # blue
    ((0.50, 0.03, 0.03), 0.08),  # red
    ((0.06, 0.18, 0.07), 0.03),  # green
    ((0.55, 0.45, 0.30), 0.03),  # beige
    ((0.75, 0.50, 0.04), 0.03),  # yellow
)


TYRE_SEGMENTS = 10


@dataclass
class ActorModel:
    """A labelled object's meshes in its own frame, with its box and lamp anchors.

    ``headlights_obj`` / ``taillights_obj`` are float64 ``(K, 3)`` lamp positions in the
    object frame (metres), used to add ``Light``\\ s at night.
    """

    class_name: str
    variant: str
    parts: list[MeshPart]
    dimensions_m: tuple[float, float, float]  # length, width, height
    headlights_obj: np.ndarray
    taillights_obj: np.ndarray

    @property
    def face_count(self) -> int:
        return sum(len(p.mesh.faces) for p in self.parts)


def v3(x: float, y: float, z: float) -> np.ndarray:
    """A float64 3-vector (keeps array arithmetic readable)."""
    return np.array([x, y, z], dtype=np.float64)


def jitter(rgb: RGB, rng: np.random.Generator, amount: float = 0.06) -> RGB:
    scale = 1.0 + rng.uniform(-amount, amount, 3)
    return tuple(float(c) for c in np.clip(np.asarray(rgb) * scale, 0.0, 1.0))


def car_paint(rng: np.random.Generator) -> RGB:
    weights = np.array([w for _, w in CAR_PAINTS])
    index = int(rng.choice(len(CAR_PAINTS), p=weights / weights.sum()))
    return jitter(CAR_PAINTS[index][0], rng)


def pick(options: tuple[RGB, ...], rng: np.random.Generator) -> RGB:
    return jitter(options[int(rng.integers(len(options)))], rng)


def finish(
    builder: PartsBuilder,
    class_name: str,
    variant: str,
    dims: tuple[float, float, float],
    heads: list,
    tails: list,
) -> ActorModel:
    fit = builder.fit_to_box(*dims)
    heads_a = fit.apply(np.asarray(heads, dtype=np.float64).reshape(-1, 3))
    tails_a = fit.apply(np.asarray(tails, dtype=np.float64).reshape(-1, 3))
    return ActorModel(
        class_name, variant, builder.parts(), tuple(float(d) for d in dims), heads_a, tails_a
    )


def wheels(
    b: PartsBuilder, axles_x: list[float], radius: float, tyre_width: float, half_track: float
) -> None:
    for x in axles_x:
        for side in (-1, 1):
            center = (x, side * (half_track - tyre_width / 2), radius)
            b.add(cylinder(radius, tyre_width, TYRE_SEGMENTS, center, axis="y"), "tyre")
            hub = (x, side * (half_track - tyre_width / 2 + 0.01), radius)
            b.add(cylinder(radius * 0.55, tyre_width, 6, hub, axis="y"), "metal_pole")


def lamp_pair(
    b: PartsBuilder,
    material: str,
    x0: float,
    x1: float,
    y_in: float,
    y_out: float,
    z0: float,
    z1: float,
) -> list[tuple[float, float, float]]:
    """Two lamps mirrored across y; returns their centres."""
    centres = []
    for side in (-1, 1):
        lo_y, hi_y = sorted((side * y_in, side * y_out))
        b.add(box((x0, lo_y, z0), (x1, hi_y, z1)), material)
        centres.append(((x0 + x1) / 2, side * (y_in + y_out) / 2, (z0 + z1) / 2))
    return centres
