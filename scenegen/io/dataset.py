"""Writing a dataset folder in KITTI, COCO and YOLO at once, and merging shard folders.

Layout of ``OUT``::

    kitti/training/{image_2,label_2,calib,depth,instance,velodyne,labels,label_scenegen}/
    kitti/ImageSets/{train,val,trainval,test}.txt   (with a split)
    kitti_tracking/training/...   (frames of sequences, with kitti: see scenegen.io.tracking)
    coco/images/, coco/annotations.json   (file_name images/NNNNNN.png; images hard-linked)
    coco/annotations_{train,val,test}.json           (with a split)
    yolo/{images,labels}/, yolo/data.yaml   (images hard-linked to the KITTI PNGs)
    yolo/{train,val,test}.txt                        (with a split)
    pointcloud/NNNNNN.{ply,pcd}    (optional: format "ply" or "pcd", LiDAR with labels)
    manifest.jsonl, dataset.json

Every path inside the folder is relative (no file names the folder itself), so a dataset
can be copied or moved and two renders of the same frames into different folders are
byte-identical. Each frame's files are written atomically; its manifest line is appended
last, so a frame missing from the manifest is one to (re)write on resume. A frame's COCO
image and annotations travel in its manifest record (``"coco"``); ``finalize`` joins them
into ``annotations.json`` reading one record at a time, so memory does not grow with the
number of frames, and a finished folder holds no scratch files. Shards (machines writing
disjoint frame indices into their own folders)
are joined by :func:`merge_datasets`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from scenegen import __version__
from scenegen.errors import InvalidInputError
from scenegen.frame import CLASS_NAMES, KITTI_TYPE, Frame
from scenegen.io import coco, kitti, tracking, yolo
from scenegen.io.atomic import (
    append_line,
    atomic_link_or_copy,
    atomic_write_bytes,
    is_temporary_name,
    remove_temporaries,
    sha256_file,
)
from scenegen.io.errors import DatasetReadError, DatasetWriteError, OutputFolderError
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
from scenegen.io.splits import SPLIT_NAMES, SplitSpec, assign_splits

FORMATS: tuple[str, ...] = ("kitti", "coco", "yolo")
DATASET_FORMAT_VERSION = 1
KITTI_DIR = "kitti/training"
COCO_PARTS_DIR = ".coco_parts"  # per-frame COCO files of datasets written before 0.2
POINTCLOUD_DIR = "pointcloud"  # optional LiDAR clouds: pointcloud/NNNNNN.{ply,pcd}
# What a dataset folder holds that DatasetWriter made (and overwrite may delete).
_OWNED_ENTRIES = (
    "kitti",
    "coco",
    "yolo",
    POINTCLOUD_DIR,
    COCO_PARTS_DIR,
    "kitti_tracking",
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
        check_output_folder(out_dir, resume=resume, overwrite=overwrite, force=force)
        if overwrite and (
            (out_dir / MANIFEST_NAME).exists() or (out_dir / "dataset.json").exists()
        ):
            for name in _OWNED_ENTRIES:
                target = out_dir / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        writer = cls(out_dir, formats)
        trim_torn_tail(out_dir / MANIFEST_NAME)
        if resume:
            # Temporaries of frames a crash interrupted (their frames are redone).
            writer.remove_temporaries()
        return writer

    def remove_temporaries(self) -> None:
        """Delete what interrupted writes left (``.NAME.tmp-PID``); only call it while no
        worker writes into this folder."""
        for name in _OWNED_ENTRIES:
            if (self.out_dir / name).is_dir():
                remove_temporaries(self.out_dir / name)
        for entry in self.out_dir.iterdir():
            if entry.is_file() and is_temporary_name(entry.name):
                entry.unlink()

    def completed_indices(self) -> set[int]:
        """Indices of frames whose manifest record matches the files on disk (sha256)."""
        return completed_frame_indices(self.out_dir)

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
            if "sequence" in frame.meta:
                for target, source in tracking.frame_links(frame, stem).items():
                    self._link(f"{KITTI_DIR}/{source}", target, files)
                for relative, data in tracking.frame_files(frame).items():
                    self._write(relative, data, files)
        else:
            # The one real copy of the image lives where its first format wants it.
            folder = "yolo" if "yolo" in self.formats else "coco"
            image = f"{folder}/images/{stem}.png"
            self._write(image, encode_png(frame.rgb, rgb=True), files)
        if "yolo" in self.formats:
            if image != f"yolo/images/{stem}.png":
                self._link(image, f"yolo/images/{stem}.png", files)
            self._write(f"yolo/labels/{stem}.txt", yolo.label_text(frame).encode("ascii"), files)
        coco_part = None
        if "coco" in self.formats:
            # coco/ stands on its own: its own (linked) images, file names inside it.
            if image != f"coco/images/{stem}.png":
                self._link(image, f"coco/images/{stem}.png", files)
            coco_part = coco.frame_part(frame, index, stem, f"images/{stem}.png")
        for cloud_format in (f for f in self.formats if f in POINTCLOUD_FORMATS):
            if frame.points is not None:
                data = pointcloud_bytes(frame.points, cloud_format)
                self._write(f"{POINTCLOUD_DIR}/{stem}.{cloud_format}", data, files)
        record = manifest_record(frame, index, stem, files)
        if coco_part is not None:
            record["coco"] = coco_part
        if "kitti" in self.formats and "sequence" in frame.meta:
            record["kitti_tracking"] = tracking.record_part(frame)
        return record

    def finalize(
        self,
        extra: dict[str, Any] | None = None,
        *,
        split: SplitSpec | None = None,
        coco_masks: str = "rle",
    ) -> dict[str, list[str]] | None:
        """Write ``coco/annotations*.json``, ``yolo/data.yaml``, the split lists and
        ``dataset.json``, and delete scratch files (temporaries of interrupted writes);
        returns split name -> frame ids (``None`` without a split).

        With ``split`` the frames are assigned by :func:`assign_splits` and each format
        gets its own convention: KITTI ``ImageSets/{train,val,trainval,test}.txt`` (frame
        ids), YOLO ``{train,val,test}.txt`` image lists named in ``data.yaml``, COCO one
        ``annotations_{name}.json`` per split beside the whole ``annotations.json``.
        ``coco_masks`` is ``rle`` or ``polygon`` (see :func:`coco.assemble_annotations`).
        """
        manifest_path = self.out_dir / MANIFEST_NAME
        # frame_id -> what a split needs, and the byte offset of its latest record (small,
        # whatever the frame count); last line wins.
        records: dict[str, dict[str, Any]] = {}
        self._offsets: dict[str, int] = {}
        if manifest_path.exists():
            for offset, record in _manifest_offsets(manifest_path):
                records[record["frame_id"]] = {key: record.get(key) for key in _SPLIT_KEYS}
                self._offsets[record["frame_id"]] = offset
        ordered = sorted(records, key=lambda stem: (int(records[stem]["frame_index"]), stem))
        splits = assign_splits(records.values(), split) if split is not None else None
        _remove_split_files(self.out_dir)
        if "kitti" in self.formats and splits is not None:
            (self.out_dir / KITTI_IMAGE_SETS).mkdir(parents=True, exist_ok=True)
            for name, text in kitti.image_sets(splits).items():
                atomic_write_bytes(self.out_dir / KITTI_IMAGE_SETS / name, text.encode("ascii"))
        if "kitti" in self.formats and manifest_path.exists():
            tracking.write_sequences(self.out_dir, read_manifest(self.out_dir))
        if "coco" in self.formats:
            self._assemble_coco("annotations.json", ordered, coco_masks)
            for name, stems in (splits or {}).items():
                self._assemble_coco(f"annotations_{name}.json", stems, coco_masks)
        if "yolo" in self.formats:
            (self.out_dir / "yolo").mkdir(parents=True, exist_ok=True)
            lists = {name: f"{name}.txt" for name in splits} if splits is not None else None
            for name, stems in (splits or {}).items():
                text = yolo.image_list_text(stems)
                atomic_write_bytes(self.out_dir / "yolo" / f"{name}.txt", text.encode("ascii"))
            text = yolo.data_yaml_text(lists)
            atomic_write_bytes(self.out_dir / "yolo" / "data.yaml", text.encode("utf-8"))
        summary = {
            "format_version": DATASET_FORMAT_VERSION,
            "scenegen_version": __version__,
            "classes": list(CLASS_NAMES),
            "kitti_types": dict(KITTI_TYPE),
            "formats": list(self.formats),
            "num_frames": len(ordered),
            "split": None if split is None else split.to_json(),
            "split_frames": None if splits is None else {k: len(v) for k, v in splits.items()},
            "coco_masks": coco_masks if "coco" in self.formats else None,
            "creation": extra or {},
        }
        atomic_write_bytes(self.out_dir / "dataset.json", (dumps_compact(summary) + "\n").encode())
        self.remove_temporaries()
        return splits

    def _assemble_coco(self, name: str, stems: Sequence[str], masks: str) -> None:
        (self.out_dir / "coco").mkdir(parents=True, exist_ok=True)
        offsets = [self._offsets[stem] for stem in stems]
        coco.assemble_annotations(
            lambda: self._coco_parts(self.out_dir / MANIFEST_NAME, offsets),
            self.out_dir / "coco" / name,
            info={"description": "scenegen dataset", "version": __version__},
            masks=masks,
        )

    def _coco_parts(self, manifest_path: Path, offsets: Sequence[int]) -> Iterator[dict]:
        """The COCO part of the record at each byte offset of the manifest, in order."""
        with manifest_path.open("rb") as f:
            for offset in offsets:
                f.seek(offset)
                record = json.loads(f.readline())
                part = record.get("coco")
                if part is None:  # written before parts moved into the manifest
                    part = coco.read_part(
                        self.out_dir / COCO_PARTS_DIR / f"{record['frame_id']}.json"
                    )
                yield part


def _manifest_offsets(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(byte offset, record)`` of each complete manifest line, in file order."""
    with path.open("rb") as f:
        offset = 0
        for number, raw in enumerate(f, start=1):
            start, offset = offset, offset + len(raw)
            if not raw.endswith(b"\n"):
                return  # torn last line of an interrupted append
            if not raw.strip():
                continue
            try:
                yield start, json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DatasetReadError(path, f"line {number}: not JSON ({exc.msg})") from None


def check_output_folder(
    out_dir: Path, *, resume: bool = False, overwrite: bool = False, force: bool = False
) -> None:
    """Refuse, with :class:`OutputFolderError`, an output folder that cannot be used as
    asked; reads the folder only. Without ``resume`` or ``overwrite`` a folder that already
    holds a dataset is refused; a non-empty folder that is not a scenegen dataset is
    refused unless ``force``; ``overwrite`` never deletes what is not a scenegen dataset."""
    out_dir = Path(out_dir)
    if resume and overwrite:
        raise OutputFolderError("--resume and --overwrite: choose one, not both")
    for parent in (out_dir, *out_dir.parents):
        if parent.exists():
            if not parent.is_dir():
                raise OutputFolderError(
                    f"--out {out_dir}: {parent} is a file, not a folder; choose another --out"
                )
            break
    if not out_dir.is_dir():
        return
    has_dataset = any((out_dir / name).exists() for name in _OWNED_ENTRIES)
    made_here = (out_dir / MANIFEST_NAME).exists() or (out_dir / "dataset.json").exists()
    if has_dataset and overwrite and not made_here:
        # kitti/, coco/ or yolo/ without a manifest may be someone's real data.
        raise OutputFolderError(
            f"{out_dir} holds dataset folders but no {MANIFEST_NAME}: not a scenegen dataset, "
            "refusing to delete it with --overwrite; choose another --out"
        )
    if not made_here and any(out_dir.iterdir()) and not force:
        raise OutputFolderError(
            f"{out_dir} is not empty and is not a scenegen dataset; choose an empty or new "
            "folder, or pass --force to write into it anyway"
        )
    if has_dataset and not (resume or overwrite):
        raise OutputFolderError(
            f"{out_dir} already holds a dataset; pass --resume to render the frames it lacks, "
            "or --overwrite to replace it"
        )


def completed_frame_indices(out_dir: Path) -> set[int]:
    """Indices of the frames in ``out_dir`` whose files match their manifest (sha256)."""
    return {
        int(record["frame_index"])
        for record in read_manifest(out_dir)
        if not verify_record(out_dir, record)
    }


_SPLIT_KEYS = ("frame_id", "frame_index", "seed", "scenario_name", "sweep_cell")
KITTI_IMAGE_SETS = "kitti/ImageSets"


def _remove_split_files(out_dir: Path) -> None:
    """Split files of an earlier finalize (the split may have changed or gone)."""
    stale = [
        *(out_dir / KITTI_IMAGE_SETS).glob("*.txt"),
        *(out_dir / "coco").glob("annotations_*.json"),
    ]
    stale += [out_dir / "yolo" / f"{name}.txt" for name in SPLIT_NAMES]
    for path in stale:
        if path.is_file():
            path.unlink()


def formats_of(records: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    found = set()
    for record in records:
        for relative in record.get("files", {}):
            top = relative.split("/", 1)[0]
            if top == POINTCLOUD_DIR:
                found.add(relative.rsplit(".", 1)[-1])
            else:
                found.add("coco" if top == COCO_PARTS_DIR else top)
        if "coco" in record:
            found.add("coco")
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
    shard_dirs: Sequence[Path],
    out_dir: Path,
    extra: dict[str, Any] | None = None,
    *,
    overwrite: bool = False,
    allow_missing: bool = False,
) -> list[dict[str, Any]]:
    """Join shard folders (disjoint frame indices) into a new dataset ``out_dir``.

    Files are hard-linked where possible (copied otherwise), each checked against its
    shard's manifest sha256 first. Refused with :class:`MergeError`: a shard given twice
    (or two shards holding the same frame), and, unless ``allow_missing``, an incomplete
    set (shards of ``--shard K/N`` absent, or frames missing from the shards given).
    The shards' split and COCO mask format (``dataset.json``) must agree and are kept.
    ``out_dir`` must be new or empty; ``overwrite`` replaces a scenegen dataset there.
    Returns the merged manifest records.
    """
    out_dir = Path(out_dir)
    shards = [Path(shard) for shard in shard_dirs]
    if (out_dir / MANIFEST_NAME).exists() and not overwrite:
        raise OutputFolderError(
            f"{out_dir} already holds a dataset; pass --overwrite to replace it"
        )
    check_output_folder(out_dir, overwrite=overwrite)
    split, coco_masks = _shared_layout(shards)  # before any copy
    _check_merge_inputs(shards, out_dir, allow_missing)
    DatasetWriter.open(out_dir, FORMATS, overwrite=overwrite)  # clears what overwrite replaces
    merged: dict[str, dict[str, Any]] = {}
    for shard in shards:
        for record in read_manifest(shard):
            for relative, digest in sorted(record["files"].items()):
                source, target = _inside(shard, relative), _inside(out_dir, relative)
                if sha256_file(source) != digest:
                    raise DatasetWriteError(f"{source}: sha256 differs from {shard}'s manifest")
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
    formats = formats_of(merged.values())
    if formats:
        DatasetWriter(out_dir, formats).finalize(extra, split=split, coco_masks=coco_masks)
    return read_manifest(out_dir)


class MergeError(DatasetWriteError, InvalidInputError):
    """The shards given to merge do not make one dataset (given twice, overlapping or
    incomplete)."""


def _check_merge_inputs(shards: Sequence[Path], out_dir: Path, allow_missing: bool) -> None:
    """Refuse shards given twice, overlapping shards and (unless ``allow_missing``) an
    incomplete set, naming the shards and frames concerned; reads manifests only."""
    if not shards:
        raise MergeError("no shard folders given")
    seen: dict[Path, Path] = {}
    for shard in shards:
        if not (shard / MANIFEST_NAME).is_file():
            raise MergeError(f"{shard}: no {MANIFEST_NAME}, not a scenegen dataset")
        resolved = shard.resolve()
        if resolved in seen:
            raise MergeError(f"{shard}: given twice (also as {seen[resolved]})")
        if resolved == out_dir.resolve():
            raise MergeError(f"{shard}: is the --out folder itself; merge into a new folder")
        seen[resolved] = shard
    owner: dict[int, Path] = {}
    for shard in shards:
        for record in read_manifest(shard):
            index = int(record["frame_index"])
            if index in owner:
                raise MergeError(
                    f"frame {record['frame_id']} is in both {owner[index]} and {shard}: "
                    "the same shard twice, or shards of different renders"
                )
            owner[index] = shard
    if allow_missing:
        return
    problems = []
    layouts = {_shard_layout(shard) for shard in shards}
    if len(layouts) == 1 and None not in layouts:
        ((n, total),) = layouts
        given = {_shard_number(shard) for shard in shards}
        absent = [f"{k}/{n}" for k in range(1, n + 1) if k not in given]
        if absent:
            problems.append(f"shard(s) {', '.join(absent)} not given")
        expected = range(total)
    else:
        expected = range(max(owner) + 1 if owner else 0)
    missing = [i for i in expected if i not in owner]
    if missing:
        shown = ", ".join(frame_stem(i) for i in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        problems.append(f"{len(missing)} frame(s) missing: {shown}{more}")
    if problems:
        raise MergeError(
            f"the shards do not make a complete dataset: {'; '.join(problems)}; render the "
            "missing shards (or finish them with --resume), or pass --allow-missing"
        )


def _creation(shard: Path) -> dict[str, Any]:
    try:
        summary = json.loads((shard / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    creation = summary.get("creation") if isinstance(summary, dict) else None
    return creation if isinstance(creation, dict) else {}


def _shard_number(shard: Path) -> int | None:
    kn = _creation(shard).get("shard")
    return int(kn[0]) if isinstance(kn, list) and len(kn) == 2 else None


def _shard_layout(shard: Path) -> tuple[int, int] | None:
    """``(N, frames of the whole dataset)`` recorded by ``render --shard K/N``, if any."""
    creation = _creation(shard)
    kn, total = creation.get("shard"), creation.get("dataset_frames")
    if isinstance(kn, list) and len(kn) == 2 and isinstance(total, int):
        return int(kn[1]), total
    return None


def read_layout(folder: Path) -> tuple[SplitSpec | None, str]:
    """The split and COCO mask format a dataset was finalized with (from ``dataset.json``;
    no split and RLE masks when it has none or predates them)."""
    path = Path(folder) / "dataset.json"
    if not path.exists():
        return None, "rle"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        stored = summary.get("split")
        split = None
        if stored is not None:
            fractions = tuple((str(k), float(v)) for k, v in stored["fractions"].items())
            split = SplitSpec(fractions, str(stored["by"]))
        return split, str(summary.get("coco_masks") or "rle")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetReadError(path, f"unreadable: {exc}") from None
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise DatasetReadError(path, f"split: expected fractions and by: {exc}") from None


def read_split(folder: Path) -> dict[str, list[str]] | None:
    """Split name -> frame ids of a finalized dataset (``None`` without a split), decided
    again from its manifest and recorded split, as finalize decided it."""
    split, _ = read_layout(folder)
    if split is None:
        return None
    latest = {r["frame_id"]: r for r in iter_manifest_lines(Path(folder) / MANIFEST_NAME)}
    return assign_splits(latest.values(), split)


def _shared_layout(shard_dirs: Sequence[Path]) -> tuple[SplitSpec | None, str]:
    """The layout every shard was finalized with (shards of one render agree)."""
    layouts = {shard: read_layout(shard) for shard in shard_dirs}
    distinct = set(layouts.values())
    if len(distinct) > 1:
        listed = "; ".join(f"{shard}: {layout}" for shard, layout in layouts.items())
        raise DatasetWriteError(f"shards were written with different splits or masks: {listed}")
    return distinct.pop() if distinct else (None, "rle")
