"""One random-access reader for datasets of every supported format.

:class:`DatasetReader` opens a scenegen dataset (``manifest.jsonl`` with ``kitti/training``),
a KITTI folder, a COCO annotations file or a YOLO folder, auto-detected or named; it lists
the frame ids and reads any frame by index or by id. A frame that cannot be read comes back
as a :class:`FrameError` (the file and what is wrong with it), so one bad image does not stop
a run over the others; :meth:`DatasetReader.frame` raises the error instead.

Class names follow one policy in every format. A name the dataset declares (a COCO category,
a YOLO ``data.yaml`` name) maps through ``class_map`` first (``None`` skips the class), else
to itself when it is a scenegen class, else through
:data:`~scenegen.io.coco.COCO_NAME_TO_CLASS` (``person`` -> pedestrian, ...). Declared names
left over make opening fail with every such name listed, unless ``unknown_classes="skip"``
drops them. KITTI types have their fixed mapping
(:data:`~scenegen.io.kitti.KITTI_TYPE_TO_CLASS`, refined by scenegen's sidecar files).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from scenegen.frame import CLASS_NAMES, Frame
from scenegen.io.coco import (
    COCO_NAME_TO_CLASS,
    annotations_per_image,
    coco_frame,
    image_stem,
    load_coco_json,
    placeholder_calibration,
)
from scenegen.io.errors import DatasetReadError
from scenegen.io.kitti import list_kitti_frames, read_kitti_frame
from scenegen.io.manifest import MANIFEST_NAME, read_manifest
from scenegen.io.png import read_image
from scenegen.io.yolo import label_path_for, list_yolo_images, parse_label_file, yolo_class_names

READ_FORMATS: tuple[str, ...] = ("scenegen", "kitti", "coco", "yolo")
UNKNOWN_CLASS_POLICIES: tuple[str, ...] = ("error", "skip")

# What each KITTI sub-folder holds, to say which part of a frame failed.
_KITTI_PARTS = MappingProxyType(
    {
        "image_2": "image",
        "calib": "calibration",
        "label_2": "labels",
        "velodyne": "LiDAR scan",
        "labels": "point labels",
        "depth": "depth",
        "instance": "instance mask",
        "label_scenegen": "scenegen labels",
    }
)


@dataclass(frozen=True)
class FrameError:
    """Why frame ``index`` (id ``frame_id``) could not be read: ``path`` is the offending
    file, ``part`` what it holds (image, calibration, labels, LiDAR scan, annotations, ...)
    and ``reason`` what is wrong with it."""

    index: int
    frame_id: str
    path: Path
    part: str
    reason: str

    def __str__(self) -> str:
        return f"frame {self.frame_id} ({self.part}): {self.path}: {self.reason}"

    def exception(self) -> DatasetReadError:
        """The same problem as a raisable :class:`DatasetReadError`."""
        return DatasetReadError(self.path, self.reason)


def resolve_class_names(
    declared: Iterable[str],
    where: Path,
    class_map: Mapping[str, str | None] | None = None,
    unknown_classes: str = "error",
) -> dict[str, str | None]:
    """Declared class name -> scenegen class or ``None`` (skip), by the module's policy.

    ``where`` is the file that declares the names, named in the error.
    """
    overrides = dict(class_map or {})
    bad_targets = {k: v for k, v in overrides.items() if v is not None and v not in CLASS_NAMES}
    if bad_targets:
        raise ValueError(
            f"class_map {bad_targets}: targets must be scenegen classes {list(CLASS_NAMES)} or None"
        )
    if unknown_classes not in UNKNOWN_CLASS_POLICIES:
        raise ValueError(f"unknown_classes must be one of {UNKNOWN_CLASS_POLICIES}")
    mapping: dict[str, str | None] = {}
    unknown: list[str] = []
    for name in declared:
        if name in overrides:
            mapping[name] = overrides[name]
        elif name in CLASS_NAMES:
            mapping[name] = name
        elif name in COCO_NAME_TO_CLASS:
            mapping[name] = COCO_NAME_TO_CLASS[name]
        elif unknown_classes == "skip":
            mapping[name] = None
        else:
            unknown.append(name)
    if unknown:
        raise DatasetReadError(
            where,
            f"classes {unknown} are not scenegen classes {list(CLASS_NAMES)}; map them with "
            "class_map (None skips a class) or skip every unknown class with "
            "unknown_classes='skip'",
        )
    return mapping


_EXPECTED = MappingProxyType(
    {
        "scenegen": "a scenegen dataset (manifest.jsonl and kitti/training/)",
        "kitti": "a KITTI folder (image_2/, or training/image_2/)",
        "coco": "a COCO annotations .json file (or a folder with annotations.json)",
        "yolo": "a YOLO folder (images/, labels/, data.yaml)",
    }
)


def locate_dataset(path: Path, fmt: str = "auto") -> tuple[str, Path]:
    """``(format, location)`` of the dataset at ``path``.

    The location is the scenegen dataset folder, the KITTI folder holding ``image_2`` (given
    itself, its ``training`` parent, a scenegen dataset or the ``image_2`` folder), the COCO
    ``.json`` (given itself or a folder with ``annotations.json``, ``coco/annotations.json``
    or a single ``.json``) or the YOLO folder holding ``images`` (given itself, the
    ``images`` folder or a scenegen dataset).
    """
    path = Path(path)
    if fmt not in ("auto", *READ_FORMATS):
        raise ValueError(f"format must be auto or one of {READ_FORMATS}, got {fmt!r}")
    if not path.exists():
        raise DatasetReadError(path, "no such file or folder")
    finders = {
        "scenegen": _scenegen_root,
        "kitti": _kitti_root,
        "coco": _coco_json,
        "yolo": _yolo_root,
    }
    if fmt != "auto":
        found = finders[fmt](path)
        if found is None:
            raise DatasetReadError(path, f"not a {fmt} dataset: expected {_EXPECTED[fmt]}")
        return fmt, found
    if path.name == "image_2":
        order: tuple[str, ...] = ("kitti",)
    elif path.name == "images":
        order = ("yolo",)
    else:
        order = ("coco",) if path.is_file() else READ_FORMATS
    for name in order:
        found = finders[name](path)
        if found is not None:
            return name, found
    raise DatasetReadError(
        path, "not a dataset: expected " + ", or ".join(_EXPECTED[n] for n in READ_FORMATS)
    )


def _scenegen_root(path: Path) -> Path | None:
    if (path / MANIFEST_NAME).is_file() and (path / "kitti" / "training").is_dir():
        return path
    return None


def _kitti_root(path: Path) -> Path | None:
    if path.name == "image_2" and path.is_dir():
        return path.parent
    for root in (path, path / "training", path / "kitti" / "training"):
        if (root / "image_2").is_dir():
            return root
    return None


def _coco_json(path: Path) -> Path | None:
    if path.is_file():
        return path if path.suffix.lower() == ".json" else None
    for candidate in (path / "annotations.json", path / "coco" / "annotations.json"):
        if candidate.is_file():
            return candidate
    candidates = sorted(path.glob("*.json")) if path.is_dir() else []
    return candidates[0] if len(candidates) == 1 else None


def _yolo_root(path: Path) -> Path | None:
    if path.name == "images" and path.is_dir():
        return path.parent
    for root in (path, path / "yolo"):
        if (root / "images").is_dir():
            return root
    return None


class _KittiFrames:
    def __init__(self, root: Path, frame_ids: list[str] | None = None) -> None:
        self.root = root
        self.ids = list_kitti_frames(root) if frame_ids is None else frame_ids

    def source(self, index: int) -> Path:
        return self.root / "image_2" / f"{self.ids[index]}.png"

    def load(self, index: int) -> Frame:
        return read_kitti_frame(self.root, self.ids[index])

    def part(self, path: Path) -> str:
        return _KITTI_PARTS.get(path.parent.name, "frame")


class _CocoFrames:
    def __init__(self, json_path: Path, class_policy: dict[str, Any]) -> None:
        self.json_path = json_path
        data = load_coco_json(json_path)
        self.images: list[dict[str, Any]] = data["images"]
        for number, image in enumerate(self.images):
            if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
                raise DatasetReadError(
                    json_path, f"images[{number}]: expected an object with id and file_name"
                )
        try:
            declared = {int(c["id"]): str(c["name"]) for c in data["categories"]}
        except (KeyError, TypeError, ValueError):
            raise DatasetReadError(
                json_path, "categories: expected objects with an integer id and a name"
            ) from None
        classes = resolve_class_names(declared.values(), json_path, **class_policy)
        self.category_class = {cid: classes[name] for cid, name in declared.items()}
        self.per_image = annotations_per_image(json_path, data["annotations"])
        self.ids = [image_stem(image) for image in self.images]

    def source(self, index: int) -> Path:
        return self.json_path.parent / str(self.images[index]["file_name"])

    def load(self, index: int) -> Frame:
        image = self.images[index]
        try:
            annotations = self.per_image.get(int(image["id"]), [])
            return coco_frame(self.json_path, image, annotations, self.category_class)
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetReadError(
                self.json_path, f"image {image.get('id')!r}: bad entry ({exc!r})"
            ) from None

    def part(self, path: Path) -> str:
        return "annotations" if path == self.json_path else "image"


class _YoloFrames:
    def __init__(self, root: Path, class_policy: dict[str, Any]) -> None:
        self.root = root
        self.images = list_yolo_images(root)
        self.names = yolo_class_names(root)
        self.classes = resolve_class_names(self.names, root / "data.yaml", **class_policy)
        self.ids = [p.stem for p in self.images]

    def source(self, index: int) -> Path:
        return self.images[index]

    def load(self, index: int) -> Frame:
        image_path = self.images[index]
        rgb = read_image(image_path, color=True)
        height, width = rgb.shape[:2]
        label_path = label_path_for(self.root, image_path)
        objects = []
        if label_path.exists():
            for obj in parse_label_file(label_path, width, height, self.names):
                target = self.classes[obj.class_name]
                if target is not None:
                    obj.class_name = target
                    objects.append(obj)
        return Frame(
            frame_id=image_path.stem,
            rgb=rgb,
            calibration=placeholder_calibration(width, height),
            objects=objects,
            meta={"source": "yolo", "calibration": "placeholder"},
        )

    def part(self, path: Path) -> str:
        return "labels" if path.suffix == ".txt" else "image"


class DatasetReader:
    """Random access to the frames of a dataset in any supported format (see the module doc).

    ``path``: the dataset (see :func:`locate_dataset` for the forms accepted); ``fmt``:
    ``auto`` or one of :data:`READ_FORMATS`; ``class_map`` and ``unknown_classes``: the class
    policy of the module docstring. Opening reads the index (file listing, manifest, COCO
    JSON); frames are read when asked for. A problem with the dataset as a whole raises
    :class:`DatasetReadError` here.
    """

    def __init__(
        self,
        path: Path | str,
        fmt: str = "auto",
        *,
        class_map: Mapping[str, str | None] | None = None,
        unknown_classes: str = "error",
    ) -> None:
        self.path = Path(path)
        self.format, self.location = locate_dataset(self.path, fmt)
        policy = {"class_map": class_map, "unknown_classes": unknown_classes}
        self._records: list[dict[str, Any]] = []
        self._frames: _KittiFrames | _CocoFrames | _YoloFrames
        if self.format == "scenegen":
            self._records = read_manifest(self.location)
            ids = [str(r["frame_id"]) for r in self._records]
            self._frames = _KittiFrames(self.location / "kitti" / "training", ids)
        elif self.format == "kitti":
            self._frames = _KittiFrames(self.location)
        elif self.format == "coco":
            self._frames = _CocoFrames(self.location, policy)
        else:
            self._frames = _YoloFrames(self.location, policy)
        self.frame_ids: tuple[str, ...] = tuple(self._frames.ids)
        self._positions: dict[str, list[int]] = defaultdict(list)
        for index, frame_id in enumerate(self.frame_ids):
            self._positions[frame_id].append(index)

    def __len__(self) -> int:
        return len(self.frame_ids)

    def index_of(self, frame_id: str) -> int:
        """Index of the frame with id ``frame_id`` (``KeyError`` if none or several)."""
        positions = self._positions.get(frame_id, [])
        if len(positions) != 1:
            found = [str(self.source_file(i)) for i in positions]
            raise KeyError(
                f"frame id {frame_id!r}: " + (f"shared by {found}" if found else "not found")
            )
        return positions[0]

    def _index(self, key: int | str) -> int:
        if isinstance(key, str):
            return self.index_of(key)
        if not 0 <= key < len(self):
            raise IndexError(f"frame index {key} outside 0..{len(self) - 1}")
        return int(key)

    def source_file(self, key: int | str) -> Path:
        """The image file of frame ``key`` (an index or a frame id)."""
        return self._frames.source(self._index(key))

    def record(self, key: int | str) -> dict[str, Any]:
        """The manifest record of frame ``key`` (scenegen datasets), else ``{}``."""
        return self._records[self._index(key)] if self._records else {}

    def read(self, key: int | str) -> Frame | FrameError:
        """Frame ``key`` (an index or a frame id), or the :class:`FrameError` saying why it
        cannot be read."""
        index = self._index(key)
        try:
            return self._frames.load(index)
        except DatasetReadError as exc:
            return FrameError(
                index, self.frame_ids[index], exc.path, self._frames.part(exc.path), exc.reason
            )

    def frame(self, key: int | str) -> Frame:
        """Frame ``key``; raises :class:`DatasetReadError` when it cannot be read."""
        item = self.read(key)
        if isinstance(item, FrameError):
            raise item.exception()
        return item

    def __iter__(self) -> Iterator[Frame | FrameError]:
        return (self.read(index) for index in range(len(self)))


def _frames_or_raise(reader: DatasetReader) -> Iterator[Frame]:
    for index in range(len(reader)):
        yield reader.frame(index)


def read_coco(
    annotation_json: Path, class_map: Mapping[str, str | None] | None = None
) -> Iterator[Frame]:
    """Frames of a COCO detection file in its image order (image paths relative to the
    file's folder); the first unreadable frame raises :class:`DatasetReadError`. Use
    :class:`DatasetReader` to go on past bad frames."""
    yield from _frames_or_raise(DatasetReader(annotation_json, "coco", class_map=class_map))


def read_yolo(root: Path, class_map: Mapping[str, str | None] | None = None) -> Iterator[Frame]:
    """Frames of a YOLO folder (``images/**`` with ``labels/**``), sorted by path, with a
    placeholder calibration; the first unreadable frame raises :class:`DatasetReadError`."""
    yield from _frames_or_raise(DatasetReader(root, "yolo", class_map=class_map))
