"""Metric depth for real images: LiDAR through the calibration, densified, plus the ground.

The effects need a z-depth map (metres along the optical axis; ``inf`` sky, ``nan``
unknown, which they treat as far). Real frames have none, so it is recovered:

1. LiDAR points are projected through ``Calibration.T_cam_from_lidar`` and ``K``; the
   nearest return wins where several land on one pixel. At those pixels the result equals
   the LiDAR's own z-depth exactly, except for see-through returns (step 2).
2. See-through returns: the LiDAR sees through car windows (and, from its own viewpoint
   above the camera, past the edges of near objects), so far returns land inside a near
   object's outline and fog would stripe it. A return much farther (x1.5 and 2 m) than the
   nearest returns on its left, its right *and* below it is enclosed by a nearer surface
   and is dropped; background beside an edge has a nearer surface on one side only and
   stays.
3. With the image (``rgb``), holes inside the LiDAR's coverage are filled edge-aware: each
   hole takes the depth of one of its four nearest returns (up, down, left, right), the one
   whose colour is closest to its own, plus a small distance penalty, so depth edges follow
   image edges instead of the middle between returns (plain nearest-neighbour filling).
   Without the image the morphological densification of Ku et al. ("In Defense of
   Classical Image Processing", CRV 2018) is used.
4. Sky (with the image): pixels above the horizon (from ``T_cam_from_world``), bright and
   smooth (low local contrast), away from any LiDAR return, and connected to the image's
   top border are sky, ``inf``.
5. Above the LiDAR's field of view (KITTI's top beam looks 2 degrees up; 37-45 % of the
   image lies above it) what is not sky is propagated upward row by row from the top
   returns, each pixel taking the depth of the one of the five pixels below it whose
   colour is closest (a tree crown continues its trunk's depth, the building beside it its
   own). Without the image, a column whose highest return comes from the top beams is
   assumed to continue upward at that depth, and the rest above the horizon is sky.
6. The ground plane from ``T_cam_from_world`` (world z = 0) gives depth below the horizon
   where nothing else does (the bottom rows a 64-beam LiDAR never sees, far road).

Without LiDAR (COCO / YOLO images) only the ground plane is known; every other pixel is
``nan``. About 0.12-0.15 s for a KITTI frame with the image (once per frame), 15-35 ms
with LiDAR only.
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
    * ``see_through_mask``: bool ``(H, W)``, LiDAR pixels dropped as seen through a nearer
      surface (car windows; module notes, step 2); their depth comes from the filling.
      ``None`` for depth not recovered from LiDAR (a rendered frame's own depth).
    """

    depth_m: np.ndarray
    lidar_mask: np.ndarray
    ground_mask: np.ndarray
    horizon_row: float
    see_through_mask: np.ndarray | None = None


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


# See-through returns (module notes, step 2): farther than this factor and margin ...
_SEE_THROUGH_RATIO = 1.5
_SEE_THROUGH_MARGIN_M = 2.0
# ... than the nearest returns within this many pixels left, right and below.
_SEE_THROUGH_REACH_PX = (40, 20)  # (columns to each side, rows below)
# Edge-aware filling: cost of one pixel of distance, in CIELAB colour-difference units.
_FILL_DISTANCE_COST = 2.0
# Upward propagation stops at colour steps larger than this (CIELAB units).
_PROPAGATE_MAX_COLOUR_STEP = 12.0
# Sky: local contrast (std of grey levels in a 9x9 window, 0-255) below this ...
_SKY_MAX_LOCAL_STD = 8.0
# ... brightness above this share of the above-horizon region's 99th percentile ...
_SKY_MIN_BRIGHTNESS = 0.6
# ... and no LiDAR return within this many pixels.
_SKY_LIDAR_CLEARANCE_PX = 6


def remove_see_through(sparse_m: np.ndarray) -> np.ndarray:
    """Bool ``(H, W)``: LiDAR pixels enclosed by a much nearer surface (module notes, 2)."""
    valid = np.isfinite(sparse_m)
    depth = np.where(valid, sparse_m, MAX_DEPTH_M).astype(np.float32)
    side, below = _SEE_THROUGH_REACH_PX
    # One-sided minimum filters: the anchor at the kernel's end excludes the pixel itself.
    left = cv2.erode(depth, np.ones((1, side), np.uint8), anchor=(side - 1, 0))
    left = np.pad(left, ((0, 0), (1, 0)), constant_values=MAX_DEPTH_M)[:, :-1]
    right = cv2.erode(depth, np.ones((1, side), np.uint8), anchor=(0, 0))
    right = np.pad(right, ((0, 0), (0, 1)), constant_values=MAX_DEPTH_M)[:, 1:]
    under = cv2.erode(depth, np.ones((below, 1), np.uint8), anchor=(0, 0))
    under = np.pad(under, ((0, 1), (0, 0)), constant_values=MAX_DEPTH_M)[1:, :]
    # Each one-sided filter's image border is "no return" (MAX_DEPTH_M), never nearer.
    enclosing = np.maximum(np.maximum(left, right), under)
    return valid & (depth > _SEE_THROUGH_RATIO * enclosing + _SEE_THROUGH_MARGIN_M)


def _nearest_valid(valid: np.ndarray, axis: int, forward: bool) -> np.ndarray:
    """Index along ``axis`` of the nearest valid pixel before (``forward``) or after each
    pixel, itself included; -1 or the axis length where there is none."""
    n = valid.shape[axis]
    index = np.arange(n, dtype=np.int32).reshape((-1, 1) if axis == 0 else (1, -1))
    if forward:
        return np.maximum.accumulate(np.where(valid, index, -1), axis=axis)
    flipped = np.flip(np.where(valid, index, n), axis=axis)
    return np.flip(np.minimum.accumulate(flipped, axis=axis), axis=axis)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """Float32 CIELAB of a lightly blurred uint8 RGB image (colour distance ~ perceived)."""
    smooth = cv2.GaussianBlur(np.asarray(rgb, np.uint8), (0, 0), 1.0)
    return cv2.cvtColor(smooth, cv2.COLOR_RGB2LAB).astype(np.float32)


def edge_aware_fill(
    sparse_m: np.ndarray,
    lab: np.ndarray,
    known: np.ndarray | None = None,
    todo: np.ndarray | None = None,
) -> np.ndarray:
    """Fill every hole of ``sparse_m`` reachable along its row or column (module notes, 3).

    ``lab``: float32 ``(H, W, 3)`` CIELAB image; ``known``: bool ``(H, W)`` source pixels
    (default: the finite ones); ``todo``: bool ``(H, W)`` holes to fill (default: all).
    Returns float32 ``(H, W)``: the sources, the filled holes, ``nan`` elsewhere (holes not
    asked for, and holes with no source in their row or column).
    """
    valid = np.isfinite(sparse_m) if known is None else known
    height, width = valid.shape
    out = np.full((height, width), np.nan, np.float32)
    out[valid] = np.asarray(sparse_m, np.float32)[valid]
    holes = ~valid if todo is None else todo & ~valid
    # Work on the holes only, with flat indices into contiguous planes: gathering from
    # 1-D arrays is several times faster than 2-D fancy indexing of an (H, W, 3) image.
    flat = np.flatnonzero(holes)
    hole_row, hole_col = np.divmod(flat, width)
    planes = [np.ascontiguousarray(lab[..., k], np.float32).ravel() for k in range(3)]
    own = [plane.take(flat) for plane in planes]
    source = out.ravel()
    best = np.full(len(flat), np.inf, np.float32)
    chosen = np.full(len(flat), np.nan, np.float32)
    step_cost = np.float32(_FILL_DISTANCE_COST)
    for axis, length in ((0, height), (1, width)):
        for forward in (True, False):
            near = _nearest_valid(valid, axis, forward).ravel().take(flat)
            found = (near >= 0) & (near < length)
            np.clip(near, 0, length - 1, out=near)
            if axis == 0:
                index, distance = near * width + hole_col, np.abs(near - hole_row)
            else:
                index, distance = hole_row * width + near, np.abs(near - hole_col)
            cost = np.zeros(len(flat), np.float32)
            for plane, mine in zip(planes, own, strict=True):
                cost += np.square(plane.take(index) - mine)
            np.sqrt(cost, out=cost)
            cost += step_cost * distance.astype(np.float32)
            take = found & (cost < best)
            best[take] = cost[take]
            chosen[take] = source.take(index[take])
    out.ravel()[flat] = chosen
    return out


def detect_sky(rgb: np.ndarray, horizon_row: float, lidar_mask: np.ndarray) -> np.ndarray:
    """Bool ``(H, W)``: sky pixels (module notes, 4): above the horizon, bright, smooth,
    clear of LiDAR returns and connected to the top border. Overcast grey and blue sky alike."""
    img = np.asarray(rgb, np.uint8)
    height = img.shape[0]
    r, g, b = (img[..., k] for k in range(3))
    grey = (r.astype(np.float32) + g + b) * np.float32(1.0 / 3.0)
    mean = cv2.blur(grey, (9, 9))
    local_std = np.sqrt(np.maximum(cv2.blur(grey * grey, (9, 9)) - mean * mean, 0))
    above = (np.arange(height)[:, None] + 0.5) < horizon_row
    if not above.any():
        return np.zeros(grey.shape, bool)
    brightness = np.maximum(np.maximum(r, g), b)
    reference = _percentile_uint8(brightness[: int(np.ceil(horizon_row - 0.5))], 99.0)
    size = 2 * _SKY_LIDAR_CLEARANCE_PX + 1
    near_lidar = cv2.dilate(lidar_mask.astype(np.uint8), np.ones((size, size), np.uint8)) > 0
    candidate = (
        above
        & (local_std < _SKY_MAX_LOCAL_STD)
        & (brightness > _SKY_MIN_BRIGHTNESS * reference)
        & ~near_lidar
    )
    _, labels = cv2.connectedComponents(candidate.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[0][candidate[0]])
    sky = np.isin(labels, touching) & candidate
    # Close the pin-holes texture leaves in a clear sky (a bird, a wire, JPEG noise).
    closed = cv2.morphologyEx(sky.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return (closed > 0) & above & ~near_lidar


def _percentile_uint8(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) of uint8 values, by histogram."""
    counts = np.cumsum(np.bincount(values.ravel(), minlength=256))
    position = q / 100.0 * (counts[-1] - 1)
    lo = int(np.floor(position))
    at_lo = int(np.searchsorted(counts, lo, side="right"))
    at_hi = int(np.searchsorted(counts, min(lo + 1, counts[-1] - 1), side="right"))
    return at_lo + (position - lo) * (at_hi - at_lo)


def propagate_up(depth_m: np.ndarray, lab: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """Fill ``todo`` pixels row by row from the row below (module notes, 5): each takes the
    depth of the one of its five lower neighbours (columns -2..+2) whose colour is nearest
    and which has a finite depth; ``nan`` where even that one differs by an image edge.
    Returns a new float32 map."""
    out = np.array(depth_m, np.float32)
    height, width = out.shape
    offsets = np.arange(-2, 3)
    # Colour distances of every pixel to its five lower neighbours, for all rows at once
    # (only the depths depend on the row below, so only they stay in the loop).
    rows_todo = np.flatnonzero(todo[:-1].any(axis=1))
    if not len(rows_todo):
        return out
    last = int(rows_todo[-1]) + 1
    planes = np.moveaxis(np.asarray(lab[: last + 1], np.float32), 2, 0)  # (3, rows, W)
    padded = np.pad(planes, ((0, 0), (0, 0), (2, 2)), mode="edge")
    costs = np.empty((last, width, len(offsets)), np.float32)
    for j, k in enumerate(offsets):
        diff = padded[:, 1:, 2 + k : 2 + k + width] - planes[:, :-1]
        costs[..., j] = np.sqrt(np.einsum("cij,cij->ij", diff, diff))
        costs[..., j] += np.float32(abs(k))  # prefer straight up among equals
    # Depths padded by two columns of nan: the five lower neighbours of every pixel of a
    # row are a (W, 5) sliding window of the row below, a view, no copy.
    padded_out = np.full((height, width + 4), np.nan, np.float32)
    padded_out[:, 2:-2] = out
    window = np.lib.stride_tricks.sliding_window_view
    for row in rows_todo[::-1]:
        need = todo[row]
        depths = window(padded_out[row + 1], len(offsets))
        cost = np.where(np.isfinite(depths), costs[row], np.inf)
        pick = cost.argmin(axis=1)[:, None]  # the first of equal costs, as a strict < scan
        best = np.take_along_axis(cost, pick, axis=1)[:, 0]
        chosen = np.take_along_axis(depths, pick, axis=1)[:, 0].copy()
        # Across an image edge (a crown above the background seen under it) nothing below
        # belongs to the pixel: leave it for the row-wise fill.
        chosen[~(best <= _PROPAGATE_MAX_COLOUR_STEP)] = np.nan
        padded_out[row, 2:-2][need] = chosen[need]
    out = padded_out[:, 2:-2].copy()
    return out


def recover_depth(
    calibration: Calibration, points_lidar: np.ndarray | None = None, rgb: np.ndarray | None = None
) -> RecoveredDepth:
    """Depth for a real image of ``calibration``'s size, from LiDAR (optional), the image
    (optional, uint8 ``(H, W, 3)``: edge-aware filling and sky) and the ground plane."""
    k = calibration.intrinsics
    ground, horizon = ground_plane_depth(calibration)
    rows = np.arange(k.height)[:, None]
    above_horizon = rows + 0.5 < horizon
    shape = (k.height, k.width)
    see_through = np.zeros(shape, bool)
    if points_lidar is None or not len(points_lidar):
        lidar_mask = np.zeros(shape, bool)
        depth = np.full(shape, np.nan, np.float32)
    elif rgb is None:
        lidar_mask, depth = _depth_without_image(points_lidar, calibration, above_horizon)
    else:
        if rgb.shape[:2] != shape:
            raise ValueError(f"rgb has shape {rgb.shape}, the calibration's image is {shape}")
        sparse = sparse_lidar_depth(points_lidar, calibration)
        lidar_mask = np.isfinite(sparse)
        see_through = remove_see_through(sparse)
        sparse[see_through] = np.nan
        kept = np.isfinite(sparse)
        lab = _lab(rgb)
        top = np.where(kept.any(axis=0), kept.argmax(axis=0), k.height)
        inside = rows >= top[None, :]
        depth = edge_aware_fill(sparse, lab, todo=inside)
        depth[~inside] = np.nan
        sky = detect_sky(rgb, horizon, lidar_mask)
        depth[sky] = np.inf
        above = ~inside & ~sky
        depth = propagate_up(depth, lab, above)
        # Where the pixel below was sky or across an image edge (leaves over a gap, a crown
        # above the background seen under it), take the colour-nearest depth along the row
        # or column instead.
        unresolved = above & np.isnan(depth)
        if unresolved.any():
            # Sky counts as a source here: a wire or a bird in the sky stays sky.
            filled = edge_aware_fill(depth, lab, known=~np.isnan(depth), todo=unresolved)
            filled[np.isinf(filled) & ~above_horizon] = np.nan  # the ground, below
            depth[unresolved] = filled[unresolved]
        # Columns without any return: sky above the horizon, the ground below (step 6).
        depth[~np.isfinite(depth) & ~np.isinf(depth) & above_horizon & ~inside] = np.inf
    use_ground = np.isnan(depth) & np.isfinite(ground)
    depth[use_ground] = ground[use_ground]
    with np.errstate(invalid="ignore"):
        ground_mask = np.isfinite(ground) & (np.abs(depth - ground) <= 0.1 * ground)
    return RecoveredDepth(depth.astype(np.float32), lidar_mask, ground_mask, horizon, see_through)


def _depth_without_image(
    points_lidar: np.ndarray, calibration: Calibration, above_horizon: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """LiDAR mask and depth when only LiDAR is known: Ku densification, columns blocked at
    the top continue upward, the rest above the returns and the horizon is sky."""
    k = calibration.intrinsics
    rows = np.arange(k.height)[:, None]
    sparse = sparse_lidar_depth(points_lidar, calibration)
    lidar_mask = np.isfinite(sparse)
    dense = densify(sparse)
    top = np.where(lidar_mask.any(axis=0), lidar_mask.argmax(axis=0), k.height)
    # The top edge of coverage is ragged (beams between pixels): a 9-column minimum.
    top = cv2.erode(top.astype(np.float32)[None, :], np.ones((1, 9), np.uint8))[0].astype(int)
    above_returns = rows < top[None, :]
    blocked = _columns_blocked_at_top(points_lidar, calibration)
    dense_rows = np.isfinite(dense)
    first = np.where(dense_rows.any(axis=0), dense_rows.argmax(axis=0), k.height - 1)
    from scipy.ndimage import median_filter

    # One depth per object, not per column: a 31-column median along the row.
    top_depth = median_filter(dense[first, np.arange(k.width)], size=31, mode="nearest")
    extend = (rows < first[None, :]) & blocked[None, :] & np.isfinite(top_depth)[None, :]
    depth = np.where(extend, top_depth[None, :], dense)
    depth[~np.isfinite(depth) & above_returns & above_horizon] = np.inf
    return lidar_mask, depth.astype(np.float32)


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
