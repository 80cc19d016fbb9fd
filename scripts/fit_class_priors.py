"""Fit the class size priors of ``assets/class_priors.yaml`` to real KITTI labels.

Reads every ``label_2`` file of a KITTI training folder (optionally only a frame range,
so a benchmark's test frames stay unseen), groups the 3D box dimensions (height, width,
length in metres, as KITTI writes them) by scenegen class, and prints a YAML block: per
class and dimension the mean, the sample standard deviation and the observed range.

    python scripts/fit_class_priors.py ../shared/data/kitti45/training --frames 000004-000029
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


def class_dimensions(root: Path, frames: str | None) -> dict[str, np.ndarray]:
    """``class -> float64 (N, 3)`` length, width, height (m) of every labelled box."""
    by_class: dict[str, list[tuple[float, float, float]]] = {}
    for path in sorted((root / "label_2").glob("*.txt")):
        if not _in_range(path.stem, frames):
            continue
        for line in parse_label_file(path):
            cls = KITTI_TYPE_TO_CLASS.get(line.type)
            if cls is None:
                continue
            h, w, l = line.dimensions_hwl
            by_class.setdefault(cls, []).append((l, w, h))
    return {cls: np.asarray(rows, dtype=np.float64) for cls, rows in by_class.items()}


def priors_yaml(dims: dict[str, np.ndarray]) -> str:
    lines = []
    for cls in PRIOR_CLASSES:
        rows = dims[cls]
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
    parser.add_argument("root", type=Path, help="KITTI training folder (with label_2/)")
    parser.add_argument("--frames", help="frame id range FIRST-LAST (default: every frame)")
    args = parser.parse_args()
    sys.stdout.write(priors_yaml(class_dimensions(args.root, args.frames)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
