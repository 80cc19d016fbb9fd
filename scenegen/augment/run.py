"""Corrupt a whole dataset: one output dataset per corruption and severity (KITTI-C style).

Layout of ``OUT``::

    OUT/<corruption>/<severity>/{kitti|coco|yolo}/...   one dataset in the input's format,
                                                        written by io.DatasetWriter, with
                                                        its manifest.jsonl (source frame,
                                                        seed, parameters per frame)
    OUT/augment.json                                     the run: input, corruptions,
                                                        severities, seed, failed inputs

A corruption that has a camera and a LiDAR model (fog, rain, snow, wet_road) applies both
with the same weather; camera-only ones keep the scan, LiDAR-only ones keep the image.
Inputs are opened read-only and never written. A frame that cannot be read (corrupt image,
truncated scan, bad label line, missing calibration, ...) is recorded with the file and the
reason and skipped; every other frame is processed.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.augment import functional, imagenet_c
from scenegen.augment import lidar as lidar_corruptions
from scenegen.augment.camera import apply_sensor_fault
from scenegen.augment.depth import RecoveredDepth, recover_depth
from scenegen.augment.severity import (
    CAMERA_CORRUPTIONS,
    IMAGENET_C_NAMES,
    SEVERITIES,
    camera_parameters,
)
from scenegen.effects import fog_extinction_per_m, rain_extinction_per_m, snow_extinction_per_m
from scenegen.errors import ScenegenError
from scenegen.frame import CLASS_NAMES, Frame
from scenegen.io import DatasetReadError, DatasetWriter, list_kitti_frames, read_kitti_frame
from scenegen.io.atomic import atomic_write_bytes

INPUT_FORMATS = ("kitti", "coco", "yolo")
# Corruptions with a LiDAR model: camera name -> LiDAR name.
_LIDAR_TWIN = {"fog": "fog", "rain": "rain", "snow": "snow", "wet_road": "wet_ground"}
LIDAR_ONLY = tuple(
    f"lidar_{n}" for n in lidar_corruptions.LIDAR_CORRUPTIONS if n not in _LIDAR_TWIN.values()
)
ALL_CORRUPTIONS = (*CAMERA_CORRUPTIONS, *LIDAR_ONLY)


class AugmentError(ScenegenError):
    """Bad arguments to the augmentation run (not a bad input frame)."""


@dataclass
class AugmentSummary:
    """What a run did. ``failed``: ``(file, reason)`` per input that could not be used."""

    input_dir: Path
    out_dir: Path
    frames_read: int = 0
    frames_written: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    datasets: dict[str, int] = field(default_factory=dict)  # "fog/3" -> frames
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def resolve_corruptions(spec: str | Sequence[str]) -> list[str]:
    """Names from ``"fog,rain"``, ``"all"``, ``"imagenet-c"``, ``"weather"``, ``"lidar"``."""
    from scenegen.augment.severity import SENSOR_FAULTS, WEATHER

    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    groups = {
        "all": ALL_CORRUPTIONS,
        "imagenet-c": IMAGENET_C_NAMES,
        "weather": WEATHER,
        "sensor": SENSOR_FAULTS,
        "lidar": LIDAR_ONLY,
    }
    names: list[str] = []
    for item in items:
        for name in groups.get(item, (item,)):
            if name not in ALL_CORRUPTIONS:
                raise AugmentError(
                    f"unknown corruption {name!r}; expected one of {list(ALL_CORRUPTIONS)} "
                    f"or a group {list(groups)}"
                )
            if name not in names:
                names.append(name)
    if not names:
        raise AugmentError("no corruption given")
    return names


def parse_severities(spec: str | Sequence[int]) -> list[int]:
    """``"1-5"``, ``"1,3,5"`` or a list of ints -> sorted severities 1-5."""
    if isinstance(spec, str):
        values: set[int] = set()
        for part in spec.split(","):
            part = part.strip()
            try:
                if "-" in part:
                    lo, hi = (int(x) for x in part.split("-", 1))
                    values.update(range(lo, hi + 1))
                elif part:
                    values.add(int(part))
            except ValueError:
                raise AugmentError(f"severities {spec!r}: expected e.g. 1-5 or 1,3,5") from None
    else:
        values = set(int(v) for v in spec)
    if not values or not values <= set(SEVERITIES):
        raise AugmentError(f"severities {spec!r}: each must be 1-5")
    return sorted(values)


# ------------------------------------------------------------------------------ reading
def _iter_kitti(input_dir: Path) -> Iterator[tuple[str, Frame | DatasetReadError]]:
    root = input_dir / "training" if (input_dir / "training" / "image_2").is_dir() else input_dir
    for frame_id in list_kitti_frames(root):
        source = str(root / "image_2" / f"{frame_id}.png")
        try:
            yield source, read_kitti_frame(root, frame_id)
        except DatasetReadError as exc:
            yield source, exc


def _iter_coco(input_dir: Path) -> Iterator[tuple[str, Frame | DatasetReadError]]:
    from scenegen.io import coco

    path = input_dir if input_dir.is_file() else input_dir / "annotations.json"
    if not path.exists():
        candidates = sorted(input_dir.glob("**/*.json"))
        if not candidates:
            raise DatasetReadError(input_dir, "no COCO annotations .json found")
        path = candidates[0]
    # read_coco stops at the first bad image, so each image is read on its own.
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = {**{n: n for n in CLASS_NAMES}, **coco.COCO_NAME_TO_CLASS}
        category_class = {
            int(c["id"]): names.get(str(c["name"]), "?unknown") for c in data["categories"]
        }
        per_image: dict[int, list[dict[str, Any]]] = {}
        for ann in data["annotations"]:
            per_image.setdefault(int(ann["image_id"]), []).append(ann)
        images = list(data["images"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetReadError(path, f"not a readable COCO file: {exc}") from None
    for image in images:
        source = str(path.parent / str(image.get("file_name")))
        try:
            yield (
                source,
                coco._coco_frame(path, image, per_image.get(int(image["id"]), []), category_class),
            )
        except DatasetReadError as exc:
            yield source, DatasetReadError(source, exc.reason)


def _iter_yolo(input_dir: Path) -> Iterator[tuple[str, Frame | DatasetReadError]]:
    from scenegen.io import yolo
    from scenegen.io.coco import placeholder_calibration
    from scenegen.io.png import read_image

    root = input_dir / "yolo" if (input_dir / "yolo" / "images").is_dir() else input_dir
    names = (
        yolo._class_names_from_yaml(root / "data.yaml")
        if (root / "data.yaml").exists()
        else list(yolo.CLASS_NAMES)
    )
    images = sorted(
        p
        for p in (root / "images").rglob("*")
        if p.suffix.lower() in yolo._IMAGE_SUFFIXES and not p.name.startswith(".")
    )
    if not images:
        raise DatasetReadError(root / "images", "no images found (expected a YOLO images/ folder)")
    for image_path in images:
        try:
            rgb = read_image(image_path, color=True)
            label_path = yolo._label_path_for(root, image_path)
            objects = (
                yolo.parse_label_file(label_path, rgb.shape[1], rgb.shape[0], names)
                if label_path.exists()
                else []
            )
            calibration = placeholder_calibration(rgb.shape[1], rgb.shape[0])
            meta = {"source": "yolo", "calibration": "placeholder"}
            yield (
                str(image_path),
                Frame(image_path.stem, rgb, calibration, objects=objects, meta=meta),
            )
        except DatasetReadError as exc:
            yield str(image_path), exc


def iter_input_frames(input_dir: Path, fmt: str) -> Iterator[tuple[str, Frame | DatasetReadError]]:
    """``(source file, frame or the error that made it unreadable)`` for each input frame."""
    readers = {"kitti": _iter_kitti, "coco": _iter_coco, "yolo": _iter_yolo}
    if fmt not in readers:
        raise AugmentError(f"format {fmt!r}: expected one of {list(readers)}")
    if not Path(input_dir).exists():
        raise AugmentError(f"{input_dir}: no such folder")
    return readers[fmt](Path(input_dir))


# ---------------------------------------------------------------------------- corrupting
def _camera(
    rgb: np.ndarray,
    name: str,
    severity: int,
    depth: RecoveredDepth,
    K: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, Any]]:
    c = camera_parameters(name, severity)
    params: dict[str, Any] = dict(c)
    if name in IMAGENET_C_NAMES:
        return imagenet_c.corrupt(rgb, name.removeprefix("ic_"), severity, rng), params
    d = depth.depth_m
    if name == "fog":
        return functional.fog(rgb, d, c["visibility_m"], K), params
    if name == "rain":
        return functional.rain(rgb, d, c["rate_mm_h"], K, rng), params
    if name == "snow":
        return functional.snow(
            rgb, d, c["rate_mm_h"], K, rng, depth.ground_mask, c["ground_cover"]
        ), params
    if name == "night":
        return functional.night(rgb, rng, c["light_scale"]), params
    if name == "sun_glare":
        height, width = rgb.shape[:2]
        sun_uv = (float(rng.uniform(0.1, 0.9) * width), float(rng.uniform(0.0, 0.33) * height))
        params["sun_uv"] = sun_uv
        return functional.sun_glare(rgb, d, sun_uv, c["strength"], K), params
    if name == "wet_road":
        horizon = depth.horizon_row if np.isfinite(depth.horizon_row) else float(K[1, 2])
        return functional.wet_road(
            rgb, d, depth.ground_mask, c["road_wetness"], K, 1.65, horizon
        ), params
    sampled = {"seed": int(rng.integers(0, 2**63 - 1))}
    if name == "motion_blur":
        sampled["angle_deg"] = float(rng.uniform(-30, 30))
        params["angle_deg"] = sampled["angle_deg"]
    return apply_sensor_fault(rgb, name, severity, sampled), params


def _extinction(name: str, params: dict[str, Any]) -> float:
    if name == "fog":
        return fog_extinction_per_m(params["visibility_m"])
    if name == "rain":
        return rain_extinction_per_m(params["rate_mm_h"])
    if name == "snow":
        return snow_extinction_per_m(params["rate_mm_h"])
    return 0.0


def corrupt_frame(
    frame: Frame,
    name: str,
    severity: int,
    rng: np.random.Generator,
    depth: RecoveredDepth | None = None,
) -> Frame:
    """A copy of ``frame`` with corruption ``name`` at ``severity`` applied to its camera
    and / or LiDAR; labels kept, LiDAR point counts recounted, parameters in
    ``meta["params"]`` (with each object's contrast left ``object_transmission`` and the
    indices of objects hidden by the weather, ``invisible_objects``)."""
    if name not in ALL_CORRUPTIONS:
        raise AugmentError(f"unknown corruption {name!r}")
    import copy

    out = copy.copy(frame)
    out.objects = [copy.copy(o) for o in frame.objects]
    out.meta = dict(frame.meta)
    params: dict[str, Any] = {
        "corruption": name,
        "severity": severity,
        "source_file": frame.meta.get("source_file"),
    }
    K = frame.calibration.intrinsics.K
    lidar_name = _LIDAR_TWIN.get(name) or (
        name.removeprefix("lidar_") if name in LIDAR_ONLY else None
    )
    if name in CAMERA_CORRUPTIONS:
        if depth is None:
            depth = recover_depth(frame.calibration, _points_xyz(frame), frame.rgb)
        out.rgb, params["camera"] = _camera(frame.rgb, name, severity, depth, K, rng)
        beta = _extinction(name, params["camera"])
        if beta > 0 and frame.objects:
            boxes = np.stack([o.box_2d for o in frame.objects])
            transmission = functional.box_transmission(
                functional.object_depth_m(depth.depth_m, boxes), beta
            )
            params["object_transmission"] = [
                None if not np.isfinite(t) else round(float(t), 4) for t in transmission
            ]
            params["invisible_objects"] = [
                i
                for i, t in enumerate(transmission)
                if np.isfinite(t) and t < functional.INVISIBLE_CONTRAST
            ]
    if lidar_name is not None and frame.points is not None:
        with_box = [i for i, o in enumerate(frame.objects) if o.box_3d is not None]
        result = lidar_corruptions.corrupt_points(
            frame.points,
            lidar_name,
            severity,
            rng,
            boxes=[frame.objects[i].box_3d for i in with_box],
            box_classes=[frame.objects[i].class_name for i in with_box],
            T_cam_from_lidar=frame.calibration.T_cam_from_lidar,
        )
        out.points = result.points
        for i, count in zip(with_box, result.points_per_box, strict=True):
            out.objects[i].lidar_points = int(count)
        params["lidar"] = {"corruption": lidar_name, **result.params}
    out.meta["params"] = params
    return out


def _points_xyz(frame: Frame) -> np.ndarray | None:
    """The frame's LiDAR positions (lidar frame, m) for depth recovery, if it has LiDAR."""
    return None if frame.points is None else frame.points.xyz


def _frame_rng(seed: int, frame_index: int, name: str, severity: int) -> np.random.Generator:
    # Independent of the order and the set of corruptions run: same inputs, same output.
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(frame_index, zlib.crc32(name.encode()), severity))
    )


def augment_dataset(
    input_dir: Path,
    fmt: str,
    corruptions: Sequence[str] | str,
    severities: Sequence[int] | str,
    out_dir: Path,
    seed: int,
    on_frame: Callable[[str, int], None] | None = None,
    *,
    overwrite: bool = False,
) -> AugmentSummary:
    """Write ``out_dir/<corruption>/<severity>/`` datasets in ``fmt`` (see module doc).

    ``on_frame(source_file, outputs_written)`` is called after each input frame (for a
    progress bar). Returns an :class:`AugmentSummary`; unreadable inputs are in
    ``summary.failed`` and do not stop the run.
    """
    started = time.perf_counter()
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    names = resolve_corruptions(corruptions)
    levels = parse_severities(severities)
    if fmt not in INPUT_FORMATS:
        raise AugmentError(f"format {fmt!r}: expected one of {list(INPUT_FORMATS)}")
    if out_dir.resolve() == input_dir.resolve() or input_dir.resolve() in out_dir.resolve().parents:
        raise AugmentError(f"--out {out_dir} must not lie inside the input {input_dir}")
    writers = {
        (name, s): DatasetWriter.open(
            out_dir / name / str(s), (fmt,), overwrite=overwrite, force=False
        )
        for name in names
        for s in levels
    }
    summary = AugmentSummary(input_dir, out_dir)
    for frame_index, (source, item) in enumerate(iter_input_frames(input_dir, fmt)):
        if isinstance(item, DatasetReadError):
            summary.failed.append((str(item.path), item.reason))
            if on_frame is not None:
                on_frame(source, 0)
            continue
        summary.frames_read += 1
        frame = item
        frame.meta["source_file"] = source
        frame.meta["seed"] = seed
        depth = None
        if any(n in CAMERA_CORRUPTIONS for n in names):
            depth = recover_depth(frame.calibration, _points_xyz(frame), frame.rgb)
        written = 0
        for name in names:
            for s in levels:
                corrupted = corrupt_frame(
                    frame, name, s, _frame_rng(seed, frame_index, name, s), depth
                )
                writers[(name, s)].write_frame(corrupted, frame_index)
                written += 1
        summary.frames_written += written
        if on_frame is not None:
            on_frame(source, written)
    for (name, s), writer in writers.items():
        writer.finalize(
            {"augment": {"input": str(input_dir), "corruption": name, "severity": s, "seed": seed}}
        )
        summary.datasets[f"{name}/{s}"] = summary.frames_read
    summary.seconds = time.perf_counter() - started
    record = {
        "input": str(input_dir),
        "format": fmt,
        "corruptions": names,
        "severities": levels,
        "seed": seed,
        "frames_read": summary.frames_read,
        "frames_written": summary.frames_written,
        "failed": [{"file": f, "reason": r} for f, r in summary.failed],
    }
    atomic_write_bytes(out_dir / "augment.json", (json.dumps(record, indent=1) + "\n").encode())
    return summary


def contact_sheet(
    frame: Frame,
    corruptions: Sequence[str],
    severities: Sequence[int] = SEVERITIES,
    seed: int = 0,
    tile_width: int = 414,
) -> np.ndarray:
    """uint8 RGB grid: one row per camera corruption, the clean image then each severity."""
    import cv2

    depth = recover_depth(frame.calibration, _points_xyz(frame), frame.rgb)
    height = round(frame.height * tile_width / frame.width)

    def tile(img: np.ndarray, label: str) -> np.ndarray:
        small = cv2.resize(img, (tile_width, height), interpolation=cv2.INTER_AREA)
        cv2.putText(small, label, (5, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(
            small, label, (5, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1, cv2.LINE_AA
        )
        return small

    rows = []
    for name in corruptions:
        if name not in CAMERA_CORRUPTIONS:
            continue
        tiles = [tile(frame.rgb, f"{name} clean")]
        for s in severities:
            img, _ = _camera(
                frame.rgb,
                name,
                s,
                depth,
                frame.calibration.intrinsics.K,
                _frame_rng(seed, 0, name, s),
            )
            tiles.append(tile(img, f"{name} {s}"))
        rows.append(np.hstack(tiles))
    if not rows:
        raise AugmentError("no camera corruption to draw")
    return np.vstack(rows)
