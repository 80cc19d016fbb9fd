"""The search's worked example, measured: does training on the failures raise the AP there?

    python benchmarks/search_worked_example.py --checkpoint reports/ci/model/checkpoint.pt \\
        --search reports/search --out reports/worked_example

``--search`` is a finished ``scenegen search`` of that checkpoint (README, "Where does it
fail?"). Its ``failure_regions/`` (one scenario per failure cluster) are the failure region.
The search renders at the detector's input size (310x94); the bench renders a scenario at
``render.image_scale`` 0.5 and trains at ``training.image_scale`` 0.5, so each region file is
copied with the camera at four times the size (1240x376, the same field of view) and the
detector sees 310x94 images everywhere. Then, each step a plain ``scenegen`` command
(printed as it runs):

1. render the held-out test set of the failure region: ``--test-frames`` frames shared
   between the cluster files in proportion to their failures, base seed ``--test-seed``
   (the search used its own seed, training renders the bench's: no scene is shared);
2. ``before``: the checkpoint evaluated (``scenegen bench --detector``) on that test set
   (``test.real``: a dataset test set, shown at the detector's size) and on the CI bench's
   clean daytime test scenario;
3. ``after``: the CI bench's recipe trained again with ``--train-frames`` of its 480
   frames replaced by frames of the failure region (rendered with the bench's seed, again
   in proportion to the clusters' failures): the same 480 frames per epoch and the same 15
   epochs (450 steps), so both models get the same training budget; evaluated on the same
   test sets.

``OUT/summary.json`` holds both AP50s with their bootstrap intervals and the paired
difference is not claimed: the intervals are over the same test frames, read them as such.
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


def bench_regions(search: Path, out: Path) -> list[tuple[Path, int]]:
    """The search's cluster files at the bench's camera size, with their failure counts."""
    index = json.loads((search / "failure_regions" / "index.json").read_text())
    found = []
    for entry in index["regions"]:
        source = search / "failure_regions" / entry["file"]
        camera = yaml.safe_load(source.read_text())["sensors"]["camera"]
        text = rewrite_scenario(
            source,
            {
                "sensors.camera.width": camera["width"] * SCALE_UP,
                "sensors.camera.height": camera["height"] * SCALE_UP,
            },
            name=yaml.safe_load(source.read_text())["name"],
            description=f"{entry['file']} of {search} at {SCALE_UP}x the camera size.",
        )
        path = out / "regions" / entry["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        found.append((path, int(entry["failing_renders"])))
    return found


def run(command: list[str]) -> None:
    print("$ " + " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)


def config(name: str, sources: list[dict], test_region: Path, out: Path) -> Path:
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
            "real": [{"dataset": str(test_region)}],
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
    (region,) = metrics["real"]
    return {
        "failure_region_AP50": region["AP50"],
        "failure_region_AP50_ci": region.get("AP50_ci"),
        "failure_region_frames": region.get("frames"),
        "clear_day_AP50": metrics["clean"]["AP50"],
        "clear_day_AP50_ci": metrics["clean"].get("AP50_ci"),
        "training_epochs": (metrics.get("training") or {}).get("epochs"),
        "training_frames": (metrics.get("training") or {}).get("frames"),
    }


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
    out.mkdir(parents=True, exist_ok=True)
    regions = bench_regions(args.search.resolve(), out)
    weights = [n for _, n in regions]
    cli = [sys.executable, "-m", "scenegen.cli"]

    test_region = out / "test_region"
    for (path, _), frames in zip(regions, shares(weights, args.test_frames), strict=True):
        text = path.read_text()
        (out / "regions_test").mkdir(exist_ok=True)
        data = yaml.safe_load(text)
        data["frames"] = frames
        (out / "regions_test" / path.name).write_text(yaml.safe_dump(data, sort_keys=False))
    test_files = sorted(
        str(p)
        for p in (out / "regions_test").glob("*.yaml")
        if yaml.safe_load(p.read_text())["frames"]
    )
    if not (test_region / "manifest.jsonl").exists():
        run(
            [
                *cli,
                "render",
                *test_files,
                "--seed",
                str(args.test_seed),
                "--formats",
                "kitti",
                "--no-preview",
                "--out",
                str(test_region),
            ]
        )

    ci_sources = [
        {"scenarios": [str(REPO / s) for s in CI_TRAIN], "frames_per_scenario": CI_FRAMES}
    ]
    before = config("before", ci_sources, test_region, out)
    run(
        [
            *cli,
            "bench",
            str(before),
            "--detector",
            str(args.checkpoint.resolve()),
            "--out",
            str(out / "before"),
        ]
    )

    kept = CI_FRAMES - args.train_frames // len(CI_TRAIN)
    region_sources = [
        {"scenarios": [str(path)], "frames_per_scenario": frames}
        for (path, _), frames in zip(regions, shares(weights, args.train_frames), strict=True)
        if frames
    ]
    after_sources = [{**ci_sources[0], "frames_per_scenario": kept}, *region_sources]
    after = config("after", after_sources, test_region, out)
    run([*cli, "bench", str(after), "--out", str(out / "after")])

    summary = {
        "before": result(out / "before"),
        "after": result(out / "after"),
        "test_frames": args.test_frames,
        "train_frames_of_the_region": args.train_frames,
        "clusters": len(regions),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
