"""The one frame type that synthetic and real data share.

Coordinate frames (defined once, here):

* ``world`` / ``ego``: right-handed, metres. Origin on the ground directly below the
  camera, x forward along the road, y to the left, z up (ISO 8855).
* ``cam``: KITTI's (rectified) camera frame. x right, y down, z forward (optical axis).
  3D boxes in labels are expressed in this frame, exactly as KITTI ``label_2`` files.
* ``lidar``: KITTI's Velodyne frame. x forward, y left, z up, origin at the sensor.

Images are ``H x W``; pixel ``(u, v)`` is column ``u``, row ``v`` and covers the
continuous square ``[u, u+1) x [v, v+1)`` (centre ``u + 0.5``), the convention of COCO and
of OpenGL. ``P2`` projects into these continuous coordinates, so a box covering pixel
columns ``a..b`` inclusive spans ``x1 = a, x2 = b + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scenegen.points import PointCloud

# Class names used in labels, in a fixed order: the index is the class id written to
# YOLO files and COCO category ids are index + 1. (Per-point LiDAR labels use the
# SemanticKITTI-style ids of ``scenegen.world.types.SEMANTIC_IDS``.)
CLASS_NAMES: tuple[str, ...] = (
    "car",
    "van",
    "truck",
    "bus",
    "pedestrian",
    "cyclist",
    "animal",
    "debris",
)

# How each class is written in KITTI label files.
KITTI_TYPE: dict[str, str] = {
    "car": "Car",
    "van": "Van",
    "truck": "Truck",
    "bus": "Tram",  # KITTI has no bus; "Tram" is its closest long-vehicle type.
    "pedestrian": "Pedestrian",
    "cyclist": "Cyclist",
    "animal": "Misc",
    "debris": "Misc",
}


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole camera. ``fx, fy, cx, cy`` in pixels; image is ``height x width``."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    @property
    def K(self) -> np.ndarray:
        """3x3 float64 intrinsic matrix."""
        return np.array(
            [[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]], dtype=np.float64
        )


@dataclass(frozen=True)
class Calibration:
    """Everything needed to move between the frames above.

    ``T_cam_from_world`` and ``T_cam_from_lidar`` are 4x4 float64 rigid transforms that map
    homogeneous points *into* the camera frame. ``P2 = K [I | 0]`` projects camera-frame
    points to pixels (KITTI ``P2`` with ``R0_rect = I``).
    """

    intrinsics: CameraIntrinsics
    T_cam_from_world: np.ndarray
    T_cam_from_lidar: np.ndarray

    @property
    def P2(self) -> np.ndarray:
        """3x4 float64 projection matrix of the (rectified) camera."""
        p = np.zeros((3, 4), dtype=np.float64)
        p[:, :3] = self.intrinsics.K
        return p

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Project ``(N, 3)`` camera-frame points to ``(N, 2)`` float64 pixel coordinates.

        Points at or behind the camera (z <= 0) give non-finite coordinates.
        """
        pts = np.asarray(points_cam, dtype=np.float64)
        k = self.intrinsics
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(pts[:, 2] > 0, pts[:, 2], np.nan)
            u = k.fx * pts[:, 0] / z + k.cx
            v = k.fy * pts[:, 1] / z + k.cy
        return np.stack([u, v], axis=1)


@dataclass(frozen=True)
class Box3D:
    """A KITTI 3D box in the camera frame.

    ``(x, y, z)`` is the centre of the box's *bottom* face in metres; ``h, w, l`` are
    height, width and length in metres; ``rotation_y`` (radians, in [-pi, pi]) turns the
    box about the camera's y axis, 0 meaning the object faces the camera's +x axis.
    """

    h: float
    w: float
    l: float
    x: float
    y: float
    z: float
    rotation_y: float

    def corners_cam(self) -> np.ndarray:
        """The 8 corners as an ``(8, 3)`` float64 array in the camera frame."""
        c, s = np.cos(self.rotation_y), np.sin(self.rotation_y)
        dx = np.array([1, 1, -1, -1, 1, 1, -1, -1], dtype=np.float64) * self.l / 2
        dy = np.array([0, 0, 0, 0, -1, -1, -1, -1], dtype=np.float64) * self.h
        dz = np.array([1, -1, -1, 1, 1, -1, -1, 1], dtype=np.float64) * self.w / 2
        x = c * dx + s * dz + self.x
        z = -s * dx + c * dz + self.z
        return np.stack([x, dy + self.y, z], axis=1)

    def contains_cam(self, points_cam: np.ndarray, margin_m: float = 0.0) -> np.ndarray:
        """Boolean ``(N,)`` mask of camera-frame points inside the box (plus a margin)."""
        pts = np.asarray(points_cam, dtype=np.float64)
        c, s = np.cos(self.rotation_y), np.sin(self.rotation_y)
        rel_x = pts[:, 0] - self.x
        rel_z = pts[:, 2] - self.z
        along_l = c * rel_x - s * rel_z
        along_w = s * rel_x + c * rel_z
        up = self.y - pts[:, 1]
        return (
            (np.abs(along_l) <= self.l / 2 + margin_m)
            & (np.abs(along_w) <= self.w / 2 + margin_m)
            & (up >= -margin_m)
            & (up <= self.h + margin_m)
        )


@dataclass
class ObjectLabel:
    """One labelled object in one frame.

    ``box_2d`` is float32 ``[x1, y1, x2, y2]`` in pixels (tight around visible pixels for
    synthetic frames). ``occlusion`` is the share of the object's unoccluded in-image
    pixels that are hidden (0 = fully visible); ``occlusion_level`` is KITTI's 0-3.
    ``truncation`` is the share of the projected extent outside the image, in [0, 1].
    """

    class_name: str
    instance_id: int
    box_2d: np.ndarray
    box_3d: Box3D | None = None
    alpha: float = -10.0
    truncation: float = 0.0
    occlusion: float = 0.0
    occlusion_level: int = 0
    distance_m: float = float("nan")
    difficulty: str = "unknown"  # easy | moderate | hard | unknown (KITTI rules)
    event: str | None = None
    visible_pixels: int = 0
    lidar_points: int = 0
    score: float | None = None  # detections only
    # Sequences: velocity over the ground in the camera frame, m/s (None: not known).
    velocity_cam_m_s: tuple[float, float, float] | None = None

    @property
    def class_id(self) -> int:
        return CLASS_NAMES.index(self.class_name)


@dataclass
class Frame:
    """A camera (and optionally LiDAR) frame with its labels.

    Arrays (``H x W`` from ``calibration.intrinsics``):

    * ``rgb``: uint8 ``(H, W, 3)``, sRGB.
    * ``rgb_right``: uint8 ``(H, W, 3)``, the right stereo camera (KITTI's image_3) when
      ``stereo_baseline_m > 0``: ``calibration`` moved that far along the camera's +x
      (``sensors.rig.right_camera_calibration``); ``None`` for one camera.
    * ``depth_m``: float32 ``(H, W)``, metric z-depth along the optical axis in metres;
      ``inf`` where nothing was hit (sky), ``nan`` where unknown (real frames).
    * ``instance_ids``: int32 ``(H, W)``; 0 is background, otherwise the
      ``ObjectLabel.instance_id`` of the object seen at that pixel. ``None`` for real frames.

    ``points`` is the LiDAR sweep (:class:`scenegen.points.PointCloud`: xyz in the lidar frame,
    intensity, and rings, semantic / instance ids, return kinds where known), ``None`` for a
    frame without LiDAR.
    """

    frame_id: str
    rgb: np.ndarray
    calibration: Calibration
    depth_m: np.ndarray | None = None
    instance_ids: np.ndarray | None = None
    objects: list[ObjectLabel] = field(default_factory=list)
    points: PointCloud | None = None
    dropped_objects: int = 0  # objects seen but not labelled (too small or too hidden)
    # Those objects, where known: written as KITTI DontCare and COCO iscrowd ignore regions.
    ignored_objects: list[ObjectLabel] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    rgb_right: np.ndarray | None = None
    stereo_baseline_m: float = 0.0

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


def transform_points(T: np.ndarray, points: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """Apply a 4x4 transform to ``(N, >=3)`` points (first three columns); returns ``(N, 3)``
    of ``dtype``.

    Written out per column: ``(N, 3) @ (3, 3)`` goes through BLAS, which is several times
    slower than nine vector multiply-adds for such a thin product.
    """
    pts = np.asarray(points)
    T = np.asarray(T, dtype=np.float64)
    out = np.empty((len(pts), 3), dtype=dtype)
    x, y, z = (pts[:, k].astype(dtype, copy=False) for k in range(3))
    for row in range(3):
        r0, r1, r2 = (dtype(T[row, k]) for k in range(3))
        out[:, row] = r0 * x + r1 * y + r2 * z + dtype(T[row, 3])
    return out
