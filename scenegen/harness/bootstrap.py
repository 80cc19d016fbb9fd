"""Bootstrap confidence intervals for COCO AP over test frames.

COCO matches detections to ground truth image by image (pycocotools ``evaluateImg``), so
the AP of any multiset of the test frames follows from one matching per frame: a bootstrap
resample only re-weights frames. :func:`match_frames` does the matching once (the same
rules as pycocotools / faster-coco-eval: per class, detections by descending score, at
most 100 per image, each takes the unmatched ground truth of highest IoU >= the threshold,
ignore regions are crowd boxes that any number of detections may hit and that make them
neither true nor false positives); :meth:`FrameMatches.ap` gives the 101-point
interpolated AP for frame weights, one row per resample. With every weight 1 it equals
:func:`scenegen.harness.metrics.coco_eval` (the tests check it against faster-coco-eval).

Intervals are percentile intervals (Efron & Tibshirani 1993, ch. 13) over resamples of the
test frames with replacement; differences between two evaluations of the same frames
(clean vs corrupted) use the same resamples for both (a paired bootstrap), and a
difference whose interval contains 0 is within the noise.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

COCO_IOU_THRESHOLDS = tuple(np.linspace(0.5, 0.95, 10))
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETECTIONS = 100


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _iou(det: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """pycocotools' box IoU: for crowd ground truth, intersection over the detection's area."""
    x1 = np.maximum(det[:, None, 0], gt[None, :, 0])
    y1 = np.maximum(det[:, None, 1], gt[None, :, 1])
    x2 = np.minimum(det[:, None, 2], gt[None, :, 2])
    y2 = np.minimum(det[:, None, 3], gt[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_d = ((det[:, 2] - det[:, 0]) * (det[:, 3] - det[:, 1]))[:, None]
    area_g = ((gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]))[None, :]
    union = np.where(crowd[None, :], area_d, area_d + area_g - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def _match_image(
    det: np.ndarray, gt: np.ndarray, crowd: np.ndarray, thresholds: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """``(matched, ignored)``, bool ``(T, D)``, for detections sorted by descending score
    and ground truth sorted non-crowd first (pycocotools ``evaluateImg``)."""
    matched = np.zeros((len(thresholds), len(det)), bool)
    ignored = np.zeros((len(thresholds), len(det)), bool)
    if not len(det) or not len(gt):
        return matched, ignored
    ious = _iou(det, gt, crowd)
    candidates = np.flatnonzero((ious >= min(thresholds)).any(axis=1))
    for t, threshold in enumerate(thresholds):
        taken = np.zeros(len(gt), bool)
        for d in candidates:
            best, m = min(threshold, 1 - 1e-10), -1
            for g in range(len(gt)):
                if taken[g] and not crowd[g]:
                    continue
                if m > -1 and not crowd[m] and crowd[g]:
                    break
                if ious[d, g] < best:
                    continue
                best, m = ious[d, g], g
            if m == -1:
                continue
            ignored[t, d] = crowd[m]
            matched[t, d] = True
            taken[m] = True
    return matched, ignored


@dataclass(frozen=True)
class _ClassMatches:
    # Per IoU threshold, at each true positive of the score-sorted detections of all frames:
    # how many true / false positives of each frame rank at or above it, float (F, P_t).
    # Interpolated AP only looks at those points (precision rises only at a true positive),
    # so frame weights W (B, F) give every cumulative count as W @ counts.
    tp_upto: tuple[np.ndarray, ...]
    fp_upto: tuple[np.ndarray, ...]
    gt_per_frame: np.ndarray  # int (F,), scored (non-ignored) ground truth per frame


@dataclass(frozen=True)
class FrameMatches:
    """The per-frame matching of one evaluation; :meth:`ap` for any frame weights."""

    num_frames: int
    thresholds: tuple[float, ...]
    per_class: tuple[_ClassMatches, ...]

    def ap(self, weights: np.ndarray, iou: float | None = None) -> np.ndarray:
        """AP per row of ``weights`` (float ``(B, F)``: how often each frame is drawn), the
        mean over classes with ground truth of the 101-point AP at IoU ``iou`` (one of
        :attr:`thresholds`) or, with ``None``, averaged over all thresholds (COCO AP).
        ``nan`` for a row without ground truth."""
        weights = np.atleast_2d(np.asarray(weights, np.float64))
        rows = [self.thresholds.index(iou)] if iou is not None else range(len(self.thresholds))
        per_class = []
        for c in self.per_class:
            npig = weights @ c.gt_per_frame
            aps = np.mean(
                [
                    _interpolated_ap(weights @ c.tp_upto[t], weights @ c.fp_upto[t], npig)
                    for t in rows
                ],
                axis=0,
            )
            per_class.append(np.where(npig > 0, aps, np.nan))
        if not per_class:
            return np.full(len(weights), np.nan)
        stacked = np.vstack(per_class)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a row without ground truth
            return np.nanmean(stacked, axis=0)


def _interpolated_ap(tp: np.ndarray, fp: np.ndarray, npig: np.ndarray) -> np.ndarray:
    """101-point interpolated AP per row (pycocotools ``accumulate``) from the cumulative
    true / false positives ``(B, P)`` at each true positive."""
    rows = len(npig)
    if tp.shape[1] == 0:
        return np.zeros(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp / npig[:, None]
    precision = tp / (tp + fp + np.spacing(1))
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    envelope = np.c_[envelope, np.zeros(rows)]  # beyond the last recall: precision 0
    index = np.empty((rows, len(RECALL_POINTS)), np.int64)
    for r in range(rows):
        index[r] = np.searchsorted(recall[r], RECALL_POINTS, side="left")
    return np.take_along_axis(envelope, index, axis=1).mean(axis=1)


def _counts_upto(
    det_frame: np.ndarray, tp: np.ndarray, fp: np.ndarray, num_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, true / false positives at or above each true positive: float (F, P)."""
    at = np.flatnonzero(tp)
    onehot = np.zeros((num_frames, len(det_frame)))
    onehot[det_frame, np.arange(len(det_frame))] = 1.0
    return np.cumsum(onehot * tp, axis=1)[:, at], np.cumsum(onehot * fp, axis=1)[:, at]


def match_frames(
    targets: Sequence[dict],
    predictions: Sequence[dict],
    num_classes: int,
    keep: Sequence[np.ndarray] | None = None,
    thresholds: Sequence[float] = COCO_IOU_THRESHOLDS,
) -> FrameMatches:
    """Match detections to ground truth frame by frame, as :func:`coco_eval` scores them
    (same ``targets``, ``predictions``, ``keep`` and class labels 1..``num_classes``)."""
    if len(targets) != len(predictions):
        raise ValueError(f"{len(targets)} targets but {len(predictions)} predictions")
    thresholds = tuple(float(t) for t in thresholds)
    n_frames = len(targets)
    per_class = []
    for label in range(1, num_classes + 1):
        det_frame, scores, tps, fps = [], [], [], []
        gt_per_frame = np.zeros(n_frames, np.int64)
        for i, (target, pred) in enumerate(zip(targets, predictions, strict=True)):
            boxes = _np(target["boxes"]).reshape(-1, 4).astype(np.float64)
            labels = _np(target["labels"]).reshape(-1)
            mask = np.ones(len(boxes), bool) if keep is None else np.asarray(keep[i], bool)
            ignore = np.concatenate(
                [_np(target.get("ignore_boxes", np.zeros((0, 4)))).reshape(-1, 4), boxes[~mask]]
            ).astype(np.float64)
            scored = boxes[mask & (labels == label)]
            gt = np.concatenate([scored, ignore])
            crowd = np.r_[np.zeros(len(scored), bool), np.ones(len(ignore), bool)]
            gt_per_frame[i] = len(scored)
            p_labels = _np(pred["labels"]).reshape(-1)
            p_scores = _np(pred["scores"]).reshape(-1).astype(np.float64)[p_labels == label]
            p_boxes = _np(pred["boxes"]).reshape(-1, 4).astype(np.float64)[p_labels == label]
            order = np.argsort(-p_scores, kind="mergesort")[:MAX_DETECTIONS]
            matched, ignored = _match_image(p_boxes[order], gt, crowd, thresholds)
            det_frame.append(np.full(len(order), i))
            scores.append(p_scores[order])
            tps.append(matched & ~ignored)
            fps.append(~matched & ~ignored)
        all_scores = np.concatenate(scores) if scores else np.zeros(0)
        order = np.argsort(-all_scores, kind="mergesort")
        frames = (
            np.concatenate(det_frame).astype(np.int64)[order] if det_frame else np.zeros(0, int)
        )
        t = len(thresholds)
        tp_all = np.concatenate(tps, axis=1)[:, order] if tps else np.zeros((t, 0), bool)
        fp_all = np.concatenate(fps, axis=1)[:, order] if fps else np.zeros((t, 0), bool)
        counts = [_counts_upto(frames, tp_all[k], fp_all[k], n_frames) for k in range(t)]
        per_class.append(
            _ClassMatches(tuple(c[0] for c in counts), tuple(c[1] for c in counts), gt_per_frame)
        )
    return FrameMatches(n_frames, thresholds, tuple(per_class))


def resample_weights(num_frames: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Float ``(resamples, num_frames)``: how often each frame is drawn in each resample."""
    if num_frames == 0:
        return np.zeros((resamples, 0))
    draws = rng.integers(0, num_frames, size=(resamples, num_frames))
    weights = np.zeros((resamples, num_frames))
    np.add.at(weights, (np.arange(resamples)[:, None], draws), 1.0)
    return weights


def interval(samples: np.ndarray, confidence: float) -> list[float] | None:
    """Percentile interval ``[low, high]`` of ``samples`` (``nan`` resamples left out);
    ``None`` when no resample gave a number."""
    values = np.asarray(samples, np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return [float(low), float(high)]


def within_noise(difference_interval: list[float] | None) -> bool | None:
    """Whether a difference's interval contains 0 (``None``: no interval)."""
    if difference_interval is None:
        return None
    return difference_interval[0] <= 0.0 <= difference_interval[1]
