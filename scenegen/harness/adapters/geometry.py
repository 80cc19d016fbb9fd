"""From an image to a model's input and from the model's boxes back to the image's pixels.

Pixel convention as :mod:`scenegen.frame`: pixel ``(u, v)`` covers ``[u, u+1) x [v, v+1)``,
so resizing by ``s`` maps continuous coordinate ``x`` to ``x * s`` exactly (OpenCV's
``INTER_LINEAR`` samples at pixel centres, which is the same mapping).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scenegen.harness.adapters.config import InputConfig


@dataclass(frozen=True)
class InputTransform:
    """How one image was fitted into the model input: ``model_xy = image_xy * scale + pad``."""

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float
    width: int  # of the original image
    height: int

    def boxes_to_image(self, boxes_model: np.ndarray) -> np.ndarray:
        """``(K, 4)`` x1, y1, x2, y2 in model-input pixels -> the original image's pixels,
        clipped to the image."""
        boxes = np.asarray(boxes_model, np.float64).reshape(-1, 4).copy()
        boxes[:, 0::2] = (boxes[:, 0::2] - self.pad_x) / self.scale_x
        boxes[:, 1::2] = (boxes[:, 1::2] - self.pad_y) / self.scale_y
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, self.width)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, self.height)
        return boxes.astype(np.float32)


def fit_image(image_hwc: np.ndarray, config: InputConfig) -> tuple[np.ndarray, InputTransform]:
    """A float32 ``(H, W, 3)`` image in [0, 1] -> the ``(1, 3, h, w)`` float32 model input
    (resized, padded, channel order and normalisation applied) and the transform used."""
    height, width = image_hwc.shape[:2]
    if (
        config.width is None
        or config.height is None
        or (width, height)
        == (
            config.width,
            config.height,
        )
    ):
        fitted = np.ascontiguousarray(image_hwc, np.float32)
        transform = InputTransform(1.0, 1.0, 0.0, 0.0, width, height)
    elif config.resize == "stretch":
        fitted = cv2.resize(
            image_hwc, (config.width, config.height), interpolation=cv2.INTER_LINEAR
        )
        transform = InputTransform(
            config.width / width, config.height / height, 0.0, 0.0, width, height
        )
    else:
        fitted, transform = _letterbox(image_hwc, config.width, config.height, config.pad_value)
    if config.channels == "bgr":  # mean and std are in the model's channel order
        fitted = fitted[..., ::-1]
    mean = np.asarray(config.mean, np.float32)
    std = np.asarray(config.std, np.float32)
    tensor = ((fitted - mean) / std).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(tensor, np.float32), transform


def _letterbox(
    image_hwc: np.ndarray, out_w: int, out_h: int, pad_value: float
) -> tuple[np.ndarray, InputTransform]:
    """Scale to fit inside ``out_w x out_h`` keeping the aspect ratio, centre, pad the rest
    (ultralytics' ``LetterBox``: one scale, padding split evenly)."""
    height, width = image_hwc.shape[:2]
    scale = min(out_w / width, out_h / height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = cv2.resize(image_hwc, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    left, top = (out_w - new_w) // 2, (out_h - new_h) // 2
    canvas = np.full((out_h, out_w, 3), pad_value, np.float32)
    canvas[top : top + new_h, left : left + new_w] = resized
    # The exact per-axis scale of the resized content (rounding makes it differ from
    # ``scale`` by up to half a pixel over the image).
    return canvas, InputTransform(new_w / width, new_h / height, left, top, width, height)
