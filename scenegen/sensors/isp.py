"""The camera from lens to file: optics, sensor and image signal processor (ISP).

Takes the linear radiance that reaches the lens (after the weather) and returns the 8-bit
sRGB image a real automotive camera would write, in the order light goes through it:

* lens: lateral chromatic aberration (red magnified by ``1 + k``, blue by ``1 - k`` about
  the principal point), an optical point-spread function (a Gaussian of
  ``psf_sigma_px``; it also turns one-pixel staircase silhouettes into the 1-2 pixel ramps
  of a real lens), and vignetting ``cos(theta)^n`` of the off-axis angle (``n = 4`` is the
  natural vignetting of a thin lens; real lenses and lens-shading correction leave less);
* sensor: photon shot noise and read noise (:func:`scenegen.effects.apply_sensor_noise`)
  at ``electrons_at_white`` photo-electrons for radiance 1.0; a night exposure collects
  more of them (``exposure_factor``) and the rest of the brightening is gain;
* ISP: colour saturation (a 3x3 matrix about Rec. 709 luminance), filmic highlight
  roll-off, the sRGB curve with an S-shaped contrast (:func:`scenegen.effects.color`),
  and optionally JPEG compression.

The defaults (:data:`KITTI_LIKE_ISP`) are chosen so that the ``scenegen fidelity`` camera
statistics of rendered frames come close to those of the KITTI colour camera (flat-region
noise, saturation, contrast); see benchmarks/README.md for the measurement. Randomness
comes only from the ``rng`` passed in: same image, same generator state, same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from scenegen.effects import apply_sensor_noise, linear_to_srgb_u8
from scenegen.effects.common import check_intrinsics, check_radiance, check_rng

REC709_LUMINANCE = np.array([0.2126, 0.7152, 0.0722], np.float32)


@dataclass(frozen=True)
class CameraIsp:
    """Parameters of the lens, sensor and ISP model (see the module docstring)."""

    psf_sigma_px: float = 0.45
    chromatic_aberration: float = 0.0008  # relative magnification difference, R vs B
    vignetting_exponent: float = 1.0  # cos^n of the off-axis angle; 0: none
    electrons_at_white: float = 1500.0  # daytime exposure, radiance 1.0
    read_noise_e: float = 4.0
    full_well_e: float = 10000.0
    saturation: float = 1.3  # 1: unchanged colours
    contrast: float = 0.35  # S-curve on the encoded value, 0: plain sRGB
    jpeg_quality: int | None = None  # None: no compression (KITTI's PNGs)

    def __post_init__(self) -> None:
        checks = (
            ("psf_sigma_px", self.psf_sigma_px >= 0),
            ("chromatic_aberration", 0 <= self.chromatic_aberration < 0.05),
            ("vignetting_exponent", 0 <= self.vignetting_exponent <= 8),
            ("electrons_at_white", self.electrons_at_white > 0),
            ("read_noise_e", self.read_noise_e >= 0),
            ("full_well_e", self.full_well_e > 0),
            ("saturation", 0 <= self.saturation <= 3),
            ("contrast", 0 <= self.contrast <= 1),
        )
        for name, ok in checks:
            if not ok:
                raise ValueError(f"CameraIsp.{name} out of range: {getattr(self, name)!r}")
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"CameraIsp.jpeg_quality must be 1-100, got {self.jpeg_quality!r}")


KITTI_LIKE_ISP = CameraIsp()

# Daytime auto exposure: the mean linear luminance of the lower part of the frame (road and
# traffic; automotive cameras keep the sky out of the meter, so a bright sky does not turn
# the road black) is brought to DAY_METER_TARGET, within DAY_GAIN_RANGE.
DAY_METER_TARGET = 0.16
DAY_METER_FROM_ROW_SHARE = 0.4
DAY_GAIN_RANGE = (0.5, 2.0)


def day_exposure_gain(radiance_lin: np.ndarray) -> float:
    """Exposure x gain of a daytime camera: a deterministic function of the image."""
    img = check_radiance(radiance_lin)
    lower = img[int(img.shape[0] * DAY_METER_FROM_ROW_SHARE) :: 4, ::4]
    if lower.size == 0:
        return 1.0
    lum = float((np.minimum(lower, np.float32(1.0)).reshape(-1, 3) @ REC709_LUMINANCE).mean())
    return float(np.clip(DAY_METER_TARGET / max(lum, 1e-6), *DAY_GAIN_RANGE))


def apply_lens(radiance_lin: np.ndarray, K: np.ndarray, isp: CameraIsp) -> np.ndarray:
    """Chromatic aberration, point-spread function and vignetting: new float32 ``(H, W, 3)``."""
    img = check_radiance(radiance_lin)
    k = check_intrinsics(K)
    h, w = img.shape[:2]
    out = img.copy()
    if isp.chromatic_aberration > 0:
        # A magnification about the principal point per channel: red out, blue in.
        cx, cy = float(k[0, 2]), float(k[1, 2])
        for channel, scale in (
            (0, 1.0 + isp.chromatic_aberration),
            (2, 1.0 - isp.chromatic_aberration),
        ):
            M = np.array([[scale, 0, cx * (1 - scale)], [0, scale, cy * (1 - scale)]], np.float64)
            out[..., channel] = cv2.warpAffine(
                img[..., channel],
                M,
                (w, h),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
    if isp.psf_sigma_px > 0:
        out = cv2.GaussianBlur(out, (0, 0), isp.psf_sigma_px, borderType=cv2.BORDER_REFLECT_101)
    if isp.vignetting_exponent > 0:
        out *= vignetting(
            w,
            h,
            (float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2])),
            isp.vignetting_exponent,
        )[..., None]
    return out


@cache
def vignetting(
    width: int, height: int, pinhole: tuple[float, float, float, float], exponent: float
) -> np.ndarray:
    """float32 ``(H, W)`` ``cos(theta)^exponent`` of each pixel centre's off-axis angle;
    ``pinhole`` is ``(fx, fy, cx, cy)``. Read-only (cached per camera)."""
    fx, fy, cx, cy = pinhole
    a = (np.arange(width, dtype=np.float64) + 0.5 - cx) / fx
    b = (np.arange(height, dtype=np.float64) + 0.5 - cy) / fy
    cos2 = 1.0 / (1.0 + a[None, :] ** 2 + b[:, None] ** 2)
    out = np.power(cos2, exponent / 2.0).astype(np.float32)
    out.setflags(write=False)
    return out


def adjust_saturation(radiance_lin: np.ndarray, saturation: float) -> np.ndarray:
    """Scale each pixel's distance from its Rec. 709 luminance by ``saturation`` (linear
    light; luminance is kept). Returns new float32 ``(H, W, 3)``, clipped at 0."""
    img = check_radiance(radiance_lin)
    s = np.float32(saturation)
    M = (1 - s) * np.tile(REC709_LUMINANCE, (3, 1)) + s * np.eye(3, dtype=np.float32)
    out = cv2.transform(img, M.astype(np.float32))
    return np.maximum(out, np.float32(0.0), out=out)


def jpeg_round_trip(rgb_u8: np.ndarray, quality: int) -> np.ndarray:
    """The image as a JPEG of ``quality`` (1-100) would decode it: uint8 ``(H, W, 3)``."""
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb_u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    )
    if not ok:
        raise RuntimeError("OpenCV could not encode the image as JPEG")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def apply_isp(
    radiance_lin: np.ndarray,
    K: np.ndarray,
    isp: CameraIsp,
    rng: np.random.Generator | None,
    *,
    exposure_gain: float = 1.0,
    exposure_factor: float = 1.0,
) -> np.ndarray:
    """uint8 sRGB ``(H, W, 3)`` from the linear radiance reaching the lens.

    ``exposure_gain``: total brightening (exposure time x analogue gain, >= 1 at night);
    ``exposure_factor``: the part of it that is a longer exposure (more photo-electrons,
    less relative noise). ``rng`` ``None`` renders without sensor noise (deterministic
    preview); otherwise it is the only source of randomness.
    """
    if not (np.isfinite(exposure_gain) and exposure_gain > 0):
        raise ValueError(f"exposure_gain must be a finite number > 0, got {exposure_gain!r}")
    if not 1.0 <= exposure_factor <= max(exposure_gain, 1.0) + 1e-9:
        raise ValueError(
            f"exposure_factor must be in [1, exposure_gain={exposure_gain}], got {exposure_factor!r}"
        )
    img = apply_lens(radiance_lin, K, isp)
    gain = float(exposure_gain)
    if rng is not None:
        check_rng(rng)
        img = apply_sensor_noise(
            img,
            rng,
            exposure_gain=gain,
            read_noise_e=isp.read_noise_e,
            electrons_at_white=isp.electrons_at_white * exposure_factor,
            full_well_e=isp.full_well_e,
        )
        gain = 1.0  # multiplied in by the sensor
    if isp.saturation != 1.0:
        img = adjust_saturation(img, isp.saturation)
    rgb = linear_to_srgb_u8(img, exposure=gain, tone_map="filmic", contrast=isp.contrast)
    if isp.jpeg_quality is not None:
        rgb = jpeg_round_trip(rgb, isp.jpeg_quality)
    return rgb
