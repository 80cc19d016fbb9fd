"""Corrupt a whole dataset: one output dataset per corruption and severity (KITTI-C style).

Layout of ``OUT``::

    OUT/<corruption>/<severity>/{kitti|coco|yolo}/...   one dataset in the input's format,
                                                        written by io.DatasetWriter, with
                                                        its manifest.jsonl (source frame,
                                                        seed, parameters per frame)
    OUT/augment.json                                     the run: input, corruptions,
                                                        severities, seed, failed inputs

Corruptions come from the catalogue (:mod:`scenegen.augment.catalogue`). A corruption that
has a camera and a LiDAR model (fog, rain, snow, wet_road) applies both with the same
weather; camera weather uses the frame's own depth where it has one (rendered datasets)
and depth recovered from LiDAR and the ground plane otherwise; camera-only ones keep the scan, LiDAR-only ones keep the image.
Inputs are opened read-only and never written. A frame that cannot be read (corrupt image,
truncated scan, bad label line, missing calibration, ...) is recorded with the file and the
reason and skipped; every other frame is processed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.augment import functional
from scenegen.augment import lidar as lidar_corruptions
from scenegen.augment.catalogue import (
    CAMERA_CORRUPTIONS,
    CATALOGUE,
    GROUPS,
    UnknownCorruptionError,
    apply_camera,
    canonical_name,
    corruption_rng,
    extinction_per_m,
)
from scenegen.augment.depth import RecoveredDepth, frame_depth
from scenegen.augment.severity import SEVERITIES
from scenegen.errors import ScenegenError
from scenegen.frame import CLASS_NAMES, Frame
from scenegen.io import DatasetReadError, DatasetWriter, list_kitti_frames, read_kitti_frame
from scenegen.io.atomic import atomic_write_bytes

INPUT_FORMATS = ("kitti", "coco", "yolo")


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
    """Catalogue names from ``"fog,rain"``, ``"all"``, ``"imagenet-c"``, ``"weather"``,
    ``"sensor"``, ``"lidar"`` (aliases such as ``low_light`` give their catalogue name)."""
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    names: list[str] = []
    for item in items:
        for name in GROUPS.get(item, (item,)):
            try:
                name = canonical_name(name)
            except UnknownCorruptionError as exc:
                raise AugmentError(f"{exc}; or a group {list(GROUPS)}") from None
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
    try:
        name = canonical_name(name)
    except UnknownCorruptionError as exc:
        raise AugmentError(str(exc)) from None
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
    lidar_name = CATALOGUE[name].lidar_model
    if name in CAMERA_CORRUPTIONS:
        if depth is None:
            depth = frame_depth(frame)
        out.rgb, params["camera"] = apply_camera(name, severity, frame.rgb, depth, K, rng)
        beta = extinction_per_m(name, params["camera"])
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
    if lidar_name is not None and frame.points_lidar is not None:
        with_box = [i for i, o in enumerate(frame.objects) if o.box_3d is not None]
        result = lidar_corruptions.corrupt_points(
            frame.points_lidar,
            lidar_name,
            severity,
            rng,
            boxes=[frame.objects[i].box_3d for i in with_box],
            box_classes=[frame.objects[i].class_name for i in with_box],
            T_cam_from_lidar=frame.calibration.T_cam_from_lidar,
        )
        out.points_lidar = result.points_lidar
        for array in ("point_rings", "point_class_ids", "point_instance_ids"):
            values = getattr(frame, array)
            if values is not None:
                keep = result.source_index >= 0
                new = np.zeros(len(result.source_index), dtype=values.dtype)
                new[keep] = values[result.source_index[keep]]
                setattr(out, array, new)
        for i, count in zip(with_box, result.points_per_box, strict=True):
            out.objects[i].lidar_points = int(count)
        params["lidar"] = {"corruption": lidar_name, **result.params}
    out.meta["params"] = params
    return out


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
            depth = frame_depth(frame)
        written = 0
        for name in names:
            for s in levels:
                corrupted = corrupt_frame(
                    frame, name, s, corruption_rng(seed, frame_index, name, s), depth
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

    depth = frame_depth(frame)
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
            img, _ = apply_camera(
                name,
                s,
                frame.rgb,
                depth,
                frame.calibration.intrinsics.K,
                corruption_rng(seed, 0, name, s),
            )
            tiles.append(tile(img, f"{name} {s}"))
        rows.append(np.hstack(tiles))
    if not rows:
        raise AugmentError("no camera corruption to draw")
    return np.vstack(rows)
