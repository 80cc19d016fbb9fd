"""Model outputs -> boxes (x1, y1, x2, y2 in model-input pixels), scores and model labels.

Two layouts: ``boxes_scores_labels`` (three arrays, as torchvision-style exports and
TorchScript wrappers return them) and ``yolo`` (one ``(N, 4 [+1] + C)`` array of rows
``cx, cy, w, h, [objectness,] class scores...``; YOLOv5 has the objectness column,
YOLOv8 and later do not and export it transposed, ``(1, 4 + C, N)``). NMS is plain numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scenegen.harness.adapters.config import OutputConfig


class OutputDecodeError(ValueError):
    """The model returned something the configured decoding cannot read."""


def to_xyxy(boxes: np.ndarray, box_format: str) -> np.ndarray:
    """``(K, 4)`` boxes in ``xyxy``, ``xywh`` (top-left corner and size) or ``cxcywh`` ->
    x1, y1, x2, y2."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if box_format == "xyxy":
        return b.copy()
    if box_format == "xywh":
        return np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], 1)
    if box_format == "cxcywh":
        half_w, half_h = b[:, 2] / 2, b[:, 3] / 2
        return np.stack([b[:, 0] - half_w, b[:, 1] - half_h, b[:, 0] + half_w, b[:, 1] + half_h], 1)
    raise ValueError(f"box format {box_format!r}, expected xyxy, xywh or cxcywh")


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` IoU of x1, y1, x2, y2 boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(
    boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """Indices kept by class-wise greedy NMS (a box is dropped when it overlaps a
    higher-scoring box of its class by IoU > ``iou_threshold``), highest score first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    for label in np.unique(labels):
        idx = order[labels[order] == label]
        while len(idx):
            best, rest = idx[0], idx[1:]
            keep.append(int(best))
            if not len(rest):
                break
            idx = rest[box_iou(boxes[best], boxes[rest])[0] <= iou_threshold]
    kept = np.array(keep, np.int64)
    return kept[np.argsort(-np.asarray(scores)[kept], kind="stable")]


def decode_yolo(
    head: np.ndarray, config: OutputConfig, input_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A YOLO head ``(N, D)`` / ``(1, N, D)`` / ``(1, D, N)`` -> boxes (model-input pixels),
    scores, 0-based model class indices, after the score threshold and NMS.

    The row axis is the longer one (a head has far more candidates than
    ``4 + 1 + classes`` columns). The score of a row is ``objectness x best class score``
    with an objectness column, else the best class score.
    """
    rows = np.asarray(head, np.float32)
    if rows.ndim == 3:
        if rows.shape[0] != 1:
            raise OutputDecodeError(f"yolo head of shape {rows.shape}: expected batch size 1")
        rows = rows[0]
    if rows.ndim != 2:
        raise OutputDecodeError(f"yolo head of shape {np.shape(head)}: expected 2 or 3 axes")
    if rows.shape[0] < rows.shape[1]:
        rows = rows.T
    first_class = 5 if config.objectness else 4
    if rows.shape[1] <= first_class:
        raise OutputDecodeError(
            f"yolo rows of {rows.shape[1]} values: expected 4 box values"
            f"{', objectness' if config.objectness else ''} and at least one class score"
        )
    class_scores = rows[:, first_class:]
    labels = class_scores.argmax(1)
    scores = class_scores[np.arange(len(rows)), labels]
    if config.objectness:
        scores = scores * rows[:, 4]
    keep = scores >= config.score_threshold
    boxes = _pixels(to_xyxy(rows[keep, :4], config.box_format), config, input_size)
    scores, labels = scores[keep], labels[keep]
    kept = nms(boxes, scores, labels, config.iou_threshold)
    return boxes[kept], scores[kept].astype(np.float32), labels[kept].astype(np.int64)


def decode_boxes_scores_labels(
    outputs: Sequence[np.ndarray], config: OutputConfig, input_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three outputs (boxes ``(K, 4)``, scores ``(K,)``, labels ``(K,)``, each optionally
    with a leading batch axis of 1) -> the same after the score threshold."""
    if len(outputs) < 3:
        raise OutputDecodeError(
            f"the model returned {len(outputs)} output(s): expected boxes, scores, labels "
            "(or output.format: yolo)"
        )
    boxes, scores, labels = (np.asarray(o) for o in outputs[:3])
    if boxes.ndim == 3 and boxes.shape[0] == 1:
        boxes, scores, labels = boxes[0], scores.reshape(-1), labels.reshape(-1)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or not len(boxes) == len(scores) == len(labels):
        raise OutputDecodeError(
            f"outputs of shapes {boxes.shape}, {scores.shape}, {labels.shape}: expected "
            "(K, 4), (K,), (K,)"
        )
    keep = scores >= config.score_threshold
    xyxy = _pixels(to_xyxy(boxes[keep], config.box_format), config, input_size)
    return xyxy, scores[keep].astype(np.float32), np.rint(labels[keep]).astype(np.int64)


def _pixels(boxes: np.ndarray, config: OutputConfig, input_size: tuple[int, int]) -> np.ndarray:
    """Normalised boxes -> model-input pixels (``input_size`` is width, height)."""
    if config.normalized:
        boxes = boxes * np.array([input_size[0], input_size[1]] * 2, np.float64)
    return boxes
