"""Procedural pedestrians (standing or walking) and cyclists on their bicycles."""

from __future__ import annotations

import numpy as np

from scenegen.world.actors.common import (
    RGB,
    ActorModel,
    finish,
    pick,
    v3,
)
from scenegen.world.actors.size_priors import size_prior
from scenegen.world.meshes import PartsBuilder, beam, box, cylinder, ellipsoid

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
    """An adult standing or mid-stride; legs, torso, arms, head. The height comes from
    the class size prior; length and width follow from the pose."""
    walking = bool(rng.random() < 0.7) if walking is None else walking
    height = size_prior("pedestrian")[2].draw(rng)
    stride = float(rng.uniform(0.25, 0.45)) if walking else float(rng.uniform(0.0, 0.06))
    b = PartsBuilder()
    _person(b, rng, height, stride, pick(SKIN_TONES, rng), pick(CLOTHING, rng), pick(CLOTHING, rng))
    (lo, hi) = b.bounds()
    return finish(
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
    frame_rgb = pick(
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
        (saddle - v3(0, 0, 0.08), head_tube),
        (bb, head_tube - (0, 0, 0.12)),
        (bb, rear),
        (saddle - v3(0, 0, 0.1), rear),
        (head_tube, front),
        (head_tube, bar),
    ):
        b.add(beam(p0, p1, 0.04, 0.04), "metal_pole", frame_rgb)
    b.add(beam(bar - v3(0, bar_half, 0), bar + v3(0, bar_half, 0), 0.03, 0.03), "metal_pole")
    b.add(box(tuple(saddle + v3(-0.12, -0.07, 0.0)), tuple(saddle + v3(0.1, 0.07, 0.05))), "rubber")
    skin, shirt, trousers = pick(SKIN_TONES, rng), pick(CLOTHING, rng), pick(CLOTHING, rng)
    hip = saddle + v3(0.0, 0.0, 0.08)
    crank = float(rng.uniform(0.0, 2 * np.pi))
    thigh = 0.25 * rider_h
    for side, phase in ((1, 0.0), (-1, np.pi)):
        pedal = bb + v3(0.17 * np.cos(crank + phase), side * 0.11, 0.17 * np.sin(crank + phase))
        hip_side = hip + v3(0.0, side * 0.1 * s, 0.0)
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
                shoulder + v3(0.0, side * 0.17 * s, -0.03),
                bar + v3(0.0, side * bar_half * 0.85, 0.02),
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
            ellipsoid((0.13 * s, 0.1 * s, 0.07 * s), tuple(head_c + v3(0.0, 0.0, 0.07 * s))),
            "car_paint",
            pick(CLOTHING, rng),
        )
    tail = [rear + v3(-r - 0.01, 0.0, 0.35)]
    # Scaled as a whole to a height drawn from the class size prior: KITTI's few cyclist
    # boxes say more about how tall a rider is than about a bike's proportions.
    lo, hi = b.bounds()
    scale = size_prior("cyclist")[2].draw(rng) / float(hi[2])
    dims = (float(hi[0] - lo[0]) * scale, float(hi[1] - lo[1]) * scale, float(hi[2]) * scale)
    return finish(b, "cyclist", "riding", dims, [bar + v3(0.05, 0.0, 0.0)], tail)
