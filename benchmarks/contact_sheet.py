"""Contact sheet: real KITTI frames through every camera corruption.

Usage: python benchmarks/contact_sheet.py [--data PATH] [--severity N] [--out FILE]
       [--frames ID ...] [--tile-width PX] [--names NAME ...]

Each tile is one corruption at one severity on one of the frames (the frames take turns),
with depth recovered from the frame's LiDAR and image (``recover_depth``). The PNG is
palette-quantised to stay small. Look at it before trusting a weather model on real data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import albumentations as A  # noqa: N812 (its documented alias)
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scenegen.augment.camera import corruption_transform  # noqa: E402
from scenegen.augment.depth import recover_depth  # noqa: E402
from scenegen.augment.severity import CAMERA_CORRUPTIONS  # noqa: E402
from scenegen.io import read_kitti_frame  # noqa: E402


def corrupt_real(frame, depth_m: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    aug = A.Compose(
        [corruption_transform(name, severity)], additional_targets={"depth": "mask"}, seed=seed
    )
    data = {"image": frame.rgb, "depth": depth_m, "intrinsics": frame.calibration.intrinsics.K}
    return aug(**data)["image"]


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    out = tile.copy()
    cv2.rectangle(out, (0, 0), (8 * len(text) + 8, 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def contact_sheet(
    data_root: Path, frame_ids: list[str], names: list[str], severity: int, tile_width: int
) -> np.ndarray:
    frames = [read_kitti_frame(data_root, f) for f in frame_ids]
    depths = [recover_depth(f.calibration, f.points.xyz, f.rgb).depth_m for f in frames]
    tiles = []
    for i, name in enumerate(["clean", *names]):
        frame, depth = frames[i % len(frames)], depths[i % len(frames)]
        image = frame.rgb if name == "clean" else corrupt_real(frame, depth, name, severity, i)
        height = round(image.shape[0] * tile_width / image.shape[1])
        tile = cv2.resize(image, (tile_width, height), interpolation=cv2.INTER_AREA)
        tiles.append(_label(tile, f"{name} {severity}" if name != "clean" else "clean"))
    height = min(t.shape[0] for t in tiles)
    tiles = [t[:height] for t in tiles]
    columns = 4
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[r : r + columns]) for r in range(0, len(tiles), columns)]
    return np.vstack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", type=Path, default=REPO.parent / "shared" / "data" / "kitti45" / "training"
    )
    parser.add_argument("--frames", nargs="+", default=["000010", "000020", "000035"])
    parser.add_argument("--names", nargs="+", default=list(CAMERA_CORRUPTIONS))
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--tile-width", type=int, default=400)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "contact_sheet.png")
    args = parser.parse_args()
    sheet = contact_sheet(args.data, args.frames, args.names, args.severity, args.tile_width)
    from PIL import Image

    Image.fromarray(sheet).quantize(colors=256, dither=Image.Dither.FLOYDSTEINBERG).save(
        args.out, optimize=True
    )
    print(f"{args.out}: {sheet.shape[1]}x{sheet.shape[0]}, {args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
