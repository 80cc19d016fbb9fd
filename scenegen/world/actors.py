"""Procedural labelled actors: vehicles, people, cyclists, animals and debris.

Each class has its own builder that draws realistic dimensions, a shape variant and
colours from ``rng``, assembles a few boxes / cylinders / extrusions, and finally fits
the model to its box exactly (see :meth:`PartsBuilder.fit_to_box`): the object frame is
x forward, y left, z up with the origin at the bottom-centre of the box, and the mesh
spans ``[-l/2, l/2] x [-w/2, w/2] x [0, h]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scenegen.world.meshes import PartsBuilder, beam, box, cylinder, ellipsoid, frustum, prism_xz
from scenegen.world.types import MATERIALS, MeshPart

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
CLOTHING: tuple[RGB, ...] = (
    (0.02, 0.02, 0.03),
    (0.05, 0.07, 0.20),
    (0.30, 0.30, 0.32),
    (0.60, 0.60, 0.58),
    (0.35, 0.05, 0.04),
    (0.08, 0.18, 0.08),
    (0.45, 0.35, 0.20),
    (0.70, 0.55, 0.10),
    (0.12, 0.15, 0.30),
    (0.55, 0.20, 0.35),
)
SKIN_TONES: tuple[RGB, ...] = (
    (0.62, 0.45, 0.36),
    (0.55, 0.38, 0.28),
    (0.40, 0.26, 0.18),
    (0.22, 0.13, 0.08),
    (0.70, 0.55, 0.45),
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


def _v(x: float, y: float, z: float) -> np.ndarray:
    """A float64 3-vector (keeps array arithmetic readable)."""
    return np.array([x, y, z], dtype=np.float64)


def _jitter(rgb: RGB, rng: np.random.Generator, amount: float = 0.06) -> RGB:
    scale = 1.0 + rng.uniform(-amount, amount, 3)
    return tuple(float(c) for c in np.clip(np.asarray(rgb) * scale, 0.0, 1.0))


def _paint(rng: np.random.Generator) -> RGB:
    weights = np.array([w for _, w in CAR_PAINTS])
    index = int(rng.choice(len(CAR_PAINTS), p=weights / weights.sum()))
    return _jitter(CAR_PAINTS[index][0], rng)


def _pick(options: tuple[RGB, ...], rng: np.random.Generator) -> RGB:
    return _jitter(options[int(rng.integers(len(options)))], rng)


def _finish(
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


def _wheels(
    b: PartsBuilder, axles_x: list[float], radius: float, tyre_width: float, half_track: float
) -> None:
    for x in axles_x:
        for side in (-1, 1):
            center = (x, side * (half_track - tyre_width / 2), radius)
            b.add(cylinder(radius, tyre_width, TYRE_SEGMENTS, center, axis="y"), "tyre")
            hub = (x, side * (half_track - tyre_width / 2 + 0.01), radius)
            b.add(cylinder(radius * 0.55, tyre_width, 6, hub, axis="y"), "metal_pole")


def _lamp_pair(
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


# --- vehicles ------------------------------------------------------------------------

_CAR_STYLES = {
    # length, width, height ranges; cabin x-fractions (rear/front at belt, rear/front at roof)
    "sedan": ((4.3, 4.9), (1.70, 1.90), (1.40, 1.52), (-0.33, 0.20, -0.20, 0.03)),
    "hatchback": ((3.6, 4.3), (1.60, 1.80), (1.42, 1.58), (-0.46, 0.18, -0.42, 0.00)),
    "suv": ((4.3, 4.9), (1.78, 1.90), (1.55, 1.75), (-0.47, 0.21, -0.45, 0.05)),
}


def build_car(
    rng: np.random.Generator, *, style: str | None = None, hazard: bool = False
) -> ActorModel:
    """Sedan, hatchback or SUV: body, glass cabin with pillars, roof, wheels, lamps."""
    style = style or str(rng.choice(list(_CAR_STYLES), p=[0.45, 0.30, 0.25]))
    l_rng, w_rng, h_rng, cabin = _CAR_STYLES[style]
    l, w, h = (float(rng.uniform(*r)) for r in (l_rng, w_rng, h_rng))
    paint = _paint(rng)
    suv = style == "suv"
    radius = float(rng.uniform(0.35, 0.38) if suv else rng.uniform(0.29, 0.33))
    clearance = 0.20 if suv else 0.14
    belt = h * (0.60 if suv else 0.57)
    hood_front = belt - 0.13
    b = PartsBuilder()
    body = [
        (-l / 2 + 0.1, clearance),
        (l / 2 - 0.15, clearance),
        (l / 2, clearance + 0.15),
        (l / 2, hood_front),
        (l / 2 - 0.45, belt),
        (-l / 2 + 0.2, belt),
        (-l / 2, belt - 0.1),
        (-l / 2, clearance + 0.15),
    ]
    b.add(prism_xz(body, -w / 2, w / 2), "car_paint", paint)
    xr0, xf0, xr1, xf1 = (f * l for f in cabin)
    top = h - 0.05
    glass_half = w / 2 - 0.09
    b.add(
        prism_xz([(xr0, belt), (xf0, belt), (xf1, top), (xr1, top)], -glass_half, glass_half),
        "car_glass",
    )
    b.add(
        box((xr1 - 0.03, -w / 2 + 0.07, h - 0.07), (xf1 + 0.03, w / 2 - 0.07, h)),
        "car_paint",
        paint,
    )
    xb0, xb1 = (xr0 + xf0) / 2 - 0.06, (xr1 + xf1) / 2 - 0.06
    for side in (-1, 1):
        y = side * (w / 2 - 0.1)
        for p0, p1 in (
            ((xf0, y, belt), (xf1, y, top)),
            ((xr0, y, belt), (xr1, y, top)),
            ((xb0, y, belt), (xb1, y, top)),
        ):
            b.add(beam(p0, p1, 0.06, 0.09), "car_paint", paint)
    overhang_f, overhang_r = float(rng.uniform(0.75, 0.95)), float(rng.uniform(0.65, 0.95))
    _wheels(b, [l / 2 - overhang_f, -l / 2 + overhang_r], radius, 0.21, w / 2)
    heads = _lamp_pair(
        b,
        "headlight",
        l / 2 - 0.04,
        l / 2 + 0.005,
        w / 2 - 0.45,
        w / 2 - 0.12,
        hood_front - 0.15,
        hood_front - 0.04,
    )
    tails = _lamp_pair(
        b,
        "taillight",
        -l / 2 - 0.005,
        -l / 2 + 0.04,
        w / 2 - 0.38,
        w / 2 - 0.08,
        belt - 0.26,
        belt - 0.14,
    )
    b.add(
        box((-l / 2 - 0.004, -0.26, clearance + 0.2), (-l / 2 + 0.02, 0.26, clearance + 0.31)),
        "reflective_white",
    )
    if hazard:
        _hazard_lamps(b, l, w, hood_front - 0.15, belt - 0.26)
    return _finish(b, "car", style, (l, w, h), heads, tails)


def _hazard_lamps(b: PartsBuilder, l: float, w: float, z_front: float, z_rear: float) -> None:
    """Orange indicator lamps at the four corners (they glow day and night)."""
    for x0, x1, z0 in (
        (l / 2 - 0.03, l / 2 + 0.006, z_front),
        (-l / 2 - 0.006, -l / 2 + 0.03, z_rear),
    ):
        _lamp_pair(b, "hazard_light", x0, x1, w / 2 - 0.12, w / 2 - 0.02, z0, z0 + 0.1)


def build_van(rng: np.random.Generator, *, hazard: bool = False) -> ActorModel:
    """Panel van or minibus: boxy body with a raked windscreen."""
    variant = str(rng.choice(["panel", "minibus"]))
    l, w, h = (
        float(rng.uniform(4.6, 5.8)),
        float(rng.uniform(1.85, 2.05)),
        float(rng.uniform(1.9, 2.6)),
    )
    paint = _paint(rng) if rng.random() < 0.6 else _jitter((0.82, 0.82, 0.82), rng)
    clearance, radius = 0.18, float(rng.uniform(0.33, 0.37))
    hood, waist = 0.42 * h, 0.50 * h
    body_half = w / 2 - 0.012
    b = PartsBuilder()
    b.add(
        prism_xz(
            [
                (-l / 2, clearance),
                (l / 2 - 0.1, clearance),
                (l / 2, clearance + 0.15),
                (l / 2, hood),
                (l / 2 - 0.45, waist),
                (-l / 2, waist),
            ],
            -body_half,
            body_half,
        ),
        "car_paint",
        paint,
    )
    screen_top_x = l / 2 - 1.15
    b.add(
        prism_xz(
            [(-l / 2, waist), (l / 2 - 0.45, waist), (screen_top_x, h), (-l / 2, h)],
            -body_half,
            body_half,
        ),
        "car_paint",
        paint,
    )
    # Windscreen: a thin slab just proud of the raked face.
    a = np.array([l / 2 - 0.5, waist + 0.06])
    c = np.array([screen_top_x + 0.06, h - 0.08])
    d = (c - a) / np.linalg.norm(c - a)
    n = np.array([d[1], -d[0]]) * 0.02
    b.add(prism_xz([a, c, c + n, a + n], -body_half + 0.1, body_half - 0.1), "car_glass")
    win_z0, win_z1 = waist + 0.1, h - 0.15
    windows = [(screen_top_x - 0.75, l / 2 - 0.75)]
    if variant == "minibus":
        windows.append((-l / 2 + 0.3, screen_top_x - 0.85))
    for x0, x1 in windows:
        for side in (-1, 1):
            lo_y, hi_y = sorted((side * (w / 2 - 0.02), side * w / 2))
            b.add(
                box((x0, lo_y, win_z0), (x1, hi_y, min(win_z1, _van_roof_z(x1, l, h, waist)))),
                "car_glass",
            )
    _wheels(b, [l / 2 - 0.85, -l / 2 + 0.95], radius, 0.22, body_half)
    heads = _lamp_pair(
        b,
        "headlight",
        l / 2 - 0.04,
        l / 2 + 0.005,
        w / 2 - 0.42,
        w / 2 - 0.1,
        hood - 0.16,
        hood - 0.04,
    )
    tails = _lamp_pair(
        b, "taillight", -l / 2 - 0.005, -l / 2 + 0.04, w / 2 - 0.2, w / 2 - 0.05, 0.28 * h, 0.42 * h
    )
    if hazard:
        _hazard_lamps(b, l, w, hood - 0.3, 0.2 * h)
    return _finish(b, "van", variant, (l, w, h), heads, tails)


def _van_roof_z(x: float, l: float, h: float, waist: float) -> float:
    """Height of the van's upper body at ``x`` (it slopes down along the windscreen)."""
    x_top, x_base = l / 2 - 1.15, l / 2 - 0.45
    if x <= x_top:
        return h - 0.12
    return waist + (h - waist) * (x_base - x) / (x_base - x_top) - 0.12


def build_truck(rng: np.random.Generator, *, hazard: bool = False) -> ActorModel:
    """Rigid box truck: cab with windscreen, chassis, cargo box, two or three axles."""
    l, w, h = (
        float(rng.uniform(6.0, 10.0)),
        float(rng.uniform(2.3, 2.55)),
        float(rng.uniform(2.9, 3.8)),
    )
    cab_l, cab_h = float(rng.uniform(1.9, 2.3)), min(h, float(rng.uniform(2.7, 3.0)))
    cab_paint, box_paint = (
        _paint(rng),
        _pick(
            (
                (0.8, 0.8, 0.8),
                (0.5, 0.5, 0.52),
                (0.05, 0.1, 0.35),
                (0.45, 0.05, 0.05),
                (0.7, 0.6, 0.1),
            ),
            rng,
        ),
    )
    radius = float(rng.uniform(0.47, 0.52))
    b = PartsBuilder()
    front = l / 2 - 0.012
    b.add(
        box((l / 2 - cab_l, -w / 2 + 0.03, 0.45), (front, w / 2 - 0.03, cab_h)),
        "car_paint",
        cab_paint,
    )
    b.add(
        box((front - 0.01, -w / 2 + 0.2, 0.58 * cab_h), (l / 2, w / 2 - 0.2, cab_h - 0.15)),
        "car_glass",
    )
    for side in (-1, 1):
        lo_y, hi_y = sorted((side * (w / 2 - 0.04), side * (w / 2 - 0.02)))
        b.add(box((l / 2 - 1.0, lo_y, 0.6 * cab_h), (l / 2 - 0.25, hi_y, cab_h - 0.2)), "car_glass")
    b.add(box((l / 2 - 0.35, -w / 2 + 0.05, 0.3), (l / 2, w / 2 - 0.05, 0.6)), "tyre")
    cargo_front = l / 2 - cab_l - 0.15
    b.add(box((-l / 2 + 0.3, -0.5, 0.45), (cargo_front, 0.5, 0.95)), "tyre")
    b.add(box((-l / 2, -w / 2, 1.0), (cargo_front, w / 2, h)), "car_paint", box_paint)
    axles = [l / 2 - cab_l / 2, -l / 2 + 1.5]
    if l > 7.5:
        axles.append(-l / 2 + 2.85)
    _wheels(b, axles, radius, 0.3, w / 2 - 0.04)
    heads = _lamp_pair(
        b, "headlight", l / 2 - 0.04, l / 2 + 0.005, w / 2 - 0.45, w / 2 - 0.12, 0.62, 0.8
    )
    tails = _lamp_pair(
        b, "taillight", -l / 2 - 0.005, -l / 2 + 0.03, w / 2 - 0.35, w / 2 - 0.1, 1.02, 1.2
    )
    if hazard:
        _hazard_lamps(b, l, w, 0.85, 1.22)
    return _finish(
        b, "truck", "box_truck" if len(axles) == 2 else "three_axle", (l, w, h), heads, tails
    )


def build_bus(rng: np.random.Generator, *, hazard: bool = False) -> ActorModel:
    """City or coach bus: long body, window band, large windscreen."""
    variant = str(rng.choice(["city", "coach"]))
    l, w, h = (
        float(rng.uniform(10.5, 12.8)),
        float(rng.uniform(2.45, 2.55)),
        float(rng.uniform(2.9, 3.4)),
    )
    paint = _pick(
        (
            (0.75, 0.55, 0.05),
            (0.8, 0.8, 0.8),
            (0.5, 0.05, 0.05),
            (0.05, 0.15, 0.4),
            (0.1, 0.3, 0.12),
        ),
        rng,
    )
    floor = 0.35 if variant == "city" else 0.5
    body_half = w / 2 - 0.012
    b = PartsBuilder()
    front = l / 2 - 0.012
    b.add(
        prism_xz(
            [
                (-l / 2, floor),
                (front, floor),
                (front, h - 0.12),
                (front - 0.12, h),
                (-l / 2 + 0.12, h),
                (-l / 2, h - 0.12),
            ],
            -body_half,
            body_half,
        ),
        "car_paint",
        paint,
    )
    band_z0 = 1.15 if variant == "city" else 1.45
    for side in (-1, 1):
        lo_y, hi_y = sorted((side * (w / 2 - 0.02), side * w / 2))
        b.add(box((-l / 2 + 0.5, lo_y, band_z0), (l / 2 - 0.45, hi_y, h - 0.35)), "car_glass")
    b.add(box((front - 0.01, -w / 2 + 0.1, 0.95), (l / 2, w / 2 - 0.1, h - 0.2)), "car_glass")
    b.add(
        box((-l / 2, -w / 2 + 0.35, band_z0 + 0.2), (-l / 2 + 0.012, w / 2 - 0.35, h - 0.4)),
        "car_glass",
    )
    _wheels(b, [l / 2 - 2.6, -l / 2 + 3.0], 0.5, 0.3, body_half)
    heads = _lamp_pair(
        b, "headlight", l / 2 - 0.03, l / 2 + 0.004, w / 2 - 0.45, w / 2 - 0.12, 0.55, 0.75
    )
    tails = _lamp_pair(
        b, "taillight", -l / 2 - 0.004, -l / 2 + 0.03, w / 2 - 0.3, w / 2 - 0.08, 0.7, 1.1
    )
    if hazard:
        _hazard_lamps(b, l, w, 0.8, 1.15)
    return _finish(b, "bus", variant, (l, w, h), heads, tails)


# --- people --------------------------------------------------------------------------


def _person(
    b: PartsBuilder,
    rng: np.random.Generator,
    height_m: float,
    stride_rad: float,
    skin: RGB,
    shirt: RGB,
    trousers: RGB,
) -> None:
    """A standing or walking person facing +x, feet at z=0, head top at ``height_m``."""
    s = height_m / 1.75
    hip_z, shoulder_z = 0.53 * height_m, 0.815 * height_m
    hip_half, shoulder_half = 0.09 * s, float(rng.uniform(0.17, 0.21)) * s
    ankle_z = 0.07 * s
    for side, angle in ((1, stride_rad), (-1, -stride_rad)):
        hip = np.array([0.0, side * hip_half, hip_z])
        ankle = np.array([(hip_z - ankle_z) * np.tan(angle), side * hip_half, ankle_z])
        b.add(beam(hip, ankle, 0.14 * s, 0.15 * s), "clothing", trousers)
        b.add(
            box(
                (ankle[0] - 0.06 * s, ankle[1] - 0.05 * s, 0.0),
                (ankle[0] + 0.18 * s, ankle[1] + 0.05 * s, ankle_z + 0.02 * s),
            ),
            "rubber",
        )
    b.add(
        box((-0.11 * s, -shoulder_half, hip_z - 0.06 * s), (0.11 * s, shoulder_half, shoulder_z)),
        "clothing",
        shirt,
    )
    arm_len = 0.34 * height_m
    for side, angle in ((1, -0.8 * stride_rad), (-1, 0.8 * stride_rad)):
        shoulder = np.array([0.0, side * (shoulder_half + 0.04 * s), shoulder_z - 0.04 * s])
        hand = shoulder + arm_len * np.array([np.sin(angle), 0.0, -np.cos(angle)])
        b.add(beam(shoulder, hand, 0.08 * s, 0.09 * s), "clothing", shirt)
        b.add(ellipsoid((0.045 * s, 0.04 * s, 0.06 * s), tuple(hand), 0), "skin", skin)
    b.add(
        beam(
            (0.0, 0.0, shoulder_z - 0.02 * s), (0.0, 0.0, shoulder_z + 0.07 * s), 0.09 * s, 0.09 * s
        ),
        "skin",
        skin,
    )
    head_r = 0.115 * s
    b.add(ellipsoid((0.1 * s, 0.085 * s, head_r), (0.01 * s, 0.0, height_m - head_r)), "skin", skin)


def build_pedestrian(rng: np.random.Generator, *, walking: bool | None = None) -> ActorModel:
    """An adult (1.5-1.95 m) standing or mid-stride; legs, torso, arms, head."""
    walking = bool(rng.random() < 0.7) if walking is None else walking
    height = float(rng.uniform(1.5, 1.95))
    stride = float(rng.uniform(0.25, 0.45)) if walking else float(rng.uniform(0.0, 0.06))
    b = PartsBuilder()
    _person(
        b, rng, height, stride, _pick(SKIN_TONES, rng), _pick(CLOTHING, rng), _pick(CLOTHING, rng)
    )
    (lo, hi) = b.bounds()
    return _finish(
        b,
        "pedestrian",
        "walking" if walking else "standing",
        (float(hi[0] - lo[0]), float(hi[1] - lo[1]), height),
        [],
        [],
    )


def _knee(hip: np.ndarray, foot: np.ndarray, segment_m: float) -> np.ndarray:
    """Two-link leg: the knee bends forward (+x) in the x-z plane."""
    d = foot - hip
    dist = float(np.linalg.norm(d[[0, 2]]))
    mid = (hip + foot) / 2
    if dist >= 2 * segment_m:
        return mid
    bend = np.sqrt(segment_m**2 - (dist / 2) ** 2)
    perp = np.array([-d[2], 0.0, d[0]]) / dist
    if perp[0] < 0:
        perp = -perp
    return mid + bend * perp


def build_cyclist(rng: np.random.Generator) -> ActorModel:
    """A bicycle and its rider as one labelled object."""
    rider_h = float(rng.uniform(1.6, 1.9))
    s = rider_h / 1.75
    r = float(rng.uniform(0.33, 0.36))
    wheelbase = float(rng.uniform(1.0, 1.1))
    bar_half = float(rng.uniform(0.24, 0.3))
    frame_rgb = _pick(
        ((0.6, 0.05, 0.05), (0.05, 0.05, 0.05), (0.1, 0.2, 0.5), (0.7, 0.7, 0.7), (0.1, 0.35, 0.1)),
        rng,
    )
    b = PartsBuilder()
    rear, front = np.array([-wheelbase / 2, 0.0, r]), np.array([wheelbase / 2, 0.0, r])
    for hub in (rear, front):
        b.add(cylinder(r, 0.045, 14, tuple(hub), axis="y"), "tyre")
    bb = np.array([-0.05, 0.0, 0.28])
    saddle = np.array([-wheelbase / 2 + 0.3, 0.0, 0.52 * rider_h + 0.02])
    head_tube = np.array([wheelbase / 2 - 0.16, 0.0, saddle[2] - 0.08])
    bar = np.array([wheelbase / 2 - 0.2, 0.0, saddle[2] + 0.05])
    for p0, p1 in (
        (bb, saddle),
        (saddle - _v(0, 0, 0.08), head_tube),
        (bb, head_tube - (0, 0, 0.12)),
        (bb, rear),
        (saddle - _v(0, 0, 0.1), rear),
        (head_tube, front),
        (head_tube, bar),
    ):
        b.add(beam(p0, p1, 0.04, 0.04), "metal_pole", frame_rgb)
    b.add(beam(bar - _v(0, bar_half, 0), bar + _v(0, bar_half, 0), 0.03, 0.03), "metal_pole")
    b.add(box(tuple(saddle + _v(-0.12, -0.07, 0.0)), tuple(saddle + _v(0.1, 0.07, 0.05))), "rubber")
    skin, shirt, trousers = _pick(SKIN_TONES, rng), _pick(CLOTHING, rng), _pick(CLOTHING, rng)
    hip = saddle + _v(0.0, 0.0, 0.08)
    crank = float(rng.uniform(0.0, 2 * np.pi))
    thigh = 0.25 * rider_h
    for side, phase in ((1, 0.0), (-1, np.pi)):
        pedal = bb + _v(0.17 * np.cos(crank + phase), side * 0.11, 0.17 * np.sin(crank + phase))
        hip_side = hip + _v(0.0, side * 0.1 * s, 0.0)
        knee = _knee(hip_side, pedal, thigh)
        b.add(beam(hip_side, knee, 0.13 * s, 0.13 * s), "clothing", trousers)
        b.add(beam(knee, pedal, 0.1 * s, 0.1 * s), "clothing", trousers)
    lean = float(rng.uniform(0.55, 0.85))
    torso = 0.3 * rider_h
    shoulder = hip + torso * np.array([np.sin(lean), 0.0, np.cos(lean)])
    b.add(beam(hip, shoulder, 0.36 * s, 0.2 * s), "clothing", shirt)
    for side in (-1, 1):
        b.add(
            beam(
                shoulder + _v(0.0, side * 0.17 * s, -0.03),
                bar + _v(0.0, side * bar_half * 0.85, 0.02),
                0.08 * s,
                0.08 * s,
            ),
            "clothing",
            shirt,
        )
    head_c = shoulder + np.array([0.08, 0.0, 0.16]) * s
    b.add(ellipsoid((0.1 * s, 0.085 * s, 0.11 * s), tuple(head_c)), "skin", skin)
    if rng.random() < 0.6:
        b.add(
            ellipsoid((0.13 * s, 0.1 * s, 0.07 * s), tuple(head_c + _v(0.0, 0.0, 0.07 * s))),
            "car_paint",
            _pick(CLOTHING, rng),
        )
    tail = [rear + _v(-r - 0.01, 0.0, 0.35)]
    lo, hi = b.bounds()
    dims = (float(hi[0] - lo[0]), float(hi[1] - lo[1]), float(hi[2]))
    return _finish(b, "cyclist", "riding", dims, [bar + _v(0.05, 0.0, 0.0)], tail)


# --- animals ---------------------------------------------------------------------------

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
    fur = _pick(furs, rng)
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
        b.add(ellipsoid((0.16, 0.08, 0.09), tuple(head + _v(0.08, 0.0, 0.0))), "fur", fur)
        if rng.random() < 0.5:
            for side in (-1, 1):
                base = head + _v(0.0, side * 0.05, 0.06)
                tip = base + _v(0.05, side * 0.18, 0.25)
                b.add(beam(base, tip, 0.03, 0.03), "bark")
                b.add(
                    beam(base + (tip - base) * 0.5, tip + _v(0.12, 0.0, 0.05), 0.025, 0.025), "bark"
                )
    elif species == "dog":
        head = np.array([body_l / 2 + 0.05, 0.0, body_z + depth * 0.6])
        b.add(beam((body_l / 2 - 0.08, 0.0, body_z), head, 0.1, 0.1), "fur", fur)
        b.add(ellipsoid((0.12, 0.07, 0.07), tuple(head + _v(0.05, 0.0, 0.0))), "fur", fur)
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
            cylinder(0.06, 0.12, 8, tuple(head + _v(0.28, 0.0, -0.05)), axis="x"),
            "skin",
            (0.35, 0.25, 0.22),
        )
    lo, hi = b.bounds()
    dims = (float(hi[0] - lo[0]), float(hi[1] - lo[1]), float(hi[2]))
    return _finish(b, "animal", species, dims, [], [])


# --- debris ----------------------------------------------------------------------------


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
            _jitter(MATERIALS["cardboard"].albedo_rgb, rng, 0.15),
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
            _jitter(MATERIALS["cargo"].albedo_rgb, rng, 0.2),
        )
        dims = (l, w, h)
    return _finish(b, "debris", kind, dims, [], [])


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
