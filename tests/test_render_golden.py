"""Rendered datasets are byte-for-byte what they were when the digests were recorded.

`tests/data/golden_render.sha256` holds the sha256 of every file of a 10-frame render
(five example scenarios x 2 frames, LiDAR and PLY point clouds included). Refactoring
must leave it unchanged; a change that alters the output on purpose re-records it
(`python tests/test_render_golden.py`) and says in its commit which files changed and why.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from conftest import REPO

GOLDEN = REPO / "tests" / "data" / "golden_render.sha256"
SCENARIOS = [
    REPO / "scenarios" / name
    for name in (
        "night_jaywalker.yaml",
        "fog_sweep_highway_debris.yaml",
        "low_sun_cut_in.yaml",
        "snow_rural_animal.yaml",
        "dusk_stalled_vehicle_rain.yaml",
    )
]
FRAMES_PER_SCENARIO = 2
SEED = None  # each file's own seed, as `scenegen render` without --seed


def render_digests(out: Path) -> dict[str, str]:
    from scenegen.batch.engine import ProcessEngine
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch

    plan = plan_batch(SCENARIOS, FRAMES_PER_SCENARIO, SEED)
    render_batch(
        plan, out, formats=("kitti", "coco", "yolo", "ply"), engine=ProcessEngine(workers=2)
    )
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        # dot folders are scratch
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)
    }


def read_golden() -> dict[str, str]:
    pairs = (line.split("  ", 1) for line in GOLDEN.read_text().splitlines() if line)
    return {path: digest for digest, path in pairs}


def test_render_is_byte_identical_to_the_recorded_digests(tmp_path, gl_backend):
    got = render_digests(tmp_path / "render")
    golden = read_golden()
    assert sorted(got) == sorted(golden)
    changed = sorted(path for path in golden if got[path] != golden[path])
    assert changed == []


if __name__ == "__main__":
    from tempfile import TemporaryDirectory

    from scenegen.sensors.gl import configure_backend

    configure_backend("auto")
    with TemporaryDirectory() as folder:
        digests = render_digests(Path(folder) / "render")
    GOLDEN.write_text("".join(f"{d}  {p}\n" for p, d in sorted(digests.items())))
    sys.stdout.write(f"recorded {len(digests)} digests in {GOLDEN}\n")
