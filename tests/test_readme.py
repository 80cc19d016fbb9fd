"""Every code block of README.md works as written.

Python blocks run one by one in a fresh interpreter, in a folder laid out as the README
assumes: the repository's `scenarios/`, a demo dataset at `out/demo` (also `OUT`, rendered
with a train/val split) and the real KITTI frames at `data/kitti`. A block that imports a
library this environment lacks (torchvision, detectron2) is skipped naming it. YAML blocks
must parse; every `scenegen ...` line of a bash block must be accepted by the command's
own option parser (running them all would take hours).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, SHARED_DATA

README = REPO / "README.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[tuple[int, str]]:
    text = README.read_text()
    return [
        (text[: m.start()].count("\n") + 1, m.group(2))
        for m in FENCE.finditer(text)
        if m.group(1) == language
    ]


def missing_module(code: str) -> str | None:
    for node in ast.walk(ast.parse(code)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if importlib.util.find_spec(top) is None:
                return top
    return None


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, gl_backend) -> Path:
    kitti = SHARED_DATA / "kitti"
    if not kitti.is_dir():
        pytest.skip(f"real KITTI frames not found at {kitti} (the shared data folder is absent)")
    root = tmp_path_factory.mktemp("readme")
    (root / "scenarios").symlink_to(REPO / "scenarios")
    (root / "data").mkdir()
    (root / "data" / "kitti").symlink_to(kitti)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "scenegen.cli",
            "render",
            "scenarios/clear_day_urban.yaml",
            "--frames",
            "4",
            "--out",
            "out/demo",
            "--split",
            "train=0.5,val=0.5",
            "--workers",
            "1",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    (root / "OUT").symlink_to(root / "out" / "demo")
    return root


PYTHON_BLOCKS = blocks("python")


@pytest.mark.parametrize(
    "line, code", PYTHON_BLOCKS, ids=[f"line{line}" for line, _ in PYTHON_BLOCKS]
)
def test_python_block_runs(line, code, workdir):
    absent = missing_module(code)
    if absent:
        pytest.skip(f"README.md:{line} needs {absent!r}, which is not installed here")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=workdir, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, f"README.md:{line}\n{result.stderr[-3000:]}"


def test_yaml_blocks_parse():
    found = blocks("yaml")
    assert found
    for line, code in found:
        assert isinstance(yaml.safe_load(code), dict), f"README.md:{line}"


def scenegen_lines() -> list[tuple[int, list[str]]]:
    commands = []
    for line, code in blocks("bash"):
        for offset, text in enumerate(code.splitlines()):
            text = text.split(" #")[0].strip()
            for part in re.split(r"&&|;|\|", text):
                words = shlex.split(part)
                if words and words[0].endswith("scenegen"):
                    commands.append((line + 1 + offset, words[1:]))
    return commands


def test_every_scenegen_command_line_parses():
    import click
    import typer.main

    from scenegen.cli import app

    group = typer.main.get_command(app)
    lines = scenegen_lines()
    assert len(lines) >= 5
    for line, args in lines:
        try:
            group.make_context("scenegen", list(args), resilient_parsing=False)
            command = group.get_command(None, args[0])
            assert command is not None, f"README.md:{line}: no command {args[0]!r}"
            command.make_context(args[0], list(args[1:]))
        except click.exceptions.Exit:
            pass
        except click.UsageError as exc:
            pytest.fail(f"README.md:{line}: scenegen {' '.join(args)}: {exc}")
