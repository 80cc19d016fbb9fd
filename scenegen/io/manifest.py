"""``manifest.jsonl``: one JSON line per written frame, the dataset's table of contents.

A record holds the frame's identity (``frame_id`` = file stem, ``frame_index``,
``source_frame_id``), where it came from (``scenario_name``, ``seed``, ``params``,
``events``, ``sweep_cell`` taken from ``Frame.meta`` under those keys, as SceneSpec names
them; a frame of a sequence adds ``sequence``: its id, frame, time, ego pose and velocity,
and ``tracks``: track id, class, box and velocity of each object), what it contains (``objects_per_class``, ``object_events``,
``dropped_objects``) and the sha256 of every file written for it (``files``: path relative
to the dataset folder -> hex digest).

Lines are appended as frames finish, so after a resume or a crash the same frame may appear
twice (the last line wins) and the very last line may be torn (ignored).

Manifests travel between machines (shards, merges), so they are read as untrusted data: a
record whose ``frame_id`` is not a plain file stem, or whose file paths are absolute or
climb out with ``..``, is refused before anything opens such a path.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from scenegen.frame import CLASS_NAMES, Frame
from scenegen.io.atomic import sha256_file
from scenegen.io.errors import DatasetReadError
from scenegen.io.jsonable import to_jsonable

MANIFEST_NAME = "manifest.jsonl"
_FILE_STEM = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def manifest_record(frame: Frame, index: int, stem: str, files: dict[str, str]) -> dict[str, Any]:
    """The manifest record of a frame written as ``stem`` with ``files`` (path -> sha256)."""
    meta = frame.meta
    counts = {name: 0 for name in CLASS_NAMES}
    for obj in frame.objects:
        counts[obj.class_name] += 1
    record = {
        "frame_id": stem,
        "frame_index": int(index),
        "source_frame_id": frame.frame_id,
        "scenario_name": meta.get("scenario_name"),
        "seed": meta.get("seed"),
        "params": meta.get("params", {}),
        "events": meta.get("events", []),
        "sweep_cell": meta.get("sweep_cell", {}),
        "objects_per_class": counts,
        "object_events": sorted({obj.event for obj in frame.objects if obj.event}),
        "num_objects": len(frame.objects),
        "dropped_objects": int(frame.dropped_objects),
        "files": dict(sorted(files.items())),
    }
    # The quality gate's report (scenegen.quality) and, when it replaced the frame, how.
    if "quality" in meta:
        record["quality"] = meta["quality"]
    if "gate" in meta:
        record["gate"] = meta["gate"]
    if "sequence" in meta:  # a frame of a sequence: its place in it and its tracks
        record["sequence"] = meta["sequence"]
        record["tracks"] = [
            {
                "track_id": int(obj.instance_id),
                "class_name": obj.class_name,
                "event": obj.event,
                "box_2d": obj.box_2d,
                "velocity_cam_m_s": obj.velocity_cam_m_s,
            }
            for obj in frame.objects
        ]
    return to_jsonable(record)


def iter_manifest_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a manifest file in file order, duplicates included.

    A final line without its newline is a torn append and is skipped; any other
    unparsable line raises :class:`DatasetReadError`.
    """
    with Path(path).open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                return  # torn last line of an interrupted append
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DatasetReadError(path, f"line {number}: invalid JSON: {exc}") from None
            if not isinstance(record, dict) or "frame_id" not in record:
                raise DatasetReadError(path, f"line {number}: expected a record with frame_id")
            problem = record_problem(record)
            if problem:
                raise DatasetReadError(path, f"line {number}: {problem}")
            yield record


def relative_path_problem(relative: object) -> str | None:
    """Why ``relative`` is not a safe dataset-relative path (``None`` if it is one).

    Safe: a non-empty POSIX path of plain names, not absolute (on POSIX or Windows),
    without ``..``, ``.``, empty segments, backslashes or NUL bytes.
    """
    if not isinstance(relative, str) or not relative:
        return "is not a non-empty string"
    if "\0" in relative or "\\" in relative:
        return "contains a NUL byte or a backslash"
    if PurePosixPath(relative).is_absolute() or PureWindowsPath(relative).anchor:
        return "is absolute"
    parts = relative.split("/")
    if ".." in parts:
        return "climbs out of the dataset folder with '..'"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' segment"
    return None


def stem_problem(stem: object) -> str | None:
    """Why ``stem`` cannot name a frame's files (``None`` if it can): frame ids must be plain
    file stems of letters, digits, ``_``, ``.`` and ``-``, not starting with ``.`` or ``-``."""
    if not isinstance(stem, str) or not _FILE_STEM.fullmatch(stem):
        return f"frame_id {stem!r} is not a plain file stem (letters, digits, _ . -)"
    return None


def record_problem(record: dict[str, Any]) -> str | None:
    """Why a manifest record cannot be trusted (``None`` if it is well formed)."""
    problem = stem_problem(record.get("frame_id"))
    if problem:
        return problem
    index = record.get("frame_index", 0)
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        return f"frame_index {index!r} is not an integer >= 0"
    files = record.get("files", {})
    if not isinstance(files, dict):
        return "files is not a mapping of path -> sha256"
    for relative, digest in files.items():
        problem = relative_path_problem(relative)
        if problem:
            return f"file {relative!r} {problem}; expected a path inside the dataset folder"
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            return f"file {relative!r}: {digest!r} is not a sha256 hex digest"
    return None


def read_manifest(out_dir: Path) -> list[dict[str, Any]]:
    """The frames of a dataset folder: the last record per ``frame_id``, by frame index.

    An absent manifest means an empty dataset.
    """
    path = Path(out_dir) / MANIFEST_NAME
    if not path.exists():
        return []
    latest: dict[str, dict[str, Any]] = {}
    for record in iter_manifest_lines(path):
        latest[record["frame_id"]] = record
    return sorted(latest.values(), key=lambda r: (r.get("frame_index", 0), r["frame_id"]))


def trim_torn_tail(path: Path) -> None:
    """Cut a manifest back to its last complete line (after an interrupted append)."""
    path = Path(path)
    if not path.exists():
        return
    with path.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        data = path.read_bytes()
        f.truncate(data.rfind(b"\n") + 1)
        f.flush()
        os.fsync(f.fileno())


def verify_record(out_dir: Path, record: dict[str, Any]) -> list[str]:
    """Problems with one frame's files on disk (missing, or sha256 differs); empty if good."""
    problems = []
    for relative, expected in sorted(record.get("files", {}).items()):
        path = Path(out_dir) / relative
        if not path.is_file():
            problems.append(f"{relative}: missing")
        elif sha256_file(path) != expected:
            problems.append(f"{relative}: sha256 differs from the manifest")
    return problems


def verify_manifest(out_dir: Path) -> dict[str, list[str]]:
    """``frame_id -> problems`` for every frame whose files do not match the manifest."""
    report = {}
    for record in read_manifest(out_dir):
        problems = verify_record(out_dir, record)
        if problems:
            report[record["frame_id"]] = problems
    return report
