"""Procedural vehicles: cars, vans, trucks and buses, with lamps and optional hazard lights."""

from __future__ import annotations

import numpy as np

from scenegen.world.actors.common import (
    ActorModel,
    car_paint,
    finish,
    jitter,
    lamp_pair,
    pick,
    wheels,
)
from scenegen.world.actors.size_priors import draw_dimensions
from scenegen.world.meshes import PartsBuilder, beam, box, prism_xz

# A car drawn from the size prior at least this tall is an SUV, one shorter than this a hatchback.
SUV_MIN_HEIGHT_M = 1.6
HATCHBACK_MAX_LENGTH_M = 3.9

_CAR_STYLES = {
    # length, width, height ranges (used when a style is asked for); cabin x-fractions (rear/front at belt, rear/front at roof)
    "sedan": ((4.3, 4.9), (1.70, 1.90), (1.40, 1.52), (-0.33, 0.20, -0.20, 0.03)),
    "hatchback": ((3.6, 4.3), (1.60, 1.80), (1.42, 1.58), (-0.46, 0.18, -0.42, 0.00)),
    "suv": ((4.3, 4.9), (1.78, 1.90), (1.55, 1.75), (-0.47, 0.21, -0.45, 0.05)),
}


def build_car(
    rng: np.random.Generator, *, style: str | None = None, hazard: bool = False
) -> ActorModel:
    """Sedan, hatchback or SUV: body, glass cabin with pillars, roof, wheels, lamps.

    The size comes from the class size prior (real KITTI cars); the style follows from it
    (tall: SUV, short: hatchback) unless ``style`` asks for one, which keeps the size inside
    that style's ranges.
    """
    l, w, h = draw_dimensions("car", rng)
    if style is None:
        style = _style_of(l, h)
    else:
        l, w, h = (
            float(np.clip(v, *r)) for v, r in zip((l, w, h), _CAR_STYLES[style][:3], strict=True)
        )
    cabin = _CAR_STYLES[style][3]
    paint = car_paint(rng)
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
    wheels(b, [l / 2 - overhang_f, -l / 2 + overhang_r], radius, 0.21, w / 2)
    heads = lamp_pair(
        b,
        "headlight",
        l / 2 - 0.04,
        l / 2 + 0.005,
        w / 2 - 0.45,
        w / 2 - 0.12,
        hood_front - 0.15,
        hood_front - 0.04,
    )
    tails = lamp_pair(
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
    return finish(b, "car", style, (l, w, h), heads, tails)


def _style_of(length_m: float, height_m: float) -> str:
    """The body style that suits a car of this size."""
    if height_m >= SUV_MIN_HEIGHT_M:
        return "suv"
    return "hatchback" if length_m < HATCHBACK_MAX_LENGTH_M else "sedan"


def _hazard_lamps(b: PartsBuilder, l: float, w: float, z_front: float, z_rear: float) -> None:
    """Orange indicator lamps at the four corners (they glow day and night)."""
    for x0, x1, z0 in (
        (l / 2 - 0.03, l / 2 + 0.006, z_front),
        (-l / 2 - 0.006, -l / 2 + 0.03, z_rear),
    ):
        lamp_pair(b, "hazard_light", x0, x1, w / 2 - 0.12, w / 2 - 0.02, z0, z0 + 0.1)


def build_van(rng: np.random.Generator, *, hazard: bool = False) -> ActorModel:
    """Panel van or minibus: boxy body with a raked windscreen."""
    variant = str(rng.choice(["panel", "minibus"]))
    l, w, h = draw_dimensions("van", rng)
    paint = car_paint(rng) if rng.random() < 0.6 else jitter((0.82, 0.82, 0.82), rng)
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
    wheels(b, [l / 2 - 0.85, -l / 2 + 0.95], radius, 0.22, body_half)
    heads = lamp_pair(
        b,
        "headlight",
        l / 2 - 0.04,
        l / 2 + 0.005,
        w / 2 - 0.42,
        w / 2 - 0.1,
        hood - 0.16,
        hood - 0.04,
    )
    tails = lamp_pair(
        b, "taillight", -l / 2 - 0.005, -l / 2 + 0.04, w / 2 - 0.2, w / 2 - 0.05, 0.28 * h, 0.42 * h
    )
    if hazard:
        _hazard_lamps(b, l, w, hood - 0.3, 0.2 * h)
    return finish(b, "van", variant, (l, w, h), heads, tails)


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
        car_paint(rng),
        pick(
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
    wheels(b, axles, radius, 0.3, w / 2 - 0.04)
    heads = lamp_pair(
        b, "headlight", l / 2 - 0.04, l / 2 + 0.005, w / 2 - 0.45, w / 2 - 0.12, 0.62, 0.8
    )
    tails = lamp_pair(
        b, "taillight", -l / 2 - 0.005, -l / 2 + 0.03, w / 2 - 0.35, w / 2 - 0.1, 1.02, 1.2
    )
    if hazard:
        _hazard_lamps(b, l, w, 0.85, 1.22)
    return finish(
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
    paint = pick(
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
    wheels(b, [l / 2 - 2.6, -l / 2 + 3.0], 0.5, 0.3, body_half)
    heads = lamp_pair(
        b, "headlight", l / 2 - 0.03, l / 2 + 0.004, w / 2 - 0.45, w / 2 - 0.12, 0.55, 0.75
    )
    tails = lamp_pair(
        b, "taillight", -l / 2 - 0.004, -l / 2 + 0.03, w / 2 - 0.3, w / 2 - 0.08, 0.7, 1.1
    )
    if hazard:
        _hazard_lamps(b, l, w, 0.8, 1.15)
    return finish(b, "bus", variant, (l, w, h), heads, tails)
