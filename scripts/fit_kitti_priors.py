"""Fit the priors of ``assets/`` to real KITTI labels and print them as YAML.

Reads every ``label_2`` file of a KITTI training folder (optionally only a frame range,
so a benchmark's test frames stay unseen).

- ``sizes`` (``assets/class_priors.yaml``): the 3D box dimensions (height, width, length in
  metres, as KITTI writes them) grouped by scenegen class; per class and dimension the mean,
  the sample standard deviation and the observed range.
- ``placement`` (the ``distance_m`` entry of ``assets/placement_priors.yaml``): a histogram
  of the forward distance (camera z, metres) of the boxes of the same classes.

    python scripts/fit_kitti_priors.py sizes ../shared/data/kitti45/training --frames 000004-000029
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from scenegen.io.kitti.common import KITTI_TYPE_TO_CLASS
from scenegen.io.kitti.reader import parse_label_file

# Classes whose procedural builders draw their size from the priors. KITTI's "Tram" maps
# to bus and its few trucks span 5-17 m: neither says what a bus or a box truck measures.
PRIOR_CLASSES = ("car", "van", "pedestrian", "cyclist")


def _in_range(frame_id: str, frames: str | None) -> bool:
    if frames is None:
        return True
    first, _, last = frames.partition("-")
    return first <= frame_id <= (last or first)


DISTANCE_EDGES_M = tuple(range(0, 90, 10))


def class_boxes(root: Path, frames: str | None) -> dict[str, np.ndarray]:
    """``class -> float64 (N, 4)`` length, width, height (m) and forward distance z (m)
    of every labelled box."""
    by_class: dict[str, list[tuple[float, float, float, float]]] = {}
    for path in sorted((root / "label_2").glob("*.txt")):
        if not _in_range(path.stem, frames):
            continue
        for line in parse_label_file(path):
            cls = KITTI_TYPE_TO_CLASS.get(line.type)
            if cls is None:
                continue
            h, w, l = line.dimensions_hwl
            by_class.setdefault(cls, []).append((l, w, h, line.location_xyz[2]))
    return {cls: np.asarray(rows, dtype=np.float64) for cls, rows in by_class.items()}


def distance_yaml(boxes: dict[str, np.ndarray]) -> str:
    z_m = np.concatenate([boxes[cls][:, 3] for cls in PRIOR_CLASSES if cls in boxes])
    counts = np.histogram(z_m, DISTANCE_EDGES_M)[0]
    return (
        f"distance_m:\n  boxes: {int(counts.sum())}\n"
        f"  edges: [{', '.join(str(e) for e in DISTANCE_EDGES_M)}]\n"
        f"  counts: [{', '.join(str(int(c)) for c in counts)}]\n"
    )


def sizes_yaml(boxes: dict[str, np.ndarray]) -> str:
    lines = []
    for cls in PRIOR_CLASSES:
        rows = boxes[cls]
        lines.append(f"{cls}:")
        lines.append(f"  boxes: {len(rows)}")
        for i, name in enumerate(("length_m", "width_m", "height_m")):
            v = rows[:, i]
            lines.append(
                f"  {name}: {{mean: {v.mean():.3f}, std: {v.std(ddof=1):.3f}, "
                f"min: {v.min():.2f}, max: {v.max():.2f}}}"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("sizes", "placement"), help="which prior to fit")
    parser.add_argument("root", type=Path, help="KITTI training folder (with label_2/)")
    parser.add_argument("--frames", help="frame id range FIRST-LAST (default: every frame)")
    args = parser.parse_args()
    boxes = class_boxes(args.root, args.frames)
    sys.stdout.write(sizes_yaml(boxes) if args.what == "sizes" else distance_yaml(boxes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
