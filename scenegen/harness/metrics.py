"""Detection metrics: COCO-style (faster-coco-eval) and KITTI-style AP by difficulty.

Inputs are lists, one entry per image: ground-truth ``targets`` as the harness dataset
returns them (``boxes``, ``labels``, optional ``ignore_boxes``, ``difficulty``-related
fields) and ``predictions`` as detectors return them (``boxes``, ``scores``, ``labels``).
Labels are class index + 1.

COCO: ``ignore_boxes`` become crowd regions of every category, so detections on them are
neither true nor false positives; ``keep`` masks turn more objects into such regions (how
the report slices AP by distance or occlusion). AP is 101-point interpolated; per-class AP
is the mean over IoU 0.50:0.95 (``AP``) or at IoU 0.5 (``AP50``); classes without ground
truth are left out of the means.

KITTI: the benchmark's rules (Geiger et al. 2012): per class IoU 0.7 for vehicles and 0.5
otherwise; difficulties easy / moderate / hard by minimum box height (40 / 25 / 25 px at
KITTI's 375 px image height, scaled by ``height_scale`` for other resolutions), maximum
occlusion level (0 / 1 / 2) and truncation (0.15 / 0.30 / 0.50). Objects of the class
outside the difficulty are ignored (a detection of one is not counted), as are detections
lower than the minimum height and detections inside ignore regions. AP is 40-point
interpolated (R40, the benchmark's metric since 2019).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

KITTI_IOU = {
    "car": 0.7,
    "van": 0.7,
    "truck": 0.7,
    "bus": 0.7,
    "pedestrian": 0.5,
    "cyclist": 0.5,
    "animal": 0.5,
    "debris": 0.5,
}
KITTI_DIFFICULTY = {  # min height px (at 375 px), max occlusion level, max truncation
    "easy": (40.0, 0, 0.15),
    "moderate": (25.0, 1, 0.30),
    "hard": (25.0, 2, 0.50),
}


@dataclass
class CocoResult:
    AP: float  # mean over classes and IoU 0.50:0.95; nan without ground truth
    AP50: float
    per_class_AP: dict[str, float]  # noqa: N815 (COCO names)
    per_class_AP50: dict[str, float]  # noqa: N815
    num_gt: int


def _np(x: torch.Tensor | np.ndarray) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def coco_eval(
    targets: Sequence[dict],
    predictions: Sequence[dict],
    classes: Sequence[str],
    keep: Sequence[np.ndarray] | None = None,
) -> CocoResult:
    """COCO AP / AP50 overall and per class. ``keep[i]`` (bool per object of image ``i``)
    scores only those objects; the others become ignore regions."""
    from faster_coco_eval import COCO, COCOeval_faster

    if len(targets) != len(predictions):
        raise ValueError(f"{len(targets)} targets but {len(predictions)} predictions")
    images, annotations, detections = [], [], []
    num_gt = 0
    for i, (target, pred) in enumerate(zip(targets, predictions, strict=True)):
        images.append({"id": i + 1, "width": 1, "height": 1})
        boxes = _np(target["boxes"]).reshape(-1, 4).astype(np.float64)
        labels = _np(target["labels"]).reshape(-1)
        mask = np.ones(len(boxes), bool) if keep is None else np.asarray(keep[i], bool)
        ignore = [*_np(target.get("ignore_boxes", np.zeros((0, 4)))).reshape(-1, 4), *boxes[~mask]]
        for box, label in zip(boxes[mask], labels[mask], strict=True):
            annotations.append(_annotation(i + 1, int(label), box, crowd=False))
            num_gt += 1
        for box in ignore:
            for label in range(1, len(classes) + 1):
                annotations.append(
                    _annotation(i + 1, label, np.asarray(box, np.float64), crowd=True)
                )
        for box, score, label in zip(
            _np(pred["boxes"]).reshape(-1, 4),
            _np(pred["scores"]).reshape(-1),
            _np(pred["labels"]).reshape(-1),
            strict=True,
        ):
            x1, y1, x2, y2 = (float(v) for v in box)
            detections.append(
                {
                    "image_id": i + 1,
                    "category_id": int(label),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(score),
                }
            )
    for index, annotation in enumerate(annotations):
        annotation["id"] = index + 1
    categories = [{"id": i + 1, "name": n} for i, n in enumerate(classes)]
    nan_classes = {n: float("nan") for n in classes}
    if num_gt == 0:
        return CocoResult(float("nan"), float("nan"), dict(nan_classes), dict(nan_classes), 0)
    has_gt = {n: False for n in classes}
    for annotation in annotations:
        if not annotation["iscrowd"]:
            has_gt[classes[annotation["category_id"] - 1]] = True
    if not detections:
        zeros = {n: 0.0 if has_gt[n] else float("nan") for n in classes}
        return CocoResult(0.0, 0.0, zeros, dict(zeros), num_gt)
    gt = COCO({"images": images, "annotations": annotations, "categories": categories})
    dt = gt.loadRes(detections)
    evaluator = COCOeval_faster(gt, dt, "bbox", print_function=lambda *args: None)
    evaluator.params.maxDets = [1, 10, 100]
    evaluator.evaluate()
    evaluator.accumulate()
    precision = np.asarray(evaluator.eval["precision"])  # [T, R, K, A, M]; -1 = no GT
    per_ap, per_ap50 = {}, {}
    for k, name in enumerate(classes):
        if not has_gt[name]:
            per_ap[name] = per_ap50[name] = float("nan")
            continue
        p = precision[:, :, k, 0, -1]
        p = np.where(p < 0, 0.0, p)
        per_ap[name] = float(p.mean())
        per_ap50[name] = float(p[0].mean())
    valid = [n for n in classes if has_gt[n]]
    return CocoResult(
        float(np.mean([per_ap[n] for n in valid])),
        float(np.mean([per_ap50[n] for n in valid])),
        per_ap,
        per_ap50,
        num_gt,
    )


def _annotation(image_id: int, label: int, box: np.ndarray, crowd: bool) -> dict:
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = max(0.0, x2 - x1), max(0.0, y2 - y1)
    return {
        "image_id": image_id,
        "category_id": label,
        "bbox": [x1, y1, w, h],
        "area": w * h,
        "iscrowd": int(crowd),
    }


# ----------------------------------------------------------------------------- KITTI


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix ``(len(a), len(b))`` of x1, y1, x2, y2 boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def interpolated_ap(scores: np.ndarray, is_tp: np.ndarray, num_gt: int, points: int) -> float:
    """AP from scored detections (true/false positive flags) and the ground-truth count:
    mean over ``points`` recall levels of the best precision at that recall or above.
    ``points=40`` is KITTI's R40 (levels 1/40..1), ``101`` COCO's (0, 0.01..1)."""
    if num_gt == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    tp = np.asarray(is_tp, bool)[order]
    tp_cum = np.cumsum(tp)
    fp_cum = np.cumsum(~tp)
    recall = tp_cum / num_gt
    precision = tp_cum / np.maximum(tp_cum + fp_cum, 1)
    # Precision envelope: best precision at any recall >= r.
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    levels = np.linspace(1.0 / points, 1.0, points) if points == 40 else np.linspace(0, 1, points)
    total = 0.0
    for r in levels:
        index = np.searchsorted(recall, r - 1e-12, side="left")
        total += envelope[index] if index < len(envelope) else 0.0
    return float(total / points)


def kitti_ap(
    targets: Sequence[dict],
    predictions: Sequence[dict],
    classes: Sequence[str],
    height_scale: float = 1.0,
) -> dict[str, dict[str, float]]:
    """``{class: {easy, moderate, hard}}`` KITTI-style AP (R40); nan without ground truth.

    ``height_scale``: image height / 375 (KITTI's), to scale the minimum box heights.
    Targets need ``occlusion_level`` and ``truncation`` (the harness dataset gives them).
    """
    result: dict[str, dict[str, float]] = {}
    for k, name in enumerate(classes):
        label = k + 1
        result[name] = {}
        for difficulty, (min_h, max_occ, max_trunc) in KITTI_DIFFICULTY.items():
            min_h = min_h * height_scale
            scores, flags, num_gt = [], [], 0
            for target, pred in zip(targets, predictions, strict=True):
                gt_boxes = _np(target["boxes"]).reshape(-1, 4)
                gt_labels = _np(target["labels"]).reshape(-1)
                occ = _np(target.get("occlusion_level", np.zeros(len(gt_boxes)))).reshape(-1)
                trunc = np.nan_to_num(
                    _np(target.get("truncation", np.zeros(len(gt_boxes)))).reshape(-1)
                )
                of_class = gt_labels == label
                heights = gt_boxes[:, 3] - gt_boxes[:, 1]
                valid = of_class & (heights >= min_h) & (occ <= max_occ) & (trunc <= max_trunc)
                gt_class = gt_boxes[of_class]
                gt_valid = valid[of_class]
                num_gt += int(gt_valid.sum())
                det_mask = _np(pred["labels"]).reshape(-1) == label
                det_boxes = _np(pred["boxes"]).reshape(-1, 4)[det_mask]
                det_scores = _np(pred["scores"]).reshape(-1)[det_mask]
                ignored = (det_boxes[:, 3] - det_boxes[:, 1]) < min_h
                ignore_regions = _np(target.get("ignore_boxes", np.zeros((0, 4)))).reshape(-1, 4)
                if len(ignore_regions) and len(det_boxes):
                    ignored |= _inside_share(det_boxes, ignore_regions).max(axis=1) > 0.5
                matched = np.zeros(len(det_boxes), bool)
                is_tp = np.zeros(len(det_boxes), bool)
                iou = box_iou(gt_class, det_boxes)
                threshold = KITTI_IOU.get(name, 0.5)
                for g in np.argsort(~gt_valid, kind="stable"):  # valid objects match first
                    candidates = np.flatnonzero((iou[g] > threshold) & ~matched)
                    if not len(candidates):
                        continue
                    best = candidates[np.argmax(det_scores[candidates])]
                    matched[best] = True
                    if gt_valid[g]:
                        is_tp[best] = True
                    else:
                        ignored[best] = True
                counted = ~ignored | is_tp
                scores.extend(det_scores[counted].tolist())
                flags.extend(is_tp[counted].tolist())
            result[name][difficulty] = interpolated_ap(
                np.array(scores), np.array(flags, bool), num_gt, 40
            )
    return result


def _inside_share(boxes: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Share of each box's area inside each region: ``(len(boxes), len(regions))``."""
    lt = np.maximum(boxes[:, None, :2], regions[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], regions[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return inter / np.maximum(area[:, None], 1e-9)
