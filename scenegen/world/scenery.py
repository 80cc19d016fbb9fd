"""Roadside scenery: buildings with window bands, trees, poles and signs, street lamps,
guard rails. Unlabelled (``instance_id == 0``); merged into a few world-frame objects per
semantic class so a scene stays cheap to build, render and ray-cast.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from scenegen.world import meshes
from scenegen.world.meshes import PartsBuilder, beam, box, cylinder, ellipsoid, frustum
from scenegen.world.placement import Footprint
from scenegen.world.road import RoadLayout
from scenegen.world.types import WorldObject

BUILDING_COLOURS = (
    (0.45, 0.40, 0.35),
    (0.62, 0.58, 0.52),
    (0.38, 0.20, 0.14),
    (0.70, 0.66, 0.56),
    (0.30, 0.30, 0.32),
    (0.55, 0.48, 0.38),
)
FLOOR_HEIGHT_M = 3.2
# Window materials and the share of panes of each: dark, a warm lit room, a cool lit room.
WINDOW_LIGHTS = ("building_window", "building_window_lit", "building_window_lit_cool")
WINDOW_LIGHT_SHARES = (0.62, 0.28, 0.10)
# Scenery from here on (road s, metres) is what the camera sees; before it, only the LiDAR.
SCENERY_VIEW_START_S_M = -10.0


@dataclass
class Scenery:
    """Scenery objects, their footprints (actors keep clear of them) and lamp heads.

    ``lamp_heads_world`` is float64 ``(K, 3)``: the underside of each street-lamp head in
    world metres, where a downward light goes at night.
    """

    objects: list[WorldObject]
    obstacles: list[Footprint] = field(default_factory=list)
    lamp_heads_world: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))


def _to_world(geometry: meshes.Geometry, pose: np.ndarray) -> meshes.Geometry:
    return meshes.transform(geometry, pose[:3, :3], pose[:3, 3])


def _buildings(
    layout: RoadLayout,
    rng: np.random.Generator,
    windows_rng: np.random.Generator,
    b: PartsBuilder,
    *,
    end_inside: bool,
) -> None:
    """Rows of buildings along both sides; ``end_inside`` keeps them short of ``s_end_m``."""
    lit_rng = windows_rng.spawn(1)[0]
    k = abs(layout.curvature_1_m)
    max_width = 22.0 if k < 1e-6 else float(np.clip(np.sqrt(1.6 / k), 6.0, 22.0))
    for side in (-1, 1):
        s = layout.s_start_m + float(rng.uniform(0.0, 4.0))
        base_t = layout.roadside_t(side)
        while s < layout.s_end_m:
            width = float(rng.uniform(8.0, 20.0)) if max_width > 8.0 else max_width
            width = min(width, max_width)
            if end_inside and s + width > layout.s_end_m:
                width = layout.s_end_m - s
                if width < 4.0:
                    break
            depth = float(rng.uniform(8.0, 14.0))
            floors = int(rng.integers(2, 8))
            height = floors * FLOOR_HEIGHT_M + float(rng.uniform(0.3, 1.2))
            # On the inside of a curve a straight facade's ends bulge towards the road.
            bulge = k * (width / 2) ** 2 / 2 if np.sign(layout.curvature_1_m) == side else 0.0
            t_face = base_t + side * (float(rng.uniform(0.3, 2.0)) + bulge)
            pose = layout.pose(s + width / 2, t_face + side * depth / 2, 0.0)
            colour = BUILDING_COLOURS[int(rng.integers(len(BUILDING_COLOURS)))]
            b.add(
                _to_world(box((-width / 2, -depth / 2, 0.0), (width / 2, depth / 2, height)), pose),
                "building",
                colour,
            )
            face_y = -side * depth / 2  # the facade that looks at the road
            panes = _window_grid(width, face_y, side, floors, windows_rng)
            # Which rooms are lit at night: a stream of its own, so the panes' geometry
            # (and with it every LiDAR return) does not depend on it.
            lit = lit_rng.choice(len(WINDOW_LIGHTS), size=len(panes), p=WINDOW_LIGHT_SHARES)
            for index, material in enumerate(WINDOW_LIGHTS):
                chosen = [pane for pane, k in zip(panes, lit, strict=True) if k == index]
                if chosen:
                    b.add(_to_world(meshes.merge(chosen), pose), material)
            s += width + float(rng.uniform(0.0, 3.0))


def _window_grid(
    width_m: float, face_y_m: float, side: int, floors: int, rng: np.random.Generator
) -> list[meshes.Geometry]:
    """The separate window panes on a facade (building frame), a quarter of its area or so.

    Panes stand 4 cm proud of the facade at ``face_y_m``, towards the road (``-side``).
    Piers between them matter beyond looks: glass gives no LiDAR return, so continuous
    window bands would hide a third of the facade from the beams that look level.
    """
    pane_w = float(rng.uniform(1.0, 1.5))
    pitch = pane_w + float(rng.uniform(1.2, 2.0))
    n_cols = max(1, int((width_m - 1.2) // pitch))
    first = -n_cols * pitch / 2 + (pitch - pane_w) / 2
    lo_y, hi_y = sorted((face_y_m, face_y_m - side * 0.04))
    panes = [
        box(
            (first + c * pitch, lo_y, f * FLOOR_HEIGHT_M + 0.9),
            (first + c * pitch + pane_w, hi_y, f * FLOOR_HEIGHT_M + 2.3),
        )
        for f in range(floors)
        for c in range(n_cols)
    ]
    return panes


def _tree(
    rng: np.random.Generator, x: float, y: float, trunks: PartsBuilder, crowns: PartsBuilder
) -> float:
    """Add one tree at world ``(x, y)``; returns its trunk radius."""
    trunk_r = float(rng.uniform(0.12, 0.22))
    trunk_h = float(rng.uniform(1.8, 3.2))
    trunks.add(cylinder(trunk_r, trunk_h, 6, (x, y, trunk_h / 2)), "bark")
    green = tuple(float(c) for c in np.array((0.07, 0.18, 0.05)) * rng.uniform(0.7, 1.3))
    if rng.random() < 0.3:  # conifer
        crown_h = float(rng.uniform(4.0, 9.0))
        crowns.add(
            frustum(float(rng.uniform(1.3, 2.4)), 0.05, crown_h, 8, (x, y, trunk_h * 0.6)),
            "foliage",
            green,
        )
    else:
        rh, rv = float(rng.uniform(1.4, 3.0)), float(rng.uniform(1.5, 2.6))
        crowns.add(
            ellipsoid((rh, rh * float(rng.uniform(0.85, 1.0)), rv), (x, y, trunk_h + rv * 0.8)),
            "foliage",
            green,
        )
    return trunk_r


def _street_lamp(
    layout: RoadLayout,
    s: float,
    t: float,
    side: int,
    height: float,
    arm_m: float,
    poles: PartsBuilder,
    heads: PartsBuilder,
) -> np.ndarray:
    """A pole with an arm reaching over the road; returns the lamp head's underside (world)."""
    pose = layout.pose(s, t, 0.0)
    to_road = -side  # local y direction that points over the road
    poles.add(_to_world(cylinder(0.08, height, 8, (0.0, 0.0, height / 2)), pose), "metal_pole")
    arm_end = np.array([0.0, to_road * arm_m, height + 0.15])
    poles.add(_to_world(beam((0.0, 0.0, height - 0.3), arm_end, 0.08, 0.08), pose), "metal_pole")
    lo_y, hi_y = sorted((arm_end[1] - to_road * 0.2, arm_end[1] + to_road * 0.35))
    heads.add(
        _to_world(box((-0.15, lo_y, height + 0.02), (0.15, hi_y, height + 0.16)), pose), "lamp"
    )
    centre = np.array([0.0, (lo_y + hi_y) / 2, height + 0.01, 1.0])
    return (pose @ centre)[:3]


def _guard_rail(layout: RoadLayout, t: float, facing: int, rails: PartsBuilder) -> None:
    s = layout.samples_s()
    for offset, face in ((0.0, facing), (0.03, -facing)):
        tt = t - facing * offset
        low, high = layout.polyline(s, tt, 0.45), layout.polyline(s, tt, 0.8)
        rails.add(meshes.strip(low, high) if face < 0 else meshes.strip(high, low), "metal_pole")
    for post_s in np.arange(layout.s_start_m + 1.0, layout.s_end_m, 4.0):
        pose = layout.pose(float(post_s), t - facing * 0.1, 0.0)
        rails.add(_to_world(box((-0.05, -0.05, 0.0), (0.05, 0.05, 0.75)), pose), "metal_pole")


def _sign(
    layout: RoadLayout,
    rng: np.random.Generator,
    s: float,
    t: float,
    poles: PartsBuilder,
    plates: PartsBuilder,
) -> None:
    pose = layout.pose(s, t, 0.0, yaw_offset_rad=np.pi)  # faces oncoming ego traffic
    height = float(rng.uniform(2.2, 2.8))
    poles.add(_to_world(cylinder(0.04, height, 6, (0.0, 0.0, height / 2)), pose), "metal_pole")
    colour = ((0.7, 0.05, 0.05), (0.05, 0.15, 0.55), (0.8, 0.65, 0.05))[int(rng.integers(3))]
    size = float(rng.uniform(0.6, 0.9))
    plates.add(
        _to_world(
            box((-0.06, -size / 2, height - 0.1), (-0.03, size / 2, height - 0.1 + size)), pose
        ),
        "reflective_white",
        colour,
    )


def _populate(
    layout: RoadLayout,
    rng: np.random.Generator,
    windows_rng: np.random.Generator,
    parts: _Builders,
    *,
    in_view: bool,
) -> None:
    """Buildings, lamps and trees along ``layout``'s s range; signs when ``in_view``.

    Out of view (behind the ego) buildings stop short of the stretch in view and rural
    trees keep the density of the stretch in view.
    """
    if layout.type == "urban":
        _buildings(layout, rng, windows_rng, parts.buildings, end_inside=not in_view)
    trunks, crowns, poles, lamp_heads, plates = (
        parts.trunks,
        parts.crowns,
        parts.poles,
        parts.lamp_heads,
        parts.plates,
    )
    obstacles, heads = parts.obstacles, parts.heads

    def tree_at(s: float, t: float) -> None:
        x, y, _ = layout.road_pose(s, t)
        radius = _tree(rng, x, y, trunks, crowns)
        obstacles.append(Footprint(x, y, 0.0, radius, radius))

    lamp_spacing = {"urban": 30.0, "highway": 45.0}.get(layout.type)
    if lamp_spacing is not None:
        for index, s in enumerate(
            np.arange(layout.s_start_m + float(rng.uniform(0, 10)), layout.s_end_m, lamp_spacing)
        ):
            side = -1 if index % 2 == 0 or layout.type == "highway" else 1
            if layout.sidewalks:
                t = layout.sidewalk_span_t(side)[0] + side * 0.4
            else:
                t = layout.roadside_t(side) + side * 1.5
            height = float(rng.uniform(6.5, 8.5))
            heads.append(_street_lamp(layout, float(s), t, side, height, 1.8, poles, lamp_heads))
            x, y, _ = layout.road_pose(float(s), t)
            obstacles.append(Footprint(x, y, 0.0, 0.1, 0.1))

    if layout.type == "urban":
        for side in (-1, 1):
            if not layout.sidewalks:
                continue
            outer = layout.sidewalk_span_t(side)[1]
            for s in np.arange(layout.s_start_m + float(rng.uniform(0, 8)), layout.s_end_m, 14.0):
                if rng.random() < 0.55:
                    tree_at(float(s) + float(rng.uniform(-2, 2)), outer - side * 0.7)
    else:
        near, count = (3.0, 22) if layout.type == "rural" else (6.0, 14)
        if not in_view:  # the counts above are per road in view (~150 m)
            count = round(count * (layout.s_end_m - layout.s_start_m) / 150.0)
        for side in (-1, 1):
            start = layout.roadside_t(side)
            for _ in range(count):
                s = float(rng.uniform(layout.s_start_m, layout.s_end_m))
                dist = near + float(rng.exponential(8.0))
                if layout.curvature_1_m * side > 0:  # stay well inside a curve's centre
                    dist = min(dist, 0.6 / abs(layout.curvature_1_m) - abs(start))
                tree_at(s, start + side * max(near, dist))

    if in_view:
        n_signs = int(rng.integers(1, 4))
        for _ in range(n_signs):
            s = float(rng.uniform(10.0, min(90.0, layout.s_end_m)))
            t = (
                (layout.sidewalk_span_t(-1)[0] - 0.5)
                if layout.sidewalks
                else layout.roadside_t(-1) - 1.2
            )
            _sign(layout, rng, s, t, poles, plates)
            x, y, _ = layout.road_pose(s, t)
            obstacles.append(Footprint(x, y, 0.0, 0.1, 0.5))


@dataclass
class _Builders:
    buildings: PartsBuilder = field(default_factory=PartsBuilder)
    trunks: PartsBuilder = field(default_factory=PartsBuilder)
    crowns: PartsBuilder = field(default_factory=PartsBuilder)
    poles: PartsBuilder = field(default_factory=PartsBuilder)
    lamp_heads: PartsBuilder = field(default_factory=PartsBuilder)
    plates: PartsBuilder = field(default_factory=PartsBuilder)
    rails: PartsBuilder = field(default_factory=PartsBuilder)
    obstacles: list[Footprint] = field(default_factory=list)
    heads: list[np.ndarray] = field(default_factory=list)


def build_scenery(layout: RoadLayout, rng: np.random.Generator) -> Scenery:
    """Scenery for the road type: urban streets get buildings, lamps and street trees;
    rural roads trees and signs; highways guard rails, lamps and distant trees.

    The stretch the camera sees (from ``SCENERY_VIEW_START_S_M`` on) draws from ``rng``
    first; the stretch behind the ego (for the LiDAR) and the window panes draw from
    generators spawned off it, so neither moves anything in view.
    """
    windows_rng, behind_rng = rng.spawn(2)
    parts = _Builders()
    view_start = max(layout.s_start_m, min(SCENERY_VIEW_START_S_M, layout.s_end_m))
    _populate(replace(layout, s_start_m=view_start), rng, windows_rng, parts, in_view=True)
    if layout.s_start_m < view_start:
        behind = replace(layout, s_end_m=view_start)
        _populate(behind, behind_rng, windows_rng, parts, in_view=False)
    if layout.type == "highway":
        for side in (-1, 1):
            edge = layout.asphalt_left_t_m if side > 0 else layout.asphalt_right_t_m
            _guard_rail(layout, edge + side * 0.6, facing=-side, rails=parts.rails)
    buildings, trunks, crowns = parts.buildings, parts.trunks, parts.crowns
    poles, lamp_heads, plates, rails = parts.poles, parts.lamp_heads, parts.plates, parts.rails
    obstacles, heads = parts.obstacles, parts.heads

    objects = []
    for name, semantic, builder in (
        ("buildings", "building", buildings),
        ("tree_trunks", "vegetation", trunks),
        ("tree_crowns", "vegetation", crowns),
        ("poles", "pole", poles),
        ("lamp_heads", "pole", lamp_heads),
        ("signs", "traffic-sign", plates),
        ("guard_rails", "fence", rails),
    ):
        if builder.face_count():
            objects.append(
                WorldObject(
                    name=name, semantic=semantic, parts=builder.parts(), pose_world=np.eye(4)
                )
            )
    lamps = np.array(heads, dtype=np.float64).reshape(-1, 3)
    return Scenery(objects=objects, obstacles=obstacles, lamp_heads_world=lamps)
