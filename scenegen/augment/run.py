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
weather; camera weather uses the frame's own depth where it has one (rendered datasets) and
depth recovered from LiDAR and the ground plane otherwise (:func:`~scenegen.augment.depth.
frame_depth`); camera-only ones keep the scan, LiDAR-only ones keep the image.
Output frames keep the input's frame ids. Inputs are read through
:class:`scenegen.io.DatasetReader`, opened read-only and never written. A frame that cannot
be read (corrupt image, truncated scan, bad label line, missing calibration, ...) is recorded
with its id, the file and the reason and skipped; every other frame is processed. A run can
be resumed: output frames whose files match their manifest are kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.augment import functional
from scenegen.augment import lidar as lidar_corruptions
from scenegen.augment.catalogue import (
    ALIASES,
    CAMERA_CORRUPTIONS,
    CATALOGUE,
    GROUPS,
    UnknownCorruptionError,
    apply_camera,
    canonical_name,
    corruption_rng,
    did_you_mean,
    extinction_per_m,
)
from scenegen.augment.depth import RecoveredDepth, frame_depth
from scenegen.augment.severity import SEVERITIES
from scenegen.errors import ScenegenError
from scenegen.frame import Frame
from scenegen.io import DatasetReader, DatasetWriter, FrameError, read_manifest
from scenegen.io.atomic import atomic_write_bytes
from scenegen.io.manifest import MANIFEST_NAME, stem_problem, verify_record

INPUT_FORMATS = ("kitti", "coco", "yolo")


class AugmentError(ScenegenError):
    """Bad arguments to the augmentation run (not a bad input frame)."""


@dataclass
class AugmentSummary:
    """What a run did. ``failed``: one :class:`FrameError` per input frame that could not be
    used; ``frames_kept``: input frames whose every output a resumed run found complete."""

    input_dir: Path
    out_dir: Path
    frames_read: int = 0
    frames_written: int = 0
    frames_kept: int = 0
    failed: list[FrameError] = field(default_factory=list)
    datasets: dict[str, int] = field(default_factory=dict)  # "fog/3" -> frames
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def resolve_corruptions(spec: str | Sequence[str]) -> list[str]:
    """Catalogue names from ``"fog,rain"``, ``"all"``, ``"imagenet-c"``, ``"weather"``,
    ``"sensor"``, ``"lidar"``. The catalogue's aliases give their catalogue name (``low_light``
    is ``night``; imagecorruptions' names such as ``gaussian_noise`` or ``frost`` are the
    ``ic_`` versions). An unknown name is an error with the closest known names."""
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    names: list[str] = []
    for item in items:
        if item not in GROUPS and item not in CATALOGUE and item not in ALIASES:
            hint = did_you_mean(item, [*CATALOGUE, *ALIASES, *GROUPS])
            raise AugmentError(
                f"unknown corruption {item!r}{hint} (expected one of {list(CATALOGUE)}, an "
                f"alias {dict(ALIASES)} or a group {list(GROUPS)})"
            )
        for name in GROUPS.get(item, (item,)):
            name = canonical_name(name)
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
def open_input(input_path: Path, fmt: str = "auto") -> DatasetReader:
    """The reader of an input dataset: ``fmt`` ``auto``, ``kitti``, ``coco`` or ``yolo``;
    ``input_path`` in any form :func:`scenegen.io.locate_dataset` accepts (a KITTI dataset
    root, its ``training`` or ``training/image_2`` folder, ...). A scenegen dataset is read
    through its KITTI files."""
    if fmt not in ("auto", *INPUT_FORMATS):
        raise AugmentError(f"format {fmt!r}: expected auto or one of {list(INPUT_FORMATS)}")
    return DatasetReader(input_path, fmt)


def output_format(reader: DatasetReader) -> str:
    """The format augmented datasets are written in: the input's (KITTI for scenegen data)."""
    return "kitti" if reader.format == "scenegen" else reader.format


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
    input_dir: Path | DatasetReader,
    fmt: str,
    corruptions: Sequence[str] | str,
    severities: Sequence[int] | str,
    out_dir: Path,
    seed: int,
    on_frame: Callable[[str, int], None] | None = None,
    *,
    overwrite: bool = False,
    resume: bool = False,
    on_start: Callable[[int], None] | None = None,
) -> AugmentSummary:
    """Write ``out_dir/<corruption>/<severity>/`` datasets in the input's format (module doc).

    ``input_dir``: the input (see :func:`open_input`) or its open reader (``fmt`` is then
    unused). Output frames keep the input's frame ids as file names (``000008`` stays ``000008``, its
    calib, labels and scan beside it). ``resume`` keeps every output frame whose files match
    its manifest sha256 (as ``render --resume``) and writes the rest; a run made from another
    input, format or seed is refused. ``on_start(input_frames)`` is called once the
    arguments and outputs are checked, ``on_frame(source_file, outputs_written)`` after each
    input frame (for a progress bar). Unreadable inputs are in ``summary.failed``
    and do not stop the run.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    names = resolve_corruptions(corruptions)
    levels = parse_severities(severities)
    if resume and overwrite:
        raise AugmentError("choose --resume or --overwrite, not both")
    reader = input_dir if isinstance(input_dir, DatasetReader) else open_input(input_dir, fmt)
    _check_out_outside_input(out_dir, reader)
    run = {"input": str(reader.location.resolve()), "format": reader.format, "seed": seed}
    if resume:
        _check_same_run(out_dir / "augment.json", run)
    writers, kept = {}, {}
    for name in names:
        for s in levels:
            folder = out_dir / name / str(s)
            if (folder / MANIFEST_NAME).exists() and not (resume or overwrite):
                raise AugmentError(
                    f"{folder} already holds an augmented dataset; pass --resume to continue "
                    "it or --overwrite to replace it"
                )
            writers[(name, s)] = DatasetWriter.open(
                folder, (output_format(reader),), resume=resume, overwrite=overwrite
            )
            kept[(name, s)] = _complete_frames(folder, reader, seed) if resume else set()
    summary = AugmentSummary(reader.path, out_dir)
    if on_start is not None:
        on_start(len(reader))
    used_ids: dict[str, Path] = {}
    for index, frame_id in enumerate(reader.frame_ids):
        source = reader.source_file(index)
        written = 0
        clash = _id_clash(reader, index, used_ids)
        todo = [key for key in writers if frame_id not in kept[key]]
        if clash is None and not todo:
            summary.frames_kept += 1  # resumed: nothing left of this frame, not even read
        else:
            item = clash or reader.read(index)
            if isinstance(item, FrameError):
                summary.failed.append(item)
            else:
                summary.frames_read += 1
                written = _augment_frame(item, index, str(source), seed, todo, writers)
                summary.frames_written += written
        if on_frame is not None:
            on_frame(str(source), written)
    for (name, s), writer in writers.items():
        writer.finalize(
            {"augment": {"input": run["input"], "corruption": name, "severity": s, "seed": seed}}
        )
        summary.datasets[f"{name}/{s}"] = len(read_manifest(out_dir / name / str(s)))
    summary.seconds = time.perf_counter() - started
    record = {
        **run,
        "corruptions": names,
        "severities": levels,
        "frames_read": summary.frames_read,
        "frames_written": summary.frames_written,
        "frames_kept": summary.frames_kept,
        "failed": [
            {"frame_id": f.frame_id, "part": f.part, "file": str(f.path), "reason": f.reason}
            for f in summary.failed
        ],
    }
    atomic_write_bytes(out_dir / "augment.json", (json.dumps(record, indent=1) + "\n").encode())
    return summary


def _check_out_outside_input(out_dir: Path, reader: DatasetReader) -> None:
    """Outputs must not land in the input: neither in the folder given nor where the frames are."""
    out = out_dir.resolve()
    for place in (reader.path, reader.location):
        folder = (place if place.is_dir() else place.parent).resolve()
        if out == folder or folder in out.parents:
            raise AugmentError(f"--out {out_dir} must not lie inside the input {folder}")


def _augment_frame(
    frame: Frame,
    index: int,
    source: str,
    seed: int,
    todo: Sequence[tuple[str, int]],
    writers: Mapping[tuple[str, int], DatasetWriter],
) -> int:
    """Write every corruption and severity in ``todo`` of one input frame; returns how many."""
    frame.meta["source_file"] = source
    frame.meta["seed"] = seed
    depth = None
    if any(name in CAMERA_CORRUPTIONS for name, _ in todo):
        depth = frame_depth(frame)
    for name, s in todo:
        corrupted = corrupt_frame(frame, name, s, corruption_rng(seed, index, name, s), depth)
        writers[(name, s)].write_frame(corrupted, index, stem=frame.frame_id)
    return len(todo)


def _id_clash(reader: DatasetReader, index: int, used: dict[str, Path]) -> FrameError | None:
    """Output files are named by frame id: an id that cannot name a file, or one an earlier
    input frame already took, fails this frame."""
    frame_id, source = reader.frame_ids[index], reader.source_file(index)
    problem = stem_problem(frame_id)
    if problem is None and frame_id in used:
        problem = f"frame id {frame_id!r} is already taken by {used[frame_id]}"
    if problem is None:
        used[frame_id] = source
        return None
    return FrameError(index, frame_id, source, "frame id", problem)


def _check_same_run(run_file: Path, run: Mapping[str, Any]) -> None:
    """Refuse to resume an output made from another input, format or seed."""
    if not run_file.exists():
        return  # interrupted before its first summary; the manifests are checked per frame
    try:
        earlier = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AugmentError(f"{run_file}: unreadable ({exc}); use --overwrite") from None
    for key, value in run.items():
        if earlier.get(key) != value:
            raise AugmentError(
                f"{run_file}: the output was made with {key} {earlier.get(key)!r}, this run has "
                f"{value!r}; resume with the same input, --format and --seed, or use --overwrite"
            )


def _complete_frames(folder: Path, reader: DatasetReader, seed: int) -> set[str]:
    """Frame ids whose output in ``folder`` is complete (files match the manifest's sha256)
    and was made from the same input frame with the same seed; any other record is an error."""
    complete = set()
    for record in read_manifest(folder):
        frame_id = record["frame_id"]
        index = record.get("frame_index")
        same_input = (
            index is not None and index < len(reader) and (reader.frame_ids[index] == frame_id)
        )
        if not same_input or record.get("seed") != seed:
            raise AugmentError(
                f"{folder / MANIFEST_NAME}: frame {frame_id} was made from input frame "
                f"#{index} with seed {record.get('seed')}, which this run's input and seed "
                f"({seed}) do not give; resume with the same input and --seed, or use "
                "--overwrite"
            )
        if not verify_record(folder, record):
            complete.add(frame_id)
    return complete


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
