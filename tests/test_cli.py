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
    assert again.returncode == 1
    assert "resume it or overwrite it" in again.stderr
    resumed = scenegen(
        "render", str(scenario), "--frames", "3", "--seed", "1", "--out", str(out), "--resume"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "3 already complete" in resumed.stdout


def test_render_refuses_a_foreign_non_empty_folder(tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    result = scenegen("render", str(scenario), "--frames", "1", "--out", str(foreign))
    assert result.returncode == 1
    assert "not a scenegen dataset" in result.stderr
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
