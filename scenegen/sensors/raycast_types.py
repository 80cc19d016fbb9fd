"""What every ray-casting backend takes and returns (see ``sensors/raycast.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class RayHits:
    """First hit of each ray.

    * ``t_hit``: float32 ``(N,)`` distance along the unit ray (m), ``inf`` for a miss;
    * ``geometry``: int ``(N,)`` row of the raycaster's tables, its last row for a miss;
    * ``normals``: float32 ``(N, 3)`` unit normal of the triangle hit (world frame, by
      the triangle's winding), zeros for a miss.
    """

    t_hit: np.ndarray
    geometry: np.ndarray
    normals: np.ndarray


@dataclass(frozen=True)
class TriangleSoup:
    """All triangles of a world in the world frame: ``vertices`` float32 ``(V, 3)``,
    ``faces`` int32 ``(F, 3)``, ``face_geometry`` int32 ``(F,)`` (table row of each face)
    and ``vertex_starts`` int64 ``(G + 1,)`` (geometry ``g`` owns vertices
    ``vertex_starts[g]:vertex_starts[g + 1]``)."""

    vertices: np.ndarray
    faces: np.ndarray
    face_geometry: np.ndarray
    vertex_starts: np.ndarray


class RaycastBackend(Protocol):
    """What a backend does with a world's triangles."""

    def cast(self, rays: np.ndarray, n_threads: int) -> RayHits:
        """First hits of ``rays`` float32 ``(N, 6)``: world-frame origins, unit directions."""
        ...

    def occluded(self, rays: np.ndarray, max_distance_m: float) -> np.ndarray:
        """Boolean ``(N,)``: does anything lie within ``max_distance_m`` along each ray."""
        ...
