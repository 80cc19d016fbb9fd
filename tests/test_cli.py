"""The command line as a user runs it: real processes, real files, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO

SMALL = """\
version: 1
name: small
sensors:
  camera: {width: 320, height: 96, fov_deg: 90}
  lidar: false
actors:
  - {class: car, count: 3}
"""


def scenegen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scenegen.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_validate_reports_each_bad_file_with_position(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(SMALL)
    bad_key = tmp_path / "bad_key.yaml"
    bad_key.write_text("version: 1\nname: x\nroad:\n  lanez: 2\n")
    bad_expr = tmp_path / "bad_expr.yaml"
    bad_expr.write_text("version: 1\nname: x\nego:\n  speed_m_s: uniform(5,\n")
    result = scenegen("validate", str(good), str(bad_key), str(bad_expr))
    assert result.returncode == 2
    assert f"{bad_key}:4:3: road.lanez:" in result.stderr
    assert str(bad_expr) + ":" in result.stderr
    assert "ok" in result.stdout and "good.yaml" in result.stdout
    assert "Traceback" not in result.stderr


def test_validate_accepts_every_example():
    result = scenegen("validate", *sorted(str(p) for p in (REPO / "scenarios").glob("*.yaml")))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr  # standard YAML throughout


def test_validate_warns_about_legacy_unquoted_expressions(tmp_path):
    legacy = tmp_path / "legacy.yaml"
    legacy.write_text("version: 1\nname: x\nactors:\n  - {class: car, count: randint(1, 3)}\n")
    result = scenegen("validate", str(legacy))
    assert result.returncode == 0, result.stderr  # still read as meant
    assert result.stderr.startswith(f"warning: {legacy}:4:25: actors[0].count: unquoted")
    assert 'expected it quoted: "randint(1, 3)"' in result.stderr


def test_schema_is_a_valid_json_schema():
    result = scenegen("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_render_then_preview_then_refuse_to_clobber(tmp_path, gl_backend):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    out = tmp_path / "out"
    result = scenegen(
        "render", str(scenario), "--frames", "3", "--seed", "1", "--out", str(out), "--workers", "1"
    )
    assert result.returncode == 0, result.stderr
    assert "3 frames rendered" in result.stdout
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert len(list((out / "kitti" / "training" / "image_2").glob("*.png"))) == 3
    preview = scenegen("preview", str(out), "--output", str(tmp_path / "sheet.png"))
    assert preview.returncode == 0, preview.stderr
    assert (tmp_path / "sheet.png").stat().st_size > 1000
    # A second render into the same dataset needs --resume or --overwrite.
    again = scenegen("render", str(scenario), "--frames", "3", "--out", str(out))
    assert again.returncode == 2
    assert "--resume" in again.stderr and "--overwrite" in again.stderr
    resumed = scenegen(
        "render", str(scenario), "--frames", "3", "--seed", "1", "--out", str(out), "--resume"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "nothing to render: all 3 frames" in resumed.stdout


def test_render_refuses_a_foreign_non_empty_folder(tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    result = scenegen("render", str(scenario), "--frames", "1", "--out", str(foreign))
    assert result.returncode == 2
    assert "not a scenegen dataset" in result.stderr and "--force" in result.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["thesis.tex"]


@pytest.mark.parametrize("bad", ["--shard", "--formats"])
def test_bad_options_are_clear(tmp_path, bad):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    value = {"--shard": "3/2", "--formats": "kitti,voc"}[bad]
    result = scenegen("render", str(scenario), bad, value, "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert bad in result.stderr
    assert "Traceback" not in result.stderr


def test_doctor_names_the_working_backend():
    result = scenegen("doctor")
    assert result.returncode == 0, result.stderr
    assert "works" in result.stdout
    assert "render will use" in result.stdout


def test_render_split_then_convert_and_resplit(tmp_path, gl_backend):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    out = tmp_path / "out"
    result = scenegen(
        "render", str(scenario), "--frames", "5", "--seed", "2", "--out", str(out),
        "--split", "train=0.6,val=0.4", "--coco-masks", "polygon", "--workers", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "split: train 3, val 2" in result.stdout
    assert len((out / "kitti/ImageSets/val.txt").read_text().split()) == 2
    converted = tmp_path / "yolo_only"
    result = scenegen("convert", str(out), "--out", str(converted), "--formats", "yolo")
    assert result.returncode == 0, result.stderr
    # Without --split the source's split is kept.
    assert (converted / "yolo/val.txt").read_text() == (out / "yolo/val.txt").read_text()
    assert not (converted / "kitti").exists()
    resplit = scenegen("convert", str(out), "--out", str(out), "--split", "train=0.8,val=0.2")
    assert resplit.returncode == 0, resplit.stderr
    assert "split: train 4, val 1" in resplit.stdout
    assert len((out / "yolo/val.txt").read_text().split()) == 1
    in_place = scenegen("convert", str(out), "--out", str(out), "--formats", "yolo")
    assert in_place.returncode == 1 and "only the split can change" in in_place.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split", "train=0.9,val=0.2"], "sum to 1"),
        (["--split", "train=1"], "at least train and val"),
        (["--split-by", "scenario"], "--split-by needs --split"),
        (["--coco-masks", "bitmap"], "expected rle or polygon"),
    ],
)
def test_render_and_convert_refuse_bad_layout_options(tmp_path, args, message):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    for command in (["render", str(scenario)], ["convert", str(tmp_path)]):
        result = scenegen(*command, "--out", str(tmp_path / "out"), *args)
        assert result.returncode == 2, (command, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr


def test_convert_refuses_what_is_not_a_dataset(tmp_path):
    result = scenegen("convert", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 1 and "not a scenegen dataset" in result.stderr
