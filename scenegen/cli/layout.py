"""Options shared by the commands that write dataset folders (``render``, ``convert``)."""

from __future__ import annotations

from typing import Annotated

import typer

from scenegen.cli.app import EXIT_INVALID_INPUT, fail
from scenegen.io.splits import SplitSpec

FormatsOption = Annotated[
    str, typer.Option("--formats", help="Comma-separated writers: kitti, coco, yolo.")
]
PointcloudOption = Annotated[
    str | None,
    typer.Option(
        "--pointcloud",
        help="Also write each LiDAR scan as OUT/pointcloud/NNNNNN.ply or .pcd "
        "(x, y, z, intensity, class_id, instance_id, ring): ply or pcd.",
    ),
]
SplitOption = Annotated[
    str | None,
    typer.Option(
        "--split",
        help="Split the frames, e.g. train=0.8,val=0.2 (test= optional; fractions sum to 1), "
        "decided by each frame's seed: KITTI ImageSets/*.txt, YOLO train/val lists in "
        "data.yaml, COCO annotations_{train,val,test}.json.",
    ),
]
SplitByOption = Annotated[
    str,
    typer.Option(
        "--split-by",
        help="What a split keeps whole: frame, scenario (all frames of a scenario file) or "
        "cell (all frames of one sweep cell).",
    ),
]
CocoMasksOption = Annotated[
    str,
    typer.Option(
        "--coco-masks",
        help="COCO instance masks: rle (uncompressed RLE) or polygon (what detectron2 and "
        "mmdetection load by default).",
    ),
]

OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace the scenegen dataset already in --out.")
]
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Write into a non-empty folder that is not a scenegen dataset."),
]


def parse_formats(formats: str, pointcloud: str | None) -> tuple[str, ...]:
    """``--formats`` and ``--pointcloud`` -> the writer's format tuple (exits on a bad one)."""
    from scenegen.batch.settings import parse_formats as check_formats
    from scenegen.errors import InvalidInputError

    try:
        return check_formats(formats, pointcloud)
    except InvalidInputError as exc:
        fail(str(exc), EXIT_INVALID_INPUT)


def parse_layout(split: str | None, split_by: str, coco_masks: str) -> SplitSpec | None:
    """``--split``, ``--split-by`` and ``--coco-masks`` checked (exits on a bad one)."""
    from scenegen.io.coco import COCO_MASK_FORMATS
    from scenegen.io.splits import SPLIT_UNITS, SplitSpecError, parse_split

    if coco_masks not in COCO_MASK_FORMATS:
        fail(f"--coco-masks {coco_masks!r}: expected rle or polygon", EXIT_INVALID_INPUT)
    if split_by not in SPLIT_UNITS:
        fail(f"--split-by {split_by!r}: expected frame, scenario or cell", EXIT_INVALID_INPUT)
    if split is None:
        if split_by != "frame":
            fail("--split-by needs --split", EXIT_INVALID_INPUT)
        return None
    try:
        return parse_split(split, split_by)
    except SplitSpecError as exc:
        fail(f"--split {split!r}: {exc}", EXIT_INVALID_INPUT)


def split_line(splits: dict[str, list[str]] | None) -> str:
    """``split: train 8, val 2`` (empty without a split)."""
    if not splits:
        return ""
    return "split: " + ", ".join(f"{name} {len(stems)}" for name, stems in splits.items())
