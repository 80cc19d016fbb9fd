"""augment_dataset: KITTI-C layout, manifest, read-only inputs, bad files reported."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from scenegen.augment.run import augment_dataset, resolve_corruptions
from scenegen.io import read_kitti_frame, read_manifest


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_run_writes_one_dataset_per_corruption_and_severity_and_leaves_inputs_alone(
    kitti_root, tmp_path
) -> None:
    before = _hashes(kitti_root)
    out = tmp_path / "out"
    summary = augment_dataset(
        kitti_root.parent, "kitti", "fog,lidar_beam_missing", "1,5", out, seed=7
    )
    assert _hashes(kitti_root) == before
    assert summary.ok and summary.frames_read == 3 and summary.frames_written == 3 * 2 * 2
    for name in ("fog", "lidar_beam_missing"):
        for s in (1, 5):
            root = out / name / str(s) / "kitti" / "training"
            assert len(list((root / "image_2").glob("*.png"))) == 3
            records = read_manifest(out / name / str(s))
            assert {r["source_frame_id"] for r in records} == {"000000", "000001", "000003"}
            assert all(r["seed"] == 7 and r["params"]["corruption"] == name for r in records)
            assert all(r["params"]["severity"] == s and r["params"]["source_file"] for r in records)
    # fog changes the image and keeps the labels; beam loss changes only the scan
    clean = read_kitti_frame(kitti_root, "000001")
    fogged = read_kitti_frame(out / "fog" / "5" / "kitti" / "training", "000001")
    assert not np.array_equal(fogged.rgb, clean.rgb)
    assert [o.box_2d.tolist() for o in fogged.objects] == [o.box_2d.tolist() for o in clean.objects]
    beams = read_kitti_frame(out / "lidar_beam_missing" / "5" / "kitti" / "training", "000001")
    assert np.array_equal(beams.rgb, clean.rgb)
    assert len(beams.points) < 0.5 * len(clean.points)
    assert sum(o.lidar_points for o in beams.objects) < sum(o.lidar_points for o in clean.objects)
    # same seed, same bytes
    again = tmp_path / "again"
    augment_dataset(kitti_root.parent, "kitti", "fog", "5", again, seed=7)
    assert _hashes(again / "fog" / "5" / "kitti") == _hashes(out / "fog" / "5" / "kitti")
    run = json.loads((out / "augment.json").read_text())
    assert run["failed"] == [] and run["seed"] == 7


def test_bad_inputs_are_reported_and_skipped(kitti_root, tmp_path) -> None:
    root = tmp_path / "kitti" / "training"
    shutil.copytree(kitti_root, root)
    for p in root.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    for i in range(4, 8):  # four more frames, copies of 000001, to break in four ways
        for sub, ext in (
            ("image_2", "png"),
            ("calib", "txt"),
            ("label_2", "txt"),
            ("velodyne", "bin"),
        ):
            shutil.copy(root / sub / f"000001.{ext}", root / sub / f"00000{i}.{ext}")
    png = root / "image_2" / "000004.png"
    png.write_bytes(png.read_bytes()[:2000])  # truncated PNG
    binary = root / "velodyne" / "000005.bin"
    binary.write_bytes(binary.read_bytes()[:-7])  # truncated scan
    label = root / "label_2" / "000006.txt"
    label.write_text("Car 0.00 0 1.55 614.24 181.78 727.31 284.77 1.57 1.73 4.15\n")
    (root / "calib" / "000007.txt").unlink()
    summary = augment_dataset(tmp_path / "kitti", "kitti", "night", "2", tmp_path / "out", seed=0)
    failed = {Path(f).name: reason for f, reason in summary.failed}
    assert set(failed) == {"000004.png", "000005.bin", "000006.txt", "000007.txt"}
    assert "truncated" in failed["000005.bin"]
    assert "15 fields" in failed["000006.txt"]
    assert "missing" in failed["000007.txt"]
    assert summary.frames_read == 3 and not summary.ok
    written = sorted(
        p.name
        for p in (tmp_path / "out" / "night" / "2" / "kitti" / "training" / "image_2").iterdir()
    )
    assert len(written) == 3


def test_corruption_groups() -> None:
    assert len(resolve_corruptions("imagenet-c")) == 15
    assert "fog" in resolve_corruptions("all") and "lidar_crosstalk" in resolve_corruptions("all")
    with pytest.raises(Exception, match="unknown corruption"):
        resolve_corruptions("fogg")


def test_cli_exit_status_says_some_inputs_failed(kitti_root, tmp_path) -> None:
    from typer.testing import CliRunner

    from scenegen.cli import app

    root = tmp_path / "kitti" / "training"
    shutil.copytree(kitti_root, root)
    (root / "calib" / "000003.txt").chmod(0o644)
    (root / "calib" / "000003.txt").unlink()
    result = CliRunner().invoke(
        app,
        [
            "augment",
            str(tmp_path / "kitti"),
            "--format",
            "kitti",
            "--corruptions",
            "ic_contrast",
            "--severities",
            "1",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert (
        tmp_path / "out" / "ic_contrast" / "1" / "kitti" / "training" / "image_2" / "000000.png"
    ).exists()
