"""Checks and image operations that every camera effect shares.

Nothing here draws random numbers or knows about weather; it validates the arrays the
effects receive and provides the blurs and camera-ray geometry they are built from.
"""

from __future__ import annotations

import cv2
import numpy as np

# Above this standard deviation a Gaussian blur is replaced by three box blurs, whose cost
# does not grow with the kernel size (central limit theorem: three boxes ~ a Gaussian).
_BOX_BLUR_MIN_SIGMA_PX = 3.0


def check_radiance(radiance_lin: np.ndarray, name: str = "radiance_lin") -> np.ndarray:
    """Validate an ``(H, W, 3)`` float image and return it as float32 (no copy if it is)."""
    if not isinstance(radiance_lin, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array of shape (H, W, 3), got {type(radiance_lin)}"
        )
    if radiance_lin.ndim != 3 or radiance_lin.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3), got {radiance_lin.shape}")
    if not np.issubdtype(radiance_lin.dtype, np.floating):
        raise TypeError(
            f"{name} must hold linear float radiance, got dtype {radiance_lin.dtype}; "
            "convert uint8 sRGB with effects.color.srgb_to_linear first"
        )
    return np.asarray(radiance_lin, dtype=np.float32)


def check_depth(depth_m: np.ndarray, shape: tuple[int, int], name: str = "depth_m") -> np.ndarray:
    """Validate an ``(H, W)`` depth map matching ``shape`` and return it as float32."""
    if not isinstance(depth_m, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape {shape}, got {type(depth_m)}")
    if depth_m.shape != tuple(shape):
        raise ValueError(
            f"{name} must have shape {tuple(shape)} (the image's H, W), got {depth_m.shape}"
        )
    return np.asarray(depth_m, dtype=np.float32)


def check_mask(mask: np.ndarray, shape: tuple[int, int], name: str) -> np.ndarray:
    """Validate a boolean ``(H, W)`` mask matching ``shape``."""
    if not isinstance(mask, np.ndarray) or mask.shape != tuple(shape):
        got = getattr(mask, "shape", type(mask))
        raise ValueError(f"{name} must be a boolean array of shape {tuple(shape)}, got {got}")
    if mask.dtype != np.bool_:
        raise TypeError(f"{name} must have dtype bool, got {mask.dtype}")
    return mask


def check_intrinsics(K: np.ndarray) -> np.ndarray:
    """Validate a 3x3 pinhole matrix and return it as float64."""
    k = np.asarray(K, dtype=np.float64)
    if k.shape != (3, 3) or k[0, 0] <= 0 or k[1, 1] <= 0:
        raise ValueError(f"K must be a 3x3 intrinsic matrix with fx, fy > 0, got {k.tolist()}")
    return k


def check_rgb(value: object, name: str) -> np.ndarray:
    """A length-3 non-negative colour as a float32 ``(3,)`` array."""
    rgb = np.asarray(value, dtype=np.float32).reshape(-1)
    if rgb.shape != (3,) or not np.all(np.isfinite(rgb)) or np.any(rgb < 0):
        raise ValueError(
            f"{name} must be three finite non-negative numbers (linear RGB), got {value!r}"
        )
    return rgb


def check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng)}")
    return rng


def check_non_negative(value: float, name: str, unit: str) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0 ({unit}), got {value!r}")
    return v


def ray_length_per_depth(K: np.ndarray, height: int, width: int) -> np.ndarray:
    """Length of each pixel's ray per metre of z-depth, ``sqrt(1 + x^2 + y^2)``.

    Returns float32 ``(H, W)``, dimensionless (>= 1). Multiplying a z-depth map by it gives
    the distance light travels from the surface to the camera, in metres.
    """
    k = check_intrinsics(K)
    x = (np.arange(width, dtype=np.float32) - np.float32(k[0, 2])) / np.float32(k[0, 0])
    y = (np.arange(height, dtype=np.float32) - np.float32(k[1, 2])) / np.float32(k[1, 1])
    return np.sqrt(1.0 + y[:, None] ** 2 + x[None, :] ** 2, dtype=np.float32)


def angle_to_direction_deg(
    K: np.ndarray, height: int, width: int, uv: tuple[float, float]
) -> np.ndarray:
    """Angle in degrees between each pixel's ray and the ray through pixel ``uv``.

    ``uv`` may lie outside the image. Returns float32 ``(H, W)`` in degrees.
    """
    k = check_intrinsics(K)
    xs = (float(uv[0]) - k[0, 2]) / k[0, 0]
    ys = (float(uv[1]) - k[1, 2]) / k[1, 1]
    norm_s = np.sqrt(1.0 + xs * xs + ys * ys)
    x = ((np.arange(width) - k[0, 2]) / k[0, 0]).astype(np.float32)
    y = ((np.arange(height) - k[1, 2]) / k[1, 1]).astype(np.float32)
    dot = (y[:, None] * np.float32(ys) + (x[None, :] * np.float32(xs) + 1.0)) / (
        ray_length_per_depth(k, height, width) * np.float32(norm_s)
    )
    return np.degrees(np.arccos(np.clip(dot, -1.0, 1.0)), dtype=np.float32)


def gaussian_blur(
    image: np.ndarray, sigma_x_px: float, sigma_y_px: float | None = None
) -> np.ndarray:
    """Gaussian blur of a float32 ``(H, W)`` or ``(H, W, C)`` image; returns a new array.

    Small kernels use an exact Gaussian; wide ones three box passes (same variance), so a
    100-pixel halo costs as little as a 3-pixel one. Borders reflect, so the image's total
    energy is kept up to what crosses the border.
    """
    sy = sigma_x_px if sigma_y_px is None else sigma_y_px
    sx = float(sigma_x_px)
    sy = float(sy)
    if sx <= 0 and sy <= 0:
        return image.copy()
    if max(sx, sy) < _BOX_BLUR_MIN_SIGMA_PX:
        return cv2.GaussianBlur(image, (0, 0), sigmaX=max(sx, 1e-3), sigmaY=max(sy, 1e-3))
    # Three passes of a box of width w have variance 3 * (w^2 - 1) / 12.
    wx = max(1, round(float(np.sqrt(4.0 * sx * sx + 1.0))) | 1)
    wy = max(1, round(float(np.sqrt(4.0 * sy * sy + 1.0))) | 1)
    out = cv2.blur(image, (wx, wy))
    out = cv2.blur(out, (wx, wy))
    return cv2.blur(out, (wx, wy))


def luminance(radiance_lin: np.ndarray) -> np.ndarray:
    """Rec. 709 relative luminance of ``(..., 3)`` linear RGB; float32 ``(...)``."""
    r = np.asarray(radiance_lin, dtype=np.float32)
    return 0.2126 * r[..., 0] + 0.7152 * r[..., 1] + 0.0722 * r[..., 2]


def expand_to_rgb(plane: np.ndarray) -> np.ndarray:
    """A float32 ``(H, W)`` image repeated into 3 channels, ``(H, W, 3)``.

    Multiplying by this is much faster than numpy's broadcast of ``plane[..., None]``.
    """
    p = np.asarray(plane, dtype=np.float32)
    return cv2.merge([p, p, p])


def times_rgb(plane: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """``plane[..., None] * rgb`` (a float32 ``(H, W)`` image times a colour) as float32
    ``(H, W, 3)``, with the same rounding, computed channel by channel."""
    p = np.asarray(plane, dtype=np.float32)
    c = np.asarray(rgb, dtype=np.float32).reshape(3)
    return cv2.merge([p * c[0], p * c[1], p * c[2]])


def _blur_reach_px(sigma_x_px: float, sigma_y_px: float) -> tuple[int, int]:
    """How far (pixels) :func:`gaussian_blur` spreads a pixel, per axis."""
    reach = []
    for s in (sigma_x_px, sigma_y_px):
        if max(sigma_x_px, sigma_y_px) < _BOX_BLUR_MIN_SIGMA_PX:
            # OpenCV's kernel for float images has 2 * round(4 sigma) + 1 taps.
            reach.append(int(np.ceil(4.0 * max(s, 1e-3))) + 1)
        else:
            width = max(1, round(float(np.sqrt(4.0 * s * s + 1.0))) | 1)
            reach.append(3 * (width // 2))  # three box passes
    return reach[0], reach[1]


def _nonzero_rows_cols(image_2d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the rows and of the columns of a 2-D image that hold a non-zero."""
    nonzero = image_2d != 0
    return np.flatnonzero(nonzero.any(axis=1)), np.flatnonzero(nonzero.any(axis=0))


def add_gaussian_blur(
    out: np.ndarray,
    image: np.ndarray,
    weight: float,
    sigma_x_px: float,
    sigma_y_px: float | None = None,
) -> None:
    """``out += weight * gaussian_blur(image, ...)``, in place, for a *sparse* image.

    Only the bounding box of ``image``'s non-zero pixels, widened by the blur's reach,
    is blurred: the result is the same as blurring the whole image (the rest of the
    image is zero, and the crop keeps the real image borders where it touches them),
    and it costs nothing when, say, only a few lamps are bright.
    """
    sy = sigma_x_px if sigma_y_px is None else sigma_y_px
    h, w = image.shape[:2]
    rows, cols = _nonzero_rows_cols(image.reshape(h, -1))
    if rows.size == 0:
        return
    if image.ndim == 3:
        cols = np.unique(cols // image.shape[2])
    reach_x, reach_y = _blur_reach_px(float(sigma_x_px), float(sy))
    # Twice the reach: the border reflection inside the crop must only ever see zeros.
    r0, r1 = max(0, rows[0] - 2 * reach_y - 2), min(h, rows[-1] + 2 * reach_y + 3)
    c0, c1 = max(0, cols[0] - 2 * reach_x - 2), min(w, cols[-1] + 2 * reach_x + 3)
    crop = np.ascontiguousarray(image[r0:r1, c0:c1])
    out[r0:r1, c0:c1] += np.float32(weight) * gaussian_blur(crop, sigma_x_px, sy)
