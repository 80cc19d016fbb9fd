"""YOLO (Ultralytics) detection layout: ``images/``, ``labels/`` and ``data.yaml``.

A label line is ``class cx cy w h``: the class index into ``names`` and the box centre and
size divided by the image width/height, 6 decimals. Boxes are clipped to the image first
(Ultralytics rejects coordinates outside [0, 1]).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml

from scenegen.frame import CLASS_NAMES, Frame, ObjectLabel
from scenegen.io.errors import DatasetReadError, DatasetWriteError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def label_text(frame: Frame) -> str:
    """The YOLO label file of a frame (one line per object)."""
    width, height = frame.width, frame.height
    lines = []
    for obj in frame.objects:
        x1, y1, x2, y2 = (float(v) for v in np.asarray(obj.box_2d, np.float64).reshape(4))
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            raise DatasetWriteError(f"frame {frame.frame_id!r}: non-finite box_2d")
        x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
        y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
        cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        w, h = (x2 - x1) / width, (y2 - y1) / height
        lines.append(f"{obj.class_id} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
    return "".join(lines)


def data_yaml_text(yolo_dir: Path) -> str:
    """``data.yaml`` as Ultralytics reads it.

    ``path`` is absolute because Ultralytics resolves a relative one against its own
    datasets folder; ``train`` and ``val`` both list every image (scenegen datasets are
    split downstream). ``names`` maps class index to name.
    """
    names = "".join(f"  {index}: {name}\n" for index, name in enumerate(CLASS_NAMES))
    return (
        f"path: {Path(yolo_dir).resolve()}\n"
        "train: images\n"
        "val: images\n"
        f"nc: {len(CLASS_NAMES)}\n"
        f"names:\n{names}"
    )


def class_names_from_yaml(path: Path) -> list[str]:
    """``names`` of a YOLO ``data.yaml`` (a list, or an index -> name mapping), by index."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DatasetReadError(path, f"unreadable YAML: {exc}") from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, list):
        return [str(n) for n in names]
    if isinstance(names, dict):
        try:
            indices = sorted(int(k) for k in names)
        except ValueError:
            raise DatasetReadError(path, "names keys must be class indices") from None
        if indices != list(range(len(indices))):
            raise DatasetReadError(path, f"names keys must be 0..n-1, got {indices}")
        return [str(names[k] if k in names else names[str(k)]) for k in indices]
    raise DatasetReadError(path, "expected 'names' as a list or an index -> name mapping")


def parse_label_file(
    path: Path, width: int, height: int, class_names: list[str]
) -> list[ObjectLabel]:
    """Objects of one YOLO label file, boxes in pixels ``[x1, y1, x2, y2]``."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetReadError(path, f"cannot read: {exc}") from None
    objects = []
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split()
        if not tokens:
            continue
        if len(tokens) != 5:
            raise DatasetReadError(
                path, f"line {number}: expected 5 fields 'class cx cy w h', got {len(tokens)}"
            )
        try:
            class_index = int(tokens[0])
            cx, cy, w, h = (float(t) for t in tokens[1:])
        except ValueError:
            raise DatasetReadError(
                path, f"line {number}: fields must be numbers: {raw!r}"
            ) from None
        if not 0 <= class_index < len(class_names):
            raise DatasetReadError(
                path, f"line {number}: class {class_index} outside 0..{len(class_names) - 1}"
            )
        values = (cx, cy, w, h)
        if not all(math.isfinite(v) and -1e-6 <= v <= 1 + 1e-6 for v in values):
            raise DatasetReadError(path, f"line {number}: coordinates must be in [0, 1]: {raw!r}")
        objects.append(
            ObjectLabel(
                class_name=class_names[class_index],
                instance_id=len(objects) + 1,
                box_2d=np.array(
                    [
                        (cx - w / 2) * width,
                        (cy - h / 2) * height,
                        (cx + w / 2) * width,
                        (cy + h / 2) * height,
                    ],
                    dtype=np.float32,
                ),
            )
        )
    return objects


def label_path_for(root: Path, image_path: Path) -> Path:
    """The label file of ``image_path`` under YOLO folder ``root``.

    Ultralytics' rule: the last ``images`` folder becomes ``labels``, the suffix ``.txt``.
    """
    relative = image_path.relative_to(root)
    parts = list(relative.parts)
    if "images" in parts:
        index = len(parts) - 1 - parts[::-1].index("images")
        parts[index] = "labels"
    return (root / Path(*parts)).with_suffix(".txt")


def list_yolo_images(root: Path) -> list[Path]:
    """Image files under ``root/images`` (any depth, hidden files left out), sorted by path."""
    images_dir = Path(root) / "images"
    if not images_dir.is_dir():
        raise DatasetReadError(images_dir, "not a folder: expected YOLO images/")
    return sorted(
        p
        for p in images_dir.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def yolo_class_names(root: Path) -> list[str]:
    """Class names by index: ``root/data.yaml``'s ``names`` when present, else
    :data:`CLASS_NAMES`."""
    yaml_path = Path(root) / "data.yaml"
    return class_names_from_yaml(yaml_path) if yaml_path.exists() else list(CLASS_NAMES)
