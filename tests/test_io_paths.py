"""Paths from untrusted manifests and shard folders cannot make scenegen read or write
outside the dataset folder; ``..`` in ``--out`` stays where the path says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scenegen.batch.plan import plan_batch
from scenegen.batch.runner import render_batch
from scenegen.frame import Calibration, CameraIntrinsics, Frame, ObjectLabel
from scenegen.io import (
    DatasetReadError,
    DatasetWriteError,
    DatasetWriter,
    merge_datasets,
    read_manifest,
)
from scenegen.io.manifest import MANIFEST_NAME, relative_path_problem


def small_frame() -> Frame:
    intrinsics = CameraIntrinsics(32, 24, 30.0, 30.0, 16.0, 12.0)
    rgb = np.arange(32 * 24 * 3, dtype=np.uint32).reshape(24, 32, 3).astype(np.uint8)
    box = np.array([2.0, 3.0, 12.5, 20.25], dtype=np.float32)
    return Frame(
        "tiny",
        rgb,
        Calibration(intrinsics, np.eye(4), np.eye(4)),
        objects=[ObjectLabel("car", 1, box)],
    )


def _shard(folder: Path, indices: tuple[int, ...] = (0, 1)) -> Path:
    writer = DatasetWriter(folder)
    for index in indices:
        writer.write_frame(small_frame(), index)
    writer.finalize()
    return folder


def _edit_manifest(folder: Path, edit) -> None:
    manifest = folder / MANIFEST_NAME
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    edit(records[-1])
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records))


def _escape_files(record: dict) -> None:
    # The attacker's file, with a matching hash, placed where the path leads.
    record["files"]["../../evil.txt"] = record["files"].pop("yolo/labels/000001.txt")


CRAFTED = {
    "parent folders": (_escape_files, "climbs out"),
    "absolute path": (
        lambda r: r["files"].update({"/tmp/scenegen-evil.txt": "0" * 64}),
        "is absolute",
    ),
    "windows drive": (lambda r: r["files"].update({"C:/evil.txt": "0" * 64}), "is absolute"),
    "backslashes": (
        lambda r: r["files"].update({"kitti\\..\\..\\evil.txt": "0" * 64}),
        "backslash",
    ),
    "frame id": (lambda r: r.update(frame_id="../../000001"), "frame_id"),
    "not a digest": (lambda r: r["files"].update({"a.txt": "x; rm -rf /"}), "sha256"),
    "negative index": (lambda r: r.update(frame_index=-5), "frame_index"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_manifest_is_refused_by_merge_and_by_resume(name, tmp_path):
    edit, reason = CRAFTED[name]
    shard = _shard(tmp_path / "work" / "shard")
    (tmp_path / "evil.txt").write_bytes((shard / "yolo/labels/000001.txt").read_bytes())
    _edit_manifest(shard, edit)
    merged = tmp_path / "work" / "merged"
    with pytest.raises(DatasetReadError, match=f"manifest.jsonl: line 2: .*{reason}"):
        merge_datasets([shard], merged)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.txt", "work"]
    assert not (merged / "evil.txt").exists() and not (tmp_path / "work" / "evil.txt").exists()
    with pytest.raises(DatasetReadError, match=reason):
        DatasetWriter.open(shard, resume=True).completed_indices()


def test_safe_relative_paths():
    assert relative_path_problem("kitti/training/image_2/000000.png") is None
    for bad in ("", "..", "a/../../b", "/etc/passwd", "a//b", "./a", "a\0b", "C:\\x", 3):
        assert relative_path_problem(bad) is not None, bad


def test_merge_refuses_a_shard_file_that_links_outside(tmp_path):
    shard = _shard(tmp_path / "shard")
    secret = tmp_path / "secret.txt"
    label = shard / "yolo/labels/000001.txt"
    secret.write_bytes(label.read_bytes())  # same bytes, so the hash check alone passes
    label.unlink()
    label.symlink_to(secret)
    with pytest.raises(DatasetWriteError, match="outside"):
        merge_datasets([shard], tmp_path / "merged")


def test_merge_refuses_to_write_through_a_link_out_of_the_target(tmp_path):
    shard = _shard(tmp_path / "shard")
    merged, elsewhere = tmp_path / "merged", tmp_path / "elsewhere"
    merged.mkdir()
    elsewhere.mkdir()
    (merged / "yolo").symlink_to(elsewhere, target_is_directory=True)
    # A folder holding anything but a scenegen dataset is refused before any write.
    with pytest.raises(DatasetWriteError, match="not a scenegen dataset"):
        merge_datasets([shard], merged)
    assert list(elsewhere.iterdir()) == []


def test_out_with_parent_segments_writes_only_where_it_resolves(tmp_path, gl_backend):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "version: 1\nname: paths\nsensors:\n  camera: {width: 64, height: 32, fov_deg: 90}\n"
        "  lidar: false\n"
    )
    (tmp_path / "a").mkdir()
    before = set(tmp_path.rglob("*"))
    out = tmp_path / "a" / ".." / "b" / "." / "c"
    render_batch(plan_batch([scenario], 2, 0), out, lidar=False)
    target = tmp_path / "b" / "c"
    written = set(tmp_path.rglob("*")) - before - {tmp_path / "b", target}
    assert len(read_manifest(target)) == 2
    outside = [p for p in written if not p.resolve().is_relative_to(target)]
    assert written and outside == []
    assert list((tmp_path / "a").iterdir()) == []
