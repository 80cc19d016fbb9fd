"""LiDAR corruptions keep counts consistent; depth recovered from real KITTI frames is right."""

from __future__ import annotations

import numpy as np
import pytest

from scenegen.augment.depth import (
    DepthUnitsError,
    check_metric_depth,
    ground_plane_depth,
    recover_depth,
    sparse_lidar_depth,
)
from scenegen.augment.lidar import LIDAR_CORRUPTIONS, corrupt_points
from scenegen.io import read_kitti_frame
from scenegen.io.coco import placeholder_calibration
from scenegen.labels.lidar_counts import count_points_in_boxes


@pytest.fixture(scope="module")
def kitti_frame(kitti_root):
    return read_kitti_frame(kitti_root, "000001")


def _boxes(frame):
    objs = [o for o in frame.objects if o.box_3d is not None]
    return [o.box_3d for o in objs], [o.class_name for o in objs]


@pytest.mark.parametrize("name", LIDAR_CORRUPTIONS)
def test_lidar_corruptions_are_seeded_and_counts_are_consistent(kitti_frame, name: str) -> None:
    pts = kitti_frame.points_lidar
    before = pts.copy()
    boxes, classes = _boxes(kitti_frame)
    T = kitti_frame.calibration.T_cam_from_lidar
    a = corrupt_points(
        pts, name, 3, np.random.default_rng(1), boxes=boxes, box_classes=classes, T_cam_from_lidar=T
    )
    b = corrupt_points(
        pts, name, 3, np.random.default_rng(1), boxes=boxes, box_classes=classes, T_cam_from_lidar=T
    )
    assert np.array_equal(a.points_lidar, b.points_lidar)
    assert np.array_equal(pts, before)  # input untouched
    # counts reported = counts of the returned scan; source indices point into the input
    assert np.array_equal(a.points_per_box, count_points_in_boxes(a.points_lidar, T, boxes))
    assert len(a.source_index) == len(a.points_lidar)
    assert a.source_index.max() < len(pts)
    kept = a.source_index >= 0
    if name in ("beam_missing", "cross_sensor", "incomplete_echo"):  # points removed, not moved
        assert np.array_equal(a.points_lidar[kept], pts[a.source_index[kept]])


@pytest.mark.parametrize("name", LIDAR_CORRUPTIONS)
def test_lidar_severity_5_is_stronger_than_1(kitti_frame, name: str) -> None:
    pts = kitti_frame.points_lidar
    boxes, classes = _boxes(kitti_frame)
    T = kitti_frame.calibration.T_cam_from_lidar

    def damage(severity: int) -> float:
        r = corrupt_points(
            pts,
            name,
            severity,
            np.random.default_rng(2),
            boxes=boxes,
            box_classes=classes,
            T_cam_from_lidar=T,
        )
        kept = r.source_index >= 0
        lost = 1 - np.unique(r.source_index[kept]).size / len(pts)
        moved = np.linalg.norm(
            r.points_lidar[kept, :3] - pts[r.source_index[kept], :3], axis=1
        ).mean()
        added = np.count_nonzero(~kept) / len(pts)
        # Light fog only dims returns (Hahner et al.): intensity lost counts too.
        dimmed = np.abs(r.points_lidar[kept, 3] - pts[r.source_index[kept], 3]).mean()
        object_loss = 1 - r.points_per_box.sum() / max(
            count_points_in_boxes(pts, T, boxes).sum(), 1
        )
        return lost + moved + added + dimmed + object_loss

    assert damage(5) > damage(1) > 0


def test_cross_sensor_keeps_the_beam_share_of_robo3d(kitti_frame) -> None:
    pts = kitti_frame.points_lidar
    r = corrupt_points(
        pts, "cross_sensor", 5, np.random.default_rng(0)
    )  # 16 of 64 beams, every 2nd
    assert len(r.points_lidar) / len(pts) == pytest.approx(16 / 64 / 2, abs=0.05)


def test_densified_depth_equals_lidar_depth_at_lidar_pixels(kitti_root) -> None:
    for frame_id in ("000000", "000001", "000003"):  # two image sizes
        frame = read_kitti_frame(kitti_root, frame_id)
        sparse = sparse_lidar_depth(frame.points_lidar, frame.calibration)
        rec = recover_depth(frame.calibration, frame.points_lidar)
        at_lidar = np.isfinite(sparse)
        assert rec.depth_m.shape == frame.rgb.shape[:2]
        assert np.array_equal(rec.lidar_mask, at_lidar)
        assert np.array_equal(rec.depth_m[at_lidar], sparse[at_lidar])
        assert np.isnan(rec.depth_m).mean() < 0.01  # nearly every pixel gets a depth
        lower = rec.depth_m[int(0.6 * frame.height) :]
        assert np.all(np.isfinite(lower)) and np.all(lower > 0)


def test_ground_plane_depth_is_positive_and_grows_towards_the_horizon(kitti_root) -> None:
    frame = read_kitti_frame(kitti_root, "000001")
    ground, horizon = ground_plane_depth(frame.calibration)
    k = frame.calibration.intrinsics
    assert 0 < horizon < k.height
    column = ground[:, k.width // 2]
    below = column[int(np.ceil(horizon)) + 1 :]
    assert np.all(below > 0)
    assert np.all(np.diff(below) < 0)  # nearer (smaller depth) further down the image
    assert np.all(np.isnan(column[: int(np.floor(horizon))]))
    # KITTI: camera 1.65 m up, so the bottom row sees the road ~5-7 m ahead
    assert 4.0 < below[-1] < 8.0


def test_without_lidar_only_the_ground_is_known() -> None:
    calib = placeholder_calibration(320, 160)
    rec = recover_depth(calib, None)
    assert np.all(np.isnan(rec.depth_m[:70]))
    assert np.all(np.isfinite(rec.depth_m[100:]))


def test_depth_units_are_checked(kitti_root) -> None:
    frame = read_kitti_frame(kitti_root, "000001")
    depth = recover_depth(frame.calibration, frame.points_lidar).depth_m
    check_metric_depth(depth, frame.calibration)
    with pytest.raises(DepthUnitsError, match="inverse"):
        check_metric_depth(1.0 / depth, frame.calibration)
    with pytest.raises(DepthUnitsError, match="256"):
        check_metric_depth(np.nan_to_num(depth * 256, posinf=0).astype(np.uint16))
    disparity = 721.5 * 0.54 / depth * 50  # looks metric-sized, but falls with distance
    with pytest.raises(DepthUnitsError, match="disparity"):
        check_metric_depth(disparity, frame.calibration)
