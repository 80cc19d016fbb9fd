"""torch is optional: without it scenegen renders, writes and augments; the harness says what
to install.

Each command runs in a fresh interpreter whose ``sitecustomize`` puts a finder on
``sys.meta_path`` that refuses ``torch`` and its submodules, as a machine without torch would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

BLOCKER = """\
import sys


class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoTorch())
"""

SCENARIO = """\
version: 1
name: no_torch
sensors:
  camera: {width: 320, height: 96, fov_deg: 90}
  lidar: {preset: vlp16, azimuth_steps: 360}
environment:
  weather: {fog: {visibility_m: 80}}
actors:
  - {class: car, count: 2}
"""


@pytest.fixture(scope="module")
def without_torch(tmp_path_factory: pytest.TempPathFactory):
    """Run ``python -m scenegen.cli ARGS`` (or ``python -c CODE``) with torch unimportable."""
    blocker = tmp_path_factory.mktemp("no_torch")
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker), str(REPO)]))

    def run(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
        command = ["-c", code] if code is not None else ["-m", "scenegen.cli", *args]
        return subprocess.run(
            [sys.executable, *command], capture_output=True, text=True, env=env, timeout=300
        )

    return run


def test_the_blocker_really_hides_torch(without_torch):
    result = without_torch(code="import torch")
    assert result.returncode != 0
    assert "No module named 'torch'" in result.stderr


def test_render_write_and_augment_run_without_torch(tmp_path, without_torch):
    scenario = tmp_path / "scene.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "data"
    rendered = without_torch(
        "render", str(scenario), "--frames", "2", "--seed", "3", "--out", str(out),
        "--workers", "1", "--formats", "kitti,coco,yolo", "--pointcloud", "ply",
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(records) == 2
    for record in records:  # every listed file exists: images, labels, scans, point clouds
        assert any(name.startswith("kitti/training/velodyne/") for name in record["files"])
        assert any(name.startswith("pointcloud/") for name in record["files"])
        assert all((out / name).is_file() for name in record["files"])
    assert (out / "coco" / "annotations.json").is_file()

    augmented = tmp_path / "augmented"
    result = without_torch(
        "augment", str(out / "kitti"), "--corruptions", "fog,lidar_beam_missing",
        "--severities", "3", "--out", str(augmented), "--seed", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in ("fog", "lidar_beam_missing"):
        images = list((augmented / name / "3" / "kitti" / "training" / "image_2").glob("*.png"))
        assert len(images) == 2


def test_the_harness_names_what_to_install(tmp_path, without_torch):
    config = tmp_path / "bench.yaml"
    config.write_text("train: {scenarios: [scenarios/night_jaywalker.yaml]}\n")
    result = without_torch("bench", str(config), "--out", str(tmp_path / "report"))
    assert result.returncode == 1
    assert "pip install 'scenegen[harness]'" in result.stderr
    assert "Traceback" not in result.stderr
    imported = without_torch(code="import scenegen.harness.dataset")
    assert imported.returncode != 0
    assert "MissingDependencyError" in imported.stderr and "scenegen[harness]" in imported.stderr


def test_only_the_harness_extra_declares_torch():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(dep.startswith("torch") for dep in project["dependencies"])
    assert any(dep.startswith("torch") for dep in project["optional-dependencies"]["harness"])
    assert "scenegen[harness]" in project["optional-dependencies"]["test"]


def test_setup_script_refuses_unknown_options_before_installing_anything():
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "setup.sh"), "--torch"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        "usage: bash scripts/setup.sh [--harness] [--test] [--torchvision] [--onnx] [--search] [--warp]"
        in result.stderr
    )


def test_the_core_imports_without_onnxruntime():
    # Rendering, the harness and the adapter module itself need no onnxruntime; only
    # loading an ONNX model does (tests/test_harness_adapters.py checks its message).
    code = (
        "import sys; sys.modules['onnxruntime'] = None; "
        "import scenegen.pipeline, scenegen.harness.bench, scenegen.harness.adapters"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
