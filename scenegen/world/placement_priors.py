"""Placement priors: how far ahead actors stand and how parked vehicles line up.

Read from ``assets/placement_priors.yaml`` (how the distance histogram was fitted to real
KITTI labels is written in the file). :class:`DistancePrior` draws a distance along the
road from that histogram, restricted to the span an actor may use; :class:`ParkedRows`
says where the next parked vehicle of a row goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from scenegen.world.data_files import asset_error, load_asset

PLACEMENT_PRIORS_FILE = "placement_priors.yaml"


@dataclass(frozen=True)
class DistancePrior:
    """A piecewise-uniform density over distance: ``counts[i]`` boxes in
    ``[edges_m[i], edges_m[i + 1])`` metres."""

    edges_m: tuple[float, ...]
    counts: tuple[float, ...]

    def draw(self, rng: np.random.Generator, min_m: float, max_m: float) -> float:
        """One distance in ``[min_m, max_m]`` (m) from the histogram restricted to that
        span; beyond the histogram's range the span is uniform at the last bin's density
        (or the first's, below it)."""
        edges = np.asarray(self.edges_m, dtype=np.float64)
        counts = np.asarray(self.counts, dtype=np.float64)
        widths = np.diff(edges)
        density = counts / widths
        # Extend the density past both ends so any span has somewhere to draw from.
        bin_lo = np.concatenate([[min(min_m, edges[0])], edges, [edges[-1]]])[:-1]
        bin_hi = np.concatenate([[edges[0]], edges[1:], [max(max_m, edges[-1])]])
        bin_density = np.concatenate([[density[0]], density, [density[-1]]])
        overlap = np.clip(np.minimum(bin_hi, max_m) - np.maximum(bin_lo, min_m), 0.0, None)
        mass = overlap * bin_density
        if mass.sum() <= 0:
            return float(rng.uniform(min_m, max_m))
        index = int(rng.choice(len(mass), p=mass / mass.sum()))
        lo, hi = max(bin_lo[index], min_m), min(bin_hi[index], max_m)
        return float(rng.uniform(lo, hi))


@dataclass(frozen=True)
class ParkedRowPrior:
    """Bumper-to-bumper gap range (m) and the chance a parked vehicle starts a new row."""

    gap_m: tuple[float, float]
    new_row_probability: float


@dataclass(frozen=True)
class PlacementPriors:
    distance: DistancePrior
    parked_rows: ParkedRowPrior


def _numbers(key: str, value: object, length: int | None = None) -> list[float]:
    ok = isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    )
    if not ok or (length is not None and len(value) != length):  # type: ignore[arg-type]
        size = f"{length} " if length else ""
        raise asset_error(
            PLACEMENT_PRIORS_FILE, key, f"expected a list of {size}numbers, got {value!r}"
        )
    return [float(v) for v in value]  # type: ignore[union-attr]


def _entry(data: dict, key: str, keys: set[str]) -> dict:
    entry = data.get(key)
    if not isinstance(entry, dict):
        raise asset_error(
            PLACEMENT_PRIORS_FILE, key, f"expected a mapping with keys {sorted(keys)}"
        )
    if not keys <= set(entry) or set(entry) - keys - {"boxes"}:
        raise asset_error(
            PLACEMENT_PRIORS_FILE, key, f"expected keys {sorted(keys)}, got {sorted(entry)}"
        )
    return entry


@cache
def placement_priors() -> PlacementPriors:
    """The priors of ``assets/placement_priors.yaml``, validated."""
    _, data, _ = load_asset(PLACEMENT_PRIORS_FILE)
    unknown = sorted(set(data) - {"distance_m", "parked_rows"})
    if unknown:
        raise asset_error(
            PLACEMENT_PRIORS_FILE, unknown[0], "unknown key; expected distance_m, parked_rows"
        )
    dist = _entry(data, "distance_m", {"edges", "counts"})
    edges = _numbers("distance_m", dist["edges"])
    counts = _numbers("distance_m", dist["counts"], len(edges) - 1)
    if len(edges) < 2 or np.any(np.diff(edges) <= 0) or min(counts) < 0 or sum(counts) <= 0:
        raise asset_error(
            PLACEMENT_PRIORS_FILE,
            "distance_m",
            "expected increasing edges and one count >= 0 per bin, not all zero",
        )
    rows = _entry(data, "parked_rows", {"gap_m", "new_row_probability"})
    gap = _numbers("parked_rows", rows["gap_m"], 2)
    p_new = rows["new_row_probability"]
    if not (0 <= gap[0] <= gap[1]) or not (isinstance(p_new, int | float) and 0 <= p_new <= 1):
        raise asset_error(
            PLACEMENT_PRIORS_FILE,
            "parked_rows",
            "expected gap_m [lo, hi] with 0 <= lo <= hi and new_row_probability in [0, 1]",
        )
    return PlacementPriors(
        DistancePrior(tuple(edges), tuple(counts)),
        ParkedRowPrior((gap[0], gap[1]), float(p_new)),
    )
