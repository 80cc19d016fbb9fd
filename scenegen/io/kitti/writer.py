"""Encoding a Frame into the files of one KITTI frame (see :mod:`scenegen.io.kitti`)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from scenegen.frame import KITTI_TYPE, Frame, ObjectLabel
from scenegen.io.errors import DatasetWriteError
from scenegen.io.jsonable import to_jsonable
from scenegen.io.kitti.calib import calib_text
from scenegen.io.kitti.common import DEPTH_PNG_SCALE, DONT_CARE, SIDECAR_FORMAT_VERSION
from scenegen.io.kitti.velodyne import encode_point_labels, encode_velodyne, has_point_labels
from scenegen.io.png import encode_png


def _fmt2(value: float) -> str:
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _check_finite(frame: Frame, obj: ObjectLabel, name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise DatasetWriteError(
            f"frame {frame.frame_id!r}: object {obj.instance_id} ({obj.class_name}) has "
            f"non-finite {name}={value!r}; KITTI labels need finite numbers"
        )
    return number


def label_line(frame: Frame, obj: ObjectLabel) -> str:
    """One KITTI ``label_2`` line (15 fields, 16 with a score), 2-decimal numbers."""
    if obj.class_name not in KITTI_TYPE:
        raise DatasetWriteError(f"frame {frame.frame_id!r}: unknown class {obj.class_name!r}")
    box = np.asarray(obj.box_2d, dtype=np.float64).reshape(-1)
    if box.shape != (4,):
        raise DatasetWriteError(
            f"frame {frame.frame_id!r}: box_2d must be [x1, y1, x2, y2], got shape {box.shape}"
        )
    if not 0 <= int(obj.occlusion_level) <= 3:
        raise DatasetWriteError(
            f"frame {frame.frame_id!r}: occlusion_level must be 0..3, got {obj.occlusion_level}"
        )
    numbers = [_check_finite(frame, obj, "truncation", obj.truncation)]
    fields = [KITTI_TYPE[obj.class_name], _fmt2(numbers[0]), str(int(obj.occlusion_level))]
    fields.append(_fmt2(_check_finite(frame, obj, "alpha", obj.alpha)))
    fields += [_fmt2(_check_finite(frame, obj, "box_2d", v)) for v in box]
    if obj.box_3d is None:
        # KITTI's own marker for "no 3D box" (as on DontCare lines).
        fields += ["-1.00", "-1.00", "-1.00", "-1000.00", "-1000.00", "-1000.00", "-10.00"]
    else:
        b = obj.box_3d
        fields += [
            _fmt2(_check_finite(frame, obj, "box_3d", v))
            for v in (b.h, b.w, b.l, b.x, b.y, b.z, b.rotation_y)
        ]
    if obj.score is not None:
        fields.append(f"{_check_finite(frame, obj, 'score', obj.score):.4f}")
    return " ".join(fields)


def label_text(frame: Frame) -> str:
    """The whole ``label_2`` file: objects in order, then a DontCare region for each ignored
    object (too small or too hidden to label), then those of ``meta["kitti_dont_care_boxes"]``
    (as read from real KITTI)."""
    lines = [label_line(frame, obj) for obj in frame.objects]
    ignored = [np.asarray(obj.box_2d, np.float64).reshape(4) for obj in frame.ignored_objects]
    dont_care = np.asarray(frame.meta.get("kitti_dont_care_boxes", []), dtype=np.float64)
    for x1, y1, x2, y2 in [*ignored, *dont_care.reshape(-1, 4)]:
        coords = " ".join(_fmt2(v) for v in (x1, y1, x2, y2))
        lines.append(f"{DONT_CARE} -1 -1 -10 {coords} -1 -1 -1 -1000 -1000 -1000 -10")
    return "".join(line + "\n" for line in lines)


def image_sets(splits: Mapping[str, list[str]]) -> dict[str, str]:
    """KITTI ``ImageSets`` files (name -> text, one frame id per line) for a split, as
    mmdetection3d's and OpenPCDet's converters read them: each split, and ``trainval``."""
    files = {
        f"{name}.txt": "".join(f"{stem}\n" for stem in stems) for name, stems in splits.items()
    }
    trainval = sorted([*splits.get("train", []), *splits.get("val", [])])
    files["trainval.txt"] = "".join(f"{stem}\n" for stem in trainval)
    return files


def encode_depth_png(depth_m: np.ndarray) -> bytes:
    """uint16 PNG of depth * 256; sky, unknown and non-positive depths become 0, depths past
    65535/256 m (about 256 m) saturate at 65535."""
    depth = np.asarray(depth_m)
    # float32 depth (the renderer's) stays float32: times 256 is exact in it, so the codes
    # are those of the float64 formula at half the memory traffic.
    depth = depth if depth.dtype == np.float32 else depth.astype(np.float64)
    if depth.ndim != 2:
        raise DatasetWriteError(f"depth_m must be (H, W), got shape {depth.shape}")
    valid = np.isfinite(depth) & (depth > 0)
    with np.errstate(over="ignore"):  # past float32's range: inf, saturated below
        scaled = depth * depth.dtype.type(DEPTH_PNG_SCALE)
    np.rint(scaled, out=scaled)
    # A tiny positive depth must not round to 0, which means "no depth".
    np.clip(scaled, 1.0, 65535.0, out=scaled)
    scaled[~valid] = 0.0
    return encode_png(scaled.astype(np.uint16))


def encode_instance_png(instance_ids: np.ndarray) -> bytes:
    """uint16 PNG of the instance id image (ids must fit 0..65535)."""
    ids = np.asarray(instance_ids)
    if ids.ndim != 2:
        raise DatasetWriteError(f"instance_ids must be (H, W), got shape {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() > 65535):
        raise DatasetWriteError(
            f"instance ids must be in 0..65535 for a uint16 PNG, got {ids.min()}..{ids.max()}"
        )
    return encode_png(ids.astype(np.uint16))


def sidecar_record(frame: Frame) -> dict[str, Any]:
    """What ``label_scenegen/NNNNNN.json`` holds for a frame (plain JSON data)."""
    depth = frame.depth_m
    depth_zero = "unknown"
    if depth is not None and not np.isnan(np.asarray(depth, dtype=np.float32)).any():
        depth_zero = "sky"  # zeros in the PNG were inf (nothing hit), not missing data
    objects = [
        {
            "class_name": obj.class_name,
            "difficulty": obj.difficulty,
            "distance_m": obj.distance_m,
            "event": obj.event,
            "instance_id": int(obj.instance_id),
            "lidar_points": int(obj.lidar_points),
            "occlusion": obj.occlusion,
            "visible_pixels": int(obj.visible_pixels),
            **(
                {}
                if obj.velocity_cam_m_s is None
                else {"velocity_cam_m_s": [float(v) for v in obj.velocity_cam_m_s]}
            ),
        }
        for obj in frame.objects
    ]
    # The classes of the first DontCare lines (KITTI's DontCare has none).
    ignored = [
        {
            "class_name": obj.class_name,
            "instance_id": int(obj.instance_id),
            "occlusion": obj.occlusion,
            "visible_pixels": int(obj.visible_pixels),
        }
        for obj in frame.ignored_objects
    ]
    try:
        meta = to_jsonable(frame.meta)
    except TypeError as exc:
        raise DatasetWriteError(f"frame {frame.frame_id!r}: meta: {exc}") from exc
    return to_jsonable(
        {
            "format_version": SIDECAR_FORMAT_VERSION,
            "frame_id": frame.frame_id,
            "objects": objects,
            "ignored_objects": ignored,
            "T_cam_from_world": np.asarray(frame.calibration.T_cam_from_world, np.float64),
            "depth_zero_means": depth_zero,
            "dropped_objects": int(frame.dropped_objects),
            "meta": meta,
        }
    )


def check_frame(frame: Frame) -> None:
    """Raise :class:`DatasetWriteError` unless the frame's image fits its intrinsics and its
    objects have known classes (checked before any file of the frame is written)."""
    k = frame.calibration.intrinsics
    if frame.rgb.shape != (k.height, k.width, 3) or frame.rgb.dtype != np.uint8:
        raise DatasetWriteError(
            f"frame {frame.frame_id!r}: rgb must be uint8 ({k.height}, {k.width}, 3) as its "
            f"intrinsics say, got {frame.rgb.dtype} {frame.rgb.shape}"
        )
    if frame.rgb_right is not None and (
        frame.rgb_right.shape != frame.rgb.shape or frame.stereo_baseline_m <= 0
    ):
        raise DatasetWriteError(
            f"frame {frame.frame_id!r}: rgb_right must match rgb's shape {frame.rgb.shape} "
            f"and come with stereo_baseline_m > 0, got {frame.rgb_right.shape} and "
            f"{frame.stereo_baseline_m}"
        )
    for obj in frame.objects:
        if obj.class_name not in KITTI_TYPE:
            raise DatasetWriteError(
                f"frame {frame.frame_id!r}: object {obj.instance_id} has unknown class "
                f"{obj.class_name!r}; expected one of {list(KITTI_TYPE)}"
            )


def kitti_frame_files(frame: Frame, stem: str) -> dict[str, bytes]:
    """Every KITTI file of one frame: path relative to ``training/`` -> bytes.

    The image comes first so that callers can link other formats to it.
    """
    check_frame(frame)
    files = {
        f"image_2/{stem}.png": encode_png(frame.rgb, rgb=True),
        f"label_2/{stem}.txt": label_text(frame).encode("ascii"),
        f"calib/{stem}.txt": calib_text(frame.calibration, frame.stereo_baseline_m).encode("ascii"),
    }
    if frame.rgb_right is not None:
        files[f"image_3/{stem}.png"] = encode_png(frame.rgb_right, rgb=True)
    if frame.depth_m is not None:
        files[f"depth/{stem}.png"] = encode_depth_png(frame.depth_m)
    if frame.instance_ids is not None:
        files[f"instance/{stem}.png"] = encode_instance_png(frame.instance_ids)
    if frame.points is not None:
        files[f"velodyne/{stem}.bin"] = encode_velodyne(frame.points)
        if has_point_labels(frame.points):
            files[f"labels/{stem}.label"] = encode_point_labels(frame.points)
        if frame.points.time_s is not None:  # rolling shutter: float32 seconds per point
            files[f"velodyne_time/{stem}.bin"] = frame.points.time_s.astype("<f4").tobytes()
    sidecar = json.dumps(
        sidecar_record(frame), sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False
    )
    files[f"label_scenegen/{stem}.json"] = (sidecar + "\n").encode("utf-8")
    return files
