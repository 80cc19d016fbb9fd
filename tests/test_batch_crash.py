"""Crashes and full disks lose nothing: a batch killed with SIGKILL, or stopped by a full or
read-only disk, keeps its completed frames, shows no torn file under a final name, and
``--resume`` ends byte-identical to an uninterrupted run.

"No torn file" means, at the moment the run died: every file under a final name is
byte-identical to the same file of an uninterrupted run (frames whose manifest line was
not written yet included), every complete manifest line is the uninterrupted run's record,
and anything else is a temporary ``.NAME.tmp-PID``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

from scenegen.io.atomic import is_temporary_name
from scenegen.io.manifest import MANIFEST_NAME, read_manifest

TINY = """\
version: 1
name: tiny-crash
sensors:
  camera: {width: 320, height: 96, fov_deg: 90}
  lidar: false
actors:
  - {class: car, count: randint(1, 5)}
  - {class: cyclist, count: randint(0, 2)}
"""
FRAMES, SEED = 12, 9
# Written by finalize from the manifest.
_FINALIZED = {"dataset.json", "coco/annotations.json", "yolo/data.yaml"}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def reference(scenario, tmp_path_factory, gl_backend) -> Path:
    """The uninterrupted run."""
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch

    out = tmp_path_factory.mktemp("reference") / "out"
    render_batch(plan_batch([scenario], FRAMES, SEED), out, lidar=False)
    return out


def resume_in_process(scenario: Path, out: Path) -> None:
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch

    plan = plan_batch([scenario], FRAMES, SEED)
    summary = render_batch(plan, out, lidar=False, resume=True)
    assert summary.frames + summary.skipped_existing == FRAMES


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def assert_identical(out: Path, reference: Path) -> None:
    got, want = _files(out), _files(reference)
    assert sorted(got) == sorted(want)
    assert [name for name in want if got[name] != want[name]] == []


def assert_nothing_torn(out: Path, reference: Path) -> int:
    """Check the invariant of the module docstring; return the frames in the manifest."""
    want = _files(reference)
    reference_records = {r["frame_id"]: r for r in read_manifest(reference)}
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        if not path.is_file() or is_temporary_name(path.name) or relative == MANIFEST_NAME:
            continue
        if relative in _FINALIZED:  # only once every frame is done
            continue
        assert path.read_bytes() == want[relative], f"{relative} is torn or differs"
    manifest = out / MANIFEST_NAME
    lines = manifest.read_bytes().split(b"\n")[:-1] if manifest.exists() else []
    for line in lines:  # complete lines only; a torn last line is allowed
        record = json.loads(line)
        assert record == reference_records[record["frame_id"]]
    return len(lines)


def scenegen(*args: str | Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "scenegen.cli", *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill reaches the workers too
        **kwargs,
    )


def render_args(scenario: Path, out: Path, *extra: str) -> list[str | Path]:
    return [
        "render",
        scenario,
        "--frames",
        str(FRAMES),
        "--seed",
        str(SEED),
        "--no-lidar",
        "--out",
        out,
        *extra,
    ]


def kill_after(process: subprocess.Popen, manifest: Path, frames: int) -> None:
    """SIGKILL ``process`` and its workers as soon as ``manifest`` lists ``frames`` frames."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if manifest.exists() and manifest.read_bytes().count(b"\n") >= frames:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {process.communicate()}")
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail("the run wrote no frames within 120 s")


def test_sigkill_midway_then_resume_is_identical(scenario, reference, tmp_path):
    out = tmp_path / "out"
    manifest = out / MANIFEST_NAME
    kill_after(scenegen(*render_args(scenario, out, "--workers", "2")), manifest, 3)
    first = assert_nothing_torn(out, reference)
    assert 3 <= first < FRAMES
    # Kill the resumed run too: resuming must itself survive a crash.
    resumed = scenegen(*render_args(scenario, out, "--workers", "1", "--resume"))
    kill_after(resumed, manifest, first + 3)
    second = assert_nothing_torn(out, reference)
    assert first < second < FRAMES
    resume_in_process(scenario, out)
    assert_identical(out, reference)


# -- full and read-only disks ------------------------------------------------------------


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, options: str):
    """A size-limited tmpfs at ``folder``; skips the test where mounting is not allowed."""
    folder.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'not permitted'})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _frame_bytes(reference: Path) -> int:
    """Disk space the reference's frames use (whole blocks, as a small file system counts)."""
    return sum(
        p.stat().st_blocks * 512
        for p in reference.rglob("*")
        if p.is_file() and p.relative_to(reference).as_posix() not in _FINALIZED
    )


def assert_clean_failure(result: subprocess.Popen | subprocess.CompletedProcess, stderr: str):
    assert result.returncode not in (0, None)
    assert "Traceback" not in stderr
    assert re.search(
        r"; (no frame was completed|[1-9][0-9]* completed frame\(s\) are kept); ", stderr
    )


def test_full_disk_stops_cleanly_and_resumes_on_a_bigger_disk(scenario, reference, tmp_path):
    size_kib = _frame_bytes(reference) * 4 // 10 // 4096 * 4  # room for about 40% of it
    with mounted_tmpfs(tmp_path / "small", f"size={size_kib}k") as small:
        out = small / "out"
        run = scenegen(*render_args(scenario, out, "--workers", "2"))
        _, stderr = run.communicate(timeout=300)
        stderr = " ".join(stderr.split())  # undo rich's line wrapping
        assert_clean_failure(run, stderr)
        assert "the disk is full" in stderr and str(out) in stderr
        kept = assert_nothing_torn(out, reference)
        assert 1 <= kept < FRAMES
        bigger = tmp_path / "bigger"
        shutil.copytree(out, bigger)
    resume_in_process(scenario, bigger)
    assert_identical(bigger, reference)


# Fills a "disk" of LIMIT bytes under OUT the way a real one fills: the write that does
# not fit writes what fits, the next one fails with ENOSPC. Then runs the CLI in-process.
_SMALL_DISK = r"""
import errno, os, sys
limit, root = int(sys.argv[1]), os.path.realpath(sys.argv[2]) + os.sep
used, real_write = 0, os.write
def write(fd, data):
    global used
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        target = ""
    if not target.startswith(root):
        return real_write(fd, data)
    room = limit - used
    if room <= 0:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    written = real_write(fd, memoryview(data)[:room])
    used += written
    return written
os.write = write
from scenegen.cli import main
sys.argv = ["scenegen", *sys.argv[3:]]
main()
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd (Linux)")
def test_simulated_full_disk_stops_cleanly_and_resumes(scenario, reference, tmp_path):
    out = tmp_path / "out"
    # Room for about 40 % of the bytes written: hard-linked images (COCO, YOLO) count once.
    inodes = {p.stat().st_ino: p.stat().st_size for p in reference.rglob("*") if p.is_file()}
    limit = sum(inodes.values()) * 4 // 10
    args = render_args(scenario, out, "--workers", "1")  # in-process, where the limit applies
    run = subprocess.run(
        [sys.executable, "-c", _SMALL_DISK, str(limit), str(out), *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    stderr = " ".join(run.stderr.split())
    assert_clean_failure(run, stderr)
    assert "the disk is full" in stderr and str(out) in stderr
    kept = assert_nothing_torn(out, reference)
    assert 1 <= kept < FRAMES
    resume_in_process(scenario, out)
    assert_identical(out, reference)


@pytest.mark.parametrize("how", ["chmod", "read-only mount"])
def test_unwritable_output_folder_gives_a_clear_message(how, scenario, tmp_path):
    if how == "chmod":
        if os.geteuid() == 0:
            pytest.skip("permission bits do not stop root")
        out = tmp_path / "locked"
        out.mkdir()
        out.chmod(0o555)
        expected = "permission denied"
        context = contextlib.nullcontext(out)
    else:
        expected = "read-only"
        context = mounted_tmpfs(tmp_path / "locked", "ro,size=64k")
    try:
        with context as locked:
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "scenegen.cli",
                    *map(str, render_args(scenario, locked, "--workers", "1")),
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=300,
            )
            stderr = " ".join(run.stderr.split())
            assert_clean_failure(run, stderr)
            assert expected in stderr and str(locked) in stderr
            assert list(locked.iterdir()) == []
    finally:
        if how == "chmod":
            (tmp_path / "locked").chmod(0o755)
