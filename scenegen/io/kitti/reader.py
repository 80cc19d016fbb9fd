"""Reading one frame of a KITTI ``training``-style folder (see :mod:`scenegen.io.kitti`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.frame import KITTI_TYPE, Box3D, Calibration, Frame, ObjectLabel, transform_points
from scenegen.io.errors import DatasetReadError
from scenegen.io.kitti.calib import calibration_from_kitti, parse_calib_file
from scenegen.io.kitti.common import (
    DEPTH_PNG_SCALE,
    DONT_CARE,
    KITTI_TYPE_TO_CLASS,
    parse_floats,
    read_text,
)
from scenegen.io.kitti.velodyne import read_point_labels, read_velodyne
from scenegen.io.png import read_image
from scenegen.labels.objects import kitti_difficulty


@dataclass(frozen=True)
class KittiLabelLine:
    """One parsed ``label_2`` line, numbers as written (camera-0 rectified frame)."""

    type: str
    truncation: float
    occlusion_level: int
    alpha: float
    box_2d: tuple[float, float, float, float]
    dimensions_hwl: tuple[float, float, float]
    location_xyz: tuple[float, float, float]
    rotation_y: float
    score: float | None


def parse_label_file(path: Path) -> list[KittiLabelLine]:
    """Parse a ``label_2`` file; every line must have 15 fields (16 with a score)."""
    lines: list[KittiLabelLine] = []
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        tokens = raw.split()
        if not tokens:
            continue
        where = f"line {number}"
        if len(tokens) not in (15, 16):
            raise DatasetReadError(
                path, f"{where}: expected 15 fields (16 with a score), got {len(tokens)}"
            )
        kitti_type = tokens[0]
        if kitti_type != DONT_CARE and kitti_type not in KITTI_TYPE_TO_CLASS:
            raise DatasetReadError(
                path,
                f"{where}: unknown object type {kitti_type!r}; expected one of "
                f"{sorted([*KITTI_TYPE_TO_CLASS, DONT_CARE])}",
            )
        v = parse_floats(path, where, tokens[1:])
        occluded = int(v[1])
        if v[1] != occluded or (kitti_type != DONT_CARE and not 0 <= occluded <= 3):
            raise DatasetReadError(path, f"{where}: occluded must be an integer 0..3, got {v[1]}")
        x1, y1, x2, y2 = v[3:7]
        if x2 < x1 or y2 < y1:
            raise DatasetReadError(path, f"{where}: 2D box has x2 < x1 or y2 < y1: {v[3:7]}")
        lines.append(
            KittiLabelLine(
                type=kitti_type,
                truncation=v[0],
                occlusion_level=occluded,
                alpha=v[2],
                box_2d=(x1, y1, x2, y2),
                dimensions_hwl=(v[7], v[8], v[9]),
                location_xyz=(v[10], v[11], v[12]),
                rotation_y=v[13],
                score=v[14] if len(v) == 15 else None,
            )
        )
    return lines


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        record = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DatasetReadError(path, f"invalid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(record, dict) or not isinstance(record.get("objects"), list):
        raise DatasetReadError(path, "expected an object with an 'objects' list")
    return record


def _read_uint16_png(path: Path, shape: tuple[int, int]) -> np.ndarray:
    image = read_image(path, color=False)
    if image.dtype != np.uint16:
        raise DatasetReadError(path, f"expected a 16-bit PNG, got {image.dtype}")
    if image.shape != shape:
        raise DatasetReadError(path, f"size {image.shape} differs from the image's {shape}")
    return image


def _nan_to_float(value: Any, default: float = float("nan")) -> float:
    return default if value is None else float(value)


def _objects_from_lines(
    label_path: Path,
    lines: list[KittiLabelLine],
    offset_m: np.ndarray,
    sidecar: dict[str, Any] | None,
    sidecar_path: Path,
    points_cam: np.ndarray | None,
) -> list[ObjectLabel]:
    extras = sidecar["objects"] if sidecar is not None else None
    if extras is not None and len(extras) != len(lines):
        raise DatasetReadError(
            sidecar_path, f"{len(extras)} objects but {label_path.name} has {len(lines)} labels"
        )
    objects = []
    for index, line in enumerate(lines):
        box_3d = None
        if min(line.dimensions_hwl) > 0:  # KITTI writes -1 -1 -1 for "no 3D box"
            x, y, z = np.asarray(line.location_xyz) + offset_m
            h, w, l = line.dimensions_hwl
            box_3d = Box3D(h, w, l, float(x), float(y), float(z), line.rotation_y)
        box_height_px = line.box_2d[3] - line.box_2d[1]
        obj = ObjectLabel(
            class_name=KITTI_TYPE_TO_CLASS[line.type],
            instance_id=index + 1,
            box_2d=np.array(line.box_2d, dtype=np.float32),
            box_3d=box_3d,
            alpha=line.alpha,
            truncation=line.truncation,
            occlusion=float("nan"),  # KITTI records only the 0-3 level
            occlusion_level=line.occlusion_level,
            difficulty=kitti_difficulty(box_height_px, line.occlusion_level, line.truncation),
            score=line.score,
        )
        if box_3d is not None:
            centre = np.array([box_3d.x, box_3d.y - box_3d.h / 2, box_3d.z])
            obj.distance_m = float(np.linalg.norm(centre))
            if points_cam is not None:
                obj.lidar_points = int(box_3d.contains_cam(points_cam).sum())
        if extras is not None:
            extra = extras[index]
            try:
                obj.class_name = str(extra["class_name"])
                if KITTI_TYPE.get(obj.class_name) != line.type:
                    raise ValueError(f"class {obj.class_name!r} is not written as {line.type!r}")
                obj.instance_id = int(extra["instance_id"])
                obj.occlusion = _nan_to_float(extra["occlusion"])
                obj.distance_m = _nan_to_float(extra["distance_m"])
                obj.difficulty = str(extra["difficulty"])
                obj.event = extra["event"]
                obj.visible_pixels = int(extra["visible_pixels"])
                obj.lidar_points = int(extra["lidar_points"])
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetReadError(sidecar_path, f"object {index}: {exc}") from None
        objects.append(obj)
    return objects


def read_kitti_frame(root: Path, frame_id: str) -> Frame:
    """Read frame ``frame_id`` of a KITTI ``training``-style folder ``root``.

    Needs ``image_2`` and ``calib``; reads ``label_2`` (missing = no labels, as in KITTI's
    testing split), ``velodyne`` + ``labels``, ``depth``, ``instance`` and
    ``label_scenegen`` when present. DontCare regions go to
    ``meta["kitti_dont_care_boxes"]`` (float32 ``(M, 4)`` pixels). Without a sidecar,
    objects get instance ids 1..n in file order, ``occlusion = nan`` (unknown share),
    difficulty by KITTI's rules, ``distance_m`` to the 3D box centre and ``lidar_points``
    counted inside the 3D box. Depth 0 reads as ``inf`` (sky) when the sidecar says the
    writer had no unknown depths, else ``nan``. Any problem raises
    :class:`DatasetReadError` naming the file.
    """
    root = Path(root)
    image_path = root / "image_2" / f"{frame_id}.png"
    rgb = read_image(image_path, color=True)
    height, width = rgb.shape[:2]
    calib_path = root / "calib" / f"{frame_id}.txt"
    if not calib_path.exists():
        raise DatasetReadError(calib_path, "missing calibration file for this frame")
    calibration, offset_m = calibration_from_kitti(
        parse_calib_file(calib_path), width, height, calib_path
    )
    sidecar_path = root / "label_scenegen" / f"{frame_id}.json"
    sidecar = _read_sidecar(sidecar_path)
    if sidecar is not None and "T_cam_from_world" in sidecar:
        try:
            T_cam_from_world = np.array(sidecar["T_cam_from_world"], dtype=np.float64)
            if T_cam_from_world.shape != (4, 4):
                raise ValueError(f"shape {T_cam_from_world.shape}")
        except (TypeError, ValueError) as exc:
            raise DatasetReadError(sidecar_path, f"T_cam_from_world must be 4x4: {exc}") from None
        calibration = Calibration(
            calibration.intrinsics, T_cam_from_world, calibration.T_cam_from_lidar
        )

    points = point_class_ids = point_instance_ids = None
    points_cam = None
    velodyne_path = root / "velodyne" / f"{frame_id}.bin"
    if velodyne_path.exists():
        points = read_velodyne(velodyne_path)
        T = calibration.T_cam_from_lidar
        points_cam = transform_points(T, points)
        point_labels_path = root / "labels" / f"{frame_id}.label"
        if point_labels_path.exists():
            point_class_ids, point_instance_ids = read_point_labels(point_labels_path, len(points))

    label_path = root / "label_2" / f"{frame_id}.txt"
    lines = parse_label_file(label_path) if label_path.exists() else []
    dont_care = [line.box_2d for line in lines if line.type == DONT_CARE]
    object_lines = [line for line in lines if line.type != DONT_CARE]
    objects = _objects_from_lines(
        label_path, object_lines, offset_m, sidecar, sidecar_path, points_cam
    )

    depth_m = None
    depth_path = root / "depth" / f"{frame_id}.png"
    if depth_path.exists():
        raw = _read_uint16_png(depth_path, (height, width))
        zero_value = np.inf if sidecar and sidecar.get("depth_zero_means") == "sky" else np.nan
        depth_m = np.where(raw > 0, raw / DEPTH_PNG_SCALE, zero_value).astype(np.float32)
    instance_ids = None
    instance_path = root / "instance" / f"{frame_id}.png"
    if instance_path.exists():
        instance_ids = _read_uint16_png(instance_path, (height, width)).astype(np.int32)

    meta: dict[str, Any] = dict(sidecar.get("meta") or {}) if sidecar else {"source": "kitti"}
    meta["kitti_cam2_offset_m"] = offset_m.tolist()
    meta["kitti_dont_care_boxes"] = np.array(dont_care, dtype=np.float32).reshape(-1, 4)
    return Frame(
        frame_id=frame_id,
        rgb=rgb,
        calibration=calibration,
        depth_m=depth_m,
        instance_ids=instance_ids,
        objects=objects,
        points_lidar=points,
        point_class_ids=point_class_ids,
        point_instance_ids=point_instance_ids,
        dropped_objects=int(sidecar.get("dropped_objects", 0)) if sidecar else 0,
        meta=meta,
    )


def list_kitti_frames(root: Path) -> list[str]:
    """Sorted frame ids (file stems) of ``root/image_2/*.png``."""
    image_dir = Path(root) / "image_2"
    if not image_dir.is_dir():
        raise DatasetReadError(image_dir, "not a folder: expected a KITTI image_2 folder")
    return sorted(p.stem for p in image_dir.glob("*.png") if not p.name.startswith("."))
