"""Writing a dataset folder in KITTI, COCO and YOLO at once, and merging shard folders.

Layout of ``OUT``::

    kitti/training/{image_2,label_2,calib,depth,instance,velodyne,labels,label_scenegen}/
    coco/annotations.json          (file_name -> ../kitti/training/image_2/NNNNNN.png)
    yolo/{images,labels}/, yolo/data.yaml   (images hard-linked to the KITTI PNGs)
    pointcloud/NNNNNN.{ply,pcd}    (optional: format "ply" or "pcd", LiDAR with labels)
    .coco_parts/NNNNNN.json        (per-frame COCO records, joined by finalize)
    manifest.jsonl, dataset.json

Each frame's files are written atomically; its manifest line is appended last, so a frame
missing from the manifest is one to (re)write on resume. ``finalize`` reads only the
manifest and the small per-frame parts, one at a time, so memory does not grow with the
number of frames. Shards (machines writing disjoint frame indices into their own folders)
are joined by :func:`merge_datasets`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from scenegen import __version__
from scenegen.frame import CLASS_NAMES, KITTI_TYPE, Frame
from scenegen.io import coco, kitti, yolo
from scenegen.io.atomic import (
    append_line,
    atomic_link_or_copy,
    atomic_write_bytes,
    is_temporary_name,
    remove_temporaries,
    sha256_file,
)
from scenegen.io.errors import DatasetWriteError
from scenegen.io.jsonable import dumps_compact
from scenegen.io.manifest import (
    MANIFEST_NAME,
    iter_manifest_lines,
    manifest_record,
    read_manifest,
    stem_problem,
    trim_torn_tail,
    verify_record,
)
from scenegen.io.png import encode_png
from scenegen.io.pointcloud import POINTCLOUD_FORMATS, pointcloud_bytes

FORMATS: tuple[str, ...] = ("kitti", "coco", "yolo")
DATASET_FORMAT_VERSION = 1
KITTI_DIR = "kitti/training"
COCO_PARTS_DIR = ".coco_parts"
POINTCLOUD_DIR = "pointcloud"  # optional LiDAR clouds: pointcloud/NNNNNN.{ply,pcd}
# What a dataset folder holds that DatasetWriter made (and overwrite may delete).
_OWNED_ENTRIES = (
    "kitti",
    "coco",
    "yolo",
    POINTCLOUD_DIR,
    COCO_PARTS_DIR,
    MANIFEST_NAME,
    "dataset.json",
)


def frame_stem(index: int) -> str:
    """File stem of frame ``index``: six digits, zero padded."""
    if index < 0:
        raise DatasetWriteError(f"frame index must be >= 0, got {index}")
    return f"{index:06d}"


class DatasetWriter:
    """Writes frames into ``out_dir`` in the chosen formats (see the module docstring).

    ``write_frame`` = ``write_frame_files`` + ``append_record``: a batch runner can write
    files in worker processes and append records in one parent process, in frame order.
    Writing into a folder that already has frames continues it; rewriting a frame replaces
    its files, and its newer manifest record wins.
    """

    def __init__(self, out_dir: Path, formats: Sequence[str] = FORMATS) -> None:
        unknown = sorted(set(formats) - set(FORMATS) - set(POINTCLOUD_FORMATS))
        if unknown or not set(formats) & set(FORMATS):
            raise DatasetWriteError(
                f"formats must be a non-empty subset of {FORMATS}, plus at most one of "
                f"{POINTCLOUD_FORMATS} for LiDAR point clouds; got {list(formats)}"
            )
        if len(set(formats) & set(POINTCLOUD_FORMATS)) > 1:
            raise DatasetWriteError(
                f"choose one point cloud format of {POINTCLOUD_FORMATS}, got {list(formats)}"
            )
        self.out_dir = Path(out_dir)
        self.formats = tuple(f for f in FORMATS + POINTCLOUD_FORMATS if f in formats)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._manifest_checked = False

    @classmethod
    def open(
        cls,
        out_dir: Path,
        formats: Sequence[str] = FORMATS,
        *,
        resume: bool = False,
        overwrite: bool = False,
        force: bool = False,
    ) -> DatasetWriter:
        """A writer for a new dataset, or for continuing (``resume``) or replacing
        (``overwrite``) an existing one. Without either, a folder that already holds a
        dataset is an error. ``overwrite`` deletes only what a dataset writer creates.
        A non-empty folder that is not a scenegen dataset is refused unless ``force``."""
        out_dir = Path(out_dir)
        if resume and overwrite:
            raise DatasetWriteError("choose resume or overwrite, not both")
        if out_dir.exists() and not out_dir.is_dir():
            raise DatasetWriteError(f"{out_dir} exists and is not a folder")
        has_dataset = any((out_dir / name).exists() for name in _OWNED_ENTRIES)
        made_here = (out_dir / MANIFEST_NAME).exists() or (out_dir / "dataset.json").exists()
        foreign = out_dir.is_dir() and not made_here and any(out_dir.iterdir())
        # (overwrite of a foreign folder with dataset sub-folders has its own error below)
        if foreign and not force and not (overwrite and has_dataset):
            raise DatasetWriteError(
                f"{out_dir} is not empty and is not a scenegen dataset; choose an empty or new "
                "folder, or pass --force to write into it anyway"
            )
        if has_dataset and overwrite:
            if not made_here:
                # kitti/, coco/ or yolo/ without a manifest may be someone's real data.
                raise DatasetWriteError(
                    f"{out_dir} holds dataset folders but no {MANIFEST_NAME}: not a scenegen "
                    "dataset, refusing to delete it"
                )
            for name in _OWNED_ENTRIES:
                target = out_dir / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        elif has_dataset and not resume:
            raise DatasetWriteError(f"{out_dir} already holds a dataset; resume it or overwrite it")
        writer = cls(out_dir, formats)
        trim_torn_tail(out_dir / MANIFEST_NAME)
        if resume:
            # Temporaries of frames a crash interrupted (their frames are redone).
            for name in _OWNED_ENTRIES:
                if (out_dir / name).is_dir():
                    remove_temporaries(out_dir / name)
            for entry in out_dir.iterdir():
                if entry.is_file() and is_temporary_name(entry.name):
                    entry.unlink()
        return writer

    def completed_indices(self) -> set[int]:
        """Indices of frames whose manifest record matches the files on disk (sha256)."""
        return {
            int(record["frame_index"])
            for record in read_manifest(self.out_dir)
            if not verify_record(self.out_dir, record)
        }

    def _write(self, relative: str, data: bytes, files: dict[str, str]) -> None:
        path = self.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        files[relative] = atomic_write_bytes(path, data)

    def _link(self, source_relative: str, relative: str, files: dict[str, str]) -> None:
        path = self.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_link_or_copy(self.out_dir / source_relative, path)
        files[relative] = files[source_relative]

    def write_frame(self, frame: Frame, index: int, stem: str | None = None) -> dict[str, Any]:
        """Write every file of frame ``index`` and append its manifest record (returned)."""
        record = self.write_frame_files(frame, index, stem)
        self.append_record(record)
        return record

    def append_record(self, record: dict[str, Any]) -> None:
        """Append a record from :meth:`write_frame_files` to ``manifest.jsonl``."""
        if not self._manifest_checked:
            trim_torn_tail(self.out_dir / MANIFEST_NAME)
            self._manifest_checked = True
        append_line(self.out_dir / MANIFEST_NAME, dumps_compact(record))

    def write_frame_files(
        self, frame: Frame, index: int, stem: str | None = None
    ) -> dict[str, Any]:
        """Write every file of frame ``index`` (not the manifest); returns its record.

        Files are named ``stem`` (default: the index, six digits), e.g. to keep a real
        frame's own id."""
        if stem is None:
            stem = frame_stem(index)
        elif stem_problem(stem):
            raise DatasetWriteError(f"frame {index}: {stem_problem(stem)}")
        kitti.check_frame(frame)
        files: dict[str, str] = {}
        if "kitti" in self.formats:
            for relative, data in kitti.kitti_frame_files(frame, stem).items():
                self._write(f"{KITTI_DIR}/{relative}", data, files)
            image = f"{KITTI_DIR}/image_2/{stem}.png"
        else:
            # The one real copy of the image lives where its first format wants it.
            folder = "yolo" if "yolo" in self.formats else "coco"
            image = f"{folder}/images/{stem}.png"
            self._write(image, encode_png(frame.rgb, rgb=True), files)
        if "yolo" in self.formats:
            if image != f"yolo/images/{stem}.png":
                self._link(image, f"yolo/images/{stem}.png", files)
            self._write(f"yolo/labels/{stem}.txt", yolo.label_text(frame).encode("ascii"), files)
        if "coco" in self.formats:
            file_name = os.path.relpath(self.out_dir / image, self.out_dir / "coco")
            part = coco.frame_part(frame, index, stem, Path(file_name).as_posix())
            self._write(f"{COCO_PARTS_DIR}/{stem}.json", part, files)
        for cloud_format in (f for f in self.formats if f in POINTCLOUD_FORMATS):
            if frame.points_lidar is not None:
                data = pointcloud_bytes(
                    frame.points_lidar,
                    cloud_format,
                    class_ids=frame.point_class_ids,
                    instance_ids=frame.point_instance_ids,
                    rings=frame.point_rings,
                )
                self._write(f"{POINTCLOUD_DIR}/{stem}.{cloud_format}", data, files)
        return manifest_record(frame, index, stem, files)

    def finalize(self, extra: dict[str, Any] | None = None) -> None:
        """Write ``coco/annotations.json``, ``yolo/data.yaml`` and ``dataset.json``."""
        manifest_path = self.out_dir / MANIFEST_NAME
        indices: dict[str, int] = {}  # frame_id -> index: small, whatever the frame count
        if manifest_path.exists():
            for record in iter_manifest_lines(manifest_path):
                indices[record["frame_id"]] = int(record["frame_index"])
        ordered = sorted(indices, key=lambda stem: (indices[stem], stem))
        if "coco" in self.formats:
            (self.out_dir / "coco").mkdir(parents=True, exist_ok=True)
            coco.assemble_annotations(
                (self.out_dir / COCO_PARTS_DIR / f"{stem}.json" for stem in ordered),
                self.out_dir / "coco" / "annotations.json",
                info={"description": "scenegen dataset", "version": __version__},
            )
        if "yolo" in self.formats:
            (self.out_dir / "yolo").mkdir(parents=True, exist_ok=True)
            text = yolo.data_yaml_text(self.out_dir / "yolo")
            atomic_write_bytes(self.out_dir / "yolo" / "data.yaml", text.encode("utf-8"))
        summary = {
            "format_version": DATASET_FORMAT_VERSION,
            "scenegen_version": __version__,
            "classes": list(CLASS_NAMES),
            "kitti_types": dict(KITTI_TYPE),
            "formats": list(self.formats),
            "num_frames": len(ordered),
            "creation": extra or {},
        }
        atomic_write_bytes(self.out_dir / "dataset.json", (dumps_compact(summary) + "\n").encode())


def _formats_of(records: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    found = set()
    for record in records:
        for relative in record.get("files", {}):
            top = relative.split("/", 1)[0]
            if top == POINTCLOUD_DIR:
                found.add(relative.rsplit(".", 1)[-1])
            else:
                found.add("coco" if top == COCO_PARTS_DIR else top)
    return tuple(f for f in FORMATS + POINTCLOUD_FORMATS if f in found)


def _inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused if a link makes it lead out of ``root``.

    (Manifest paths themselves are checked when the manifest is read.)"""
    path = root / relative
    resolved, top = path.resolve(), root.resolve()
    if not resolved.is_relative_to(top):
        raise DatasetWriteError(
            f"{path}: leads to {resolved}, outside {root} (through '..' or a symbolic link); "
            "refusing to read or write through it"
        )
    return path


def merge_datasets(
    shard_dirs: Sequence[Path], out_dir: Path, extra: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Join shard folders (disjoint frame indices) into ``out_dir`` and finalize it.

    Files are hard-linked where possible (copied otherwise). A path present in two places
    with different content is a collision and raises :class:`DatasetWriteError`; identical
    content (a shard merged twice) is accepted. Every shard file is checked against its
    manifest sha256 first. Returns the merged manifest records.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    trim_torn_tail(out_dir / MANIFEST_NAME)
    merged = {record["frame_id"]: record for record in read_manifest(out_dir)}
    shard_records = [(Path(shard), read_manifest(Path(shard))) for shard in shard_dirs]
    for shard, records in shard_records:
        for record in records:
            previous = merged.get(record["frame_id"])
            if previous is not None:
                if previous["files"] != record["files"]:
                    raise DatasetWriteError(
                        f"frame {record['frame_id']} of {shard} collides with a different "
                        f"frame of the same id already in {out_dir}"
                    )
                continue
            for relative, digest in sorted(record["files"].items()):
                source, target = _inside(shard, relative), _inside(out_dir, relative)
                if sha256_file(source) != digest:
                    raise DatasetWriteError(f"{source}: sha256 differs from {shard}'s manifest")
                if target.exists():
                    if sha256_file(target) != digest:
                        raise DatasetWriteError(f"{target}: exists with different content")
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_link_or_copy(source, target)
            append_line(out_dir / MANIFEST_NAME, dumps_compact(record))
            merged[record["frame_id"]] = record
    # Shards interleave frames (every N-th); the merged manifest lists them in frame order,
    # as one machine would have written it.
    ordered = sorted(merged.values(), key=lambda r: int(r["frame_index"]))
    atomic_write_bytes(
        out_dir / MANIFEST_NAME, "".join(dumps_compact(r) + "\n" for r in ordered).encode("utf-8")
    )
    formats = _formats_of(merged.values())
    if formats:
        DatasetWriter(out_dir, formats).finalize(extra)
    return read_manifest(out_dir)
