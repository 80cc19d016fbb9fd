"""KITTI object-detection layout: encoding a Frame into files and reading frames back.

Folder ``training/`` holds, per frame ``NNNNNN``:

* ``image_2/NNNNNN.png`` RGB; ``label_2/NNNNNN.txt`` 15 fields per object (16 with a
  detection score); ``calib/NNNNNN.txt`` P0-P3, R0_rect, Tr_velo_to_cam, Tr_imu_to_velo;
* optional ``velodyne/NNNNNN.bin`` float32 ``x, y, z, reflectance`` (lidar frame) and
  ``labels/NNNNNN.label`` (SemanticKITTI: uint32, low 16 bits class, high 16 bits instance);
* optional ``depth/NNNNNN.png`` uint16 depth in metres * 256, 0 = no depth (as KITTI depth
  completion) and ``instance/NNNNNN.png`` uint16 instance ids;
* ``label_scenegen/NNNNNN.json``: what KITTI's text format cannot hold (the scenegen class
  of each label line, since "Misc" covers both animal and debris; occlusion share, distance,
  event tag, difficulty, instance id; ``T_cam_from_world``; frame metadata). Real KITTI
  folders have none, and readers work without it.

Calibration. Written files use ``P2 = K [I | 0]`` (the Frame's camera), ``R0_rect = I``
and ``Tr_velo_to_cam = T_cam_from_lidar[:3, :4]``. ``P0``, ``P1`` and ``P3`` are copies of
``P2``: scenegen renders a single camera, and KITTI tools expect the four keys.

Reading real KITTI, ``P2 = K [I | t']`` with ``t' = K t`` (camera 2 sits ``t`` from the
rectified camera 0) and ``R0_rect`` is not the identity. :class:`Calibration` knows one
camera frame, so the reader places it at camera 2: ``T_cam_from_lidar = [I | t] R0_rect
Tr_velo_to_cam`` and every 3D box is moved by ``t`` (a pure translation, so ``h, w, l,
rotation_y`` and ``alpha`` are unchanged). Projecting with ``Calibration`` then gives
exactly KITTI's ``P2 R0_rect Tr_velo_to_cam``; ``meta["kitti_cam2_offset_m"]`` keeps
``t`` for converting boxes back to KITTI's camera-0 coordinates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from scenegen.frame import (
    KITTI_TYPE,
    Box3D,
    Calibration,
    CameraIntrinsics,
    Frame,
    ObjectLabel,
    transform_points,
)
from scenegen.io.errors import DatasetReadError, DatasetWriteError
from scenegen.io.jsonable import to_jsonable
from scenegen.io.png import encode_png, read_image
from scenegen.labels.objects import kitti_difficulty

# KITTI type -> scenegen class when no label_scenegen sidecar says better. "Misc" is read as
# debris (the more common of the two classes written as Misc).
KITTI_TYPE_TO_CLASS: Mapping[str, str] = MappingProxyType(
    {
        "Car": "car",
        "Van": "van",
        "Truck": "truck",
        "Tram": "bus",
        "Pedestrian": "pedestrian",
        "Person_sitting": "pedestrian",
        "Cyclist": "cyclist",
        "Misc": "debris",
    }
)
DONT_CARE = "DontCare"

# KITTI's camera is 1.65 m above the road; real frames get a level camera at that height
# as their T_cam_from_world (KITTI itself records no ego pose in the object benchmark).
KITTI_CAMERA_HEIGHT_M = 1.65

# Depth PNGs store metres * 256 in uint16, so the deepest storable depth is 65535 / 256 m.
DEPTH_PNG_SCALE = 256.0

SIDECAR_FORMAT_VERSION = 1


_CALIB_KEYS_WRITTEN = ("P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo")
# Older KITTI-derived sets spell two keys differently.
_CALIB_ALIASES = MappingProxyType({"R_rect": "R0_rect", "Tr_velo_cam": "Tr_velo_to_cam"})
_CALIB_SIZES = MappingProxyType({"R0_rect": 9})

# The level camera's axes (x right, y down, z forward) in world axes (x fwd, y left, z up).
_R_CAM_FROM_WORLD_LEVEL = np.array(
    [[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]], dtype=np.float64
)


# --------------------------------------------------------------------------- writing


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


def _calib_values(matrix: np.ndarray) -> str:
    return " ".join(f"{v:.12e}" for v in np.asarray(matrix, dtype=np.float64).reshape(-1))


def calib_text(calibration: Calibration) -> str:
    """The ``calib`` file for a Frame's calibration (see the module docstring)."""
    p2 = calibration.P2
    T_cam_from_lidar = np.asarray(calibration.T_cam_from_lidar, dtype=np.float64)
    matrices = {
        "P0": p2,
        "P1": p2,
        "P2": p2,
        "P3": p2,
        "R0_rect": np.eye(3),
        "Tr_velo_to_cam": T_cam_from_lidar[:3, :4],
        "Tr_imu_to_velo": np.eye(4)[:3, :4],
    }
    return "".join(f"{key}: {_calib_values(matrices[key])}\n" for key in _CALIB_KEYS_WRITTEN)


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
    depth = np.asarray(depth_m, dtype=np.float64)
    if depth.ndim != 2:
        raise DatasetWriteError(f"depth_m must be (H, W), got shape {depth.shape}")
    valid = np.isfinite(depth) & (depth > 0)
    scaled = np.where(valid, np.rint(depth * DEPTH_PNG_SCALE), 0.0)
    # A tiny positive depth must not round to 0, which means "no depth".
    scaled = np.where(valid, np.clip(scaled, 1.0, 65535.0), 0.0)
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


def encode_velodyne(points_lidar: np.ndarray) -> bytes:
    """float32 little-endian ``x, y, z, reflectance`` records, 16 bytes per point."""
    points = np.asarray(points_lidar)
    if points.ndim != 2 or points.shape[1] != 4:
        raise DatasetWriteError(f"points_lidar must be (N, 4), got shape {points.shape}")
    return np.ascontiguousarray(points, dtype="<f4").tobytes()


def encode_point_labels(
    class_ids: np.ndarray | None, instance_ids: np.ndarray | None, num_points: int
) -> bytes:
    """SemanticKITTI ``.label`` bytes: uint32 per point, ``class | instance << 16``."""
    packed = np.zeros(num_points, dtype="<u4")
    for name, ids, shift in (("class", class_ids, 0), ("instance", instance_ids, 16)):
        if ids is None:
            continue
        values = np.asarray(ids).reshape(-1)
        if values.shape[0] != num_points:
            raise DatasetWriteError(
                f"point {name} ids: {values.shape[0]} labels for {num_points} points"
            )
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise DatasetWriteError(f"point {name} ids must be in 0..65535")
        packed |= values.astype("<u4") << np.uint32(shift)
    return packed.tobytes()


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
        f"calib/{stem}.txt": calib_text(frame.calibration).encode("ascii"),
    }
    if frame.depth_m is not None:
        files[f"depth/{stem}.png"] = encode_depth_png(frame.depth_m)
    if frame.instance_ids is not None:
        files[f"instance/{stem}.png"] = encode_instance_png(frame.instance_ids)
    if frame.points_lidar is not None:
        files[f"velodyne/{stem}.bin"] = encode_velodyne(frame.points_lidar)
        if frame.point_class_ids is not None or frame.point_instance_ids is not None:
            files[f"labels/{stem}.label"] = encode_point_labels(
                frame.point_class_ids, frame.point_instance_ids, len(frame.points_lidar)
            )
    sidecar = json.dumps(
        sidecar_record(frame), sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False
    )
    files[f"label_scenegen/{stem}.json"] = (sidecar + "\n").encode("utf-8")
    return files


# --------------------------------------------------------------------------- reading


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


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise DatasetReadError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise DatasetReadError(path, f"not an ASCII text file (byte {exc.start})") from None
    except OSError as exc:
        raise DatasetReadError(path, f"cannot read: {exc.strerror or exc}") from exc


def _parse_floats(path: Path, where: str, tokens: list[str]) -> list[float]:
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise DatasetReadError(path, f"{where}: {bad!r} is not a number") from None
    if not all(math.isfinite(v) for v in values):
        raise DatasetReadError(path, f"{where}: non-finite number")
    return values


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_label_file(path: Path) -> list[KittiLabelLine]:
    """Parse a ``label_2`` file; every line must have 15 fields (16 with a score)."""
    lines: list[KittiLabelLine] = []
    for number, raw in enumerate(_read_text(path).splitlines(), start=1):
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
        v = _parse_floats(path, where, tokens[1:])
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


def parse_calib_file(path: Path) -> dict[str, np.ndarray]:
    """Parse a KITTI ``calib`` file into ``{key: float64 array}``.

    P*, Tr_* become 3x4; R0_rect becomes 3x3. Requires ``P2``, ``R0_rect`` and
    ``Tr_velo_to_cam``.
    """
    matrices: dict[str, np.ndarray] = {}
    for number, raw in enumerate(_read_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        key, sep, rest = raw.partition(":")
        if not sep:
            raise DatasetReadError(path, f"line {number}: expected 'KEY: numbers', got {raw!r}")
        key = _CALIB_ALIASES.get(key.strip(), key.strip())
        values = _parse_floats(path, f"line {number} ({key})", rest.split())
        expected = _CALIB_SIZES.get(key, 12)
        if key.startswith(("P", "R0", "Tr")):
            if len(values) != expected:
                raise DatasetReadError(
                    path, f"line {number}: {key} needs {expected} numbers, got {len(values)}"
                )
            matrices[key] = np.array(values, dtype=np.float64).reshape(3, expected // 3)
    for key in ("P2", "R0_rect", "Tr_velo_to_cam"):
        if key not in matrices:
            raise DatasetReadError(path, f"missing calibration key {key!r}")
    return matrices


def calibration_from_kitti(
    matrices: dict[str, np.ndarray], width: int, height: int, path: Path
) -> tuple[Calibration, np.ndarray]:
    """Fold KITTI's P2, R0_rect and Tr_velo_to_cam into a :class:`Calibration`.

    Returns the calibration and ``t`` (float64 (3,), metres), camera 2's position in KITTI's
    rectified camera-0 frame; see the module docstring.
    """
    P2 = matrices["P2"]
    K = P2[:, :3]
    fx, skew, cx = K[0]
    _, fy, cy = K[1]
    structure_ok = (
        abs(skew) < 1e-9
        and abs(K[1, 0]) < 1e-9
        and np.allclose(K[2], (0.0, 0.0, 1.0), atol=1e-9)
        and fx > 0
        and fy > 0
    )
    if not structure_ok:
        raise DatasetReadError(
            path, f"P2 must be K [I | t] with K = [[fx,0,cx],[0,fy,cy],[0,0,1]], got {P2.tolist()}"
        )
    offset_m = np.linalg.solve(K, P2[:, 3])
    T_cam_from_rect = np.eye(4)
    T_cam_from_rect[:3, 3] = offset_m
    R0 = np.eye(4)
    R0[:3, :3] = matrices["R0_rect"]
    Tr = np.eye(4)
    Tr[:3, :4] = matrices["Tr_velo_to_cam"]
    T_cam_from_lidar = T_cam_from_rect @ R0 @ Tr
    intrinsics = CameraIntrinsics(
        int(width), int(height), float(fx), float(fy), float(cx), float(cy)
    )
    return Calibration(intrinsics, nominal_T_cam_from_world(), T_cam_from_lidar), offset_m


def nominal_T_cam_from_world(camera_height_m: float = KITTI_CAMERA_HEIGHT_M) -> np.ndarray:
    """4x4 float64: a level camera ``camera_height_m`` above the world origin."""
    T = np.eye(4)
    T[:3, :3] = _R_CAM_FROM_WORLD_LEVEL
    T[:3, 3] = -_R_CAM_FROM_WORLD_LEVEL @ np.array([0.0, 0.0, camera_height_m])
    return T


def read_velodyne(path: Path) -> np.ndarray:
    """float32 ``(N, 4)`` x, y, z (metres, lidar frame), reflectance from a ``.bin`` file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetReadError(path, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) % 16:
        raise DatasetReadError(
            path,
            f"size {len(data)} bytes is not a multiple of 16 (4 float32 per point): "
            "truncated file?",
        )
    points = np.frombuffer(data, dtype="<f4").reshape(-1, 4).astype(np.float32)
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points).all(axis=1)).sum())
        raise DatasetReadError(path, f"{bad} points have NaN or infinite values")
    return points


def read_point_labels(path: Path, num_points: int) -> tuple[np.ndarray, np.ndarray]:
    """int32 ``(N,)`` class ids and instance ids from a SemanticKITTI ``.label`` file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetReadError(path, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) != 4 * num_points:
        raise DatasetReadError(
            path,
            f"expected {4 * num_points} bytes (uint32 per point, {num_points} points), "
            f"got {len(data)}",
        )
    packed = np.frombuffer(data, dtype="<u4")
    return (packed & 0xFFFF).astype(np.int32), (packed >> 16).astype(np.int32)


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        record = json.loads(_read_text(path))
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


def _ignored_from_sidecar(
    dont_care: list[tuple[float, float, float, float]],
    sidecar: dict[str, Any] | None,
    sidecar_path: Path,
) -> list[ObjectLabel]:
    """The ignored objects a scenegen sidecar names for the first DontCare boxes."""
    entries = (sidecar or {}).get("ignored_objects") or []
    if len(entries) > len(dont_care):
        raise DatasetReadError(
            sidecar_path, f"{len(entries)} ignored objects but only {len(dont_care)} DontCare lines"
        )
    ignored = []
    for index, (entry, box) in enumerate(zip(entries, dont_care, strict=False)):
        try:
            class_name = str(entry["class_name"])
            if class_name not in KITTI_TYPE:
                raise ValueError(f"unknown class {class_name!r}")
            ignored.append(
                ObjectLabel(
                    class_name=class_name,
                    instance_id=int(entry["instance_id"]),
                    box_2d=np.array(box, dtype=np.float32),
                    occlusion=_nan_to_float(entry["occlusion"]),
                    visible_pixels=int(entry["visible_pixels"]),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetReadError(sidecar_path, f"ignored object {index}: {exc}") from None
    return ignored


def read_kitti_frame(root: Path, frame_id: str) -> Frame:
    """Read frame ``frame_id`` of a KITTI ``training``-style folder ``root``.

    Needs ``image_2`` and ``calib``; reads ``label_2`` (missing = no labels, as in KITTI's
    testing split), ``velodyne`` + ``labels``, ``depth``, ``instance`` and
    ``label_scenegen`` when present. DontCare regions that the sidecar names as ignored
    objects become ``ignored_objects``; the others go to ``meta["kitti_dont_care_boxes"]``
    (float32 ``(M, 4)`` pixels). Without a sidecar,
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
    ignored_objects = _ignored_from_sidecar(dont_care, sidecar, sidecar_path)
    dont_care = dont_care[len(ignored_objects) :]
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
        ignored_objects=ignored_objects,
        meta=meta,
    )


def list_kitti_frames(root: Path) -> list[str]:
    """Sorted frame ids (file stems) of ``root/image_2/*.png``."""
    image_dir = Path(root) / "image_2"
    if not image_dir.is_dir():
        raise DatasetReadError(image_dir, "not a folder: expected a KITTI image_2 folder")
    return sorted(p.stem for p in image_dir.glob("*.png") if not p.name.startswith("."))
