"""Bootstrap intervals: the per-frame matching reproduces faster-coco-eval's AP exactly,
and the intervals behave as a bootstrap must (cover the point, shrink with more frames)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scenegen.harness.bootstrap import (
    interval,
    match_frames,
    resample_weights,
    within_noise,
)
from scenegen.harness.metrics import coco_eval


def _frames(rng: np.random.Generator, n: int, classes: int, ties: bool):
    """Random frames: ground truth, ignore regions and detections near both (valid boxes)."""
    targets, predictions = [], []
    for _ in range(n):
        count = int(rng.integers(0, 6))
        xy = rng.uniform(0, 200, (count, 2))
        boxes = np.c_[xy, xy + rng.uniform(5, 60, (count, 2))]
        ig_xy = rng.uniform(0, 200, (int(rng.integers(0, 2)), 2))
        ignore = np.c_[ig_xy, ig_xy + rng.uniform(10, 50, (len(ig_xy), 2))]
        targets.append(
            {
                "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor(rng.integers(1, classes + 1, count)),
                "ignore_boxes": torch.tensor(ignore, dtype=torch.float32).reshape(-1, 4),
            }
        )
        k = int(rng.integers(0, 8))
        extra_xy = rng.uniform(0, 200, (k, 2))
        near = np.r_[boxes, ignore, np.c_[extra_xy, extra_xy + 30]][:k] + rng.normal(0, 2, (k, 4))
        det = np.c_[np.minimum(near[:, :2], near[:, 2:]), np.maximum(near[:, :2], near[:, 2:]) + 1]
        scores = rng.random(len(det))
        predictions.append(
            {
                "boxes": torch.tensor(det, dtype=torch.float32).reshape(-1, 4),
                "scores": torch.tensor(
                    np.round(scores, 1) if ties else scores, dtype=torch.float32
                ),
                "labels": torch.tensor(rng.integers(1, classes + 1, len(det))),
            }
        )
    return targets, predictions


@pytest.mark.parametrize("trial", range(6))
def test_matching_reproduces_faster_coco_eval(trial):
    # Reference: faster-coco-eval (pycocotools' algorithm), as coco_eval runs it.
    rng = np.random.default_rng(trial)
    targets, predictions = _frames(rng, 30, 2, ties=trial % 2 == 1)
    keep = [rng.random(len(t["boxes"])) < 0.8 for t in targets] if trial >= 3 else None
    reference = coco_eval(targets, predictions, ["a", "b"], keep=keep)
    matches = match_frames(targets, predictions, 2, keep=keep)
    ones = np.ones((1, len(targets)))
    assert matches.ap(ones, 0.5)[0] == pytest.approx(reference.AP50, abs=1e-9)
    assert matches.ap(ones)[0] == pytest.approx(reference.AP, abs=1e-9)


def test_a_resample_scores_like_the_frames_it_drew():
    # Weights 2, 0, 1, ... equal coco_eval on the list with frame 0 twice and frame 1 left out.
    rng = np.random.default_rng(7)
    targets, predictions = _frames(rng, 12, 1, ties=False)
    weights = rng.integers(0, 3, 12)
    drawn = [i for i, w in enumerate(weights) for _ in range(w)]
    reference = coco_eval([targets[i] for i in drawn], [predictions[i] for i in drawn], ["a"])
    ap50 = match_frames(targets, predictions, 1).ap(weights[None].astype(float), 0.5)[0]
    assert ap50 == pytest.approx(reference.AP50, abs=1e-9)


def test_intervals_cover_the_point_and_shrink_like_one_over_root_n():
    rng = np.random.default_rng(3)
    widths = {}
    for n in (40, 160):
        targets, predictions = _frames(rng, n, 1, ties=False)
        matches = match_frames(targets, predictions, 1)
        point = matches.ap(np.ones((1, n)), 0.5)[0]
        samples = matches.ap(resample_weights(n, 400, np.random.default_rng(n)), 0.5)
        low, high = interval(samples, 0.95)
        assert low <= point <= high
        widths[n] = high - low
    # Four times the frames: about half the width (1/sqrt(n)); generous bounds for noise.
    assert 0.3 < widths[160] / widths[40] < 0.75, widths


def test_resample_weights_draw_n_frames_with_replacement():
    weights = resample_weights(10, 2000, np.random.default_rng(0))
    assert weights.shape == (2000, 10) and (weights.sum(axis=1) == 10).all()
    # Each frame is drawn Binomial(10, 1/10) times: mean 1, share of zeros (0.9)^10 = 0.349.
    assert weights.mean() == pytest.approx(1.0, abs=0.02)
    assert (weights == 0).mean() == pytest.approx(0.9**10, abs=0.02)


def test_a_difference_to_itself_is_within_the_noise_and_a_real_drop_is_not():
    rng = np.random.default_rng(5)
    targets, predictions = _frames(rng, 80, 1, ties=False)
    weights = resample_weights(80, 500, np.random.default_rng(1))
    clean = match_frames(targets, predictions, 1).ap(weights, 0.5)
    assert interval(clean - clean, 0.95) == [0.0, 0.0] and within_noise([0.0, 0.0])
    # Drop every detection of half the frames: a large, paired loss.
    degraded = [p if i % 2 else {k: v[:0] for k, v in p.items()} for i, p in enumerate(predictions)]
    worse = match_frames(targets, degraded, 1).ap(weights, 0.5)
    ci = interval(worse - clean, 0.95)
    assert ci[1] < 0 and within_noise(ci) is False
    assert interval(np.full(5, np.nan), 0.95) is None and within_noise(None) is None
