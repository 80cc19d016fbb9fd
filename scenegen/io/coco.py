"""COCO detection format: per-frame records, streamed assembly, RLE masks and reading.

Writing happens in two steps so that memory does not grow with the number of frames: each
frame gives a small part (``image`` + ``annotations`` without ids; the dataset writer keeps it
in the frame's manifest record) and :func:`assemble_annotations` streams all parts, in frame
order, into one
``annotations.json``, numbering annotations 1..n. Image ids are the frames' integer
indices, so shards writing disjoint frame indices merge without renumbering images.

Annotations carry scenegen's extra fields (occlusion, occlusion_level, truncation,
distance_m, event, difficulty, instance_id, alpha, box_3d, visible_pixels, lidar_points);
images carry ``frame_id`` and ``scenegen_calibration`` so that reading them back
(:class:`scenegen.io.reader.DatasetReader`) gives frames their real calibration. ``area`` is
the instance mask's pixel count when a mask exists (COCO's definition), else the box area.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np

from scenegen.frame import CLASS_NAMES, Box3D, Calibration, CameraIntrinsics, Frame, ObjectLabel
from scenegen.io.atomic import atomic_stream
from scenegen.io.errors import DatasetReadError, DatasetWriteError
from scenegen.io.jsonable import dumps_compact, to_jsonable
from scenegen.io.kitti import nominal_T_cam_from_world
from scenegen.io.png import read_image
from scenegen.labels.objects import kitti_difficulty

# Names of the original COCO categories that mean one of our classes; other categories
# must be mapped explicitly (to a class, or to None to skip them) through ``class_map``.
COCO_NAME_TO_CLASS: Mapping[str, str] = MappingProxyType(
    {
        "person": "pedestrian",
        "bicycle": "cyclist",
        "motorcycle": "cyclist",
        "dog": "animal",
        "horse": "animal",
        "sheep": "animal",
        "cow": "animal",
    }
)


def coco_categories() -> list[dict[str, Any]]:
    """COCO categories for :data:`CLASS_NAMES` (id = class index + 1)."""
    return [
        {"id": index + 1, "name": name, "supercategory": "object"}
        for index, name in enumerate(CLASS_NAMES)
    ]


# --------------------------------------------------------------------------- RLE


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """COCO uncompressed RLE of a boolean ``(H, W)`` mask.

    ``counts`` alternate background/foreground run lengths over the mask read column by
    column (Fortran order), starting with a (possibly zero) background run.
    """
    mask = np.asarray(mask, dtype=bool)
    height, width = mask.shape
    flat = mask.reshape(-1, order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    boundaries = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(boundaries).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"counts": [int(c) for c in counts], "size": [int(height), int(width)]}


def instance_rles(instance_ids: np.ndarray) -> dict[int, dict[str, Any]]:
    """:func:`rle_encode` of ``instance_ids == k`` for every id ``k > 0`` in the image, at once.

    One pass finds the runs of equal ids in column-major order; an instance's RLE is the
    gaps between its own runs and their lengths. The same counts as encoding each mask
    separately, for the cost of about one mask.
    """
    ids = np.asarray(instance_ids)
    height, width = ids.shape
    flat = ids.T.reshape(-1)  # column by column
    n = flat.size
    if n == 0:
        return {}
    starts = np.concatenate([[0], np.flatnonzero(flat[1:] != flat[:-1]) + 1])
    ends = np.append(starts[1:], n)
    values = flat[starts]
    order = np.argsort(values, kind="stable")  # each id's runs stay in image order
    values, starts, ends = values[order], starts[order], ends[order]
    first = np.flatnonzero(np.diff(values, prepend=values[0] - 1))
    out: dict[int, dict[str, Any]] = {}
    for lo, hi in zip(first, np.append(first[1:], len(values)), strict=True):
        value = int(values[lo])
        if value <= 0:
            continue
        s, e = starts[lo:hi], ends[lo:hi]
        # background before each run, then the run: [s1, e1 - s1, s2 - e1, e2 - s2, ...]
        counts = np.empty(2 * len(s) + 1, np.int64)
        counts[0:-1:2] = s - np.concatenate([[0], e[:-1]])
        counts[1::2] = e - s
        counts[-1] = n - e[-1]
        listed = counts.tolist() if counts[-1] else counts[:-1].tolist()
        out[value] = {"counts": listed, "size": [int(height), int(width)]}
    return out


def rle_decode(rle: Mapping[str, Any]) -> np.ndarray:
    """Boolean ``(H, W)`` mask from a COCO uncompressed RLE (inverse of :func:`rle_encode`)."""
    height, width = (int(v) for v in rle["size"])
    counts = np.asarray(rle["counts"], dtype=np.int64)
    if counts.sum() != height * width:
        raise ValueError(f"RLE counts sum to {counts.sum()}, expected {height * width}")
    values = np.arange(len(counts)) % 2 == 1
    flat = np.repeat(values, counts)
    return flat.reshape((height, width), order="F")


def rle_to_polygons(rle: Mapping[str, Any]) -> list[list[float]]:
    """COCO polygons ``[[x1, y1, x2, y2, ...], ...]`` (pixel coordinates, one list per
    outer boundary) of an uncompressed RLE mask.

    The boundaries are traced on the mask upsampled twice (nearest), so that their
    vertices sit a quarter pixel inside the mask's pixel edges: COCO's polygon
    rasterisation (pycocotools ``frPyObjects``) then gives back exactly the mask, holes
    excepted (a COCO polygon has none).
    """
    mask = rle_decode(rle)
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return []
    y0, x0 = int(rows.min()), int(cols.min())
    crop = mask[y0 : int(rows.max()) + 1, x0 : int(cols.max()) + 1].astype(np.uint8)
    doubled = np.kron(crop, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(doubled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        points = contour.reshape(-1, 2).astype(np.float64)
        if len(points) < 3:
            # A one-pixel-wide run: its doubled outline is a line; take its two-pixel box.
            lo, hi = points.min(axis=0), points.max(axis=0) + 1
            points = np.array([lo, (hi[0], lo[1]), hi, (lo[0], hi[1])])
        xy = (points + 0.5) / 2 + (x0, y0)
        polygons.append([round(float(v), 2) for v in xy.reshape(-1)])
    return polygons


COCO_MASK_FORMATS: tuple[str, ...] = ("rle", "polygon")

# --------------------------------------------------------------------------- writing


def _round(value: float, digits: int = 4) -> float | None:
    number = float(value)
    return round(number, digits) if math.isfinite(number) else None


def image_stem(image: Mapping[str, Any]) -> str:
    """The frame id of a COCO image: its ``frame_id`` text, else its file's stem (a video
    frame's ``frame_id`` is its number in the video)."""
    frame_id = image.get("frame_id")
    return (
        frame_id if isinstance(frame_id, str) and frame_id else Path(str(image["file_name"])).stem
    )


def image_record(frame: Frame, image_id: int, stem: str, file_name: str) -> dict[str, Any]:
    """The COCO ``images`` entry of a frame."""
    cal = frame.calibration
    k = cal.intrinsics
    record: dict[str, Any] = {
        "id": int(image_id),
        "file_name": file_name,
        "width": frame.width,
        "height": frame.height,
        "frame_id": stem,
        "scenegen_calibration": {
            "fx": k.fx,
            "fy": k.fy,
            "cx": k.cx,
            "cy": k.cy,
            "T_cam_from_world": np.asarray(cal.T_cam_from_world, np.float64).tolist(),
            "T_cam_from_lidar": np.asarray(cal.T_cam_from_lidar, np.float64).tolist(),
        },
    }
    sequence = frame.meta.get("sequence")
    if sequence is not None:  # COCO video (CocoVID): frame_id is the frame in its video
        record.update(
            video_id=int(sequence["sequence_id"]) + 1,
            frame_id=int(sequence["frame"]),
            time_s=float(sequence["time_s"]),
        )
    return record


def annotation_records(frame: Frame, image_id: int) -> list[dict[str, Any]]:
    """COCO annotations of a frame, without ``id`` (assigned when assembling)."""
    records = []
    rles = instance_rles(frame.instance_ids) if frame.instance_ids is not None else {}
    labelled = [(obj, False) for obj in frame.objects]
    for obj, ignored in labelled + [(obj, True) for obj in frame.ignored_objects]:
        x1, y1, x2, y2 = (float(v) for v in np.asarray(obj.box_2d, np.float64).reshape(4))
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or x2 < x1 or y2 < y1:
            raise DatasetWriteError(
                f"frame {frame.frame_id!r}: object {obj.instance_id} has an invalid box_2d "
                f"{[x1, y1, x2, y2]}"
            )
        record: dict[str, Any] = {
            "image_id": int(image_id),
            "category_id": CLASS_NAMES.index(obj.class_name) + 1,
            "bbox": [_round(x1), _round(y1), _round(x2 - x1), _round(y2 - y1)],
            "area": _round((x2 - x1) * (y2 - y1)),
            # Ignored objects are crowd regions: COCOeval neither requires nor penalises
            # detections on them; "ignore" is the flag other COCO readers look for.
            "iscrowd": int(ignored),
            "ignore": int(ignored),
            "instance_id": int(obj.instance_id),
            "occlusion": _round(obj.occlusion),
            "occlusion_level": int(obj.occlusion_level),
            "truncation": _round(obj.truncation),
            "distance_m": _round(obj.distance_m),
            "event": obj.event,
            "difficulty": obj.difficulty,
            "alpha": _round(obj.alpha),
            "box_3d": None if obj.box_3d is None else to_jsonable(obj.box_3d),
            "visible_pixels": int(obj.visible_pixels),
            "lidar_points": int(obj.lidar_points),
        }
        if obj.score is not None:
            record["score"] = _round(obj.score)
        if "sequence" in frame.meta:
            record["track_id"] = int(obj.instance_id)
            record["video_id"] = int(frame.meta["sequence"]["sequence_id"]) + 1
        if obj.velocity_cam_m_s is not None:
            record["velocity_cam_m_s"] = [_round(v) for v in obj.velocity_cam_m_s]
        rle = rles.get(int(obj.instance_id))
        if rle is not None:
            record["segmentation"] = rle
            record["area"] = float(sum(rle["counts"][1::2]))
        records.append(record)
    return records


def frame_part(frame: Frame, image_id: int, stem: str, file_name: str) -> dict[str, Any]:
    """The per-frame part (``{"image": ..., "annotations": [...]}``) as plain JSON data."""
    part = {
        "image": image_record(frame, image_id, stem, file_name),
        "annotations": annotation_records(frame, image_id),
    }
    return to_jsonable(part)


def read_part(path: Path) -> dict[str, Any]:
    """A per-frame part stored as a file (how datasets before 0.2 kept them)."""
    try:
        part = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetReadError(path, f"unreadable COCO part: {exc}") from exc
    if not isinstance(part, dict) or "image" not in part or "annotations" not in part:
        raise DatasetReadError(path, "expected an object with 'image' and 'annotations'")
    return part


def _with_mask_format(annotation: dict[str, Any], masks: str) -> dict[str, Any]:
    segmentation = annotation.get("segmentation")
    if masks == "polygon" and not annotation.get("iscrowd") and isinstance(segmentation, dict):
        return {**annotation, "segmentation": rle_to_polygons(segmentation)}
    return annotation


def assemble_annotations(
    parts: Callable[[], Iterable[Mapping[str, Any]]],
    out_path: Path,
    info: Mapping[str, Any] | None = None,
    masks: str = "rle",
) -> int:
    """Stream per-frame parts (in the order ``parts()`` yields them) into one COCO
    ``annotations.json``.

    ``masks``: ``rle`` keeps the parts' uncompressed RLE; ``polygon`` turns the masks of
    labelled objects into polygons (:func:`rle_to_polygons`), which detectron2's default
    and mmdetection with ``poly2mask`` expect; crowd (ignored) regions stay RLE, as in
    COCO itself. ``parts`` is called twice (annotations, then images), so a caller
    reading them from disk holds one part in memory at a time. Returns the number of
    images. Written atomically.
    """
    if masks not in COCO_MASK_FORMATS:
        raise DatasetWriteError(f"COCO masks must be one of {COCO_MASK_FORMATS}, got {masks!r}")
    with atomic_stream(out_path) as sink:
        sink.write('{"annotations":[')
        next_id = 1
        for part in parts():
            for annotation in part["annotations"]:
                annotation = _with_mask_format(annotation, masks)
                sink.write(
                    ("," if next_id > 1 else "") + dumps_compact({**annotation, "id": next_id})
                )
                next_id += 1
        sink.write('],"categories":' + dumps_compact(coco_categories()) + ',"images":[')
        count = 0
        videos: set[int] = set()
        for count, part in enumerate(parts(), start=1):
            image = part["image"]
            sink.write(("," if count > 1 else "") + dumps_compact(image))
            if "video_id" in image:
                videos.add(int(image["video_id"]))
        sink.write("]")
        if videos:  # sequences: one COCO video each
            listed = [{"id": vid, "name": f"sequence_{vid - 1:04d}"} for vid in sorted(videos)]
            sink.write(',"videos":' + dumps_compact(listed))
        sink.write(',"info":' + dumps_compact(dict(info or {})) + ',"licenses":[]}\n')
    return count


# --------------------------------------------------------------------------- reading


def placeholder_calibration(width: int, height: int) -> Calibration:
    """A stand-in for images without calibration (plain COCO/YOLO): ``fx = fy = max(W, H)``
    (about a 53 degree field of view), principal point at the centre, a level camera 1.65 m
    up, lidar at the camera. Frames carrying it have ``meta["calibration"] = "placeholder"``.
    """
    focal = float(max(width, height))
    intrinsics = CameraIntrinsics(int(width), int(height), focal, focal, width / 2, height / 2)
    return Calibration(intrinsics, nominal_T_cam_from_world(), np.eye(4))


def _calibration_from_image(image: Mapping[str, Any], width: int, height: int) -> Calibration:
    stored = image.get("scenegen_calibration")
    if not stored:
        return placeholder_calibration(width, height)
    intrinsics = CameraIntrinsics(
        width,
        height,
        float(stored["fx"]),
        float(stored["fy"]),
        float(stored["cx"]),
        float(stored["cy"]),
    )
    return Calibration(
        intrinsics,
        np.array(stored["T_cam_from_world"], dtype=np.float64).reshape(4, 4),
        np.array(stored["T_cam_from_lidar"], dtype=np.float64).reshape(4, 4),
    )


def _float_or_nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _object_from_annotation(ann: Mapping[str, Any], class_name: str, index: int) -> ObjectLabel:
    x, y, w, h = (float(v) for v in ann["bbox"])
    if min(w, h) < 0 or not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"bbox must be finite [x, y, w, h] with w, h >= 0, got {ann['bbox']}")
    box_3d = ann.get("box_3d")
    occlusion_level = int(ann.get("occlusion_level", 0))
    truncation = _float_or_nan(ann.get("truncation", 0.0))
    return ObjectLabel(
        class_name=class_name,
        instance_id=int(ann.get("instance_id", index + 1)),
        box_2d=np.array([x, y, x + w, y + h], dtype=np.float32),
        box_3d=None if box_3d is None else Box3D(**{k: float(v) for k, v in box_3d.items()}),
        alpha=_float_or_nan(ann.get("alpha", -10.0)),
        truncation=truncation,
        occlusion=_float_or_nan(ann.get("occlusion")),
        occlusion_level=occlusion_level,
        distance_m=_float_or_nan(ann.get("distance_m")),
        difficulty=str(ann.get("difficulty") or kitti_difficulty(h, occlusion_level, truncation)),
        event=ann.get("event"),
        visible_pixels=int(ann.get("visible_pixels", 0)),
        lidar_points=int(ann.get("lidar_points", 0)),
        score=None if ann.get("score") is None else float(ann["score"]),
    )


def load_coco_json(path: Path) -> dict[str, Any]:
    """The parsed COCO detection file at ``path`` (images, annotations, categories checked
    to be present); :class:`DatasetReadError` naming the file otherwise."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetReadError(path, "file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetReadError(path, f"not a readable JSON file: {exc}") from None
    if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= data.keys():
        raise DatasetReadError(path, "expected a COCO object with images, annotations, categories")
    if not all(isinstance(data[key], list) for key in ("images", "annotations", "categories")):
        raise DatasetReadError(path, "images, annotations and categories must be lists")
    return data


def annotations_per_image(path: Path, annotations: list[Any]) -> dict[int, list[dict[str, Any]]]:
    """COCO annotations grouped by ``image_id`` (file order kept within an image)."""
    per_image: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for number, ann in enumerate(annotations):
        try:
            per_image[int(ann["image_id"])].append(ann)
        except (KeyError, TypeError, ValueError):
            raise DatasetReadError(
                path, f"annotation #{number}: expected an object with an integer image_id"
            ) from None
    return per_image


def coco_frame(
    path: Path,
    image: Mapping[str, Any],
    annotations: list[dict[str, Any]],
    category_class: Mapping[int, str | None],
) -> Frame:
    """The frame of one COCO ``image`` entry of the file at ``path``.

    ``category_class`` maps category ids to scenegen classes (``None`` skips the category);
    an annotation of any other category raises :class:`DatasetReadError`. Boxes come back as
    ``[x1, y1, x2, y2]`` pixels; instance masks (RLE or polygons) become ``instance_ids``;
    crowd annotations (``iscrowd`` or ``ignore`` set) become ``ignored_objects``.
    """
    rgb = read_image(path.parent / str(image["file_name"]), color=True)
    height, width = rgb.shape[:2]
    if (int(image.get("width", width)), int(image.get("height", height))) != (width, height):
        raise DatasetReadError(
            path,
            f"image {image['id']}: recorded size {image.get('width')}x"
            f"{image.get('height')} differs from {image['file_name']}'s {width}x{height}",
        )
    objects, ignored, masks = [], [], []
    for index, ann in enumerate(annotations):
        category_id = int(ann["category_id"])
        if category_id not in category_class:
            raise DatasetReadError(
                path, f"annotation {ann.get('id')}: category {category_id} is not in categories"
            )
        class_name = category_class[category_id]
        if class_name is None:
            continue
        try:
            obj = _object_from_annotation(ann, class_name, index)
            segmentation = ann.get("segmentation")
            if isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list):
                masks.append((obj.instance_id, rle_decode(segmentation)))
            elif isinstance(segmentation, list) and segmentation:
                masks.append((obj.instance_id, _polygons_mask(segmentation, height, width)))
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetReadError(path, f"annotation {ann.get('id')}: {exc}") from None
        (ignored if ann.get("iscrowd") or ann.get("ignore") else objects).append(obj)
    instance_ids = None
    if masks:
        instance_ids = np.zeros((height, width), dtype=np.int32)
        for instance_id, mask in masks:
            if mask.shape != (height, width):
                raise DatasetReadError(path, f"image {image['id']}: mask size {mask.shape}")
            instance_ids[mask] = instance_id
    calibration = _calibration_from_image(image, width, height)
    meta: dict[str, Any] = {"source": "coco", "coco_image_id": int(image["id"])}
    if not image.get("scenegen_calibration"):
        meta["calibration"] = "placeholder"
    frame_id = image_stem(image)
    return Frame(
        frame_id,
        rgb,
        calibration,
        instance_ids=instance_ids,
        objects=objects,
        ignored_objects=ignored,
        dropped_objects=len(ignored),
        meta=meta,
    )


def _polygons_mask(polygons: list[list[float]], height: int, width: int) -> np.ndarray:
    """Boolean mask of COCO polygons: pixels whose centre lies inside (a quarter-pixel inset
    outline, as :func:`rle_to_polygons` writes, gives back its mask exactly)."""
    mask = np.zeros((height, width), np.uint8)
    shift = 4  # fractional bits; cv2 samples at integer coordinates, pixel centres at i + 0.5
    for polygon in polygons:
        xy = np.asarray(polygon, np.float64).reshape(-1, 2) - 0.5
        cv2.fillPoly(mask, [np.round(xy * (1 << shift)).astype(np.int32)], 1, cv2.LINE_8, shift)
    return mask.astype(bool)
