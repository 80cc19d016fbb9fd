"""Distances between two sets of per-frame statistics, and their bootstrap replicates.

Every distance here is a function of *frame weights*: a set of ``n`` frames resampled with
replacement is the same set with integer weights (how often each frame was drawn). That
makes a bootstrap one matrix product per statistic instead of a Python loop per replicate.

* scalar statistics: the signed difference of the means (A minus B), in the statistic's unit;
* histograms: the Jensen–Shannon divergence (base 2, in [0, 1]) of the pooled counts;
* feature sets: KID (the unbiased MMD² with the cubic polynomial kernel of Bińkowski et al.,
  "Demystifying MMD GANs", ICLR 2018) and the biased MMD² with a Gaussian kernel.
"""

from __future__ import annotations

import numpy as np


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence in bits between histograms along the last axis.

    ``p`` and ``q`` are non-negative counts (any scale; each is normalised); broadcasting
    works, so ``(B, K)`` replicates against a ``(K,)`` histogram give ``(B,)``. An empty
    histogram counts as uniform, so it is far from any peaked one instead of undefined.
    """
    p = _normalised(p)
    q = _normalised(q)
    m = 0.5 * (p + q)
    return 0.5 * (_kl_bits(p, m) + _kl_bits(q, m))


def _normalised(h: np.ndarray) -> np.ndarray:
    h = np.asarray(h, dtype=np.float64)
    total = h.sum(axis=-1, keepdims=True)
    uniform = np.full_like(h, 1.0 / h.shape[-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, h / np.where(total > 0, total, 1.0), uniform)


def _kl_bits(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0) / np.where(m > 0, m, 1.0)), 0.0)
    return np.clip(terms.sum(axis=-1), 0.0, 1.0)


def weighted_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Means of per-frame ``values`` ``(N,)`` under frame ``weights`` ``(B, N)`` -> ``(B,)``."""
    return weights @ np.asarray(values, dtype=np.float64) / weights.sum(axis=1)


def pooled_histograms(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pooled histograms of per-frame ``counts`` ``(N, K)`` under ``weights`` ``(B, N)``."""
    return weights @ np.asarray(counts, dtype=np.float64)


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel ``(x·y / d + 1)^3`` between the rows of ``x`` and ``y`` (d features)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def gaussian_kernel(x: np.ndarray, y: np.ndarray, bandwidth: float) -> np.ndarray:
    """``exp(-|x - y|² / (2 bandwidth²))`` between the rows of ``x`` and ``y``."""
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    return np.exp(-np.maximum(sq, 0.0) / (2.0 * bandwidth**2))


def median_bandwidth(x: np.ndarray) -> float:
    """The median heuristic: median distance between distinct rows of ``x`` (1 if all equal)."""
    sq = (x * x).sum(1)[:, None] + (x * x).sum(1)[None, :] - 2.0 * x @ x.T
    upper = np.sqrt(np.maximum(sq[np.triu_indices(len(x), k=1)], 0.0))
    median = float(np.median(upper)) if upper.size else 0.0
    return median if median > 0 else 1.0


def mmd_squared(
    k_aa: np.ndarray,
    k_bb: np.ndarray,
    k_ab: np.ndarray,
    weights_a: np.ndarray,
    weights_b: np.ndarray,
    *,
    unbiased: bool,
) -> np.ndarray:
    """MMD² between weighted sets from their kernel matrices, one value per weight row.

    ``weights_a`` ``(B, Na)`` and ``weights_b`` ``(B, Nb)`` are multiplicities (all ones: the
    sets themselves). ``unbiased`` leaves out the pairs of a draw with itself (the U-statistic
    of Gretton et al. 2012, eq. 3, which KID uses); a frame drawn twice still pairs with its
    copy, as in any bootstrap of a U-statistic.
    """
    wa = np.asarray(weights_a, dtype=np.float64)
    wb = np.asarray(weights_b, dtype=np.float64)
    na, nb = wa.sum(1), wb.sum(1)
    aa = np.einsum("bi,ij,bj->b", wa, k_aa, wa)
    bb = np.einsum("bi,ij,bj->b", wb, k_bb, wb)
    ab = np.einsum("bi,ij,bj->b", wa, k_ab, wb)
    if unbiased:
        aa = (aa - wa @ np.diag(k_aa)) / (na * (na - 1))
        bb = (bb - wb @ np.diag(k_bb)) / (nb * (nb - 1))
    else:
        aa, bb = aa / na**2, bb / nb**2
    return aa + bb - 2.0 * ab / (na * nb)


def bootstrap_weights(n: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """``(replicates, n)`` multiplicities of ``n`` frames drawn ``n`` times with replacement."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(np.float64)
