"""LiDAR points: the one point-cloud type of the sensor, the weather, augmentation and files.

A :class:`PointCloud` holds one sweep as named columns, one row per point. ``xyz`` and
``intensity`` are always there; the other columns are ``None`` when the source does not
know them (a KITTI ``.bin`` has neither rings nor labels), and stay ``None`` through
weather and corruptions rather than being filled with made-up values.

================  =======  ========  ==========================================================
column            dtype    shape     meaning
================  =======  ========  ==========================================================
``xyz``           float32  (N, 3)    position, metres, in the frame named by ``frame``
``intensity``     float32  (N,)      reported reflectance in [0, 1]
``ring``          int32    (N,)      beam index, 0 = top beam; -1 where unknown (spray)
``class_ids``     int32    (N,)      semantic id (``world.types.SEMANTIC_IDS``), 0 for weather
``instance_ids``  int32    (N,)      ``WorldObject.instance_id``; 0 = scenery or weather
``kind``          uint8    (N,)      what produced the point: :data:`HARD_RETURN` (a surface),
                                     :data:`FOG_RETURN`, :data:`RAIN_RETURN`,
                                     :data:`SNOW_RETURN` or :data:`SPRAY_RETURN`
``range_m``       float32  (N,)      range the sensor measured along the point's beam, metres
``time_s``        float32  (N,)      when the point was measured, seconds after the frame's
                                     time (a sweep of a sequence: rolling shutter)
================  =======  ========  ==========================================================

``frame`` is ``"lidar"``: KITTI's Velodyne frame (x forward, y left, z up, origin at the
sensor; see :mod:`scenegen.frame`). Writers refuse points in any other frame.

:class:`MissedBeams` are the beams of a sweep that returned nothing; weather uses them to add
fog and particle echoes where the clear scan saw nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

# What produced a point (the ``kind`` column).
HARD_RETURN = 0
FOG_RETURN = 1
RAIN_RETURN = 2
SNOW_RETURN = 3
SPRAY_RETURN = 4
RETURN_KINDS: dict[int, str] = {
    HARD_RETURN: "hard",
    FOG_RETURN: "fog",
    RAIN_RETURN: "rain",
    SNOW_RETURN: "snow",
    SPRAY_RETURN: "spray",
}

LIDAR_FRAME = "lidar"

# Optional per-point columns and their dtypes, in the order files list them.
OPTIONAL_COLUMNS: dict[str, type] = {
    "ring": np.int32,
    "class_ids": np.int32,
    "instance_ids": np.int32,
    "kind": np.uint8,
    "range_m": np.float32,
    "time_s": np.float32,
}


@dataclass(frozen=True, eq=False)
class PointCloud:
    """One LiDAR sweep as named columns (see the module docstring for each column).

    Arrays are converted to the documented dtypes on construction (no copy when they already
    have them; views stay views) and must all have ``N`` rows. ``ValueError`` names the
    column and the shape or dtype expected.
    """

    xyz: np.ndarray
    intensity: np.ndarray
    ring: np.ndarray | None = None
    class_ids: np.ndarray | None = None
    instance_ids: np.ndarray | None = None
    kind: np.ndarray | None = None
    range_m: np.ndarray | None = None
    time_s: np.ndarray | None = None
    frame: str = LIDAR_FRAME

    def __post_init__(self) -> None:
        xyz = np.asarray(self.xyz, dtype=np.float32)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise ValueError(f"PointCloud.xyz must be (N, 3) metres, got shape {xyz.shape}")
        object.__setattr__(self, "xyz", xyz)
        n = len(xyz)
        object.__setattr__(self, "intensity", _column("intensity", self.intensity, np.float32, n))
        for name, dtype in OPTIONAL_COLUMNS.items():
            values = getattr(self, name)
            if values is not None:
                object.__setattr__(self, name, _column(name, values, dtype, n))

    @classmethod
    def from_xyzi(cls, xyzi: np.ndarray, **columns: Any) -> PointCloud:
        """From an ``(N, >=4)`` array of x, y, z, intensity (KITTI ``.bin`` layout);
        ``columns`` are the optional columns by name. ``xyz`` and ``intensity`` are views."""
        array = np.asarray(xyzi, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] < 4:
            raise ValueError(f"expected (N, 4) x, y, z, intensity, got shape {array.shape}")
        return cls(xyz=array[:, :3], intensity=array[:, 3], **columns)

    @classmethod
    def empty(cls, **columns: Any) -> PointCloud:
        """No points; ``columns`` lists optional columns to include empty, e.g. ``ring=True``."""
        unknown = sorted(set(columns) - set(OPTIONAL_COLUMNS))
        if unknown:
            raise ValueError(
                f"unknown columns {unknown}; expected some of {list(OPTIONAL_COLUMNS)}"
            )
        present = {name: np.zeros(0, OPTIONAL_COLUMNS[name]) for name, on in columns.items() if on}
        return cls(np.zeros((0, 3), np.float32), np.zeros(0, np.float32), **present)

    def __len__(self) -> int:
        return len(self.xyz)

    def xyzi(self) -> np.ndarray:
        """A new contiguous float32 ``(N, 4)`` array of x, y, z, intensity (KITTI ``.bin``)."""
        out = np.empty((len(self), 4), np.float32)
        out[:, :3] = self.xyz
        out[:, 3] = self.intensity
        return out

    def columns(self) -> dict[str, np.ndarray]:
        """The optional columns this cloud has, by name."""
        return {
            name: getattr(self, name)
            for name in OPTIONAL_COLUMNS
            if getattr(self, name) is not None
        }

    def take(self, index: np.ndarray) -> PointCloud:
        """The points at ``index`` (integer indices or a boolean mask), every column alike."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return dataclasses.replace(
            self,
            xyz=self.xyz.take(index, axis=0),
            intensity=self.intensity.take(index),
            **{name: values.take(index) for name, values in self.columns().items()},
        )

    def replace(self, **changes: Any) -> PointCloud:
        """A copy with some columns changed (``None`` drops an optional column)."""
        return dataclasses.replace(self, **changes)

    def class_mask(self, class_ids: tuple[int, ...] | list[int]) -> np.ndarray:
        """Bool ``(N,)``: points whose semantic id is one of ``class_ids``."""
        if self.class_ids is None:
            raise ValueError("this point cloud has no class_ids column to select classes by")
        return np.isin(self.class_ids, np.asarray(class_ids, np.int32))

    @property
    def is_weather(self) -> np.ndarray:
        """Bool ``(N,)``: the point is a fog, rain, snow or spray echo (False if ``kind`` is
        unknown)."""
        if self.kind is None:
            return np.zeros(len(self), bool)
        return self.kind != HARD_RETURN

    def range_from_origin_m(self) -> np.ndarray:
        """Float32 ``(N,)`` distance of each point from the frame's origin, metres."""
        return np.sqrt(np.einsum("ij,ij->i", self.xyz, self.xyz)).astype(np.float32)

    def require_frame(self, frame: str = LIDAR_FRAME) -> None:
        """Raise ``ValueError`` unless the points are in ``frame``."""
        if self.frame != frame:
            raise ValueError(f"points must be in the {frame!r} frame, got {self.frame!r}")


@dataclass(frozen=True, eq=False)
class MissedBeams:
    """Beams of a sweep that returned nothing (lidar frame).

    * ``dirs_lidar``: float32 ``(M, 3)`` unit directions.
    * ``ring``: int32 ``(M,)`` beam index.
    * ``range_m``: float32 ``(M,)`` range of the surface that gave no return (glass, too
      weak, outside the sensor's range limits), ``inf`` where the beam met only sky.
    """

    dirs_lidar: np.ndarray
    ring: np.ndarray
    range_m: np.ndarray

    def __post_init__(self) -> None:
        dirs = np.asarray(self.dirs_lidar, dtype=np.float32)
        if dirs.ndim != 2 or dirs.shape[1] != 3:
            raise ValueError(f"MissedBeams.dirs_lidar must be (M, 3), got shape {dirs.shape}")
        object.__setattr__(self, "dirs_lidar", dirs)
        object.__setattr__(self, "ring", _column("ring", self.ring, np.int32, len(dirs)))
        object.__setattr__(self, "range_m", _column("range_m", self.range_m, np.float32, len(dirs)))

    @classmethod
    def none(cls) -> MissedBeams:
        return cls(np.zeros((0, 3), np.float32), np.zeros(0, np.int32), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.dirs_lidar)


def _column(name: str, values: Any, dtype: type, n: int) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) like the points, got {array.shape}")
    if array.dtype == dtype:
        return array
    target = np.dtype(dtype)
    if target.kind in "iu":
        # Any integer array converts, if its values fit (ids from np.arange are int64).
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"{name} must be {target.name} (integers), got {array.dtype}")
        limits = np.iinfo(target)
        if array.size and (array.min() < limits.min or array.max() > limits.max):
            raise ValueError(
                f"{name} must fit {target.name} ({limits.min}..{limits.max}), "
                f"got {array.min()}..{array.max()}"
            )
    elif not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must be {target.name} (real numbers), got {array.dtype}")
    return array.astype(target)
