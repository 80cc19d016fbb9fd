"""Speed of ``scenegen fidelity``: a synthetic dataset against the 45 real KITTI frames.

Usage: python benchmarks/bench_fidelity.py [--synthetic DIR] [--real DIR] [--frames N]
       [--out DIR] [--bootstrap B]
Without ``--synthetic`` it first renders N frames per scenario of four example scenarios
(clear_day_urban, low_sun_cut_in, night_jaywalker, heavy_rain_cyclists; seed 3) into
``--out/synthetic`` (kept and reused when complete). It then times reading + statistics of
both sets, the comparison (bootstrap) and the report, prints them with the load average
(the machine may be shared) and the five statistics furthest from real.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scenegen.fidelity.report import write_report  # noqa: E402
from scenegen.fidelity.run import FidelitySettings, run_fidelity  # noqa: E402

SCENARIOS = ("clear_day_urban", "low_sun_cut_in", "night_jaywalker", "heavy_rain_cyclists")


def _render(out: Path, frames_per_scenario: int) -> None:
    from scenegen.batch.engine import ProcessEngine
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch
    from scenegen.io import read_manifest
    from scenegen.sensors.gl import configure_backend

    total = frames_per_scenario * len(SCENARIOS)
    if (out / "manifest.jsonl").is_file() and len(read_manifest(out)) == total:
        return
    configure_backend("auto")
    files = [REPO / "scenarios" / f"{name}.yaml" for name in SCENARIOS]
    render_batch(
        plan_batch(files, frames_per_scenario, 3), out, engine=ProcessEngine(2), formats=("kitti",)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=Path, default=None)
    parser.add_argument("--real", type=Path, default=REPO.parent / "shared/data/kitti45/training")
    parser.add_argument("--frames", type=int, default=50, help="frames per scenario to render")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_fidelity"))
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()
    synthetic = args.synthetic
    if synthetic is None:
        synthetic = args.out / "synthetic"
        start = time.perf_counter()
        _render(synthetic, args.frames)
        print(f"synthetic data ready in {time.perf_counter() - start:.1f} s: {synthetic}")

    load_before = os.getloadavg()[0]
    stages: dict[str, float] = {}
    last = [time.perf_counter()]

    def on_frame(which: str, done: int, total: int) -> None:
        if done == total:
            now = time.perf_counter()
            stages[f"read + statistics, {which} ({total} frames)"] = now - last[0]
            last[0] = now

    start = time.perf_counter()
    cpu_start = time.process_time()
    settings = FidelitySettings(replicates=args.bootstrap)
    result = run_fidelity(synthetic, args.real, settings, on_frame)
    stages["comparison + bootstrap"] = time.perf_counter() - last[0]
    report_start = time.perf_counter()
    write_report(result, args.out / "report")
    stages["report + plots"] = time.perf_counter() - report_start
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(f"load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f}")
    print(f"CPU time of this process: {cpu:.1f} s (wall {total:.1f} s)")
    print("| stage | s |\n|---|---:|")
    for stage, seconds in stages.items():
        print(f"| {stage} | {seconds:.1f} |")
    print(f"| **total (wall)** | **{total:.1f}** |")
    print("\nfurthest from real:")
    for number, row in enumerate(result.top, start=1):
        print(f"{number}. {row.info.name}: score {row.score:.1f} ({row.info.meaning})")


if __name__ == "__main__":
    main()
