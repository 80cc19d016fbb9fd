"""Class size priors: how long, wide and tall procedural actors are, from real labels.

``assets/class_priors.yaml`` holds, per class and box dimension, the mean, standard
deviation and observed range of real KITTI 3D boxes (how it was fitted is written in the
file). :func:`draw_dimensions` draws one actor's ``(length, width, height)`` from a normal
truncated to that range, with the caller's generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from scenegen.world.data_files import asset_error, load_asset

CLASS_PRIORS_FILE = "class_priors.yaml"
DIMENSIONS = ("length_m", "width_m", "height_m")
_STATS = ("mean", "std", "min", "max")
_TRUNCATION_TRIES = 32  # beyond 3 sigma of both bounds a draw is clipped instead


@dataclass(frozen=True)
class SizePrior:
    """A normal ``N(mean_m, std_m)`` truncated to ``[min_m, max_m]`` (metres)."""

    mean_m: float
    std_m: float
    min_m: float
    max_m: float

    def draw(self, rng: np.random.Generator) -> float:
        """One value by rejection (a bounded number of tries, then clipped)."""
        for _ in range(_TRUNCATION_TRIES):
            value = float(rng.normal(self.mean_m, self.std_m))
            if self.min_m <= value <= self.max_m:
                return value
        return float(np.clip(value, self.min_m, self.max_m))


def _size_prior(cls: str, dim: str, entry: object) -> SizePrior:
    if not (isinstance(entry, dict) and set(entry) == set(_STATS)):
        raise asset_error(
            CLASS_PRIORS_FILE,
            cls,
            f"{dim} must be a mapping with keys {list(_STATS)}, got {entry!r}",
        )
    if not all(isinstance(entry[k], int | float) for k in _STATS):
        raise asset_error(CLASS_PRIORS_FILE, cls, f"{dim}: every value must be a number")
    mean, std, lo, hi = (float(entry[k]) for k in _STATS)
    if not (0 < lo <= mean <= hi and std >= 0):
        raise asset_error(
            CLASS_PRIORS_FILE,
            cls,
            f"{dim}: expected 0 < min <= mean <= max and std >= 0, got {entry!r}",
        )
    return SizePrior(mean, std, lo, hi)


@cache
def class_size_priors() -> dict[str, tuple[SizePrior, SizePrior, SizePrior]]:
    """``class -> (length, width, height)`` priors of ``assets/class_priors.yaml``, validated."""
    _, data, _ = load_asset(CLASS_PRIORS_FILE)
    priors = {}
    for cls, entry in data.items():
        if not isinstance(entry, dict):
            raise asset_error(CLASS_PRIORS_FILE, str(cls), f"expected a mapping, got {entry!r}")
        unknown = sorted(set(entry) - {"boxes", *DIMENSIONS})
        missing = sorted(set(DIMENSIONS) - set(entry))
        if unknown or missing:
            raise asset_error(
                CLASS_PRIORS_FILE,
                str(cls),
                f"expected keys boxes, {', '.join(DIMENSIONS)}; unknown {unknown}, missing {missing}",
            )
        priors[str(cls)] = tuple(_size_prior(str(cls), d, entry[d]) for d in DIMENSIONS)
    return priors  # type: ignore[return-value]


def size_prior(class_name: str) -> tuple[SizePrior, SizePrior, SizePrior]:
    """The ``(length, width, height)`` priors of one class (it must be in the file)."""
    priors = class_size_priors()
    if class_name not in priors:
        raise asset_error(
            CLASS_PRIORS_FILE,
            class_name,
            f"no size prior for {class_name!r}; have {sorted(priors)}",
        )
    return priors[class_name]


def draw_dimensions(class_name: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """``(length, width, height)`` in metres of one actor of ``class_name``."""
    length, width, height = size_prior(class_name)
    return length.draw(rng), width.draw(rng), height.draw(rng)
