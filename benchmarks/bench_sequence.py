"""Cost of a sequence frame against an independent frame of the same scenario.

Renders ``--scenario`` (a file with ``sequence:``) as one sequence, and the same file
without its ``sequence:`` block as ``--frames`` independent frames, in this process, KITTI
format only; prints seconds per frame and per stage (the batch summary's stage seconds
divided by the frame count).

Usage:  python benchmarks/bench_sequence.py [--scenario scenarios/jaywalker_sequence.yaml] [--frames 10]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=Path("scenarios/jaywalker_sequence.yaml"))
    parser.add_argument("--frames", type=int, default=10)
    args = parser.parse_args()

    from scenegen.sensors.gl import configure_backend

    configure_backend("auto")
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch

    text = args.scenario.read_text()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "sequence.yaml").write_text(text)
        (root / "independent.yaml").write_text(re.sub(r"^sequence:.*\n", "", text, flags=re.M))
        for name, count in (("sequence", 1), ("independent", args.frames)):
            plan = plan_batch([root / f"{name}.yaml"], count, None)
            summary = render_batch(plan, root / f"out_{name}", formats=("kitti",))
            stages = {
                k: round(v / summary.frames, 3) for k, v in sorted(summary.stage_seconds.items())
            }
            sys.stdout.write(
                f"{name}: {summary.frames} frames, {summary.seconds / summary.frames:.3f} s/frame, "
                f"stages {stages}\n"
            )


if __name__ == "__main__":
    main()
