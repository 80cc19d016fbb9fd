"""The road: its layout in a road frame ``(s, t)`` and its procedural meshes.

Road frame: ``s`` is arc length (metres) along the centreline of the lanes, ``t`` the
lateral offset (metres, + to the left). The centreline has constant signed curvature
(+ curves left) and is anchored so that the ego lane's centre at ``s = 0`` is the world
origin with heading +x: the camera sits over the ego lane. Everything that stands on or
beside the road is placed through :meth:`RoadLayout.road_pose`, so curved roads need no
special cases elsewhere.

Lanes are indexed from the right edge: lane 0 is the rightmost. On two-way roads the
first ``n_forward`` lanes run in the ego's direction and the rest oncoming.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenegen.scenario.spec import RoadSpec
from scenegen.world import meshes
from scenegen.world.types import WorldObject

KERB_HEIGHT_M = 0.15
KERB_WIDTH_M = 0.2
MARKING_WIDTH_M = 0.15
MARKING_Z_M = 0.01  # above the asphalt, so the marking wins the depth test
VERGE_WIDTH_M = 40.0  # grass/terrain beyond the road, out to where the scene fades
MAX_SEGMENT_TURN_RAD = 0.03  # ~1.7 degrees per segment looks smooth at 1242 px
MAX_SEGMENT_LENGTH_M = 20.0
# The road and its scenery continue this far behind the ego: the camera never looks there,
# but a spinning LiDAR does (KITTI scans see the street behind the car).
ROAD_BEHIND_EGO_M = 60.0


@dataclass(frozen=True)
class RoadLayout:
    """Where everything on a road is, in the road frame. Lengths in metres."""

    type: str
    lanes: int
    lane_width_m: float
    curvature_1_m: float
    n_forward: int  # lanes running in the ego's direction (from the right)
    ego_lane: int
    right_shoulder_m: float  # parking strip (urban) or hard shoulder, right of lane 0
    left_shoulder_m: float
    sidewalks: bool
    sidewalk_width_m: float
    s_start_m: float
    s_end_m: float

    # --- lateral structure -------------------------------------------------------
    @property
    def lanes_width_m(self) -> float:
        return self.lanes * self.lane_width_m

    @property
    def two_way(self) -> bool:
        return self.n_forward < self.lanes

    def lane_center_t(self, lane: int) -> float:
        return -self.lanes_width_m / 2 + (lane + 0.5) * self.lane_width_m

    def lane_is_forward(self, lane: int) -> bool:
        return lane < self.n_forward

    @property
    def ego_t_m(self) -> float:
        return self.lane_center_t(self.ego_lane)

    @property
    def asphalt_right_t_m(self) -> float:
        return -self.lanes_width_m / 2 - self.right_shoulder_m

    @property
    def asphalt_left_t_m(self) -> float:
        return self.lanes_width_m / 2 + self.left_shoulder_m

    def sidewalk_span_t(self, side: int) -> tuple[float, float]:
        """Inner and outer ``t`` of the walkable sidewalk (past the kerb) on ``side`` (-1 right, +1 left)."""
        edge = self.asphalt_left_t_m if side > 0 else self.asphalt_right_t_m
        inner = edge + side * KERB_WIDTH_M
        return inner, inner + side * self.sidewalk_width_m

    def roadside_t(self, side: int) -> float:
        """``t`` where the road's built surfaces end and the verge/plot begins on ``side``."""
        edge = self.asphalt_left_t_m if side > 0 else self.asphalt_right_t_m
        if self.sidewalks:
            return self.sidewalk_span_t(side)[1]
        return edge

    def surface_z_m(self, t_m: float) -> float:
        """Height of the walking/driving surface at lateral offset ``t_m`` (kerb-high on sidewalks)."""
        if self.sidewalks and (t_m > self.asphalt_left_t_m or t_m < self.asphalt_right_t_m):
            outer_left = self.sidewalk_span_t(1)[1]
            outer_right = self.sidewalk_span_t(-1)[1]
            if outer_right <= t_m <= outer_left:
                return KERB_HEIGHT_M
        return 0.0

    # --- frame -------------------------------------------------------------------
    def road_pose(self, s_m, t_m):
        """World ``(x, y, heading_rad)`` of road-frame point ``(s_m, t_m)``.

        Accepts floats or broadcastable arrays (returns float64 arrays then). The heading
        is the direction of increasing ``s``, counter-clockwise from world +x.
        """
        s = np.asarray(s_m, dtype=np.float64)
        t = np.asarray(t_m, dtype=np.float64)
        k = self.curvature_1_m
        heading = k * s
        if abs(k) < 1e-9:
            x_c, y_c = s, np.zeros_like(s)
        else:
            x_c = np.sin(heading) / k
            y_c = 2.0 * np.sin(heading / 2.0) ** 2 / k
        x = x_c - t * np.sin(heading)
        y = y_c - self.ego_t_m + t * np.cos(heading)
        if x.ndim == 0 and y.ndim == 0:
            return float(x), float(y), float(np.broadcast_to(heading, x.shape))
        return x, y, np.broadcast_to(heading, np.broadcast(x, y).shape)

    def road_coords(self, x_m, y_m):
        """Inverse of :meth:`road_pose`: world ``(x, y)`` -> road ``(s, t)`` (float64 arrays)."""
        x = np.asarray(x_m, dtype=np.float64)
        y = np.asarray(y_m, dtype=np.float64) + self.ego_t_m
        k = self.curvature_1_m
        if abs(k) < 1e-9:
            return x, y
        radius = 1.0 / k
        dx, dy = x, y - radius  # relative to the circle's centre
        heading = np.arctan2(k * dx, -k * dy)
        t = radius - np.sign(radius) * np.hypot(dx, dy)
        return heading / k, t

    def pose(self, s_m: float, t_m: float, z_m: float, yaw_offset_rad: float = 0.0) -> np.ndarray:
        """4x4 object pose at road point ``(s, t)``, facing along the road plus ``yaw_offset_rad``."""
        x, y, heading = self.road_pose(s_m, t_m)
        return meshes.pose_matrix(x, y, z_m, heading + yaw_offset_rad)

    def samples_s(self, s0_m: float | None = None, s1_m: float | None = None) -> np.ndarray:
        """Arc lengths that tessellate ``[s0, s1]`` smoothly with few segments ``(N,)`` float64."""
        s0 = self.s_start_m if s0_m is None else s0_m
        s1 = self.s_end_m if s1_m is None else s1_m
        length = s1 - s0
        n = max(
            1,
            math.ceil(abs(self.curvature_1_m) * length / MAX_SEGMENT_TURN_RAD),
            math.ceil(length / MAX_SEGMENT_LENGTH_M),
        )
        return np.linspace(s0, s1, n + 1)

    def polyline(self, s: np.ndarray, t_m: float, z_m: float) -> np.ndarray:
        """``(N, 3)`` float64 world points along constant ``t`` at height ``z_m``."""
        x, y, _ = self.road_pose(s, np.full_like(s, t_m))
        return np.column_stack([x, y, np.full_like(s, z_m)])


def road_layout_from_spec(road: RoadSpec, rng: np.random.Generator) -> RoadLayout:
    """Choose the lane directions, ego lane, shoulders and extent for a road spec.

    Urban and rural roads with two or more lanes are two-way (the larger half forward),
    and the ego drives in the rightmost lane. Highways carry every lane in the ego's
    direction; the ego takes any lane but the fast (leftmost) one.
    """
    lanes = max(1, int(road.lanes))
    if road.type == "highway":
        n_forward = lanes
        ego_lane = int(rng.integers(0, max(1, lanes - 1)))
        right_shoulder, left_shoulder = 2.5, 0.75
    elif road.type == "urban":
        n_forward = lanes - lanes // 2
        ego_lane = 0
        right_shoulder = left_shoulder = 2.3  # parking strips
    else:
        n_forward = lanes - lanes // 2
        ego_lane = 0
        right_shoulder = left_shoulder = 0.6
    sidewalk_width = {"urban": float(rng.uniform(2.5, 4.0))}.get(road.type, 1.8)
    return RoadLayout(
        type=road.type,
        lanes=lanes,
        lane_width_m=float(road.lane_width_m),
        curvature_1_m=float(road.curvature_1_m),
        n_forward=n_forward,
        ego_lane=ego_lane,
        right_shoulder_m=right_shoulder,
        left_shoulder_m=left_shoulder,
        sidewalks=bool(road.sidewalks),
        sidewalk_width_m=sidewalk_width,
        s_start_m=-ROAD_BEHIND_EGO_M,
        s_end_m=max(20.0, float(road.length_m) - 10.0),
    )


def marking_boundaries(layout: RoadLayout) -> list[tuple[float, str]]:
    """``(t, kind)`` of every painted line; kind is ``dashed``, ``solid`` or ``edge``."""
    lines: list[tuple[float, str]] = []
    for boundary in range(1, layout.lanes):
        t = -layout.lanes_width_m / 2 + boundary * layout.lane_width_m
        same_direction = layout.lane_is_forward(boundary - 1) == layout.lane_is_forward(boundary)
        lines.append((t, "dashed" if same_direction else "solid"))
    if layout.type in ("highway", "rural"):
        # Edge lines sit just inside the lanes' outer edges.
        lines.append((-layout.lanes_width_m / 2 + MARKING_WIDTH_M, "edge"))
        lines.append((layout.lanes_width_m / 2 - MARKING_WIDTH_M, "edge"))
    return lines


def _dash_pattern_m(road_type: str) -> tuple[float, float]:
    """Dash and gap lengths (metres) as painted on such roads."""
    return {"highway": (6.0, 12.0), "rural": (3.0, 9.0)}.get(road_type, (3.0, 5.0))


def _marking_geometry(layout: RoadLayout, rng: np.random.Generator) -> meshes.Geometry:
    half = MARKING_WIDTH_M / 2
    pieces: list[meshes.Geometry] = []
    dash_m, gap_m = _dash_pattern_m(layout.type)
    for t, kind in marking_boundaries(layout):
        if kind == "dashed":
            start = layout.s_start_m + float(rng.uniform(0.0, dash_m + gap_m))
            starts = np.arange(start, layout.s_end_m - dash_m, dash_m + gap_m)
            for s0 in starts:
                s = layout.samples_s(s0, s0 + dash_m)
                pieces.append(
                    meshes.strip(
                        layout.polyline(s, t - half, MARKING_Z_M),
                        layout.polyline(s, t + half, MARKING_Z_M),
                    )
                )
        else:
            s = layout.samples_s()
            pieces.append(
                meshes.strip(
                    layout.polyline(s, t - half, MARKING_Z_M),
                    layout.polyline(s, t + half, MARKING_Z_M),
                )
            )
    return meshes.merge(pieces)


def _flat(
    layout: RoadLayout, s: np.ndarray, t_right: float, t_left: float, z_m: float
) -> meshes.Geometry:
    """Upward-facing strip between two lateral offsets."""
    return meshes.strip(layout.polyline(s, t_right, z_m), layout.polyline(s, t_left, z_m))


def _wall(
    layout: RoadLayout, s: np.ndarray, t_m: float, z0_m: float, z1_m: float, facing: int
) -> meshes.Geometry:
    """Vertical strip at ``t_m`` facing +t (``facing=1``) or -t (``facing=-1``)."""
    low, high = layout.polyline(s, t_m, z0_m), layout.polyline(s, t_m, z1_m)
    return meshes.strip(low, high) if facing < 0 else meshes.strip(high, low)


def verge_width_m(layout: RoadLayout, side: int) -> float:
    """Verge width on ``side``; on the inside of a tight curve it stops short of the centre."""
    width = VERGE_WIDTH_M
    k = layout.curvature_1_m
    if k != 0.0 and np.sign(k) == side:
        width = min(width, max(1.0, 0.8 / abs(k) - abs(layout.roadside_t(side))))
    return width


def _scenery_object(name: str, semantic: str, builder: meshes.PartsBuilder) -> WorldObject:
    return WorldObject(name=name, semantic=semantic, parts=builder.parts(), pose_world=np.eye(4))


def build_road(layout: RoadLayout, rng: np.random.Generator) -> list[WorldObject]:
    """Asphalt, lane markings, kerbs, sidewalks and verges as world-frame scenery objects."""
    s = layout.samples_s()
    objects: list[WorldObject] = []

    asphalt = meshes.PartsBuilder()
    asphalt.add(_flat(layout, s, layout.asphalt_right_t_m, layout.asphalt_left_t_m, 0.0), "asphalt")
    objects.append(_scenery_object("road_surface", "road", asphalt))

    markings = meshes.PartsBuilder()
    markings.add(_marking_geometry(layout, rng), "lane_marking")
    objects.append(_scenery_object("lane_markings", "road", markings))

    terrain = meshes.PartsBuilder()
    if layout.sidewalks:
        kerbs = meshes.PartsBuilder()
        walks = meshes.PartsBuilder()
        for side in (-1, 1):
            edge = layout.asphalt_left_t_m if side > 0 else layout.asphalt_right_t_m
            inner, outer = layout.sidewalk_span_t(side)
            lo, hi = sorted((edge, inner))
            kerbs.add(_flat(layout, s, lo, hi, KERB_HEIGHT_M), "kerb")
            kerbs.add(_wall(layout, s, edge, 0.0, KERB_HEIGHT_M, facing=-side), "kerb")
            lo, hi = sorted((inner, outer))
            walks.add(_flat(layout, s, lo, hi, KERB_HEIGHT_M), "sidewalk")
            walks.add(_wall(layout, s, outer, 0.0, KERB_HEIGHT_M, facing=side), "sidewalk")
        objects.append(_scenery_object("kerbs", "kerb", kerbs))
        objects.append(_scenery_object("sidewalks", "sidewalk", walks))
    for side in (-1, 1):
        start = layout.roadside_t(side)
        lo, hi = sorted((start, start + side * verge_width_m(layout, side)))
        terrain.add(_flat(layout, s, lo, hi, 0.0), "grass")
    objects.append(_scenery_object("verges", "terrain", terrain))
    return objects
