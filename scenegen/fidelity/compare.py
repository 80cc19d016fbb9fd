"""Synthetic against real, statistic by statistic, next to real against real.

For each statistic: the synthetic and the real value, the distance between the two sets
with a bootstrap 95 % interval (frames of both sets resampled with replacement), and the
same distance between two halves of the real set (a random split) with its own interval.

Divergences and MMDs of finite samples are biased upwards (two sets drawn from one
distribution are never at distance 0, and resampled sets are further apart still), so each
distance is the bootstrap's bias-corrected estimate ``2 d - mean(d*)`` with the basic
bootstrap interval ``[2 d - q97.5(d*), 2 d - q2.5(d*)]`` (Efron & Tibshirani 1993, ch. 10
and 13; Davison & Hinkley 1997, eq. 5.6); it can be slightly negative when the sets agree.
For the difference of means the correction is zero on average. ``plugin`` keeps the raw
value ``d``.
The spread of the halves' bootstrap replicates is the noise a distance has when nothing
differs but the frames drawn; ``score = (|distance| - |baseline|) / spread`` says how far
beyond real-vs-real noise the synthetic set is, so statistics of any unit rank together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scenegen.fidelity import distances as dist
from scenegen.fidelity.catalogue import STATISTICS, StatisticInfo
from scenegen.fidelity.collect import DatasetStatistics

CONFIDENCE = 0.95
MIN_REAL_FRAMES = 4  # two halves of at least two frames each


@dataclass(frozen=True)
class Comparison:
    """One row of the report (see the module docstring); values are finite or ``None``."""

    info: StatisticInfo
    synthetic: float | None
    real: float | None
    distance: float
    distance_ci: tuple[float, float]
    distance_plugin: float
    baseline: float
    baseline_ci: tuple[float, float]
    baseline_plugin: float
    baseline_spread: float
    score: float | None
    synthetic_frames: int
    real_frames: int


# A distance between two sets, vectorised over bootstrap weights (B, Na) and (B, Nb).
SetDistance = Callable[[np.ndarray, np.ndarray], np.ndarray]
# Builds the distance between the frames of two sets, given their per-frame values.
Measure = Callable[[np.ndarray, np.ndarray], SetDistance]


def compare_datasets(
    synthetic: DatasetStatistics,
    real: DatasetStatistics,
    rng: np.random.Generator,
    replicates: int,
) -> list[Comparison]:
    """Every statistic both datasets have, in catalogue order (a histogram only when both
    sets have counts in it)."""
    if real.frames < MIN_REAL_FRAMES:
        raise ValueError(
            f"the real dataset {real.path} has {real.frames} readable frames; the real-vs-real "
            f"baseline needs at least {MIN_REAL_FRAMES} (two halves)"
        )
    rows: list[Comparison] = []
    for name, info in STATISTICS.items():
        if info.kind == "mean" and name in synthetic.scalars and name in real.scalars:
            a, b = synthetic.scalars[name], real.scalars[name]
            rows.append(_compare(info, a, b, _mean_difference, rng, replicates))
        elif info.kind == "histogram" and name in synthetic.histograms and name in real.histograms:
            a, b = synthetic.histograms[name], real.histograms[name]
            if a.sum() > 0 and b.sum() > 0:  # else the format does not store it (YOLO distances)
                rows.append(_compare(info, a, b, _histogram_divergence, rng, replicates))
        elif info.kind == "kernel" and synthetic.frames >= 2:
            a, b = _standardised(synthetic.camera_features, real.camera_features)
            measure = _kid if name == "camera.kid" else _rbf_mmd(dist.median_bandwidth(b))
            rows.append(_compare(info, a, b, measure, rng, replicates))
    return rows


def _compare(
    info: StatisticInfo,
    a: np.ndarray,
    b: np.ndarray,
    measure: Measure,
    rng: np.random.Generator,
    replicates: int,
) -> Comparison:
    distance, distance_ci, distance_plugin, _ = _bootstrap(
        measure(a, b), len(a), len(b), rng, replicates
    )
    order = rng.permutation(len(b))
    half_a, half_b = b[order[: len(b) // 2]], b[order[len(b) // 2 :]]
    baseline, baseline_ci, baseline_plugin, spread = _bootstrap(
        measure(half_a, half_b), len(half_a), len(half_b), rng, replicates
    )
    score = (abs(distance) - abs(baseline)) / spread if spread > 0 else None
    return Comparison(
        info=info,
        synthetic=_summary(info, a),
        real=_summary(info, b),
        distance=distance,
        distance_ci=distance_ci,
        distance_plugin=distance_plugin,
        baseline=baseline,
        baseline_ci=baseline_ci,
        baseline_plugin=baseline_plugin,
        baseline_spread=spread,
        score=score,
        synthetic_frames=len(a),
        real_frames=len(b),
    )


def _mean_difference(a: np.ndarray, b: np.ndarray) -> SetDistance:
    return lambda wa, wb: dist.weighted_means(a, wa) - dist.weighted_means(b, wb)


def _histogram_divergence(a: np.ndarray, b: np.ndarray) -> SetDistance:
    return lambda wa, wb: dist.jensen_shannon(
        dist.pooled_histograms(a, wa), dist.pooled_histograms(b, wb)
    )


def _kid(a: np.ndarray, b: np.ndarray) -> SetDistance:
    k_aa, k_bb, k_ab = (dist.polynomial_kernel(x, y) for x, y in ((a, a), (b, b), (a, b)))
    return lambda wa, wb: dist.mmd_squared(k_aa, k_bb, k_ab, wa, wb, unbiased=True)


def _rbf_mmd(bandwidth: float) -> Measure:
    def measure(a: np.ndarray, b: np.ndarray) -> SetDistance:
        k_aa, k_bb, k_ab = (
            dist.gaussian_kernel(x, y, bandwidth) for x, y in ((a, a), (b, b), (a, b))
        )
        return lambda wa, wb: dist.mmd_squared(k_aa, k_bb, k_ab, wa, wb, unbiased=False)

    return measure


def _standardised(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both feature sets in units of the real set's per-feature spread (constant ones: 1)."""
    mean = b.mean(axis=0)
    std = b.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (a - mean) / std, (b - mean) / std


def _bootstrap(
    distance: SetDistance, na: int, nb: int, rng: np.random.Generator, replicates: int
) -> tuple[float, tuple[float, float], float, float]:
    """``(bias-corrected estimate, basic interval, plug-in value, replicates' std)``."""
    plugin = float(distance(np.ones((1, na)), np.ones((1, nb)))[0])
    boot = distance(
        dist.bootstrap_weights(na, replicates, rng), dist.bootstrap_weights(nb, replicates, rng)
    )
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(boot, [tail, 100 - tail])
    estimate = 2 * plugin - float(boot.mean())
    return estimate, (2 * plugin - float(high), 2 * plugin - float(low)), plugin, float(boot.std())


def _summary(info: StatisticInfo, values: np.ndarray) -> float | None:
    """The set's value: the mean of a per-frame number, the mean of a histogram's axis."""
    if info.kind == "mean":
        return float(values.mean())
    if info.kind == "histogram" and info.bin_centres is not None:
        pooled = values.sum(axis=0)
        total = pooled.sum()
        return float(pooled @ np.asarray(info.bin_centres) / total) if total > 0 else None
    return None


def furthest(rows: list[Comparison], count: int = 5) -> list[Comparison]:
    """The ``count`` rows furthest beyond their real-vs-real baseline (highest score)."""
    ranked = [r for r in rows if r.score is not None]
    return sorted(ranked, key=lambda r: -float(r.score))[:count]
