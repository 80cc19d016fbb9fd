"""Procedural frost for the ImageNet-C ``frost`` corruption: ice-crystal dendrites over a
frosted haze, matched to the statistics of the reference's frost photographs (which the
project cannot ship)."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

# Per-channel mean and standard deviation (RGB, 0-255) of the five frost photographs the
# reference draws from (imagecorruptions 1.1.2, frost1.png ... frost5.jpg; frost6.jpg is
# never picked by its ``randint(5)``), as a 1242x375 frame sees them: rescaled and randomly
# cropped the reference's way, averaged over 200 crops. Pooled over the five: mean 162,
# std 30 (the whole photographs: 164 and 33).
FROST_PHOTO_RGB_MEAN = (
    (75.7, 147.5, 164.3),
    (199.2, 203.8, 213.2),
    (199.2, 203.8, 213.2),
    (138.4, 153.3, 165.6),
    (104.1, 115.4, 127.2),
)
FROST_PHOTO_RGB_STD = (
    (26.5, 15.8, 14.5),
    (18.2, 18.8, 19.4),
    (18.2, 18.8, 19.4),
    (26.7, 26.7, 28.2),
    (35.8, 35.4, 34.6),
)
# Ice crystals per pixel of texture, and the length range of a crystal's main needle (px).
_FROST_CRYSTALS_PER_PX = 1 / 400
_FROST_NEEDLE_PX = (12.0, 60.0)


def _draw_fern(
    canvas: np.ndarray,
    rng: np.random.Generator,
    start_xy: tuple[float, float],
    angle_rad: float,
    length_px: float,
    depth: int,
    brightness: float,
) -> None:
    """One dendrite: a needle with side branches at +-60 degrees (hexagonal ice), the
    branches shorter towards the tip, recursively ``depth`` levels deep."""
    x0, y0 = start_xy
    x1, y1 = x0 + length_px * math.cos(angle_rad), y0 + length_px * math.sin(angle_rad)
    # shift=2: quarter-pixel endpoints for smooth anti-aliased needles
    cv2.line(
        canvas,
        (round(x0 * 4), round(y0 * 4)),
        (round(x1 * 4), round(y1 * 4)),
        brightness,
        1,
        cv2.LINE_AA,
        shift=2,
    )
    if depth == 0 or length_px < 4:
        return
    for t in np.linspace(0.15, 0.95, int(length_px / rng.uniform(3, 6))):
        for side in (-1.0, 1.0):
            if rng.random() < 0.8:
                _draw_fern(
                    canvas,
                    rng,
                    (x0 + t * (x1 - x0), y0 + t * (y1 - y0)),
                    angle_rad + side * math.pi / 3 + rng.normal(0, 0.1),
                    length_px * (1 - t) * rng.uniform(0.3, 0.6),
                    depth - 1,
                    brightness * rng.uniform(0.6, 0.9),
                )


def _fern_sprites(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """``count`` float32 square sprites, each one dendrite grown from the sprite's centre."""
    lo, hi = _FROST_NEEDLE_PX
    size = 2 * int(hi) + 8
    sprites = []
    for _ in range(count):
        sprite = np.zeros((size, size), np.float32)
        _draw_fern(
            sprite,
            rng,
            (size / 2, size / 2),
            rng.uniform(0, 2 * np.pi),
            rng.uniform(lo, hi),
            2,
            1.0,
        )
        sprites.append(sprite)
    return sprites


@lru_cache(maxsize=5)
def frost_texture(variant: int, height: int = 768, width: int = 1536) -> np.ndarray:
    """Procedural frost: uint8 ``(height, width, 3)`` RGB, read-only, fixed per ``variant``.

    Frost on a pane: dense dendrites (:func:`_draw_fern`) of random size, orientation and
    brightness over a frosted haze of multi-scale noise and fine grain, then normalised to
    the per-channel mean and contrast of the reference's photograph number ``variant``
    (0-4, :data:`FROST_PHOTO_RGB_MEAN` / ``_STD``), so the corruption has the reference's
    strength without shipping its photographs.
    """
    if variant not in range(5):
        raise ValueError(f"frost variant must be 0-4, got {variant!r}")
    rng = np.random.default_rng(10_000 + int(variant))
    haze = np.zeros((height, width), np.float32)
    for cell, weight in ((192, 0.5), (48, 0.3), (12, 0.2)):
        coarse = rng.random((height // cell + 2, width // cell + 2), dtype=np.float32)
        haze += weight * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    sprites = _fern_sprites(rng, 64)
    size = sprites[0].shape[0]
    half = size // 2
    # Crystals are stamped on a padded canvas so that they may cross the texture's border.
    crystals = np.zeros((height + size, width + size), np.float32)
    count = int(height * width * _FROST_CRYSTALS_PER_PX)
    xs = rng.integers(0, width, count)
    ys = rng.integers(0, height, count)
    picks = rng.integers(0, len(sprites), count)
    gains = rng.uniform(0.5, 1.0, count).astype(np.float32)
    for x, y, pick, gain in zip(xs, ys, picks, gains, strict=True):
        window = crystals[y : y + size, x : x + size]
        window += sprites[pick] * gain
    crystals = crystals[half : half + height, half : half + width]
    grain = cv2.GaussianBlur(rng.random((height, width), dtype=np.float32), (0, 0), 0.8)
    intensity = 0.5 * haze + 0.7 * np.minimum(crystals, 1.5) + 0.25 * grain
    intensity = cv2.GaussianBlur(intensity, (0, 0), 0.6)
    z = (intensity - intensity.mean()) / intensity.std()
    mean = np.asarray(FROST_PHOTO_RGB_MEAN[variant], np.float32)
    std = np.asarray(FROST_PHOTO_RGB_STD[variant], np.float32)
    texture = np.clip(mean + z[..., None] * std, 0, 255).astype(np.uint8)
    texture.setflags(write=False)
    return texture
