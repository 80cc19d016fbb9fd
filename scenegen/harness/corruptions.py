"""The corruption grid of the robustness benchmark: name -> ``corrupt(image, depth, severity, rng)``.

A corruption is any callable with the signature of :class:`Corruption`::

    corrupt(image_u8, depth_m, severity, rng, *, K=None) -> image_u8

``image_u8`` is uint8 ``(H, W, 3)`` sRGB, ``depth_m`` float32 ``(H, W)`` metric z-depth
(``inf`` sky) or ``None`` for frames without depth, ``severity`` an integer 1..5
(ImageNet-C / Michaelis et al. 2019 convention), ``rng`` the generator for every random
draw and ``K`` the 3x3 intrinsics when known. It returns a new uint8 image of the same
shape and never modifies its inputs.

:func:`builtin_corruptions` builds the grid from the augmentation stage: physical fog,
rain and snow (:mod:`scenegen.augment.functional`, using the frame's depth), low light
(:mod:`scenegen.effects` sensor noise), three ImageNet-C corruptions with the published
tables (:mod:`scenegen.augment.imagenet_c`: gaussian noise, JPEG, contrast) and a
gaussian blur. Other corruptions plug in by adding
entries to the dict the benchmark receives, for instance albumentations transforms
(``scenegen.augment`` or your own) through :func:`from_albumentations`::

    grid = builtin_corruptions()
    grid["motion_blur"] = from_albumentations(lambda s: A.MotionBlur(blur_limit=(3 + 4 * s,) * 2, p=1))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import cv2
import numpy as np

from scenegen.augment import functional as weather
from scenegen.augment import imagenet_c
from scenegen.augment.functional import intrinsics_or_default
from scenegen.effects import apply_sensor_noise, linear_to_srgb_u8, srgb_to_linear

SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)

# Physical parameter per severity 1..5.
FOG_VISIBILITY_M = (400.0, 200.0, 100.0, 60.0, 35.0)
RAIN_RATE_MM_H = (5.0, 10.0, 25.0, 50.0, 100.0)
SNOW_RATE_MM_H = (0.5, 1.0, 2.0, 4.0, 8.0)
# Low light: the scene's radiance is scaled down, the camera's gain brings it back up.
LOW_LIGHT_RADIANCE_SCALE = (0.3, 0.15, 0.07, 0.035, 0.015)
GAUSSIAN_BLUR_SIGMA_PX = (1.0, 2.0, 3.0, 4.0, 6.0)


class Corruption(Protocol):
    def __call__(
        self,
        image_u8: np.ndarray,
        depth_m: np.ndarray | None,
        severity: int,
        rng: np.random.Generator,
        *,
        K: np.ndarray | None = None,
    ) -> np.ndarray: ...


def _check(image_u8: np.ndarray, severity: int) -> int:
    if not isinstance(image_u8, np.ndarray) or image_u8.dtype != np.uint8 or image_u8.ndim != 3:
        raise ValueError(
            f"image_u8 must be a uint8 (H, W, 3) array, got {getattr(image_u8, 'shape', image_u8)}"
        )
    if int(severity) not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    return int(severity) - 1


def _need_depth(name: str, depth_m: np.ndarray | None) -> np.ndarray:
    if depth_m is None:
        raise ValueError(
            f"corruption {name!r} needs a metric depth map (synthetic frames have one; "
            "real frames need depth recovered from LiDAR first)"
        )
    return depth_m


def fog(image_u8, depth_m, severity, rng, *, K=None):
    """Koschmieder fog at ``FOG_VISIBILITY_M[severity - 1]`` metres of visibility."""
    index = _check(image_u8, severity)
    depth = _need_depth("fog", depth_m)
    k = intrinsics_or_default(K, *image_u8.shape[:2])
    return weather.fog(image_u8, depth, FOG_VISIBILITY_M[index], k)


def rain(image_u8, depth_m, severity, rng, *, K=None):
    """Rain at ``RAIN_RATE_MM_H[severity - 1]``: extinction, forward scatter and streaks."""
    index = _check(image_u8, severity)
    depth = _need_depth("rain", depth_m)
    k = intrinsics_or_default(K, *image_u8.shape[:2])
    return weather.rain(image_u8, depth, RAIN_RATE_MM_H[index], k, rng)


def snow(image_u8, depth_m, severity, rng, *, K=None):
    """Falling snow at ``SNOW_RATE_MM_H[severity - 1]`` (water equivalent)."""
    index = _check(image_u8, severity)
    depth = _need_depth("snow", depth_m)
    k = intrinsics_or_default(K, *image_u8.shape[:2])
    return weather.snow(image_u8, depth, SNOW_RATE_MM_H[index], k, rng)


def low_light(image_u8, depth_m, severity, rng, *, K=None):
    """Less light, more gain: shot and read noise of a CMOS sensor at the same brightness."""
    index = _check(image_u8, severity)
    scale = LOW_LIGHT_RADIANCE_SCALE[index]
    radiance = srgb_to_linear(image_u8) * np.float32(scale)
    out = apply_sensor_noise(radiance, rng, exposure_gain=1.0 / scale)
    return linear_to_srgb_u8(out)


def gaussian_noise(image_u8, depth_m, severity, rng, *, K=None):
    """ImageNet-C gaussian noise (its published table)."""
    _check(image_u8, severity)
    return imagenet_c.gaussian_noise(image_u8, severity, rng)


def gaussian_blur(image_u8, depth_m, severity, rng, *, K=None):
    """ImageNet-C gaussian blur (sigma in pixels of a 224 px image, applied as pixels here)."""
    index = _check(image_u8, severity)
    sigma = GAUSSIAN_BLUR_SIGMA_PX[index]
    return cv2.GaussianBlur(image_u8, (0, 0), sigmaX=sigma, sigmaY=sigma)


def jpeg(image_u8, depth_m, severity, rng, *, K=None):
    """ImageNet-C JPEG compression (its published quality table)."""
    _check(image_u8, severity)
    return imagenet_c.jpeg_compression(image_u8, severity)


def contrast(image_u8, depth_m, severity, rng, *, K=None):
    """ImageNet-C contrast (its published table)."""
    _check(image_u8, severity)
    return imagenet_c.contrast(image_u8, severity)


def builtin_corruptions() -> dict[str, Corruption]:
    """The built-in grid: physical weather from :mod:`scenegen.effects` and ImageNet-C basics."""
    return {
        "fog": fog,
        "rain": rain,
        "snow": snow,
        "low_light": low_light,
        "gaussian_noise": gaussian_noise,
        "gaussian_blur": gaussian_blur,
        "jpeg": jpeg,
        "contrast": contrast,
    }


def from_albumentations(transform_for_severity: Callable[[int], Any]) -> Corruption:
    """Wrap an albumentations transform factory ``severity -> transform`` as a corruption.

    The transform gets ``image`` and, when the frame has one, ``depth_m`` as extra keyword
    (transforms that do not use it ignore it); its own generator is seeded from ``rng`` so
    results stay reproducible.
    """

    def corrupt(image_u8, depth_m, severity, rng, *, K=None):
        _check(image_u8, severity)
        transform = transform_for_severity(int(severity))
        if hasattr(transform, "set_random_seed"):
            transform.set_random_seed(int(rng.integers(0, 2**31 - 1)))
        out = transform(image=image_u8)["image"]
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
    """The named corruptions from ``available`` (default: :func:`builtin_corruptions`)."""
    grid = dict(available) if available is not None else builtin_corruptions()
    unknown = [n for n in names if n not in grid]
    if unknown:
        raise KeyError(f"unknown corruption(s) {unknown}; expected some of {sorted(grid)}")
    return {n: grid[n] for n in names}
