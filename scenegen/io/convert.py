"""Writing an existing scenegen dataset again, in other formats or another split.

Frames are read from the richest format the source holds (KITTI with its
``label_scenegen`` sidecars: image, labels, ignore regions, calibration, depth, instance
ids, LiDAR points; else COCO: image, labels, masks, calibration; else YOLO: image and
boxes) and written by :class:`DatasetWriter` under their original frame indices, with
the source manifest's seed, scenario, parameters and sweep cell, so that splits by seed,
scenario or cell are the ones a render would have made. Nothing is rendered.

Re-splitting a dataset in place (``dst`` is ``src`` and the formats stay) only rewrites
the files a split decides (:meth:`DatasetWriter.finalize`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from scenegen.frame import Frame
from scenegen.io.dataset import KITTI_DIR, DatasetWriter, formats_of, read_layout
from scenegen.io.errors import DatasetReadError, DatasetWriteError
from scenegen.io.manifest import read_manifest
from scenegen.io.reader import DatasetReader
from scenegen.io.splits import SplitSpec

# Manifest keys a frame's meta carries into the manifest it is written with.
_PROVENANCE_KEYS = ("scenario_name", "seed", "params", "events", "sweep_cell")


def source_format(src: Path, records: Sequence[dict[str, Any]]) -> str:
    """``kitti``, ``coco`` or ``yolo``: the richest format every frame of ``src`` has."""
    for name, relative in (
        ("kitti", f"{KITTI_DIR}/image_2/{{stem}}.png"),
        ("coco", "coco/images/{stem}.png"),
        ("yolo", "yolo/labels/{stem}.txt"),
    ):
        if all(relative.format(stem=r["frame_id"]) in r["files"] for r in records):
            return name
    raise DatasetReadError(src, "no format (kitti, coco, yolo) holds every frame of the manifest")


def _frames(src: Path, fmt: str, records: Sequence[dict[str, Any]]) -> Iterator[Frame]:
    """The source frames of ``records``, in their order, through the one dataset reader."""
    location = {"kitti": src / KITTI_DIR, "coco": src / "coco" / "annotations.json"}
    reader = DatasetReader(location.get(fmt, src / "yolo"), fmt)
    for record in records:
        try:
            yield reader.frame(str(record["frame_id"]))
        except KeyError as exc:
            raise DatasetReadError(
                reader.location, f"frame of the manifest missing: {exc}"
            ) from None


def convert_dataset(
    src: Path,
    dst: Path,
    formats: Sequence[str],
    *,
    split: SplitSpec | None = None,
    coco_masks: str = "rle",
    overwrite: bool = False,
    force: bool = False,
    on_frame: Callable[[str], None] | None = None,
) -> dict[str, list[str]] | None:
    """Write the scenegen dataset ``src`` into ``dst`` in ``formats``; returns the split
    (name -> frame ids) or ``None``.

    ``split=None`` keeps the split ``src`` was finalized with. ``on_frame`` is called with
    each frame id after it is written. Raises :class:`DatasetReadError` for an unreadable
    source and :class:`DatasetWriteError` for a destination that cannot be written.
    """
    src, dst = Path(src), Path(dst)
    records = read_manifest(src) if src.is_dir() else []
    if not records:
        raise DatasetReadError(src, "not a scenegen dataset (no frames in manifest.jsonl)")
    source_split, _ = read_layout(src)
    split = split if split is not None else source_split
    if dst.resolve() == src.resolve():
        writer = DatasetWriter(dst, formats)
        if set(writer.formats) != set(_written_formats(src)):
            raise DatasetWriteError(
                f"{dst} is the source: in place only the split can change, not the formats "
                f"({', '.join(_written_formats(src))}); choose another --out"
            )
        return writer.finalize({"converted": True}, split=split, coco_masks=coco_masks)
    fmt = source_format(src, records)
    writer = DatasetWriter.open(dst, formats, overwrite=overwrite, force=force)
    for record, frame in zip(records, _frames(src, fmt, records), strict=True):
        for key in _PROVENANCE_KEYS:
            if record.get(key) is not None:
                frame.meta[key] = record[key]
        writer.write_frame(frame, int(record["frame_index"]))
        if on_frame is not None:
            on_frame(str(record["frame_id"]))
    return writer.finalize(
        {"converted_from": fmt, "frames": len(records)}, split=split, coco_masks=coco_masks
    )


def _written_formats(src: Path) -> tuple[str, ...]:
    return formats_of(read_manifest(src))
