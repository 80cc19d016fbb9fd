"""Evaluate a detector on the bench's test splits: clean, per edge case, distance,
occlusion and every corruption x severity, each AP with a bootstrap confidence interval.

Intervals come from resampling the test frames (:mod:`scenegen.harness.bootstrap`) with a
generator seeded from the config's ``seed`` and ``test.seed``; a corrupted AP is compared
with the clean AP on the same resamples, and ``within_noise`` says whether the interval of
that difference contains 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from scenegen.augment.catalogue import corruption_rng
from scenegen.augment.depth import RecoveredDepth, frame_depth
from scenegen.harness.bench_config import BenchConfig
from scenegen.harness.bootstrap import (
    FrameMatches,
    interval,
    match_frames,
    resample_weights,
    within_noise,
)
from scenegen.harness.corruptions import Corruption
from scenegen.harness.dataset import DetectionDataset, image_tensor
from scenegen.harness.metrics import CocoResult, box_iou, coco_eval, kitti_ap
from scenegen.harness.model import Detector

# scenegen's occlusion levels (scenegen.labels.objects.occlusion_level): hidden share of the
# object's unoccluded pixels. Real KITTI labels use level 3 for "unknown" instead.
OCCLUSION_LEVELS = (
    "fully visible (< 10 % hidden)",
    "partly occluded (10-50 % hidden)",
    "largely occluded (50-80 % hidden)",
    "mostly hidden (> 80 %)",
)


@dataclass
class BenchProgress:
    """What the bench is doing now: ``stage`` (render / train / evaluate), counters."""

    stage: str
    done: int
    total: int
    detail: str = ""


ProgressCallback = Callable[[BenchProgress], None]


@torch.no_grad()
def predict(
    detector: Detector, images_u8: Sequence[np.ndarray], batch_size: int = 16
) -> list[dict]:
    """Run a detector over uint8 images in batches; returns its per-image dicts."""
    results: list[dict] = []
    for start in range(0, len(images_u8), batch_size):
        batch = [image_tensor(im) for im in images_u8[start : start + batch_size]]
        results.extend({k: v.cpu() for k, v in r.items()} for r in detector(batch))
    return results


@dataclass
class SplitData:
    """One test split (a scenario file) held in memory: scaled images, targets, depth."""

    name: str
    images: list[np.ndarray]
    targets: list[dict]
    frames_meta: list[dict]
    depths: list[RecoveredDepth]  # exact for rendered frames, recovered for real ones
    Ks: list[np.ndarray]
    full_images: list[np.ndarray]  # at rendered resolution (corruptions apply here)


def load_split(name: str, dataset: DetectionDataset) -> SplitData:
    split = SplitData(name, [], [], [], [], [], [])
    for i in range(len(dataset)):
        frame = dataset.frame(i)
        image, target = dataset.sample_from_frame(frame, i)
        split.images.append(image)
        split.targets.append(target)
        record = dataset.record(i)
        split.frames_meta.append(
            {
                "frame_id": frame.frame_id,
                "scenario": record.get("scenario_name") or name,
                "sweep_cell": record.get("sweep_cell") or {},
            }
        )
        split.depths.append(frame_depth(frame))
        split.Ks.append(frame.calibration.intrinsics.K)
        split.full_images.append(frame.rgb)
    return split


def corrupted_images(
    splits: Sequence[SplitData], name: str, corrupt: Corruption, severity: int, seed: int
) -> list[np.ndarray]:
    """Every test frame corrupted at rendered resolution, in split order. Frame ``k`` (over
    all splits) uses ``corruption_rng(seed, k, name, severity)``, the generator
    ``scenegen augment --seed SEED`` gives input frame ``k``, so both give the same pixels."""
    out = []
    frame_index = 0
    for split in splits:
        for i, full in enumerate(split.full_images):
            rng = corruption_rng(seed, frame_index, name, severity)
            out.append(corrupt(full, split.depths[i], severity, rng, K=split.Ks[i]))
            frame_index += 1
    return out


@dataclass
class Scorer:
    """Point AP from coco_eval plus bootstrap samples from the per-frame matching."""

    classes: list[str]
    weights: np.ndarray  # (B, frames)
    confidence: float

    def score(
        self,
        targets: Sequence[dict],
        predictions: Sequence[dict],
        keep: Sequence[np.ndarray] | None = None,
        weights: np.ndarray | None = None,
    ) -> tuple[dict[str, Any], np.ndarray]:
        """The report's entry for one evaluation and its AP50 bootstrap samples."""
        result = coco_eval(targets, predictions, self.classes, keep=keep)
        matches: FrameMatches = match_frames(targets, predictions, len(self.classes), keep=keep)
        w = self.weights if weights is None else weights
        ap50 = matches.ap(w, 0.5)
        entry = {
            **coco_dict(result),
            "AP50_ci": interval(ap50, self.confidence),
            "AP_ci": interval(matches.ap(w), self.confidence),
        }
        return entry, ap50

    def difference(self, samples: np.ndarray, reference: np.ndarray, point: float) -> dict:
        ci = interval(samples - reference, self.confidence)
        return {"AP50_diff": point, "AP50_diff_ci": ci, "within_noise": within_noise(ci)}


def _cell_name(split: str, cell: Mapping[str, Any]) -> str:
    if not cell:
        return split
    parts = [f"{key.rsplit('.', 1)[-1]}={value}" for key, value in cell.items()]
    return f"{split} [{', '.join(parts)}]"


def evaluate_bench(
    detector: Detector,
    splits: Sequence[SplitData],
    config: BenchConfig,
    corruptions: Mapping[str, Corruption],
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Clean and corrupted AP per split, sweep cell, distance bin and occlusion level, each
    with its bootstrap interval (``*_ci``: ``[low, high]`` at ``config.confidence``)."""
    classes = list(config.classes)
    all_targets = [t for s in splits for t in s.targets]
    clean_predictions = {s.name: predict(detector, s.images) for s in splits}
    all_clean = [p for s in splits for p in clean_predictions[s.name]]
    streams = np.random.SeedSequence([config.seed, config.test_seed]).spawn(2)
    scorer = Scorer(
        classes,
        resample_weights(
            len(all_targets), config.bootstrap_resamples, np.random.default_rng(streams[0])
        ),
        config.confidence,
    )
    clean, clean_samples = scorer.score(all_targets, all_clean)
    height = splits[0].images[0].shape[0] if splits and splits[0].images else 375
    metrics: dict[str, Any] = {
        "classes": classes,
        "bootstrap": {
            "resamples": config.bootstrap_resamples,
            "confidence": config.confidence,
            "over": "test frames",
            "method": "percentile; differences paired on the same resamples",
        },
        "clean": clean,
        "kitti_ap": kitti_ap(all_targets, all_clean, classes, height_scale=height / 375.0),
        "edge_cases": [],
        "distance": [],
        "occlusion": [],
        "corruptions": {},
    }
    # Per edge case: each split, and each sweep cell of a split (resampled within itself).
    subset_rng = np.random.default_rng(streams[1])
    for split in splits:
        preds = clean_predictions[split.name]
        groups: dict[str, list[int]] = {}
        for i, meta in enumerate(split.frames_meta):
            groups.setdefault(_cell_name(split.name, meta["sweep_cell"]), []).append(i)
        entries = [(split.name, list(range(len(split.targets))))]
        if len(groups) > 1:
            entries += sorted(groups.items())
        for name, indices in entries:
            weights = resample_weights(len(indices), config.bootstrap_resamples, subset_rng)
            entry, _ = scorer.score(
                [split.targets[i] for i in indices], [preds[i] for i in indices], weights=weights
            )
            metrics["edge_cases"].append(
                {"name": name, "split": split.name, "frames": len(indices), **entry}
            )
    # Sliced by distance and occlusion (objects outside the slice are ignore regions).
    for low, high in itertools.pairwise(config.distance_bins_m):
        keep = [((t["distance_m"] >= low) & (t["distance_m"] < high)).numpy() for t in all_targets]
        entry, _ = scorer.score(all_targets, all_clean, keep=keep)
        metrics["distance"].append({"bin_m": [low, high], **entry})
    for level, label in enumerate(OCCLUSION_LEVELS):
        keep = [(t["occlusion_level"] == level).numpy() for t in all_targets]
        entry, _ = scorer.score(all_targets, all_clean, keep=keep)
        metrics["occlusion"].append({"level": level, "name": label, **entry})
    # Corruption x severity grid over every test frame, paired with the clean run.
    total = len(corruptions) * len(config.severities)
    done = 0
    grid_samples: dict[tuple[str, int], np.ndarray] = {}
    for corruption_name, corrupt in corruptions.items():
        per_severity = {}
        for severity in config.severities:
            full = corrupted_images(splits, corruption_name, corrupt, severity, config.test_seed)
            scaled = [
                _rescale_like(im, like)
                for im, like in zip(full, _scaled_images(splits), strict=True)
            ]
            entry, samples = scorer.score(all_targets, predict(detector, scaled))
            entry.update(scorer.difference(samples, clean_samples, entry["AP50"] - clean["AP50"]))
            per_severity[str(severity)] = entry
            grid_samples[(corruption_name, severity)] = samples
            done += 1
            if on_progress is not None:
                on_progress(
                    BenchProgress("evaluate", done, total, f"{corruption_name} s{severity}")
                )
        metrics["corruptions"][corruption_name] = per_severity
    metrics["robustness"] = _robustness(metrics, grid_samples, clean_samples, scorer, config)
    metrics["worst_frames"] = _worst_frames(splits, clean_predictions, config.worst_frames)
    return metrics


def _scaled_images(splits: Sequence[SplitData]) -> list[np.ndarray]:
    return [im for s in splits for im in s.images]


def _nanmean(values: Sequence[float] | np.ndarray, axis: int | None = None) -> Any:
    array = np.asarray(values, np.float64)
    if array.size == 0 or np.isnan(array).all():
        return float("nan") if axis is None else np.full(array.shape[1 - axis], np.nan)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample without ground truth
        return np.nanmean(array, axis=axis)


def _robustness(
    metrics: dict[str, Any],
    grid_samples: Mapping[tuple[str, int], np.ndarray],
    clean_samples: np.ndarray,
    scorer: Scorer,
    config: BenchConfig,
) -> dict[str, Any]:
    """P, mPC and rPC (Michaelis et al. 2019) with intervals, and the mean per severity."""
    p_clean = metrics["clean"]["AP50"]
    grid = [v["AP50"] for c in metrics["corruptions"].values() for v in c.values()]
    mpc = float(_nanmean(grid)) if grid else float("nan")
    out: dict[str, Any] = {
        "metric": "AP50",
        "P": p_clean,
        "P_ci": metrics["clean"]["AP50_ci"],
        "mPC": mpc,
        "rPC": mpc / p_clean if p_clean and p_clean > 0 and grid else float("nan"),
        "mPC_ci": None,
        "rPC_ci": None,
        "mean_by_severity": {},
        "mean_by_severity_ci": {},
        "drop_by_severity": {},
    }
    if not grid_samples:
        return out
    mpc_samples = _nanmean(np.vstack(list(grid_samples.values())), axis=0)
    out["mPC_ci"] = interval(mpc_samples, scorer.confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rPC_ci"] = interval(mpc_samples / clean_samples, scorer.confidence)
    for s in config.severities:
        values = [metrics["corruptions"][c][str(s)]["AP50"] for c in metrics["corruptions"]]
        mean = float(_nanmean(values))
        samples = _nanmean(np.vstack([grid_samples[(c, s)] for c in metrics["corruptions"]]), 0)
        out["mean_by_severity"][str(s)] = mean
        out["mean_by_severity_ci"][str(s)] = interval(samples, scorer.confidence)
        out["drop_by_severity"][str(s)] = scorer.difference(samples, clean_samples, mean - p_clean)
    return out


def _worst_frames(
    splits: Sequence[SplitData], clean_predictions: Mapping[str, list[dict]], count: int
) -> list[dict]:
    """Clean frames with the most missed ground truth, for the contact sheet."""
    worst = []
    for split in splits:
        for i, (target, pred) in enumerate(
            zip(split.targets, clean_predictions[split.name], strict=True)
        ):
            worst.append(
                {
                    "split": split.name,
                    "index": i,
                    "frame_id": split.frames_meta[i]["frame_id"],
                    "missed": _missed(target, pred),
                    "objects": len(target["boxes"]),
                }
            )
    worst.sort(key=lambda w: (-w["missed"], -w["objects"]))
    return worst[:count]


def _rescale_like(image: np.ndarray, like: np.ndarray) -> np.ndarray:
    if image.shape == like.shape:
        return image
    import cv2

    return cv2.resize(image, (like.shape[1], like.shape[0]), interpolation=cv2.INTER_AREA)


def _missed(target: dict, pred: dict, score_threshold: float = 0.3) -> int:
    gt = target["boxes"].numpy()
    keep = pred["scores"].numpy() >= score_threshold
    det = pred["boxes"].numpy()[keep]
    if not len(gt):
        return 0
    if not len(det):
        return len(gt)
    return int((box_iou(gt, det).max(axis=1) < 0.5).sum())


def coco_dict(result: CocoResult) -> dict[str, Any]:
    return {
        "AP": result.AP,
        "AP50": result.AP50,
        "per_class_AP50": result.per_class_AP50,
        "num_gt": result.num_gt,
    }
