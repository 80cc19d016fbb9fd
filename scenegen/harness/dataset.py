"""A torch ``Dataset`` of detection samples over scenegen output and KITTI / COCO / YOLO folders.

Each item is ``(image, target)`` as torchvision's detection models and references expect:
``image`` float32 ``(3, H, W)`` in [0, 1]; ``target`` a dict of tensors:

========================  ==============  ===============================================
key                       dtype, shape    meaning
========================  ==============  ===============================================
``boxes``                 float32 (N, 4)  x1, y1, x2, y2 in pixels (of the returned image)
``labels``                int64 (N,)      ``classes.index(name) + 1`` (0 is background)
``occlusion``             float32 (N,)    hidden share of the object, nan when unknown
``occlusion_level``       int64 (N,)      KITTI 0-3
``truncation``            float32 (N,)    share outside the image
``distance_m``            float32 (N,)    distance to the object, nan when unknown
``event``                 int64 (N,)      index into :data:`EVENT_NAMES`, -1 for none
``difficulty``            int64 (N,)      0 easy, 1 moderate, 2 hard, 3 unknown (KITTI)
``area``, ``iscrowd``     float32, int64  as torchvision's COCO references use them
``ignore_boxes``          float32 (M, 4)  regions not to score: classes left out, objects
                                          below ``min_box_height_px`` or hidden more
                                          than ``max_occlusion``, KITTI DontCare
``image_id``              int64 ()        the item's index
========================  ==============  ===============================================

Every value is a tensor, so ``{k: v.to(device) for k, v in target.items()}`` works.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from scenegen.frame import CLASS_NAMES, Frame
from scenegen.io import READ_FORMATS, DatasetReader

# The rare-event types scenegen's world builder tags objects with (tests keep this in step).
EVENT_NAMES: tuple[str, ...] = (
    "jaywalker",
    "stalled_vehicle",
    "debris",
    "cut_in",
    "wrong_way",
    "animal",
    "lost_cargo",
    "construction_zone",
    "occluded_pedestrian",
)
DIFFICULTIES: tuple[str, ...] = ("easy", "moderate", "hard", "unknown")

SOURCE_KINDS = ("auto", *READ_FORMATS)


def event_id(name: str | None) -> int:
    """Index of an event in :data:`EVENT_NAMES`; -1 for none, ``len(EVENT_NAMES)`` if unknown."""
    if not name:
        return -1
    return EVENT_NAMES.index(name) if name in EVENT_NAMES else len(EVENT_NAMES)


def resize_image(rgb: np.ndarray, image_scale: float) -> np.ndarray:
    """``rgb`` scaled by ``image_scale`` (area interpolation); the same array for 1.0."""
    if image_scale == 1.0:
        return rgb
    height, width = rgb.shape[:2]
    size = (max(1, round(width * image_scale)), max(1, round(height * image_scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def frame_target(
    frame: Frame,
    *,
    classes: Sequence[str] = CLASS_NAMES,
    class_map: Mapping[str, str | None] | None = None,
    min_box_height_px: float = 0.0,
    max_occlusion: float = 1.0,
    image_scale: float = 1.0,
    image_id: int = 0,
) -> dict[str, torch.Tensor]:
    """The torchvision-style target dict of a frame (see the module docstring).

    ``class_map`` renames classes first (``{"van": "car"}``; ``None`` drops a class
    entirely); objects whose class is not in ``classes``, whose box (after scaling) is
    lower than ``min_box_height_px`` or whose hidden share is above ``max_occlusion`` become
    ``ignore_boxes`` (neither a hit nor a miss). Boxes are clipped to the image; boxes with
    no area left are dropped.
    """
    width = frame.width * image_scale
    height = frame.height * image_scale
    mapping = dict(class_map or {})
    kept: list[tuple[np.ndarray, Any, int]] = []
    ignore: list[np.ndarray] = []
    for obj in frame.objects:
        name = mapping.get(obj.class_name, obj.class_name)
        if name is None:
            continue
        box = np.asarray(obj.box_2d, dtype=np.float64).reshape(4) * image_scale
        box = np.clip(box, [0, 0, 0, 0], [width, height, width, height])
        if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
            continue
        too_hidden = float(obj.occlusion) > max_occlusion  # nan (unknown) is kept
        if name not in classes or box[3] - box[1] < min_box_height_px or too_hidden:
            ignore.append(box)
        else:
            kept.append((box, obj, classes.index(name) + 1))
    # Objects seen but not labelled (too small or hidden) and real KITTI's DontCare regions.
    unlabelled = [np.asarray(o.box_2d, np.float64).reshape(4) for o in frame.ignored_objects]
    dont_care = np.asarray(frame.meta.get("kitti_dont_care_boxes", []), np.float64)
    for box in [*unlabelled, *dont_care.reshape(-1, 4)]:
        ignore.append(np.clip(box * image_scale, 0, [width, height, width, height]))
    boxes = np.array([b for b, _, _ in kept], dtype=np.float32).reshape(-1, 4)

    def column(values: list, dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype)

    objs = [o for _, o, _ in kept]
    return {
        "boxes": torch.from_numpy(boxes),
        "labels": column([label for _, _, label in kept], torch.int64),
        "occlusion": column([float(o.occlusion) for o in objs], torch.float32),
        "occlusion_level": column([int(o.occlusion_level) for o in objs], torch.int64),
        "truncation": column([_finite_or_nan(o.truncation) for o in objs], torch.float32),
        "distance_m": column([_finite_or_nan(o.distance_m) for o in objs], torch.float32),
        "event": column([event_id(o.event) for o in objs], torch.int64),
        "difficulty": column([_difficulty_id(o.difficulty) for o in objs], torch.int64),
        "area": torch.from_numpy((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])),
        "iscrowd": torch.zeros(len(kept), dtype=torch.int64),
        "ignore_boxes": torch.from_numpy(np.array(ignore, dtype=np.float32).reshape(-1, 4)),
        "image_id": torch.tensor(int(image_id), dtype=torch.int64),
    }


def _finite_or_nan(value: float) -> float:
    number = float(value)
    return number if math.isfinite(number) else float("nan")


def _difficulty_id(name: str) -> int:
    return DIFFICULTIES.index(name) if name in DIFFICULTIES else DIFFICULTIES.index("unknown")


def image_tensor(rgb_u8: np.ndarray) -> torch.Tensor:
    """uint8 ``(H, W, 3)`` -> float32 ``(3, H, W)`` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(rgb_u8)).permute(2, 0, 1).float().div_(255.0)


def albumentations_compose(transforms: Sequence[Any], *, min_visibility: float = 0.0) -> Any:
    """An ``albumentations.Compose`` set up for :class:`DetectionDataset` (pascal_voc boxes,
    label fields ``labels`` and ``indices``, boxes that leave the image are dropped)."""
    import albumentations as A  # noqa: N812 (the library's own convention)

    return A.Compose(
        list(transforms),
        bbox_params=A.BboxParams(
            format="pascal_voc", label_fields=["labels", "indices"], min_visibility=min_visibility
        ),
    )


def apply_albumentations(
    transform: Callable[..., dict], rgb_u8: np.ndarray, target: dict[str, torch.Tensor]
) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
    """Run an albumentations pipeline (see :func:`albumentations_compose`) on an image and its
    target; per-object fields follow the boxes the pipeline keeps."""
    indices = list(range(len(target["boxes"])))
    out = transform(
        image=rgb_u8,
        bboxes=target["boxes"].numpy().reshape(-1, 4),
        labels=target["labels"].tolist(),
        indices=indices,
    )
    kept = torch.as_tensor(np.asarray(out["indices"], dtype=np.int64).reshape(-1))
    new = {
        key: (value[kept] if value.ndim >= 1 and key != "ignore_boxes" else value)
        for key, value in target.items()
    }
    new["boxes"] = torch.as_tensor(np.asarray(out["bboxes"], dtype=np.float32).reshape(-1, 4))
    new["area"] = (new["boxes"][:, 2] - new["boxes"][:, 0]) * (
        new["boxes"][:, 3] - new["boxes"][:, 1]
    )
    image = out["image"]
    if image.shape[:2] != rgb_u8.shape[:2]:
        # Ignore regions are not transformed; a geometric change invalidates them.
        new["ignore_boxes"] = torch.zeros((0, 4), dtype=torch.float32)
    return image, new


class DetectionDataset(Dataset):
    """``(image, target)`` items of a scenegen output or a KITTI / COCO / YOLO folder.

    ``path`` and ``kind``: a dataset as :class:`scenegen.io.DatasetReader` opens it (a
    scenegen output folder, a KITTI ``training`` folder or its parent, a COCO annotations
    ``.json`` or its folder, a YOLO folder; ``kind`` ``auto`` detects which).
    ``classes``: the classes to detect, in label order (label = index + 1);
    ``class_map``: renames applied first, to the dataset's own class names when it is read
    (the reader's class policy) and to the scenegen classes of every frame;
    ``unknown_classes``: ``error`` or ``skip`` for declared class names that neither
    ``class_map`` nor scenegen knows; ``min_box_height_px``: smaller objects become ignore
    regions, as do objects hidden more than ``max_occlusion`` (0-1); ``image_scale``: resize
    images and boxes (e.g. 0.5 to train faster);
    ``transform``: an albumentations pipeline from :func:`albumentations_compose`;
    ``cache``: keep decoded images and targets in memory after the first read;
    ``frames``: only these frame ids of the dataset, in the dataset's order (e.g.
    ``select_frames(reader.frame_ids, parse_frame_selection("000004-000029"))``).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        kind: str = "auto",
        classes: Sequence[str] = CLASS_NAMES,
        class_map: Mapping[str, str | None] | None = None,
        unknown_classes: str = "error",
        min_box_height_px: float = 0.0,
        max_occlusion: float = 1.0,
        image_scale: float = 1.0,
        transform: Callable[..., dict] | None = None,
        cache: bool = False,
        frames: Sequence[str] | None = None,
    ) -> None:
        unknown = [c for c in classes if c not in CLASS_NAMES]
        if unknown or not classes:
            raise ValueError(f"classes must be scenegen classes {list(CLASS_NAMES)}, got {unknown}")
        if not 0.0 < image_scale <= 4.0:
            raise ValueError(f"image_scale must be in (0, 4], got {image_scale}")
        if kind not in SOURCE_KINDS:
            raise ValueError(f"kind must be one of {SOURCE_KINDS}, got {kind!r}")
        self.source = DatasetReader(
            path, kind, class_map=class_map, unknown_classes=unknown_classes
        )
        if frames is None:
            self._indices = list(range(len(self.source)))
        else:
            missing = [f for f in frames if f not in set(self.source.frame_ids)]
            if missing:
                raise ValueError(f"{path}: no frames {missing[:5]} in this dataset")
            self._indices = [self.source.index_of(f) for f in frames]
        self.classes = tuple(classes)
        self.class_map = dict(class_map or {})
        self.min_box_height_px = float(min_box_height_px)
        self.max_occlusion = float(max_occlusion)
        self.image_scale = float(image_scale)
        self.transform = transform
        self._cache: dict[int, tuple[np.ndarray, dict[str, torch.Tensor]]] | None = (
            {} if cache else None
        )

    def __len__(self) -> int:
        return len(self._indices)

    @property
    def frame_ids(self) -> tuple[str, ...]:
        """The ids of the items, in item order."""
        return tuple(self.source.frame_ids[i] for i in self._indices)

    def frame(self, index: int) -> Frame:
        """The full :class:`Frame` of item ``index`` (depth, calibration, metadata)."""
        return self.source.frame(self._indices[index])

    def record(self, index: int) -> dict[str, Any]:
        """Manifest record of item ``index`` (scenario, sweep cell...) or ``{}``."""
        return self.source.record(self._indices[index])

    def sample_from_frame(
        self, frame: Frame, index: int, rgb_u8: np.ndarray | None = None
    ) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
        """Image (uint8, scaled) and target of a frame; ``rgb_u8`` replaces its image."""
        target = frame_target(
            frame,
            classes=self.classes,
            class_map=self.class_map,
            min_box_height_px=self.min_box_height_px,
            max_occlusion=self.max_occlusion,
            image_scale=self.image_scale,
            image_id=index,
        )
        rgb = frame.rgb if rgb_u8 is None else rgb_u8
        return resize_image(rgb, self.image_scale), target

    def raw_item(self, index: int) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
        """uint8 image and target before ``transform``."""
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        item = self.sample_from_frame(self.frame(index), index)
        if self._cache is not None:
            self._cache[index] = item
        return item

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} outside 0..{len(self) - 1}")
        rgb, target = self.raw_item(index)
        if self.transform is not None:
            rgb, target = apply_albumentations(self.transform, rgb, target)
        return image_tensor(rgb), target


def collate_detection(
    batch: Sequence[tuple[torch.Tensor, dict[str, torch.Tensor]]],
) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    """Keep images and targets as lists (images may differ in size), as torchvision does."""
    images, targets = zip(*batch, strict=True) if batch else ((), ())
    return list(images), list(targets)
