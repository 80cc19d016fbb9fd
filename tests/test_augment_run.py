"""augment_dataset: KITTI-C layout, manifest, read-only inputs, bad files reported."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from scenegen.augment.run import AugmentError, augment_dataset, resolve_corruptions
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
    assert len(beams.points_lidar) < 0.5 * len(clean.points_lidar)
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
    failed = {f.path: f for f in summary.failed}
    assert set(failed) == {
        root / "image_2" / "000004.png",
        root / "velodyne" / "000005.bin",
        root / "label_2" / "000006.txt",
        root / "calib" / "000007.txt",
    }
    by_id = {f.frame_id: f for f in summary.failed}
    assert by_id["000004"].part == "image"
    assert by_id["000005"].part == "LiDAR scan" and "truncated" in by_id["000005"].reason
    assert by_id["000006"].part == "labels" and "15 fields" in by_id["000006"].reason
    assert by_id["000007"].part == "calibration" and "missing" in by_id["000007"].reason
    assert summary.frames_read == 3 and not summary.ok
    written = sorted(
        p.name
        for p in (tmp_path / "out" / "night" / "2" / "kitti" / "training" / "image_2").iterdir()
    )
    assert written == ["000000.png", "000001.png", "000003.png"]
    run = json.loads((tmp_path / "out" / "augment.json").read_text())
    assert {(f["frame_id"], f["part"]) for f in run["failed"]} == {
        ("000004", "image"),
        ("000005", "LiDAR scan"),
        ("000006", "labels"),
        ("000007", "calibration"),
    }


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


def _renamed_kitti(kitti_root: Path, training: Path) -> dict[str, str]:
    """A copy of the real frames under KITTI ids that are not 0..n-1: new id -> original."""
    names = {"000002": "000000", "000008": "000001", "002155": "000003"}
    for sub, ext in (("image_2", "png"), ("calib", "txt"), ("label_2", "txt"), ("velodyne", "bin")):
        (training / sub).mkdir(parents=True)
        for new, old in names.items():
            shutil.copy(kitti_root / sub / f"{old}.{ext}", training / sub / f"{new}.{ext}")
    return names


def test_output_frames_keep_the_input_ids_and_image_2_is_accepted(kitti_root, tmp_path) -> None:
    training = tmp_path / "in" / "training"
    names = _renamed_kitti(kitti_root, training)
    out = tmp_path / "out"
    summary = augment_dataset(training / "image_2", "auto", "ic_brightness", "1", out, seed=3)
    assert summary.ok and summary.frames_read == 3
    written = out / "ic_brightness" / "1" / "kitti" / "training"
    for sub in ("image_2", "calib", "label_2", "velodyne"):
        assert sorted(p.stem for p in (written / sub).iterdir()) == sorted(names)
    for new, old in names.items():
        original, corrupted = read_kitti_frame(kitti_root, old), read_kitti_frame(written, new)
        # calib, labels and scan matched by name: the same camera, boxes and points
        np.testing.assert_allclose(corrupted.calibration.P2, original.calibration.P2)
        np.testing.assert_allclose(
            corrupted.calibration.T_cam_from_lidar, original.calibration.T_cam_from_lidar, atol=1e-9
        )
        assert [o.box_2d.tolist() for o in corrupted.objects] == [
            o.box_2d.tolist() for o in original.objects
        ]
        np.testing.assert_array_equal(corrupted.points_lidar, original.points_lidar)
        assert corrupted.rgb.shape == original.rgb.shape
    records = read_manifest(out / "ic_brightness" / "1")
    assert [(r["frame_id"], r["source_frame_id"]) for r in records] == [
        ("000002", "000002"),
        ("000008", "000008"),
        ("002155", "002155"),
    ]
    assert records[1]["params"]["source_file"] == str(training / "image_2" / "000008.png")


def test_resume_keeps_complete_frames_and_redoes_the_rest(kitti_root, tmp_path) -> None:
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    args = (kitti_root.parent, "kitti", "ic_contrast", "1,2")
    augment_dataset(*args, fresh, seed=5)
    augment_dataset(*args, out, seed=5)
    with pytest.raises(AugmentError, match=r"--resume.*--overwrite"):
        augment_dataset(*args, out, seed=5)
    damaged = out / "ic_contrast" / "2" / "kitti" / "training" / "image_2" / "000001.png"
    damaged.write_bytes(b"torn")  # sha256 no longer matches the manifest
    summary = augment_dataset(*args, out, seed=5, resume=True)
    assert (summary.frames_kept, summary.frames_read, summary.frames_written) == (2, 1, 1)
    # the same files as one uninterrupted run; the manifest holds the redone frame twice
    # (the last record wins, as after `render --resume`)
    assert _hashes(out / "ic_contrast" / "2" / "kitti") == _hashes(
        fresh / "ic_contrast" / "2" / "kitti"
    )
    assert _hashes(out / "ic_contrast" / "1") == _hashes(fresh / "ic_contrast" / "1")
    assert read_manifest(out / "ic_contrast" / "2") == read_manifest(fresh / "ic_contrast" / "2")
    again = augment_dataset(*args, out, seed=5, resume=True)
    assert (again.frames_kept, again.frames_written) == (3, 0)
    with pytest.raises(AugmentError, match="seed"):
        augment_dataset(*args, out, seed=6, resume=True)


def test_imagecorruptions_names_are_aliases_and_typos_get_suggestions() -> None:
    assert resolve_corruptions("gaussian_noise,frost,glass_blur,ic_frost") == [
        "ic_gaussian_noise",
        "ic_frost",
        "ic_glass_blur",
    ]
    assert resolve_corruptions("fog,snow") == ["fog", "snow"]  # scenegen's physical models
    with pytest.raises(AugmentError, match="did you mean 'gaussian_noise'"):
        resolve_corruptions("gausian_noise")
    with pytest.raises(AugmentError, match="did you mean 'imagenet-c'"):
        resolve_corruptions("imagenet_c")


def _run_cli(*args: str):
    from typer.testing import CliRunner

    from scenegen.cli import app

    return CliRunner().invoke(app, ["augment", *map(str, args)], env={"COLUMNS": "40"})


def test_cli_lists_failed_frames_with_their_full_path(kitti_root, tmp_path) -> None:
    deep = tmp_path / "a_rather_long_folder_name_for_a_dataset" / "kitti" / "training"
    shutil.copytree(kitti_root, deep)
    png = deep / "image_2" / "000003.png"
    png.chmod(0o644)
    png.write_bytes(png.read_bytes()[:900])
    result = _run_cli(deep / "image_2", "-c", "frost", "-s", "1", "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    line = next(line for line in result.output.splitlines() if "000003" in line and "image" in line)
    assert f"{png}: corrupt image" in line
    assert (tmp_path / "out" / "ic_frost" / "1" / "kitti" / "training" / "image_2").is_dir()
    again = _run_cli(deep, "-c", "frost", "-s", "1", "--out", tmp_path / "out")
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = _run_cli(deep, "-c", "frost", "-s", "1", "--out", tmp_path / "out", "--resume")
    assert resumed.exit_code == 1 and "2 already complete" in resumed.output
    typo = _run_cli(deep, "-c", "frots", "--out", tmp_path / "o2")
    assert typo.exit_code == 2 and "did you mean 'frost'" in typo.output
