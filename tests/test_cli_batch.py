"""`render`, `merge`, `validate` and `--help` as a user runs them: exit codes, messages,
what lands on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

SMALL = """\
version: 1
name: small
sensors:
  camera: {width: 160, height: 64, fov_deg: 90}
  lidar: false
actors:
  - {class: car, count: 2}
"""


def scenegen(*args: object, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scenegen.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def _render(scenario: Path, out: Path, *extra: object) -> subprocess.CompletedProcess:
    return scenegen("render", scenario, "--frames", 2, "--seed", 3, "--out", out, *extra)


def _hidden(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if any(part.startswith(".") for part in p.relative_to(root).parts)
    )


# ------------------------------------------------------------------ invalid input: exit 2


def test_unknown_gl_backend_is_invalid_input(scenario, tmp_path):
    result = _render(scenario, tmp_path / "out", "--gl", "vulkan")
    assert result.returncode == 2
    assert "--gl 'vulkan'" in result.stderr and "auto, egl, osmesa" in result.stderr
    assert "GL:" not in result.stderr  # refused before probing any backend
    assert not (tmp_path / "out").exists()


def test_output_folder_is_checked_before_gl_and_names_the_options(scenario, tmp_path, gl_backend):
    out = tmp_path / "out"
    assert _render(scenario, out).returncode == 0
    again = _render(scenario, out)
    assert again.returncode == 2
    assert "already holds a dataset" in again.stderr
    assert "--resume" in again.stderr and "--overwrite" in again.stderr
    # The only thing printed is the refusal: no GL probe line, no progress bar.
    assert again.stderr.startswith("error:") and "GL:" not in again.stderr


def test_out_below_a_file_is_refused_without_claiming_kept_frames(scenario, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _render(scenario, blocker / "x")
    assert result.returncode == 2
    assert f"{blocker} is a file, not a folder" in result.stderr
    assert "kept" not in result.stderr and "Traceback" not in result.stderr


def test_resume_and_overwrite_together_is_invalid_input(scenario, tmp_path):
    result = _render(scenario, tmp_path / "out", "--resume", "--overwrite")
    assert result.returncode == 2
    assert "--resume and --overwrite" in result.stderr


def test_ray_options_need_the_ray_engine(scenario, tmp_path):
    result = _render(scenario, tmp_path / "out", "--ray-gpus-per-task", "0.5")
    assert result.returncode == 2
    assert "--ray-gpus-per-task needs --engine ray" in result.stderr


# ------------------------------------------------------------------ render outcomes


def test_resume_with_nothing_left_prints_one_line(scenario, tmp_path, gl_backend):
    out = tmp_path / "out"
    assert _render(scenario, out).returncode == 0
    result = _render(scenario, out, "--resume")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"nothing to render: all 2 frames in {out} are complete"]
    assert "frames/s" not in result.stdout + result.stderr


def test_a_finished_dataset_holds_no_scratch_files(scenario, tmp_path, gl_backend):
    out = tmp_path / "out"
    result = _render(scenario, out, "--workers", 2)
    assert result.returncode == 0, result.stderr
    assert _hidden(out) == []  # no .coco_parts/, no .NAME.tmp-PID
    annotations = json.loads((out / "coco" / "annotations.json").read_text())
    assert [image["file_name"] for image in annotations["images"]] == [
        "images/000000.png",
        "images/000001.png",
    ]
    # ... and resuming it still finds every frame complete (the COCO parts live in the
    # manifest records, not in files that finishing removed).
    assert "nothing to render" in _render(scenario, out, "--resume").stdout


# ------------------------------------------------------------------ merge


@pytest.fixture
def shards(scenario, tmp_path, gl_backend) -> list[Path]:
    folders = []
    for k in (1, 2):
        folder = tmp_path / f"shard{k}"
        result = scenegen(
            "render", scenario, "--frames", 4, "--seed", 3, "--shard", f"{k}/2", "--out", folder
        )
        assert result.returncode == 0, result.stderr
        folders.append(folder)
    return folders


def test_merge_refuses_the_same_shard_twice(shards, tmp_path):
    result = scenegen("merge", shards[0], shards[0], "--out", tmp_path / "m")
    assert result.returncode == 2
    assert "given twice" in result.stderr
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(shards[0]), str(copy)], check=True)
    result = scenegen("merge", shards[0], copy, "--out", tmp_path / "m")
    assert result.returncode == 2
    assert f"frame 000000 is in both {shards[0]} and {copy}" in result.stderr
    assert not (tmp_path / "m").exists()


def test_merge_names_missing_shards_and_frames(shards, tmp_path):
    result = scenegen("merge", shards[0], "--out", tmp_path / "m")
    assert result.returncode == 2
    assert "shard(s) 2/2 not given" in result.stderr
    assert "2 frame(s) missing: 000001, 000003" in result.stderr
    assert "--allow-missing" in result.stderr
    allowed = scenegen("merge", shards[0], "--out", tmp_path / "m", "--allow-missing")
    assert allowed.returncode == 0, allowed.stderr
    assert "2 frames" in allowed.stdout


def test_merge_refuses_an_existing_dataset_without_overwrite(shards, tmp_path):
    merged = tmp_path / "m"
    first = scenegen("merge", *shards, "--out", merged)
    assert first.returncode == 0, first.stderr
    assert "4 frames" in first.stdout
    assert _hidden(merged) == []
    lines = (merged / "manifest.jsonl").read_text().splitlines()
    indices = [json.loads(line)["frame_index"] for line in lines]
    assert indices == [0, 1, 2, 3]
    # The merged COCO file is the one an unsharded render writes.
    whole = tmp_path / "whole"
    assert scenegen("render", shards[0].parent / "small.yaml", "--frames", 4, "--seed", 3,
                    "--out", whole).returncode == 0  # fmt: skip
    assert (merged / "coco" / "annotations.json").read_bytes() == (
        whole / "coco" / "annotations.json"
    ).read_bytes()
    again = scenegen("merge", *shards, "--out", merged)
    assert again.returncode == 2
    assert "already holds a dataset" in again.stderr and "--overwrite" in again.stderr
    replaced = scenegen("merge", *shards, "--out", merged, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr


# ------------------------------------------------------------------ validate, help


def test_validate_accepts_folders(tmp_path):
    result = scenegen("validate", REPO / "scenarios")
    assert result.returncode == 0, result.stderr
    examples = sorted((REPO / "scenarios").glob("*.yaml"))
    assert len(examples) > 1
    assert all(str(path) in result.stdout for path in examples)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "good.yaml").write_text(SMALL)
    (folder / "bad.yaml").write_text("version: 1\nname: x\nroad:\n  lanez: 2\n")
    mixed = scenegen("validate", folder)
    assert mixed.returncode == 2
    assert f"{folder / 'bad.yaml'}:4:3: road.lanez:" in mixed.stderr
    assert "1 of 2 file(s) invalid" in mixed.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = scenegen("validate", empty)
    assert none.returncode == 2
    assert "without *.yaml" in none.stderr


def test_help_shows_flags_as_flags_and_arguments_by_name():
    render = scenegen("render", "--help")
    assert render.returncode == 0
    assert "--resume" in render.stdout and "--overwrite" in render.stdout
    assert "<bool>" not in render.stdout and "<list" not in render.stdout
    assert "SCENARIOS..." in render.stdout
    merge = scenegen("merge", "--help")
    assert "SHARDS..." in merge.stdout and "--allow-missing" in merge.stdout
    assert "Dataset folders rendered with --shard K/N." in merge.stdout
    assert "<list[Path]>" not in merge.stdout
