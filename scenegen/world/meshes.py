"""Low-poly mesh primitives as plain arrays, and a builder that groups them by material.

Geometry is a pair ``(vertices, faces)``: float64 ``(V, 3)`` metres and int64 ``(F, 3)``
vertex indices, counter-clockwise seen from outside (outward normals), so renderers
may cull back faces. Building arrays with numpy and making one ``trimesh.Trimesh`` per
material at the end keeps a whole scene's construction in the millisecond range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import trimesh

from scenegen.world.types import MeshPart

Geometry = tuple[np.ndarray, np.ndarray]

# Unit cube [-0.5, 0.5]^3, faces wound outwards.
_CUBE_VERTICES = np.array(
    [[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)], dtype=np.float64
)
_CUBE_FACES = np.array(
    [
        [0, 1, 3],
        [0, 3, 2],  # -x
        [4, 6, 7],
        [4, 7, 5],  # +x
        [0, 4, 5],
        [0, 5, 1],  # -y
        [2, 3, 7],
        [2, 7, 6],  # +y
        [0, 2, 6],
        [0, 6, 4],  # -z
        [1, 5, 7],
        [1, 7, 3],  # +z
    ],
    dtype=np.int64,
)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of ``(..., 3)`` arrays (np.cross is slow on tiny inputs)."""
    return np.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


def rotation_x(angle_rad: float) -> np.ndarray:
    """3x3 float64 rotation about +x."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rotation_y(angle_rad: float) -> np.ndarray:
    """3x3 float64 rotation about +y (positive turns +x towards -z)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rotation_z(angle_rad: float) -> np.ndarray:
    """3x3 float64 rotation about +z (yaw, positive turns +x towards +y)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def pose_matrix(x: float, y: float, z: float, yaw_rad: float) -> np.ndarray:
    """4x4 float64 pose: yaw about +z, then translation (metres)."""
    pose = np.eye(4)
    pose[:3, :3] = rotation_z(yaw_rad)
    pose[:3, 3] = (x, y, z)
    return pose


def transform(
    geometry: Geometry,
    rotation: np.ndarray | None = None,
    translation: tuple[float, float, float] | np.ndarray = (0.0, 0.0, 0.0),
) -> Geometry:
    """Rotate then translate a geometry (rotations keep the winding)."""
    vertices, faces = geometry
    if rotation is not None:
        vertices = vertices @ np.asarray(rotation).T
    return vertices + np.asarray(translation, dtype=np.float64), faces


def box(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> Geometry:
    """Axis-aligned box from its min corner ``lo`` to max corner ``hi`` (12 triangles)."""
    lo_a = np.asarray(lo, dtype=np.float64)
    hi_a = np.asarray(hi, dtype=np.float64)
    return _CUBE_VERTICES * (hi_a - lo_a) + (lo_a + hi_a) / 2.0, _CUBE_FACES


def beam(
    p0: np.ndarray | tuple, p1: np.ndarray | tuple, width_m: float, depth_m: float
) -> Geometry:
    """A box running from point ``p0`` to ``p1`` with a ``width x depth`` cross-section.

    ``width`` lies as close to the object's y axis as the direction allows (limbs,
    bicycle tubes, antlers).
    """
    ax, ay, az = (float(c) for c in p0)
    bx, by, bz = (float(c) for c in p1)
    dx, dy, dz = bx - ax, by - ay, bz - az
    length = math.sqrt(dx * dx + dy * dy + dz * dz)
    ux, uy, uz = dx / length, dy / length, dz / length
    # w = u x ref, with ref = +y (or +x when u is nearly along y); v = w x u.
    if abs(uy) < 0.9:
        wx, wy, wz = -uz, 0.0, ux
    else:
        wx, wy, wz = 0.0, uz, -uy
    norm = math.sqrt(wx * wx + wy * wy + wz * wz)
    wx, wy, wz = wx / norm, wy / norm, wz / norm
    vx, vy, vz = wy * uz - wz * uy, wz * ux - wx * uz, wx * uy - wy * ux
    rotation = np.array([[ux, vx, wx], [uy, vy, wy], [uz, vz, wz]])
    vertices = _CUBE_VERTICES * (length, width_m, depth_m)
    return vertices @ rotation.T + ((ax + bx) / 2, (ay + by) / 2, (az + bz) / 2), _CUBE_FACES


@lru_cache(maxsize=32)
def _unit_cylinder(segments: int) -> Geometry:
    """Radius 1, z from 0 to 1, capped; arrays are read-only (shared between calls)."""
    angles = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    bottom = np.column_stack([ring, np.zeros(segments)])
    top = np.column_stack([ring, np.ones(segments)])
    vertices = np.vstack([bottom, top, [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    i = np.arange(segments)
    j = (i + 1) % segments
    side = np.concatenate(
        [np.stack([i, j, j + segments], 1), np.stack([i, j + segments, i + segments], 1)]
    )
    cb, ct = 2 * segments, 2 * segments + 1
    caps = np.concatenate(
        [
            np.stack([np.full(segments, cb), j, i], 1),
            np.stack([np.full(segments, ct), i + segments, j + segments], 1),
        ]
    )
    faces = np.concatenate([side, caps]).astype(np.int64)
    vertices.flags.writeable = False
    faces.flags.writeable = False
    return vertices, faces


def frustum(
    radius_bottom_m: float,
    radius_top_m: float,
    height_m: float,
    segments: int,
    center_bottom: tuple[float, float, float] = (0.0, 0.0, 0.0),
    axis: str = "z",
) -> Geometry:
    """Capped cone frustum (a cylinder when both radii match) along ``axis`` (x, y or z).

    For ``axis`` x or y the bottom cap is at ``center_bottom`` and the top cap ``height_m``
    further along +axis.
    """
    vertices, faces = _unit_cylinder(segments)
    radius = radius_bottom_m + (radius_top_m - radius_bottom_m) * vertices[:, 2]
    local = np.column_stack(
        [vertices[:, 0] * radius, vertices[:, 1] * radius, vertices[:, 2] * height_m]
    )
    if axis == "x":
        local = local @ rotation_y(np.pi / 2).T
    elif axis == "y":
        local = local @ rotation_x(-np.pi / 2).T
    return local + np.asarray(center_bottom, dtype=np.float64), faces


def cylinder(
    radius_m: float,
    length_m: float,
    segments: int,
    center: tuple[float, float, float],
    axis: str = "z",
) -> Geometry:
    """Capped cylinder centred on ``center`` along ``axis`` (x, y or z)."""
    offset = {
        "x": (length_m / 2, 0.0, 0.0),
        "y": (0.0, length_m / 2, 0.0),
        "z": (0.0, 0.0, length_m / 2),
    }[axis]
    start = np.asarray(center, dtype=np.float64) - offset
    return frustum(radius_m, radius_m, length_m, segments, tuple(start), axis)


@lru_cache(maxsize=4)
def _unit_sphere(subdivisions: int) -> Geometry:
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)
    vertices = np.array(sphere.vertices, dtype=np.float64)
    faces = np.array(sphere.faces, dtype=np.int64)
    vertices.flags.writeable = False
    faces.flags.writeable = False
    return vertices, faces


def ellipsoid(
    radii_m: tuple[float, float, float], center: tuple[float, float, float], subdivisions: int = 1
) -> Geometry:
    """Low-poly ellipsoid (an icosphere scaled per axis; 80 triangles at subdivision 1)."""
    vertices, faces = _unit_sphere(subdivisions)
    return vertices * np.asarray(radii_m) + np.asarray(center, dtype=np.float64), faces


def prism_xz(profile_xz: np.ndarray | list, y0_m: float, y1_m: float) -> Geometry:
    """Extrude a convex polygon given in the x-z plane along y from ``y0_m`` to ``y1_m``.

    Vehicle side profiles (hood, windscreen, roof) are drawn this way.
    """
    profile = np.asarray(profile_xz, dtype=np.float64)
    n = len(profile)
    near = np.column_stack([profile[:, 0], np.full(n, y0_m), profile[:, 1]])
    far = np.column_stack([profile[:, 0], np.full(n, y1_m), profile[:, 1]])
    vertices = np.vstack([near, far])
    i = np.arange(n)
    j = (i + 1) % n
    side = np.concatenate([np.stack([i, j, j + n], 1), np.stack([i, j + n, i + n], 1)])
    fan = np.arange(1, n - 1)
    caps = np.concatenate(
        [
            np.stack([np.zeros(n - 2, int), fan, fan + 1], 1),
            np.stack([np.full(n - 2, n), fan + 1 + n, fan + n], 1),
        ]
    )
    faces = np.concatenate([side, caps]).astype(np.int64)
    return vertices, orient_outward(vertices, faces)


def orient_outward(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Flip faces of a convex solid whose normals point towards its centroid."""
    tri = vertices[faces]
    normals = cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    outward = tri.mean(axis=1) - vertices.mean(axis=0)
    flip = np.einsum("ij,ij->i", normals, outward) < 0
    fixed = faces.copy()
    fixed[flip] = fixed[flip][:, ::-1]
    return fixed


def strip(a_points: np.ndarray, b_points: np.ndarray) -> Geometry:
    """Triangle strip between two polylines of equal length ``(N, 3)``.

    The face normal is ``(a[i+1] - a[i]) x (b[i] - a[i])``: with both polylines running
    forward, ``a`` on the right and ``b`` on the left the strip faces up.
    """
    n = len(a_points)
    vertices = np.vstack([a_points, b_points]).astype(np.float64)
    i = np.arange(n - 1)
    faces = np.concatenate(
        [np.stack([i, i + 1, i + n], 1), np.stack([i + n, i + 1, i + n + 1], 1)]
    ).astype(np.int64)
    return vertices, faces


def merge(geometries: list[Geometry]) -> Geometry:
    """Concatenate geometries into one vertex and one face array."""
    if not geometries:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    vertices = np.concatenate([g[0] for g in geometries])
    offsets = np.cumsum([0] + [len(g[0]) for g in geometries[:-1]])
    faces = np.concatenate([g[1] + off for g, off in zip(geometries, offsets, strict=True)])
    return vertices, faces


@dataclass(frozen=True)
class BoxFit:
    """The per-axis affine map ``p -> p * scale + offset`` that fitted a model to its box."""

    scale: np.ndarray  # (3,) float64
    offset: np.ndarray  # (3,) float64 metres

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Map ``(N, 3)`` points of the unfitted model into the fitted object frame."""
        return np.asarray(points, dtype=np.float64) * self.scale + self.offset


@dataclass
class PartsBuilder:
    """Collects geometry per (material, albedo) and turns it into ``MeshPart``\\ s."""

    _groups: dict[tuple[str, tuple[float, float, float] | None], list[Geometry]] = field(
        default_factory=dict
    )

    def add(
        self,
        geometry: Geometry,
        material: str,
        albedo_rgb: tuple[float, float, float] | None = None,
    ) -> None:
        key = (material, None if albedo_rgb is None else tuple(float(c) for c in albedo_rgb))
        self._groups.setdefault(key, []).append(geometry)

    def _merge_groups(self) -> None:
        """Collapse each group to one array pair (later steps then touch few arrays)."""
        for key, geoms in self._groups.items():
            if len(geoms) > 1:
                self._groups[key] = [merge(geoms)]

    def bounds(self) -> np.ndarray:
        """``(2, 3)`` float64 min and max corner of everything added so far."""
        self._merge_groups()
        vertices = [geoms[0][0] for geoms in self._groups.values()]
        lows = np.min([v.min(axis=0) for v in vertices], axis=0)
        highs = np.max([v.max(axis=0) for v in vertices], axis=0)
        return np.array([lows, highs])

    def fit_to_box(self, length_m: float, width_m: float, height_m: float) -> BoxFit:
        """Scale and shift every part so the vertices span exactly the object's box.

        The box is ``[-l/2, l/2] x [-w/2, w/2] x [0, h]``: 3D labels are this box, so the
        mesh must touch all six faces and never leave it.
        """
        lo, hi = self.bounds()
        target_lo = np.array([-length_m / 2, -width_m / 2, 0.0])
        target_hi = np.array([length_m / 2, width_m / 2, height_m])
        scale = (target_hi - target_lo) / (hi - lo)
        offset = target_lo - lo * scale
        for key, geoms in self._groups.items():
            vertices, faces = geoms[0]
            # Clipping pins the extreme vertices to the box faces despite rounding.
            fitted = np.clip(vertices * scale + offset, target_lo, target_hi)
            self._groups[key] = [(fitted, faces)]
        return BoxFit(scale=scale, offset=offset)

    def parts(self) -> list[MeshPart]:
        self._merge_groups()
        parts = []
        for (material, albedo), geoms in self._groups.items():
            vertices, faces = geoms[0]
            mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
            parts.append(MeshPart(mesh=mesh, material=material, albedo_rgb=albedo))
        return parts

    def face_count(self) -> int:
        return sum(len(g[1]) for geoms in self._groups.values() for g in geoms)
