"""A deterministic detector for the search tests: it finds an object only where the
rendered image shows it with enough contrast.

It is a real detector on real rendered images: given an image, it reports the objects of
that image whose box differs in mean luminance from a ring of pixels around the box by at
least ``threshold`` (Weber contrast ``|L_box - L_ring| / L_ring``). Which objects an image
holds it learns from the frames it was shown being rendered (``remember``), keyed by the
image's bytes: the search never gives it anything but images. Fog lowers the contrast of
distant objects, so it fails below some visibility, and the boundary is measurable.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from scenegen.frame import Frame

LUMA = np.array([0.2126, 0.7152, 0.0722])


def weber_contrast(rgb: np.ndarray, box: np.ndarray, ring_px: int = 3) -> float:
    """Weber contrast of the box against a ring ``ring_px`` wide around it."""
    h, w = rgb.shape[:2]
    luma = rgb.astype(np.float64) @ LUMA
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(max(x2, x1 + 1), w), min(max(y2, y1 + 1), h)
    outer = luma[
        max(y1 - ring_px, 0) : min(y2 + ring_px, h), max(x1 - ring_px, 0) : min(x2 + ring_px, w)
    ]
    inner = luma[y1:y2, x1:x2]
    ring_sum = outer.sum() - inner.sum()
    ring_n = outer.size - inner.size
    if ring_n <= 0:
        return 0.0
    ring = ring_sum / ring_n
    return float(abs(inner.mean() - ring) / max(ring, 1.0))


class ContrastDetector:
    """Detects the labelled objects of an image whose Weber contrast is >= ``threshold``;
    its score is ``0.3 * contrast / threshold`` (clipped to 1), so with the search's score
    threshold 0.3 an object counts as detected exactly when its contrast reaches it."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._objects: dict[str, list[np.ndarray]] = {}

    @staticmethod
    def _key(rgb_u8: np.ndarray) -> str:
        return hashlib.sha256(np.ascontiguousarray(rgb_u8).tobytes()).hexdigest()

    def remember(self, frame: Frame) -> None:
        self._objects[self._key(frame.rgb)] = [
            o.box_2d.copy() for o in frame.objects if o.class_name == "car"
        ]

    def __call__(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        results = []
        for image in images:
            rgb = (image.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
            boxes = self._objects.get(self._key(rgb), [])
            scores = [min(1.0, 0.3 * weber_contrast(rgb, b) / self.threshold) for b in boxes]
            results.append(
                {
                    "boxes": torch.tensor(np.array(boxes, np.float32).reshape(-1, 4)),
                    "scores": torch.tensor(scores, dtype=torch.float32),
                    "labels": torch.ones(len(boxes), dtype=torch.int64),
                }
            )
        return results
