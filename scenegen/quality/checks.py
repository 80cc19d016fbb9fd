"""The checks of the quality gate, each a pure function of one frame returning reasons.

A reason is ``"code: what was found, expected what"``; the code before the colon is one of
:data:`REASON_CODES`. Thresholds live in :class:`QualitySettings`; their defaults were chosen
so that no check fires on clean frames of any shipped scenario (night and dense fog
included) while every planted defect of ``tests/test_quality.py`` is caught.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenegen.frame import Frame, transform_points
from scenegen.points import HARD_RETURN
from scenegen.scenario.spec import SceneSpec
from scenegen.world.types import World

REASON_CODES = (
    "non_finite",
    "near_black",
    "blown_out",
    "camera_inside_geometry",
    "missing_objects",
    "box_mask_mismatch",
    "below_visible_floor",
    "depth_lidar_mismatch",
    "few_lidar_points",
    "duplicate",
)


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the checks (see each check for its meaning)."""

    black_p99_luma: float = 6.0  # 0-255: even a night frame has lamps or lit road above it
    blown_p5_luma: float = 250.0  # 0-255: a fog or snow frame still has darker pixels
    min_box_mask_iou: float = 0.9
    near_field_m: float = 0.3  # closer than the near-clip region a real mount allows
    near_field_fraction: float = 0.5
    max_depth_lidar_error: float = 0.1  # median relative range error of surface returns
    lidar_check_range_m: float = 20.0  # objects nearer than this must have LiDAR points
    min_lidar_points: int = 3
    max_lidar_occlusion: float = 0.5
    # Of 256: noise of one grey level flips up to 11 bits on clean frames; two different
    # frames of the shipped scenarios differ in 30 or more.
    duplicate_hash_bits: int = 16


def non_finite(frame: Frame) -> list[str]:
    """NaN or infinity where a number must be finite: depth (``inf`` is sky; NaN or
    negative is never right in a rendered frame), points, boxes."""
    found = []
    if frame.rgb.dtype != np.uint8 and not np.isfinite(frame.rgb).all():
        found.append("rgb")
    if frame.depth_m is not None:
        depth = frame.depth_m
        if not (depth >= 0).all():  # False for NaN and for negative depths alike
            found.append("depth_m")
    points = frame.points
    if points is not None and not (
        np.isfinite(points.xyz).all() and np.isfinite(points.intensity).all()
    ):
        found.append("points")
    for obj in frame.objects:
        box3d = obj.box_3d
        values = [*obj.box_2d.tolist()]
        if box3d is not None:
            values += [box3d.x, box3d.y, box3d.z, box3d.h, box3d.w, box3d.l, box3d.rotation_y]
        if not np.isfinite(values).all():
            found.append(f"object {obj.instance_id} box")
            break
    if not found:
        return []
    return [f"non_finite: NaN or infinity in {', '.join(found)}, expected finite values"]


def exposure(frame: Frame, settings: QualitySettings) -> list[str]:
    """Near-black (the 99th percentile of luma below ``black_p99_luma``) or blown-out (the
    5th percentile above ``blown_p5_luma``) images. Robust percentiles on every 4th pixel
    of every 4th row: a few lamps do not make a black frame pass, a few dark pixels do
    not make a white one pass."""
    sample = frame.rgb[::4, ::4].reshape(-1, 3).astype(np.float32)
    luma = sample @ np.array([0.299, 0.587, 0.114], np.float32)
    p5, p99 = np.percentile(luma, [5, 99])
    reasons = []
    if p99 < settings.black_p99_luma:
        reasons.append(
            f"near_black: 99th-percentile luma {p99:.1f} of 255, "
            f"expected at least {settings.black_p99_luma:g}"
        )
    if p5 > settings.blown_p5_luma:
        reasons.append(
            f"blown_out: 5th-percentile luma {p5:.1f} of 255, "
            f"expected at most {settings.blown_p5_luma:g}"
        )
    return reasons


def camera_inside(frame: Frame, world: World | None, settings: QualitySettings) -> list[str]:
    """The camera inside an object's box (with the world), or most of the view nearer than
    ``near_field_m`` (what a camera inside a mesh sees, world or not)."""
    reasons = []
    if world is not None:
        camera_world = np.linalg.inv(frame.calibration.T_cam_from_world)[:3, 3]
        for obj in world.objects:
            length, width, height = obj.dimensions_m
            if min(length, width, height) <= 0:
                continue
            local = np.linalg.solve(obj.pose_world, np.append(camera_world, 1.0))[:3]
            if (
                abs(local[0]) <= length / 2
                and abs(local[1]) <= width / 2
                and 0 <= local[2] <= height
            ):
                reasons.append(
                    f"camera_inside_geometry: the camera is inside {obj.name}, "
                    "expected it outside every object"
                )
                break
    if not reasons and frame.depth_m is not None:
        near = float(np.mean(frame.depth_m[::4, ::4] < settings.near_field_m))
        if near > settings.near_field_fraction:
            reasons.append(
                f"camera_inside_geometry: {near:.0%} of the view is nearer than "
                f"{settings.near_field_m:g} m, expected at most {settings.near_field_fraction:.0%}"
            )
    return reasons


def missing_objects(frame: Frame, spec: SceneSpec | None) -> list[str]:
    """An event that occurs without any of its objects seen (labelled, or seen too small
    or hidden to label: an ignore region); actors asked for and not one object labelled."""
    if spec is None:
        return []
    reasons = []
    shown = {obj.event for obj in [*frame.objects, *frame.ignored_objects]}
    for event in spec.events:
        if event.occurs and event.type not in shown:
            reasons.append(
                f"missing_objects: event {event.type} occurs but none of its objects is seen, "
                "expected at least one in view"
            )
    asked = sum(group.count for group in spec.actors)
    if asked > 0 and not frame.objects:
        reasons.append(
            f"missing_objects: {asked} actors asked for, none labelled, expected at least one"
        )
    return reasons


def labels_against_mask(
    frame: Frame, spec: SceneSpec | None, settings: QualitySettings
) -> list[str]:
    """Each labelled box against the instance mask: IoU of the box and the mask's tight box
    at least ``min_box_mask_iou``; mask pixels at least the scenario's visible-pixel floor."""
    ids = frame.instance_ids
    if ids is None or not frame.objects:
        return []
    floor = spec.min_visible_pixels if spec is not None else 1
    height, width = ids.shape
    mismatched, small = [], []
    for obj in frame.objects:
        # Only around the box (plus a margin) is looked at: the cost is the boxes' area,
        # not the image's. A mask beyond the margin still lowers the IoU below the bound.
        x1, y1, x2, y2 = (float(v) for v in obj.box_2d)
        left, top = max(0, int(x1) - _MARGIN_PX), max(0, int(y1) - _MARGIN_PX)
        right = min(width, int(np.ceil(x2)) + _MARGIN_PX)
        bottom = min(height, int(np.ceil(y2)) + _MARGIN_PX)
        mine = ids[top:bottom, left:right] == obj.instance_id
        rows, cols = np.flatnonzero(mine.any(1)), np.flatnonzero(mine.any(0))
        if not len(rows):
            mismatched.append((obj.instance_id, 0.0))
            continue
        mask_box = np.array(
            [left + cols[0], top + rows[0], left + cols[-1] + 1, top + rows[-1] + 1], np.float64
        )
        iou = _iou(np.array([x1, y1, x2, y2]), mask_box)
        if iou < settings.min_box_mask_iou:
            mismatched.append((obj.instance_id, iou))
        pixels = int(np.count_nonzero(mine))
        if pixels < floor:
            small.append((obj.instance_id, pixels))
    reasons = []
    if mismatched:
        listed = ", ".join(f"{i} (IoU {iou:.2f})" for i, iou in mismatched[:5])
        reasons.append(
            f"box_mask_mismatch: boxes of objects {listed} disagree with their masks, "
            f"expected IoU >= {settings.min_box_mask_iou:g}"
        )
    if small:
        listed = ", ".join(f"{i} ({n} px)" for i, n in small[:5])
        reasons.append(
            f"below_visible_floor: objects {listed} are labelled, expected at least "
            f"{floor} visible pixels"
        )
    return reasons


def lidar_against_camera(frame: Frame, settings: QualitySettings) -> list[str]:
    """Surface returns projected into the image against the depth there (median relative
    error at most ``max_depth_lidar_error``), and LiDAR points on every labelled object
    nearer than ``lidar_check_range_m`` and at most ``max_lidar_occlusion`` hidden."""
    points = frame.points
    if points is None:
        return []
    reasons = []
    # Every 8th point is plenty for a median (over 10,000 points in a sweep of 100,000).
    xyz = points.xyz[::8]
    if points.kind is not None:
        xyz = xyz[points.kind[::8] == HARD_RETURN]
    if frame.depth_m is not None and len(xyz):
        cam = transform_points(frame.calibration.T_cam_from_lidar, xyz, np.float32)
        in_front = cam[:, 2] > 0.5
        cam = cam[in_front]
        k = frame.calibration.intrinsics
        u = np.floor(k.fx * cam[:, 0] / cam[:, 2] + k.cx).astype(np.int64)
        v = np.floor(k.fy * cam[:, 1] / cam[:, 2] + k.cy).astype(np.int64)
        inside = (u >= 0) & (u < k.width) & (v >= 0) & (v < k.height)
        depth = frame.depth_m[v[inside], u[inside]]
        seen = np.isfinite(depth)
        if seen.sum() >= 50:
            error = np.abs(cam[inside][seen, 2] - depth[seen]) / depth[seen]
            median = float(np.median(error))
            if median > settings.max_depth_lidar_error:
                reasons.append(
                    f"depth_lidar_mismatch: LiDAR ranges differ from the depth map by "
                    f"{median:.0%} (median), expected at most {settings.max_depth_lidar_error:.0%}"
                )
    if points.instance_ids is not None and frame.objects:
        # Weather echoes carry instance id 0, so every count is of surface returns.
        biggest = max(o.instance_id for o in frame.objects)
        counts = np.bincount(points.instance_ids.clip(0), minlength=biggest + 1)
        bare = [
            (obj.instance_id, int(counts[obj.instance_id]))
            for obj in frame.objects
            if obj.distance_m < settings.lidar_check_range_m
            and obj.occlusion <= settings.max_lidar_occlusion
            and counts[obj.instance_id] < settings.min_lidar_points
        ]
        if bare:
            listed = ", ".join(f"{i} ({n})" for i, n in bare[:5])
            reasons.append(
                f"few_lidar_points: objects {listed} nearer than "
                f"{settings.lidar_check_range_m:g} m have too few LiDAR points, expected at "
                f"least {settings.min_lidar_points}"
            )
    return reasons


_MARGIN_PX = 8


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
