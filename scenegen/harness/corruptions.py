"""The corruption grid of the robustness benchmark: name -> ``corrupt(image, depth, severity, rng)``.

The built-in corruptions are the camera corruptions of the catalogue
(:mod:`scenegen.augment.catalogue`): the bench keeps no tables of its own, so severity 3 of
``fog`` is the same fog here, in ``scenegen augment`` and in the LiDAR augmentation. A
corruption is any callable with the signature of :class:`Corruption`::

    corrupt(image_u8, depth, severity, rng, *, K=None) -> image_u8

``image_u8`` is uint8 ``(H, W, 3)`` sRGB; ``depth`` the frame's
:class:`~scenegen.augment.depth.RecoveredDepth` (metric z-depth ``depth.depth_m``, ``inf``
sky, with its ground mask and horizon: exact for rendered frames, recovered from LiDAR for
real ones, see :func:`~scenegen.augment.depth.frame_depth`) or ``None``; ``severity`` an
integer 1..5 (ImageNet-C / Michaelis et al. 2019 convention); ``rng`` the generator for
every random draw (the bench gives frame ``i`` :func:`~scenegen.augment.catalogue.corruption_rng`,
as ``scenegen augment`` does); ``K`` the 3x3 intrinsics when known. It returns a new uint8
image of the same shape and never modifies its inputs.

Other corruptions plug in by adding entries to the dict the benchmark receives, for
instance albumentations transforms through :func:`from_albumentations`::

    grid = builtin_corruptions()
    grid["motion_blur_a"] = from_albumentations(lambda s: A.MotionBlur(blur_limit=(3 + 4 * s,) * 2, p=1))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from scenegen.augment.catalogue import (
    ALIASES,
    CAMERA_CORRUPTIONS,
    UnknownCorruptionError,
    apply_camera,
    canonical_name,
    did_you_mean,
)
from scenegen.augment.depth import RecoveredDepth
from scenegen.augment.functional import intrinsics_or_default
from scenegen.augment.severity import SEVERITIES

__all__ = [
    "SEVERITIES",
    "CatalogueCorruption",
    "Corruption",
    "builtin_corruptions",
    "from_albumentations",
    "select_corruptions",
]


class Corruption(Protocol):
    def __call__(
        self,
        image_u8: np.ndarray,
        depth: RecoveredDepth | None,
        severity: int,
        rng: np.random.Generator,
        *,
        K: np.ndarray | None = None,
    ) -> np.ndarray: ...


def _check(image_u8: np.ndarray, severity: int) -> None:
    if not isinstance(image_u8, np.ndarray) or image_u8.dtype != np.uint8 or image_u8.ndim != 3:
        raise ValueError(
            f"image_u8 must be a uint8 (H, W, 3) array, got {getattr(image_u8, 'shape', image_u8)}"
        )
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")


class CatalogueCorruption:
    """The catalogue's camera corruption ``name`` as a bench :class:`Corruption`."""

    def __init__(self, name: str) -> None:
        self.name = canonical_name(name)
        if self.name not in CAMERA_CORRUPTIONS:
            raise UnknownCorruptionError(
                f"corruption {name!r} has no camera model; the bench evaluates camera "
                f"corruptions: {list(CAMERA_CORRUPTIONS)}"
            )

    def __call__(self, image_u8, depth, severity, rng, *, K=None) -> np.ndarray:
        """See :class:`Corruption`."""
        _check(image_u8, severity)
        k = intrinsics_or_default(K, *image_u8.shape[:2])
        return apply_camera(self.name, int(severity), image_u8, depth, k, rng)[0]

    def __repr__(self) -> str:
        return f"CatalogueCorruption({self.name!r})"


def builtin_corruptions() -> dict[str, Corruption]:
    """Every camera corruption of the catalogue, by its catalogue name."""
    return {name: CatalogueCorruption(name) for name in CAMERA_CORRUPTIONS}


def from_albumentations(transform_for_severity: Callable[[int], Any]) -> Corruption:
    """Wrap an albumentations transform factory ``severity -> transform`` as a corruption.

    The transform is called as ``transform(image=image_u8, depth=depth_m, intrinsics=K)``:
    ``depth`` (float32 ``(H, W)`` metres, only when the frame has depth) and ``intrinsics``
    (3x3) are the keys scenegen's weather transforms read (:mod:`scenegen.augment.camera`);
    other transforms ignore them. A ``Compose`` that moves pixels must declare
    ``additional_targets={"depth": "mask"}`` so the depth moves with the image. The
    transform's own generator is seeded from ``rng``, so results stay reproducible.
    """

    def corrupt(image_u8, depth, severity, rng, *, K=None):
        _check(image_u8, severity)
        transform = transform_for_severity(int(severity))
        if hasattr(transform, "set_random_seed"):
            transform.set_random_seed(int(rng.integers(0, 2**31 - 1)))
        data: dict[str, Any] = {"image": image_u8}
        if depth is not None:
            data["depth"] = depth.depth_m
        if K is not None:
            data["intrinsics"] = np.asarray(K, np.float64)
        out = transform(**data)["image"]
        if out.shape != image_u8.shape or out.dtype != np.uint8:
            raise ValueError(
                f"albumentations transform returned {out.dtype} {out.shape}, expected uint8 "
                f"{image_u8.shape}"
            )
        return out

    return corrupt


def select_corruptions(
    names: list[str], available: Mapping[str, Corruption] | None = None
) -> dict[str, Corruption]:
    """The named corruptions from ``available`` (default: :func:`builtin_corruptions`).

    Names of the catalogue's :data:`~scenegen.augment.catalogue.ALIASES` (``low_light``)
    select their catalogue corruption, keyed by its catalogue name.
    """
    grid = dict(available) if available is not None else builtin_corruptions()
    chosen: dict[str, Corruption] = {}
    for name in names:
        key = name if name in grid else _catalogue_name(name)
        if key not in grid:
            hint = did_you_mean(name, [*grid, *ALIASES])
            raise UnknownCorruptionError(
                f"unknown corruption {name!r}{hint} (expected some of {sorted(grid)}, or an "
                f"alias {dict(ALIASES)})"
            )
        chosen[key] = grid[key]
    return chosen


def _catalogue_name(name: str) -> str:
    try:
        return canonical_name(name)
    except UnknownCorruptionError:
        return name
