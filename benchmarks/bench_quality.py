"""Time per frame of the quality gate (``scenegen.quality.score_frame``), per check.

    python benchmarks/bench_quality.py --frames 2 --scale 1.0

Renders ``--frames`` frames of each shipped scenario (LiDAR on) at ``--scale`` of the KITTI
camera, then times every check on each frame (``--repeat`` times, the median kept) with a
duplicate index holding all the frames, as in a batch. Goal: <= 5 ms per frame.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2, help="frames per scenario")
    parser.add_argument("--scale", type=float, default=1.0, help="camera resolution factor")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from scenegen.sensors.gl import configure_backend

    configure_backend("auto")
    from scenegen.batch.worker import scaled_camera
    from scenegen.pipeline import FrameRenderer, StageTimes
    from scenegen.quality import DuplicateIndex, QualitySettings, checks, fingerprint, score_frame
    from scenegen.quality.score import duplicate_reasons
    from scenegen.scenario import load_scenario, sample_scene
    from scenegen.world.build import build_world

    rendered = []
    with FrameRenderer() as renderer:
        for path in sorted((REPO / "scenarios").glob("*.yaml")):
            scenario = load_scenario(path)
            scenario = replace(scenario, camera=scaled_camera(scenario.camera, args.scale))
            for i in range(args.frames):
                spec = sample_scene(scenario, i, 0, args.frames)
                world = build_world(spec)
                rendered.append((spec, world, renderer.render_world(spec, world, StageTimes())))
    settings = QualitySettings()
    seen = DuplicateIndex(settings.duplicate_hash_bits)
    for spec, _, frame in rendered:
        seen.add(f"{spec.scenario_name}/{spec.frame_index}", fingerprint(frame))
    parts = {
        "non_finite": lambda s, w, f: checks.non_finite(f),
        "exposure": lambda s, w, f: checks.exposure(f, settings),
        "camera_inside": lambda s, w, f: checks.camera_inside(f, w, settings),
        "missing_objects": lambda s, w, f: checks.missing_objects(f, s),
        "boxes_vs_masks": lambda s, w, f: checks.labels_against_mask(f, s, settings),
        "lidar": lambda s, w, f: checks.lidar_against_camera(f, settings),
        "duplicates": lambda s, w, f: duplicate_reasons(seen, fingerprint(f)),
        "score_frame (all)": lambda s, w, f: score_frame(
            f, s, world=w, earlier=seen, settings=settings
        ),
    }
    height, width = rendered[0][2].rgb.shape[:2]
    points = statistics.median(len(f.points.xyz) for *_, f in rendered if f.points is not None)
    sys.stdout.write(
        f"{len(rendered)} frames, {width}x{height}, median {points:.0f} LiDAR points, "
        f"{len(rendered)} frames in the duplicate index\n"
    )
    sys.stdout.write("| check | ms/frame (median) | ms/frame (max) |\n|---|---:|---:|\n")
    for name, run in parts.items():
        per_frame = []
        for spec, world, frame in rendered:
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                run(spec, world, frame)
                times.append(time.perf_counter() - t)
            per_frame.append(statistics.median(times) * 1e3)
        sys.stdout.write(
            f"| {name} | {statistics.median(per_frame):.2f} | {max(per_frame):.2f} |\n"
        )


if __name__ == "__main__":
    main()
