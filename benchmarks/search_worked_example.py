"""The search's worked example, measured: does training on the failures raise the AP there?

    python benchmarks/search_worked_example.py --checkpoint reports/ci/model/checkpoint.pt \\
        --search reports/search --out reports/worked_example

``--search`` is a finished ``scenegen search`` of that checkpoint (README, "Where does it
fail?"); its ``failure_regions/`` (one scenario per failure cluster) are the failure region.
The search renders at the detector's input size (310x94); the bench renders a scenario at
``render.image_scale`` 0.5 and trains at ``training.image_scale`` 0.5, so every scenario
used here is a copy with the camera at four times the size (1240x376, the same field of
view): the detector sees 310x94 images everywhere. Each step is a plain ``scenegen``
command, printed as it runs:

1. held-out test sets, base seed ``--test-seed`` (the search used its own seed, training
   renders use the bench's, so no scene is shared): ``test_regions``, ``--test-frames``
   frames of the cluster files in proportion to their failures, and ``test_envelope``, as
   many of ``failure_region.yaml`` (the one box around every failure), to compare;
2. ``before``: the checkpoint evaluated (``scenegen bench --detector``) on both
   (``test.real``: dataset test sets, shown at the detector's size) and on the CI bench's
   clean daytime test scenario;
3. ``after_failures``: the CI bench's recipe trained again with ``--train-frames`` of its
   480 frames replaced by frames of the cluster regions (rendered with the bench's seed, in
   proportion to the clusters' failures): the same 480 frames per epoch and 15 epochs
   (450 steps) as the CI detector;
4. ``after_random_space``: the control, the same but with the replaced frames drawn
   uniformly from the whole searched space (the scenario's ``search:`` ranges as its
   values): is it the failures that help, or any frames of that scene?

``OUT/summary.json`` holds every AP50 with its bootstrap interval (over the same test
frames for every model).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scenegen.scenario.rewrite import rewrite_scenario  # noqa: E402

CI_TRAIN = [
    "scenarios/clear_day_urban.yaml",
    "scenarios/night_jaywalker.yaml",
    "scenarios/heavy_rain_cyclists.yaml",
    "scenarios/dusk_stalled_vehicle_rain.yaml",
]
CI_FRAMES = 120  # per CI training scenario (benchmarks/ci_bench.yaml)
SCALE_UP = 4  # render.image_scale 0.5 x training.image_scale 0.5


def shares(weights: list[int], total: int) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders get the rest)."""
    exact = [total * w / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def run(command: list[str]) -> None:
    print("$ " + " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)


def config(name: str, sources: list[dict], tests: list[Path], out: Path) -> Path:
    """A bench config of the CI recipe with these training sources and the region test set."""
    data = {
        "name": name,
        "seed": 0,
        "render": {"image_scale": 0.5, "lidar": False},
        "train": {"sources": sources},
        "test": {
            "scenarios": [str(REPO / "scenarios/clear_day_urban.yaml")],
            "frames_per_scenario": 30,
            "seed": 1000,
            "real": [{"dataset": str(t)} for t in tests],
        },
        "classes": ["car"],
        "class_map": {"van": "car", "truck": "car", "bus": "car"},
        "min_box_height_px": 8,
        "max_occlusion": 0.7,
        "corruptions": ["fog"],
        "severities": [3],
        "model": {"name": "centernet", "width": 24, "head_width": 32},
        # max_seconds high: both models must get their full 15 epochs on a busy machine
        "training": {
            "epochs": 15,
            "batch_size": 16,
            "learning_rate": 0.008,
            "image_scale": 0.5,
            "max_seconds": 3000,
        },
        "report": {"worst_frames": 8, "distance_bins_m": [0, 10, 20, 35, 60, 100]},
    }
    path = out / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def result(bench_out: Path) -> dict:
    metrics = json.loads((bench_out / "metrics.json").read_text())
    regions, envelope = metrics["real"]
    return {
        "failure_regions_AP50": regions["AP50"],
        "failure_regions_AP50_ci": regions.get("AP50_ci"),
        "envelope_AP50": envelope["AP50"],
        "envelope_AP50_ci": envelope.get("AP50_ci"),
        "clear_day_AP50": metrics["clean"]["AP50"],
        "clear_day_AP50_ci": metrics["clean"].get("AP50_ci"),
        "training_epochs": (metrics.get("training") or {}).get("epochs"),
        "training_frames": (metrics.get("training") or {}).get("frames"),
    }


def scaled_copy(source: Path, values: dict, path: Path, frames: int | None = None) -> Path:
    """``source`` with ``values`` set and the camera at the bench's size (see above)."""
    data = yaml.safe_load(source.read_text())
    camera = data["sensors"]["camera"]
    text = rewrite_scenario(
        source,
        {
            **values,
            "sensors.camera.width": camera["width"] * SCALE_UP,
            "sensors.camera.height": camera["height"] * SCALE_UP,
        },
        name=data["name"],
        description=f"{source} at {SCALE_UP}x the camera size.",
        frames=frames,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--search", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--test-frames", type=int, default=60)
    parser.add_argument("--train-frames", type=int, default=60)
    parser.add_argument("--test-seed", type=int, default=7000)
    args = parser.parse_args()
    out = args.out.resolve()
    search = args.search.resolve()
    index = json.loads((search / "failure_regions" / "index.json").read_text())
    weights = [int(e["failing_renders"]) for e in index["regions"]]
    cli = [sys.executable, "-m", "scenegen.cli"]

    def render(files: list[Path], folder: Path) -> Path:
        if not (folder / "manifest.jsonl").exists():
            run(
                [
                    *cli,
                    "render",
                    *map(str, files),
                    "--seed",
                    str(args.test_seed),
                    "--formats",
                    "kitti",
                    "--no-preview",
                    "--out",
                    str(folder),
                ]
            )
        return folder

    # Held-out test sets: the cluster regions (in proportion to their failures) and, to
    # compare, the one box around every failure (failure_region.yaml).
    test_files = [
        scaled_copy(search / "failure_regions" / e["file"], {}, out / "test" / e["file"], n)
        for e, n in zip(index["regions"], shares(weights, args.test_frames), strict=True)
        if n
    ]
    envelope = scaled_copy(
        search / "failure_region.yaml", {}, out / "test" / "envelope.yaml", args.test_frames
    )
    tests = [render(test_files, out / "test_regions"), render([envelope], out / "test_envelope")]

    def bench(name: str, sources: list[dict], *detector: str) -> dict:
        path = config(name, sources, tests, out)
        if not (out / name / "metrics.json").exists():
            run([*cli, "bench", str(path), *detector, "--out", str(out / name)])
        return result(out / name)

    ci = {"scenarios": [str(REPO / s) for s in CI_TRAIN], "frames_per_scenario": CI_FRAMES}
    kept = {**ci, "frames_per_scenario": CI_FRAMES - args.train_frames // len(CI_TRAIN)}
    # Training sources of the region: the cluster files, rendered with the bench's seed.
    failures = [
        {
            "scenarios": [
                str(
                    scaled_copy(
                        search / "failure_regions" / e["file"], {}, out / "train" / e["file"]
                    )
                )
            ],
            "frames_per_scenario": n,
        }
        for e, n in zip(index["regions"], shares(weights, args.train_frames), strict=True)
        if n
    ]
    # The control: as many frames drawn uniformly from the whole searched space.
    scenario = Path(json.loads((search / "search.json").read_text())["scenario"]["path"])
    scenario = scenario if scenario.is_absolute() else Path.cwd() / scenario
    space = yaml.safe_load(scenario.read_text())["search"]
    uniform = scaled_copy(scenario, dict(space), out / "train" / "searched_space.yaml")
    summary = {
        "before": bench("before", [ci], "--detector", str(args.checkpoint.resolve())),
        "after_failures": bench("after_failures", [kept, *failures]),
        "after_random_space": bench(
            "after_random_space",
            [kept, {"scenarios": [str(uniform)], "frames_per_scenario": args.train_frames}],
        ),
        "test_frames": args.test_frames,
        "train_frames_replaced": args.train_frames,
        "clusters": len(index["regions"]),
        "search": str(search),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
