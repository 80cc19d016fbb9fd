"""Atomic writes: a failed write never leaves a torn file under its final name, nor temporaries."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from scenegen.frame import Calibration, CameraIntrinsics, Frame, ObjectLabel
from scenegen.io import DatasetWriter, read_manifest, verify_manifest
from scenegen.io.atomic import append_line, atomic_stream, atomic_write_bytes
from scenegen.io.errors import DatasetWriteError
from scenegen.io.manifest import MANIFEST_NAME


def _names(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _temporaries(folder: Path) -> list[str]:
    return [name for name in _names(folder) if ".tmp-" in name]


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def small_frame(meta: dict | None = None) -> Frame:
    intrinsics = CameraIntrinsics(32, 24, 30.0, 30.0, 16.0, 12.0)
    calibration = Calibration(intrinsics, np.eye(4), np.eye(4))
    rgb = np.arange(32 * 24 * 3, dtype=np.uint32).reshape(24, 32, 3).astype(np.uint8)
    box = np.array([2.0, 3.0, 12.5, 20.25], dtype=np.float32)
    return Frame("tiny", rgb, calibration, objects=[ObjectLabel("car", 1, box)], meta=meta or {})


def test_successful_write_replaces_the_old_file(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")
    digest = atomic_write_bytes(path, b"new content")
    assert path.read_bytes() == b"new content"
    assert digest == hashlib.sha256(b"new content").hexdigest()
    assert _names(tmp_path) == {"file.bin"}


def test_encoding_error_midway_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_text("previous")
    unencodable = {"images": list(range(100_000)), "bad": object()}
    with pytest.raises(TypeError), atomic_stream(path) as sink:
        sink.write('{"images":')
        sink.write(json.dumps(unencodable["images"]))  # a lot written already...
        sink.write(json.dumps(unencodable["bad"]))  # ...then encoding fails
    assert path.read_text() == "previous"
    assert _names(tmp_path) == {"annotations.json"}


@pytest.mark.parametrize("failing_call", ["write", "fsync"])
def test_disk_full_leaves_no_final_file_and_no_temporary(tmp_path, monkeypatch, failing_call):
    path = tmp_path / "image.png"
    with monkeypatch.context() as patch:
        patch.setattr(os, failing_call, _enospc)
        with pytest.raises(OSError) as caught:
            atomic_write_bytes(path, b"x" * 5000)
    assert caught.value.errno == errno.ENOSPC
    assert not path.exists()
    assert _names(tmp_path) == set()


def test_frame_interrupted_by_full_disk_is_absent_from_manifest_then_resumed(tmp_path, monkeypatch):
    frame = small_frame()
    writer = DatasetWriter(tmp_path)
    writer.write_frame(frame, 0)
    real_write, calls = os.write, {"n": 0}

    def write_until_full(fd, data):
        calls["n"] += 1
        if calls["n"] > 2:  # two files of frame 1 get written, then the disk is full
            _enospc()
        return real_write(fd, data)

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", write_until_full)
        with pytest.raises(OSError):
            writer.write_frame(frame, 1)
    assert [r["frame_id"] for r in read_manifest(tmp_path)] == ["000000"]
    assert _temporaries(tmp_path) == []
    resumed = DatasetWriter.open(tmp_path, resume=True)
    assert resumed.completed_indices() == {0}
    resumed.write_frame(frame, 1)
    assert resumed.completed_indices() == {0, 1}
    assert verify_manifest(tmp_path) == {}


def test_unencodable_frame_raises_project_error_without_leftovers(tmp_path):
    writer = DatasetWriter(tmp_path)
    with pytest.raises(DatasetWriteError, match="meta"):
        writer.write_frame(small_frame(meta={"handle": object()}), 0)
    assert _temporaries(tmp_path) == []
    assert read_manifest(tmp_path) == []
    assert not (tmp_path / "kitti/training/label_scenegen/000000.json").exists()


def test_torn_manifest_line_is_ignored_then_trimmed(tmp_path):
    writer = DatasetWriter(tmp_path)
    writer.write_frame(small_frame(), 0)
    with (tmp_path / MANIFEST_NAME).open("a") as f:
        f.write('{"frame_id":"000001","frame_ind')  # a crash in the middle of an append
    assert [r["frame_id"] for r in read_manifest(tmp_path)] == ["000000"]
    resumed = DatasetWriter.open(tmp_path, resume=True)
    resumed.write_frame(small_frame(), 1)
    lines = (tmp_path / MANIFEST_NAME).read_text().splitlines()
    assert [json.loads(line)["frame_id"] for line in lines] == ["000000", "000001"]


def test_append_line_rejects_embedded_newlines(tmp_path):
    with pytest.raises(ValueError, match="single line"):
        append_line(tmp_path / "m.jsonl", "a\nb")


def test_yolo_image_falls_back_to_a_copy_without_hard_links(tmp_path, monkeypatch):
    def no_links(source, target):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "link", no_links)
    DatasetWriter(tmp_path).write_frame(small_frame(), 0)
    kitti_png = tmp_path / "kitti/training/image_2/000000.png"
    yolo_png = tmp_path / "yolo/images/000000.png"
    assert yolo_png.read_bytes() == kitti_png.read_bytes()
    assert yolo_png.stat().st_ino != kitti_png.stat().st_ino
    assert _temporaries(tmp_path) == []


def test_frame_with_unknown_class_is_refused_before_any_file(tmp_path):
    frame = small_frame()
    frame.objects[0].class_name = "ufo"
    with pytest.raises(DatasetWriteError, match="unknown class 'ufo'"):
        DatasetWriter(tmp_path).write_frame(frame, 0)
    assert _names(tmp_path) == set()
