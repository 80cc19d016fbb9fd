"""Search benchmark: renders until the first failure and distinct failure cells, per method.

    python benchmarks/bench_search.py --checkpoint reports/ci/model/checkpoint.pt --budget 200

The space is benchmarks/search_space.yaml (``--space``; search_space_mild.yaml is the same
scene with milder ranges, where failures are rarer) (six parameters: fog visibility, sun elevation
and azimuth (the time of day), rain rate, the stalled car's distance, the share of parked
cars), the detector the CI bench's (``scenegen bench benchmarks/ci_bench.yaml --out
reports/ci`` trains it; it is reused when the checkpoint exists). Scored as the CI bench
evaluates it: cars (vans, trucks, buses count as cars), KITTI easy objects, IoU 0.5, score
0.2. Failure cells: 4 bins per parameter (4^6 = 4096 cells). Every method runs the same
budget with the same seed, side by side; Halton is the quasi-random method compared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scenegen.harness.adapters import load_detector  # noqa: E402
from scenegen.harness.metrics import KITTI_IOU  # noqa: E402
from scenegen.search import MarginSettings, SearchSettings, run_search  # noqa: E402
from scenegen.sensors.gl import configure_backend  # noqa: E402

SPACE = REPO / "benchmarks" / "search_space.yaml"
DEFAULT_CHECKPOINT = REPO / "reports" / "ci" / "model" / "checkpoint.pt"


def checkpoint_path(given: Path | None) -> Path:
    path = given or DEFAULT_CHECKPOINT
    if not path.exists():
        if given is not None:
            raise SystemExit(f"{path}: no checkpoint there")
        print("training the CI detector (scenegen bench benchmarks/ci_bench.yaml) ...")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "scenegen.cli",
                "bench",
                "benchmarks/ci_bench.yaml",
                "--out",
                "reports/ci",
            ],
            cwd=REPO,
            check=True,
        )
    return path


def _spread(values: list) -> str:
    """One figure, or the median and range of several (None: no failure, counted as never)."""
    shown = [float("inf") if v is None else v for v in values]
    if len(shown) == 1:
        return "none" if shown[0] == float("inf") else f"{shown[0]:g}"
    text = [("none" if v == float("inf") else f"{v:g}") for v in (min(shown), max(shown))]
    median = statistics.median(shown)
    return f"{'none' if median == float('inf') else f'{median:g}'} [{text[0]}-{text[1]}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--space", type=Path, default=SPACE, help="scenario with a search: block")
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--seed", type=int, default=9)  # its scene passes in clear air
    parser.add_argument(
        "--method-seeds",
        type=int,
        default=1,
        help="repeat every method with this many method seeds (--seed, --seed + 1, ...; "
        "the same scenes) and print the median and range of each figure",
    )
    parser.add_argument(
        "--methods",
        default="cma,cma-noexpand,bo,qmc,random,qmc+expand",
        help="methods as scenegen search runs them (cma and bo grow failures, qmc and random "
        "do not); NAME+expand / NAME-noexpand force it on / off",
    )
    parser.add_argument("--out", type=Path, default=None, help="keep the runs here")
    args = parser.parse_args()
    configure_backend("auto")
    checkpoint = checkpoint_path(args.checkpoint)
    detector = load_detector(checkpoint)
    margin = MarginSettings(
        classes=("car",),
        class_map={"van": "car", "truck": "car", "bus": "car"},
        iou_thresholds={**KITTI_IOU, "car": 0.5},
        score_threshold=0.2,
        difficulty="easy",
    )
    root = args.out or Path(tempfile.mkdtemp(prefix="bench_search_"))
    rows = []
    for label in args.methods.split(","):
        method, _, flag = label.replace("-noexpand", "+noexpand").partition("+")
        expand = {"": None, "expand": True, "noexpand": False}[flag]
        runs = []
        for i in range(args.method_seeds):
            settings = SearchSettings(
                method=method,
                expand=expand,
                budget=args.budget,
                seed=args.seed,
                method_seed=None if i == 0 else args.seed + i,  # run 0: the plain --seed
                qmc_sequence="halton",
                boundaries=0,
                formats=("kitti",),
            )
            started = time.perf_counter()
            folder = root / (label if i == 0 else f"{label}_m{args.seed + i}")
            s = run_search(args.space, detector, checkpoint, settings, folder, margin).summary
            runs.append(
                {
                    "method": s["method"] + (" + expand" if s["expand"] else ""),
                    "method_seed": args.seed + i,
                    "renders": s["renders"],
                    "first_failure_render": s["first_failure_render"],
                    "failing_renders": s["failing_renders"],
                    "failure_cells": s["failure_cells"],
                    "probe_renders": s["probe_renders"],
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
            print(json.dumps(runs[-1]), flush=True)
        rows.append(runs)
    print()
    many = args.method_seeds > 1
    print(
        f"{'median [min-max] over ' + str(args.method_seeds) + ' method seeds; ' if many else ''}"
        f"first failure 'none': no failure in {args.budget} renders\n"
    )
    print(
        "| method | renders | first failure (render) | failing renders | distinct failure cells "
        "| probe renders | s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for runs in rows:
        cells = [
            _spread([r[key] for r in runs])
            for key in (
                "renders",
                "first_failure_render",
                "failing_renders",
                "failure_cells",
                "probe_renders",
                "seconds",
            )
        ]
        print(f"| {runs[0]['method']} | " + " | ".join(cells) + " |")
    print(f"\nruns kept in {root}")


if __name__ == "__main__":
    main()
