"""Weight-free statistics of one camera image: colour, spectrum, edges, contrast, noise.

Every image is first resized (area averaging) to a common analysis width, so that
resolution-dependent statistics (gradients, sharpness, noise, spectrum) compare frames of
different sizes at the same scale; the statistics are those *at the analysis resolution*.
Intensities are in [0, 1]; luminance is Rec. 709 luma of the sRGB values.
"""

from __future__ import annotations

import cv2
import numpy as np

HIST_BINS = 32
CHANNELS = ("r", "g", "b")
_LUMA_709 = np.array([0.2126, 0.7152, 0.0722])
# Immerkær (1996), "Fast noise variance estimation": this kernel cancels any locally planar
# image, so what is left in flat regions is noise: sigma = sqrt(pi/2) / 6 * mean(|I * N|).
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
# Frequencies fitted for the spectrum slope, cycles per pixel: above the few lowest
# (dominated by the image's layout and the window) and below Nyquist's corner.
_SLOPE_BAND_CYCLES_PER_PX = (0.01, 0.4)
_LOCAL_CONTRAST_WINDOW_PX = 7


def resize_to_width(rgb: np.ndarray, width_px: int) -> np.ndarray:
    """``rgb`` scaled (area averaging, aspect kept) to ``width_px`` columns, float64 [0, 1]."""
    image = np.asarray(rgb, dtype=np.float64) / 255.0
    height, width = image.shape[:2]
    if width == width_px:
        return image
    new_height = max(1, round(height * width_px / width))
    interpolation = cv2.INTER_AREA if width_px < width else cv2.INTER_LINEAR
    return cv2.resize(image, (width_px, new_height), interpolation=interpolation)


def luminance(rgb01: np.ndarray) -> np.ndarray:
    """Rec. 709 luma of an ``(H, W, 3)`` [0, 1] image, ``(H, W)`` float64."""
    return rgb01 @ _LUMA_709


def power_spectrum_slope(gray: np.ndarray) -> float:
    """Slope of log power against log spatial frequency, radially averaged.

    The mean is removed and a Hann window applied (so the image's borders do not add a
    spurious ``1/f²`` cross); bins are log-spaced in the band ``_SLOPE_BAND_CYCLES_PER_PX``.
    White noise gives 0; natural images about -2 (van der Schaaf & van Hateren 1996).
    """
    height, width = gray.shape
    window = np.outer(np.hanning(height), np.hanning(width))
    power = np.abs(np.fft.rfft2((gray - gray.mean()) * window)) ** 2
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    low, high = _SLOPE_BAND_CYCLES_PER_PX
    edges = np.geomspace(max(low, 2.0 / min(height, width)), high, 21)
    index = np.digitize(radius.ravel(), edges) - 1
    inside = (index >= 0) & (index < len(edges) - 1)
    sums = np.bincount(index[inside], weights=power.ravel()[inside], minlength=len(edges) - 1)
    counts = np.bincount(index[inside], minlength=len(edges) - 1)
    used = (counts > 0) & (sums > 0)
    if used.sum() < 2:
        return 0.0
    centres = np.sqrt(edges[:-1] * edges[1:])[used]
    slope = np.polyfit(np.log(centres), np.log(sums[used] / counts[used]), 1)[0]
    return float(slope)


def gradient_magnitude(gray: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude per pixel (luminance units per pixel, /8-normalised)."""
    gx = cv2.Sobel(gray, cv2.CV_64F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(gray, cv2.CV_64F, 0, 1, ksize=3) / 8.0
    return np.sqrt(gx**2 + gy**2)


def noise_sigma(gray: np.ndarray, gradient: np.ndarray | None = None) -> float:
    """Standard deviation of additive white noise, estimated in the flat half of the image.

    Immerkær's estimator (see ``_IMMERKAER``) over the half of the interior pixels with the
    smallest Sobel gradient: edges would read as noise. For white Gaussian noise the two
    filters are uncorrelated (one is even, the other odd), so choosing pixels by gradient
    does not bias the estimate.
    """
    if gradient is None:
        gradient = gradient_magnitude(gray)
    response = np.abs(cv2.filter2D(gray, cv2.CV_64F, _IMMERKAER))[1:-1, 1:-1]
    grad = gradient[1:-1, 1:-1]
    flat = grad <= np.median(grad)
    if not flat.any():
        return 0.0
    return float(np.sqrt(np.pi / 2.0) / 6.0 * response[flat].mean())


def local_contrast(gray: np.ndarray) -> np.ndarray:
    """RMS contrast per pixel: standard deviation of luminance in a 7x7 window."""
    size = (_LOCAL_CONTRAST_WINDOW_PX, _LOCAL_CONTRAST_WINDOW_PX)
    mean = cv2.blur(gray, size)
    mean_sq = cv2.blur(gray * gray, size)
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))


def saturation(rgb01: np.ndarray) -> np.ndarray:
    """HSV saturation per pixel, ``(max - min) / max`` (0 where black)."""
    high = rgb01.max(axis=2)
    low = rgb01.min(axis=2)
    return np.where(high > 0, (high - low) / np.where(high > 0, high, 1.0), 0.0)


def histogram01(values: np.ndarray, bins: int = HIST_BINS) -> np.ndarray:
    """Counts of [0, 1] values in ``bins`` equal bins (1.0 falls in the last), float64."""
    index = np.clip((np.asarray(values).ravel() * bins).astype(np.int64), 0, bins - 1)
    return np.bincount(index, minlength=bins).astype(np.float64)


def _skewness(values: np.ndarray, mean: float, std: float) -> float:
    if std <= 0:
        return 0.0
    centred = values - mean
    # Products, not ``**3``: numpy's float power is several times slower.
    return float((centred * centred * centred).mean() / std**3)


def image_statistics(
    rgb: np.ndarray, width_px: int
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Scalar statistics and histograms of one uint8 ``(H, W, 3)`` sRGB image.

    Returns ``(scalars, histograms)`` keyed by statistic name (see
    :data:`scenegen.fidelity.catalogue.STATISTICS` for what each means).
    """
    image = resize_to_width(rgb, width_px)
    gray = luminance(image)
    gradient = gradient_magnitude(gray)
    contrast = local_contrast(gray)
    scalars: dict[str, float] = {}
    histograms: dict[str, np.ndarray] = {}
    for index, name in enumerate(CHANNELS):
        channel = image[..., index].ravel()
        mean, std = float(channel.mean()), float(channel.std())
        scalars[f"camera.{name}_mean"] = mean
        scalars[f"camera.{name}_std"] = std
        scalars[f"camera.{name}_skew"] = _skewness(channel, mean, std)
        histograms[f"camera.{name}_histogram"] = histogram01(channel)
    scalars["camera.luminance_mean"] = float(gray.mean())
    histograms["camera.luminance_histogram"] = histogram01(gray)
    scalars["camera.spectrum_slope"] = power_spectrum_slope(gray)
    scalars["camera.gradient_mean"] = float(gradient.mean())
    scalars["camera.gradient_p90"] = float(np.percentile(gradient, 90))
    scalars["camera.local_contrast_mean"] = float(contrast.mean())
    scalars["camera.local_contrast_std"] = float(contrast.std())
    scalars["camera.noise_sigma"] = noise_sigma(gray, gradient)
    scalars["camera.sharpness"] = float(cv2.Laplacian(gray, cv2.CV_64F, ksize=1).var())
    scalars["camera.saturation_mean"] = float(saturation(image).mean())
    return scalars, histograms
