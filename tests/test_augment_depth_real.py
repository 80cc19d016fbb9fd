"""Depth recovered for real KITTI images: edge-aware filling, sky, see-through returns.

The leave-out test holds LiDAR returns out of the recovery and compares the recovered depth
at their pixels with their own depth, at depth edges (pixels whose 9x9 neighbourhood in the
full sparse map spans more than 20 %), against plain nearest-neighbour filling.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SHARED_DATA
from scipy import ndimage

from scenegen.augment.depth import recover_depth, remove_see_through, sparse_lidar_depth
from scenegen.io import read_kitti_frame

FRAMES = (
    ("kitti", "000000"),
    ("kitti", "000001"),
    ("kitti45", "000010"),
    ("kitti45", "000020"),
    ("kitti45", "000030"),
)


def _frame(folder: str, frame_id: str):
    root = SHARED_DATA / folder / "training"
    if not (root / "velodyne").is_dir():
        pytest.skip(f"real KITTI frames not found at {root} (the shared data folder is absent)")
    return read_kitti_frame(Path(root), frame_id)


def _nearest_neighbour(sparse: np.ndarray) -> np.ndarray:
    _, (iy, ix) = ndimage.distance_transform_edt(~np.isfinite(sparse), return_indices=True)
    return sparse[iy, ix]


def _edges(sparse: np.ndarray) -> np.ndarray:
    finite = np.isfinite(sparse)
    far = cv2.dilate(np.where(finite, sparse, 0).astype(np.float32), np.ones((9, 9), np.uint8))
    near = cv2.erode(np.where(finite, sparse, 1e4).astype(np.float32), np.ones((9, 9), np.uint8))
    return finite & (far > 1.2 * near)


def _share_within_10_percent(kind: str) -> tuple[float, float]:
    ours, plain = [], []
    for folder, frame_id in FRAMES:
        frame = _frame(folder, frame_id)
        pts, calib = frame.points.xyz, frame.calibration
        edges = _edges(sparse_lidar_depth(pts, calib))
        if kind == "points":  # a random fifth of the returns
            keep = np.random.default_rng(0).random(len(pts)) > 0.2
        else:  # every 4th beam: 0.42-degree elevation bands (HDL-64E upper block spacing)
            elevation = np.degrees(np.arctan2(pts[:, 2], np.hypot(pts[:, 0], pts[:, 1])))
            keep = np.floor((elevation + 30) / 0.42).astype(int) % 4 != 0
        held = sparse_lidar_depth(pts[~keep], calib)
        known = sparse_lidar_depth(pts[keep], calib)
        test = np.isfinite(held) & edges & ~np.isfinite(known)
        truth = held[test]
        recovered = recover_depth(calib, pts[keep], frame.rgb).depth_m[test]
        ours.append(np.mean(np.abs(recovered - truth) <= 0.1 * truth))
        plain.append(np.mean(np.abs(_nearest_neighbour(known)[test] - truth) <= 0.1 * truth))
    return float(np.mean(ours)), float(np.mean(plain))


@pytest.mark.parametrize(("kind", "margin"), [("points", 0.08), ("beams", 0.03)])
def test_edge_aware_filling_beats_nearest_neighbour_at_depth_edges(kind: str, margin: float):
    # Measured on these five frames: points 0.73 vs 0.60, whole beams 0.47 vs 0.41.
    ours, plain = _share_within_10_percent(kind)
    assert ours >= plain + margin, (ours, plain)


def test_sky_is_found_from_the_image_and_is_infinitely_far() -> None:
    frame = _frame("kitti", "000001")  # clear sky over the road between trees and poles
    rec = recover_depth(frame.calibration, frame.points.xyz, frame.rgb)
    width = frame.calibration.intrinsics.width
    top_centre = rec.depth_m[:15, int(0.3 * width) : int(0.6 * width)]
    assert np.isinf(top_centre).mean() > 0.9
    sky = np.isinf(rec.depth_m)
    rows = np.nonzero(sky.any(axis=1))[0]
    assert rows.max() + 0.5 < rec.horizon_row  # never below the horizon
    assert not (sky & rec.lidar_mask).any()  # never where the LiDAR got a return
    # Above the top LiDAR return, most of this frame is sky (before: 0-23 %).
    top = np.where(rec.lidar_mask.any(axis=0), rec.lidar_mask.argmax(axis=0), 0)
    above = np.arange(frame.height)[:, None] < top[None, :]
    assert sky[above].mean() > 0.4


def test_a_far_return_inside_a_near_surface_is_see_through() -> None:
    """A car 8 m away with a window through which the LiDAR reaches a wall at 30 m."""
    sparse = np.full((120, 200), np.nan, np.float32)
    sparse[::4, 60:140] = 8.0  # the car, scan lines every 4 rows
    sparse[20:40:4, 80:120] = 30.0  # returns through its window
    sparse[::4, 140:200] = 30.0  # the wall beside the car
    flagged = remove_see_through(sparse)
    assert flagged[20:40:4, 80:120].all()
    assert not flagged[:, 140:].any()  # background beside an edge is kept
    assert not flagged[sparse == 8.0].any()


def test_see_through_returns_are_reported_and_filled_from_the_near_surface() -> None:
    frame = _frame("kitti", "000001")
    rec = recover_depth(frame.calibration, frame.points.xyz, frame.rgb)
    sparse = sparse_lidar_depth(frame.points.xyz, frame.calibration)
    kept = rec.lidar_mask & ~rec.see_through_mask
    assert np.array_equal(rec.depth_m[kept], sparse[kept])  # exact where trusted
    dropped = rec.see_through_mask
    assert dropped.sum() > 5
    # Most take the enclosing nearer surface (measured 11 of 16 on this frame; the others
    # take a neighbouring far return whose colour matched better).
    assert np.mean(rec.depth_m[dropped] < sparse[dropped] / 1.2) > 0.6
