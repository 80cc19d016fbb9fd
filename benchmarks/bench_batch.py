"""Batch throughput, worker scaling, peak memory and the per-stage cost of a full frame.

Each measurement runs ``render_batch`` (camera + weather + LiDAR + labels + KITTI/COCO/YOLO
writers) in a fresh subprocess, so GL contexts, thread settings and memory do not leak
from one to the next:

* throughput of the same frames for each ``workers x LP_NUM_THREADS`` configuration
  (llvmpipe's rasteriser threads), steady state (first to last finished frame) and
  end to end (including starting the workers);
* peak resident memory of the whole process tree (sampled with psutil) for a short and a
  long batch: it must not grow with the number of frames;
* the median milliseconds per stage of a full frame (from the batch's stage timers);
* with ``--png``, PNG encoder settings: time and size for the three images of a frame.

Usage:  python benchmarks/bench_batch.py [--frames 24] [--memory-frames 100 1000]
        [--configs 1x2 2x1 2x2] [--scenario scenarios/night_jaywalker.yaml] [--png]
Prints markdown. The 1,000-frame memory run dominates the time (several minutes on a
2-core machine); ``--memory-frames 100 400`` is a quicker check of the same property.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Runs inside the subprocess: one batch, then a JSON line with what it measured.
_CHILD = r"""
import json, sys, time
from pathlib import Path
from scenegen.sensors.gl import configure_backend
configure_backend("auto")
from scenegen.batch.engine import ProcessEngine
from scenegen.batch.plan import plan_batch
from scenegen.batch.runner import render_batch
scenario, frames, workers, lidar, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
done = []
t0 = time.perf_counter()
summary = render_batch(plan_batch([Path(scenario)], frames, 0), Path(out), engine=ProcessEngine(workers),
                       lidar=lidar, on_frame=lambda r: done.append((time.perf_counter(), r.stage_seconds)))
wall = time.perf_counter() - t0
stages = {}
for _, st in done:
    for k, v in st.items():
        stages.setdefault(k, []).append(v)
print("BENCH " + json.dumps({"wall_s": wall, "first_s": done[0][0] - t0, "last_s": done[-1][0] - t0,
                             "frames": len(done), "stages": stages}))
"""


def _run_child(
    scenario: Path, frames: int, workers: int, lp_threads: int, lidar: bool
) -> tuple[dict, float]:
    """Run one batch in a subprocess; returns its report and the peak RSS (MiB) of its tree."""
    import psutil

    env = dict(os.environ, LP_NUM_THREADS=str(lp_threads))
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(scenario), str(frames), str(workers),
             "1" if lidar else "0", str(Path(tmp) / "out")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        peak = [0.0]
        stop = threading.Event()

        def sample() -> None:
            root = psutil.Process(proc.pid)
            while not stop.is_set():
                try:
                    tree = [root, *root.children(recursive=True)]
                    rss = sum(p.memory_info().rss for p in tree if p.is_running())
                    peak[0] = max(peak[0], rss / 2**20)
                except psutil.Error:
                    pass
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, err = proc.communicate()
        stop.set()
        sampler.join()
    for line in out.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:]), peak[0]
    raise RuntimeError(f"benchmark child failed:\n{err[-3000:]}")


def _median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def _png_table() -> None:
    import cv2
    import numpy as np

    from scenegen.sensors.gl import configure_backend

    configure_backend("auto")
    from scenegen.io.kitti import encode_depth_png
    from scenegen.pipeline import FrameRenderer
    from scenegen.scenario import load_scenario, sample_scene

    S, F = cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_FILTER
    variants = {
        "level 3, adaptive filters (libpng default)": [cv2.IMWRITE_PNG_COMPRESSION, 3],
        "level 1, adaptive filters": [cv2.IMWRITE_PNG_COMPRESSION, 1],
        "Z_RLE, adaptive filters": [cv2.IMWRITE_PNG_COMPRESSION, 3, S, cv2.IMWRITE_PNG_STRATEGY_RLE],
        "Z_RLE, Paeth filter (chosen)": [cv2.IMWRITE_PNG_COMPRESSION, 3, S,
                                         cv2.IMWRITE_PNG_STRATEGY_RLE, F,
                                         cv2.IMWRITE_PNG_FILTER_PAETH],
        "Z_RLE, Up filter": [cv2.IMWRITE_PNG_COMPRESSION, 3, S, cv2.IMWRITE_PNG_STRATEGY_RLE, F,
                             cv2.IMWRITE_PNG_FILTER_UP],
    }  # fmt: skip
    print("| image | encoder | ms | bytes |")
    print("|---|---|---:|---:|")
    with FrameRenderer(lidar=False) as renderer:
        for name in ("night_jaywalker", "clear_day_urban"):
            frame = renderer.render(
                sample_scene(load_scenario(REPO / "scenarios" / f"{name}.yaml"), 0, 0, 1)
            )
            depth = cv2.imdecode(np.frombuffer(encode_depth_png(frame.depth_m), np.uint8), -1)
            images = {
                "rgb": cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR),
                "depth uint16": depth,
                "instance uint16": frame.instance_ids.astype(np.uint16),
            }
            for kind, array in images.items():
                for label, params in variants.items():
                    cv2.imencode(".png", array, params)
                    t = time.process_time()
                    for _ in range(3):
                        data = cv2.imencode(".png", array, params)[1]
                    ms = (time.process_time() - t) / 3 * 1e3
                    print(f"| {name} {kind} | {label} | {ms:.1f} | {len(data)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=24, help="frames per throughput run")
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["1x2", "2x1", "2x2"],
        help="WORKERSxLP_NUM_THREADS configurations to compare",
    )
    parser.add_argument(
        "--memory-frames",
        type=int,
        nargs=2,
        default=[100, 1000],
        metavar=("SHORT", "LONG"),
        help="batch sizes for the peak-memory comparison (camera only, 2 workers)",
    )
    parser.add_argument(
        "--scenario", type=Path, default=REPO / "scenarios" / "night_jaywalker.yaml"
    )
    parser.add_argument("--png", action="store_true", help="also compare PNG encoder settings")
    args = parser.parse_args()

    import platform

    print(f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}; "
          f"scenario {args.scenario.name}")  # fmt: skip
    print()
    print(f"Full frames ({args.frames} per run, 64-beam LiDAR on, three writers):")
    print()
    print("| workers x LP_NUM_THREADS | frames/s steady | frames/s end to end | peak RSS MiB |")
    print("|---|---:|---:|---:|")
    stage_report = None
    for config in args.configs:
        workers, lp = (int(x) for x in config.split("x"))
        report, rss = _run_child(args.scenario, args.frames, workers, lp, lidar=True)
        steady = (report["frames"] - 1) / max(report["last_s"] - report["first_s"], 1e-9)
        print(f"| {workers} x {lp} | {steady:.2f} | {report['frames'] / report['wall_s']:.2f} "
              f"| {rss:.0f} |")  # fmt: skip
        if workers == 1 and stage_report is None:
            stage_report = report
    if stage_report is not None:
        print()
        print("Full frame, per stage (1 worker, ms, median; `write` overlaps the next frame):")
        print()
        print("| stage | ms |")
        print("|---|---:|")
        for stage, values in stage_report["stages"].items():
            print(f"| {stage} | {1e3 * _median(values):.1f} |")
    print()
    print("Peak memory vs batch size (camera + labels + writers, LiDAR off, 2 workers x 1):")
    print()
    print("| frames | peak RSS MiB (all processes) | frames/s end to end |")
    print("|---:|---:|---:|")
    for frames in args.memory_frames:
        report, rss = _run_child(args.scenario, frames, 2, 1, lidar=False)
        print(f"| {frames} | {rss:.0f} | {report['frames'] / report['wall_s']:.2f} |")
    if args.png:
        print()
        _png_table()


if __name__ == "__main__":
    main()
