"""Metric depth for real images: LiDAR through the calibration, densified, plus the ground.

The effects need a z-depth map (metres along the optical axis; ``inf`` sky, ``nan``
unknown, which they treat as far). Real frames have none, so it is recovered:

1. LiDAR points are projected through ``Calibration.T_cam_from_lidar`` and ``K``; the
   nearest return wins where several land on one pixel. At those pixels the result equals
   the LiDAR's own z-depth exactly.
2. Densification (after Ku et al., "In Defense of Classical Image Processing", CRV 2018):
   grey-scale dilation of *inverted* depth (so the nearer surface wins at edges) with a
   diamond kernel, a closing, a wider dilation for larger holes, then each column's holes
   inside the LiDAR's vertical coverage are filled from the return below them (walls and
   poles continue upward; the image's rows are its scan lines).
3. The ground plane from ``T_cam_from_world`` (world z = 0) gives depth below the horizon
   where LiDAR says nothing (the bottom rows a 64-beam LiDAR never sees, far road).
4. Above the LiDAR's field of view (KITTI's top beam looks 2 degrees up): where a
   column's highest return comes from the top beams, something stands there (a wall, a
   tree, a truck) and is assumed to continue upward at that depth; where it does not,
   the top beams saw nothing, and pixels above both the horizon and the highest return
   are sky, ``inf``. Anything else stays ``nan``.

Without LiDAR (COCO / YOLO images) only the ground plane is known; every other pixel is
``nan``. All functions are vectorised (about 10 ms for a KITTI frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scenegen.frame import Calibration, Frame, transform_points

# Depth beyond this is not a driving-scene surface (m); also the cap of inverted depth.
MAX_DEPTH_M = 1000.0
_DIAMOND_5 = np.array(
    [[0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0]],
    dtype=np.uint8,
)


class DepthUnitsError(ValueError):
    """A depth map that is not metric z-depth (disparity, inverse or scaled depth)."""


@dataclass
class RecoveredDepth:
    """Depth recovered for one image.

    * ``depth_m``: float32 ``(H, W)`` z-depth in metres; ``inf`` sky, ``nan`` unknown.
    * ``lidar_mask``: bool ``(H, W)``, pixels hit by a LiDAR return (exact depth there).
    * ``ground_mask``: bool ``(H, W)``, pixels whose depth lies on the ground plane (within
      10 %) below the horizon: the road and its surroundings, for wet-road effects.
    * ``horizon_row``: image row of the horizon (float, may lie outside the image).
    """

    depth_m: np.ndarray
    lidar_mask: np.ndarray
    ground_mask: np.ndarray
    horizon_row: float


def sparse_lidar_depth(points_lidar: np.ndarray, calibration: Calibration) -> np.ndarray:
    """Float32 ``(H, W)`` z-depth of the nearest LiDAR return per pixel, ``nan`` elsewhere."""
    k = calibration.intrinsics
    depth = np.full((k.height, k.width), np.inf, np.float32)
    pts = np.asarray(points_lidar, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points_lidar must be (N, >=3) x, y, z metres, got {pts.shape}")
    T = np.asarray(calibration.T_cam_from_lidar, np.float64)
    cam = transform_points(T, pts)
    z = cam[:, 2]
    front = z > 0.1
    cam, z = cam[front], z[front]
    u = np.floor(k.fx * cam[:, 0] / z + k.cx).astype(np.int64)
    v = np.floor(k.fy * cam[:, 1] / z + k.cy).astype(np.int64)
    inside = (u >= 0) & (u < k.width) & (v >= 0) & (v < k.height)
    flat = v[inside] * k.width + u[inside]
    np.minimum.at(depth.reshape(-1), flat, z[inside].astype(np.float32))
    depth[np.isinf(depth)] = np.nan
    return depth


def ground_plane_depth(calibration: Calibration) -> tuple[np.ndarray, float]:
    """Z-depth of the world's ground plane (z = 0) per pixel, and the horizon row.

    Returns float32 ``(H, W)`` (``nan`` at and above the horizon, where rays never meet
    the ground) and the horizon's row at the image centre column.
    """
    k = calibration.intrinsics
    T = np.asarray(calibration.T_cam_from_world, np.float64)
    normal_cam = T[:3, :3] @ np.array([0.0, 0.0, 1.0])  # world up, in camera axes
    origin_cam = T[:3, 3]  # a point of the ground (world origin), in camera coordinates
    offset = float(normal_cam @ origin_cam)  # plane: normal . X = offset
    x = (np.arange(k.width, dtype=np.float64) + 0.5 - k.cx) / k.fx
    y = (np.arange(k.height, dtype=np.float64) + 0.5 - k.cy) / k.fy
    # Ray X = s (x, y, 1) with z-depth s: normal . X = offset.
    denom = normal_cam[0] * x[None, :] + normal_cam[1] * y[:, None] + normal_cam[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = offset / denom
    s = np.where((s > 0) & (s < MAX_DEPTH_M), s, np.nan).astype(np.float32)
    # Horizon at the centre column: normal . (x_c, y, 1) = 0.
    x_c = (k.width / 2 - k.cx) / k.fx
    if abs(normal_cam[1]) < 1e-9:
        horizon = float("-inf")
    else:
        y_h = -(normal_cam[0] * x_c + normal_cam[2]) / normal_cam[1]
        horizon = float(k.fy * y_h + k.cy)
    return s, horizon


def densify(sparse_m: np.ndarray) -> np.ndarray:
    """Fill the holes of a sparse z-depth map (``nan`` = no return); float32 ``(H, W)``.

    Holes above a column's highest return stay ``nan``; see the module notes.
    """
    sparse = np.asarray(sparse_m, np.float32)
    valid = np.isfinite(sparse) & (sparse > 0)
    # Invert so that max-filters keep the nearer surface: 0 stays "empty".
    inv = np.where(valid, np.float32(MAX_DEPTH_M) - sparse, 0).astype(np.float32)
    inv = cv2.dilate(inv, _DIAMOND_5)
    inv = cv2.morphologyEx(inv, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    holes = inv == 0
    wide = cv2.dilate(inv, np.ones((7, 7), np.uint8))
    inv[holes] = wide[holes]
    # Column fill: a hole takes the first filled value below it (scan lines run along rows).
    height = inv.shape[0]
    filled = inv > 0
    rows = np.where(filled, np.arange(height)[:, None], height)
    below = np.minimum.accumulate(rows[::-1], axis=0)[::-1]  # nearest filled row at/below
    has_below = below < height
    # Only inside the LiDAR's vertical coverage: at or below the highest return.
    top = np.where(valid.any(axis=0), valid.argmax(axis=0), height)
    inside = has_below & (np.arange(height)[:, None] >= top[None, :])
    cols = np.broadcast_to(np.arange(inv.shape[1]), inv.shape)
    out = np.where(inside, inv[np.minimum(below, height - 1), cols], 0)
    dense = np.where(out > 0, np.float32(MAX_DEPTH_M) - out, np.nan).astype(np.float32)
    dense[valid] = sparse[valid]  # exact where the LiDAR measured
    return dense


def recover_depth(
    calibration: Calibration, points_lidar: np.ndarray | None = None, rgb: np.ndarray | None = None
) -> RecoveredDepth:
    """Depth for a real image of ``calibration``'s size, from LiDAR (optional) and ground.

    With the image (``rgb``, uint8 ``(H, W, 3)``), blue-sky pixels above the LiDAR's
    coverage stay sky even in columns where an object continues upward (the sky seen
    between and above tree tops).
    """
    k = calibration.intrinsics
    ground, horizon = ground_plane_depth(calibration)
    rows = np.arange(k.height)[:, None]
    above_horizon = rows + 0.5 < horizon
    if points_lidar is not None and len(points_lidar):
        sparse = sparse_lidar_depth(points_lidar, calibration)
        lidar_mask = np.isfinite(sparse)
        dense = densify(sparse)
        depth = dense.copy()
        top = np.where(lidar_mask.any(axis=0), lidar_mask.argmax(axis=0), k.height)
        # The top edge of coverage is ragged (beams between pixels): a 9-column minimum.
        top = cv2.erode(top.astype(np.float32)[None, :], np.ones((1, 9), np.uint8))[0].astype(int)
        above_returns = rows < top[None, :]
    else:
        lidar_mask = np.zeros((k.height, k.width), bool)
        depth = np.full((k.height, k.width), np.nan, np.float32)
        above_returns = np.zeros((k.height, k.width), bool)
    use_ground = ~np.isfinite(depth) & np.isfinite(ground)
    depth[use_ground] = ground[use_ground]
    if points_lidar is not None and len(points_lidar):
        blocked = _columns_blocked_at_top(points_lidar, calibration)
        dense_rows = np.isfinite(dense)
        first = np.where(dense_rows.any(axis=0), dense_rows.argmax(axis=0), k.height - 1)
        from scipy.ndimage import median_filter

        # One depth per object, not per column: a 31-column median along the row.
        top_depth = median_filter(dense[first, np.arange(k.width)], size=31, mode="nearest")
        extend = (rows < first[None, :]) & blocked[None, :] & np.isfinite(top_depth)[None, :]
        if rgb is not None:
            extend &= ~_blue_sky(rgb)
        depth = np.where(extend, top_depth[None, :], depth)
        depth[~np.isfinite(depth) & above_returns & above_horizon] = np.inf
    with np.errstate(invalid="ignore"):
        ground_mask = np.isfinite(ground) & (np.abs(depth - ground) <= 0.1 * ground)
    return RecoveredDepth(depth.astype(np.float32), lidar_mask, ground_mask, horizon)


def _blue_sky(rgb: np.ndarray) -> np.ndarray:
    """Bool ``(H, W)``: smooth, bright pixels tinted blue (clear sky); a blue facade is
    told apart by its texture, grey overcast is not found."""
    img = np.asarray(rgb, np.float32)
    r, b = img[..., 0], img[..., 2]
    brightness = img.max(axis=2)
    grey = img.mean(axis=2)
    mean = cv2.blur(grey, (9, 9))
    local_std = np.sqrt(np.maximum(cv2.blur(grey * grey, (9, 9)) - mean * mean, 0))
    return (
        (b > 1.1 * r + 5)
        & (brightness > 0.5 * float(np.percentile(brightness, 99)))
        & (local_std < 6.0)
    )


def _columns_blocked_at_top(points_lidar: np.ndarray, calibration: Calibration) -> np.ndarray:
    """Bool ``(W,)``: columns whose highest return is within 4 degrees of the scan's top."""
    k = calibration.intrinsics
    pts = np.asarray(points_lidar, np.float64)[:, :3]
    elevation = np.degrees(np.arctan2(pts[:, 2], np.hypot(pts[:, 0], pts[:, 1])))
    T = np.asarray(calibration.T_cam_from_lidar, np.float64)
    cam = transform_points(T, pts)
    front = cam[:, 2] > 0.1
    u = np.floor(k.fx * cam[front, 0] / cam[front, 2] + k.cx).astype(np.int64)
    inside = (u >= 0) & (u < k.width)
    best = np.full(k.width, -90.0)
    np.maximum.at(best, u[inside], elevation[front][inside])
    top_elevation = float(np.percentile(elevation, 99.5))
    # Within the upper part of the beam fan (above ~ -0.3 deg for KITTI: the ground seen
    # that high would be farther than 300 m).
    blocked = (best >= top_elevation - 4.0).astype(np.uint8)[None, :]
    # Whole objects, not single columns: close gaps of up to 25 columns, drop strays < 9.
    blocked = cv2.erode(cv2.dilate(blocked, np.ones((1, 25), np.uint8)), np.ones((1, 25), np.uint8))
    kernel = np.ones((1, 9), np.uint8)
    return cv2.dilate(cv2.erode(blocked, kernel), kernel)[0].astype(bool)


def check_metric_depth(
    depth_m: np.ndarray, calibration: Calibration | None = None, name: str = "depth_m"
) -> np.ndarray:
    """Return ``depth_m`` as float32 after checking that it is metric z-depth.

    Raises :class:`DepthUnitsError` for integer arrays (a KITTI depth PNG holds metres x 256:
    divide first), negative values, maps whose finite values all lie in [0, 1] (normalised
    or inverse depth), and, with a calibration, maps that *decrease* with distance along
    the ground plane in the lower image (disparity or inverse depth). ``nan`` / ``inf`` pass.
    """
    arr = np.asarray(depth_m)
    if not np.issubdtype(arr.dtype, np.floating):
        raise DepthUnitsError(
            f"{name} has dtype {arr.dtype}; expected float metres. A KITTI uint16 depth PNG "
            "stores metres x 256: divide by 256 (0 = unknown -> nan)"
        )
    depth = arr.astype(np.float32, copy=False)
    finite = depth[np.isfinite(depth)]
    if finite.size == 0:
        return depth
    if finite.min() < 0:
        raise DepthUnitsError(
            f"{name} has negative values (min {finite.min():.3g}); expected metres >= 0"
        )
    positive = finite[finite > 0]
    if positive.size > 100 and positive.max() <= 1.0:
        raise DepthUnitsError(
            f"{name}: every value lies in [0, 1] (max {positive.max():.3g}); this looks like "
            "normalised or inverse depth, not metres"
        )
    if calibration is not None and depth.shape == (
        calibration.intrinsics.height,
        calibration.intrinsics.width,
    ):
        ground, _ = ground_plane_depth(calibration)
        both = np.isfinite(ground) & np.isfinite(depth) & (depth > 0)
        both[: int(0.6 * depth.shape[0])] = False  # the lower image is mostly ground
        if np.count_nonzero(both) > 200:
            g, d = ground[both], depth[both]
            corr = np.corrcoef(np.argsort(np.argsort(g)), np.argsort(np.argsort(d)))[0, 1]
            if corr < -0.2:
                raise DepthUnitsError(
                    f"{name} decreases with distance along the ground (rank correlation "
                    f"{corr:.2f} with the ground plane's depth): disparity or inverse depth? "
                    "Convert to metres: depth = fx * baseline / disparity"
                )
    return depth


def frame_depth(frame: Frame) -> RecoveredDepth:
    """The depth every corruption of ``frame`` uses: the frame's own metric depth where it
    has one (rendered frames, exact), else depth recovered by :func:`recover_depth`.

    With the frame's depth, the ground mask and horizon come from its calibration's ground
    plane, as for recovered depth; ``lidar_mask`` is all False (no pixel is a LiDAR return).
    """
    if frame.depth_m is None:
        xyz = None if frame.points is None else frame.points.xyz
        return recover_depth(frame.calibration, xyz, frame.rgb)
    depth = check_metric_depth(np.asarray(frame.depth_m, np.float32), name="frame.depth_m")
    ground, horizon = ground_plane_depth(frame.calibration)
    with np.errstate(invalid="ignore"):
        ground_mask = np.isfinite(ground) & (np.abs(depth - ground) <= 0.1 * ground)
    return RecoveredDepth(depth, np.zeros(depth.shape, bool), ground_mask, horizon)
