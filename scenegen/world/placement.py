"""Keeping objects apart: oriented footprints on the ground plane and an overlap test.

A footprint is the object's box seen from above: a rectangle centred on the object's
origin, turned by its yaw. Overlap uses the separating-axis test, vectorised over every
footprint already placed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The ego vehicle around the camera origin: nothing may stand here.
EGO_HALF_LENGTH_M = 2.5
EGO_HALF_WIDTH_M = 1.1


@dataclass(frozen=True)
class Footprint:
    """Oriented rectangle on the ground: centre (world metres), yaw (rad), half extents (m)."""

    x_m: float
    y_m: float
    yaw_rad: float
    half_length_m: float
    half_width_m: float

    @classmethod
    def of_pose(cls, pose_world: np.ndarray, length_m: float, width_m: float) -> Footprint:
        yaw = float(np.arctan2(pose_world[1, 0], pose_world[0, 0]))
        return cls(float(pose_world[0, 3]), float(pose_world[1, 3]), yaw, length_m / 2, width_m / 2)


def ego_footprint() -> Footprint:
    return Footprint(0.0, 0.0, 0.0, EGO_HALF_LENGTH_M, EGO_HALF_WIDTH_M)


def footprints_overlap(a: Footprint, b: Footprint, margin_m: float = 0.0) -> bool:
    """True when the rectangles, ``a`` grown by ``margin_m`` on every side, intersect."""
    occupancy = Occupancy()
    occupancy.add(b)
    return not occupancy.is_free(a, margin_m)


class Occupancy:
    """Footprints placed so far; answers whether a new one is free of them all."""

    def __init__(self) -> None:
        self._centres = np.zeros((0, 2))
        self._axes_u = np.zeros((0, 2))  # unit vector along each footprint's length
        self._axes_v = np.zeros((0, 2))
        self._halves = np.zeros((0, 2))
        self.footprints: list[Footprint] = []

    def add(self, footprint: Footprint) -> None:
        c, s = np.cos(footprint.yaw_rad), np.sin(footprint.yaw_rad)
        self._centres = np.vstack([self._centres, [footprint.x_m, footprint.y_m]])
        self._axes_u = np.vstack([self._axes_u, [c, s]])
        self._axes_v = np.vstack([self._axes_v, [-s, c]])
        self._halves = np.vstack([self._halves, [footprint.half_length_m, footprint.half_width_m]])
        self.footprints.append(footprint)

    def is_free(self, footprint: Footprint, margin_m: float = 0.0) -> bool:
        """True when ``footprint`` grown by ``margin_m`` overlaps nothing placed."""
        if not self.footprints:
            return True
        c, s = np.cos(footprint.yaw_rad), np.sin(footprint.yaw_rad)
        ua, va = np.array([c, s]), np.array([-s, c])
        ha = np.array([footprint.half_length_m + margin_m, footprint.half_width_m + margin_m])
        d = self._centres - (footprint.x_m, footprint.y_m)
        hb = self._halves
        # Cheap reject on bounding circles before the four-axis test.
        near = np.hypot(d[:, 0], d[:, 1]) <= np.hypot(*ha) + np.hypot(hb[:, 0], hb[:, 1])
        if not near.any():
            return True
        d, hb = d[near], hb[near]
        ub, vb = self._axes_u[near], self._axes_v[near]
        separated = np.zeros(len(d), dtype=bool)
        for axis in (ua, va):
            r_a = ha[0] * abs(ua @ axis) + ha[1] * abs(va @ axis)
            r_b = hb[:, 0] * np.abs(ub @ axis) + hb[:, 1] * np.abs(vb @ axis)
            separated |= np.abs(d @ axis) > r_a + r_b
        for axes_b, own_half in ((ub, hb[:, 0]), (vb, hb[:, 1])):
            r_a = ha[0] * np.abs(axes_b @ ua) + ha[1] * np.abs(axes_b @ va)
            separated |= np.abs(np.einsum("ij,ij->i", d, axes_b)) > r_a + own_half
        return bool(separated.all())
