"""How close a detector came to missing something: a continuous margin per frame.

For one frame with ground-truth objects ``o`` and detections ``j`` (boxes, scores, class
names):

1. *Relevant objects*: class (after the detector's class map, e.g. van -> car) among the
   searched classes (default: the detector's class names) and inside KITTI's ``hard``
   difficulty (box at least 25 px tall at KITTI's 375 px image height, scaled with the
   image height; occlusion level <= 2; truncation <= 0.5). Other objects are ignored.
2. *Object margin*: ``m_o = max_j min(IoU(o, j) - t_iou(class), score_j - t_score)`` over
   the detections of o's class, where ``t_iou`` is KITTI's IoU threshold (0.7 car / van /
   truck / bus, 0.5 pedestrian / cyclist and the rest; configurable) and ``t_score`` the
   score threshold (default 0.3). Without a detection of its class,
   ``m_o = -max(t_iou, t_score)``. ``m_o >= 0`` exactly when some detection of its class
   overlaps it by at least the threshold with at least the threshold score: it is
   *detected*; ``m_o < 0``: *missed*.
3. *Weights*: objects nearer than ``near_m`` (default 20 m) weigh ``near_weight`` (default
   2), others 1. The weighted margin is ``e_o = m_o * w`` when negative (a near miss counts
   more) and ``m_o / w`` when positive (a near object's safety counts less).
4. *Frame margin* ``M = min_o e_o`` (``None`` without relevant objects). *Failure*: any
   relevant object missed, i.e. ``M < 0``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from scenegen.frame import ObjectLabel
from scenegen.harness.metrics import KITTI_DIFFICULTY, KITTI_IOU, box_iou

KITTI_IMAGE_HEIGHT_PX = 375.0


@dataclass(frozen=True)
class MarginSettings:
    """What counts as detected (see the module docstring)."""

    classes: tuple[str, ...]
    class_map: Mapping[str, str] = field(default_factory=dict)
    iou_thresholds: Mapping[str, float] = field(default_factory=lambda: dict(KITTI_IOU))
    score_threshold: float = 0.3
    near_m: float = 20.0
    near_weight: float = 2.0
    difficulty: str = "hard"

    def __post_init__(self) -> None:
        if not self.classes:
            raise ValueError("classes is empty, expected at least one class to score")
        if self.difficulty not in KITTI_DIFFICULTY:
            raise ValueError(
                f"difficulty {self.difficulty!r}, expected one of {list(KITTI_DIFFICULTY)}"
            )
        if not 0 <= self.score_threshold <= 1:
            raise ValueError(f"score_threshold {self.score_threshold}, expected it in [0, 1]")
        if self.near_weight < 1:
            raise ValueError(f"near_weight {self.near_weight}, expected >= 1")

    def iou_threshold(self, cls: str) -> float:
        return float(self.iou_thresholds.get(cls, 0.5))


@dataclass(frozen=True)
class ObjectMargin:
    class_name: str
    instance_id: int
    distance_m: float
    margin: float  # m_o
    weighted: float  # e_o
    best_iou: float
    best_score: float

    @property
    def missed(self) -> bool:
        return self.margin < 0


@dataclass(frozen=True)
class FrameScore:
    margin: float | None  # M; None without relevant objects
    objects: tuple[ObjectMargin, ...]

    @property
    def failure(self) -> bool:
        return self.margin is not None and self.margin < 0

    @property
    def missed(self) -> list[ObjectMargin]:
        return [o for o in self.objects if o.missed]


def relevant(obj: ObjectLabel, settings: MarginSettings, image_height_px: int) -> str | None:
    """The scored class of ``obj`` when it is relevant, else ``None``."""
    cls = settings.class_map.get(obj.class_name, obj.class_name)
    if cls not in settings.classes:
        return None
    min_height_px, max_occlusion_level, max_truncation = KITTI_DIFFICULTY[settings.difficulty]
    height_px = float(obj.box_2d[3] - obj.box_2d[1])
    if height_px < min_height_px * image_height_px / KITTI_IMAGE_HEIGHT_PX:
        return None
    if obj.occlusion_level > max_occlusion_level or obj.truncation > max_truncation:
        return None
    return cls


def score_frame(
    objects: Sequence[ObjectLabel],
    image_height_px: int,
    boxes: np.ndarray,
    scores: np.ndarray,
    detected_classes: Sequence[str],
    settings: MarginSettings,
) -> FrameScore:
    """The margin of one frame: ground truth ``objects`` against detections ``boxes``
    (float ``(K, 4)`` x1, y1, x2, y2 pixels), ``scores`` ``(K,)`` and their class names."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    names = np.asarray(list(detected_classes), dtype=object)
    margins = []
    for obj in objects:
        cls = relevant(obj, settings, image_height_px)
        if cls is None:
            continue
        t_iou = settings.iou_threshold(cls)
        mine = names == cls if len(names) else np.zeros(0, dtype=bool)
        best, best_iou, best_score = -max(t_iou, settings.score_threshold), 0.0, 0.0
        if mine.any():
            ious = box_iou(np.asarray(obj.box_2d, dtype=np.float64)[None], boxes[mine])[0]
            quality = np.minimum(ious - t_iou, scores[mine] - settings.score_threshold)
            k = int(np.argmax(quality))
            best, best_iou, best_score = float(quality[k]), float(ious[k]), float(scores[mine][k])
        near = np.isfinite(obj.distance_m) and obj.distance_m < settings.near_m
        weight = settings.near_weight if near else 1.0
        weighted = best * weight if best < 0 else best / weight
        margins.append(
            ObjectMargin(
                cls,
                int(obj.instance_id),
                float(obj.distance_m),
                best,
                weighted,
                best_iou,
                best_score,
            )
        )
    margin = min((m.weighted for m in margins), default=None)
    return FrameScore(margin, tuple(margins))
