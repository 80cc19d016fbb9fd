"""sRGB <-> linear radiance, exposure and tone mapping.

Every camera effect works on linear radiance (float32, 1.0 = a white Lambertian surface
in daylight) because light adds linearly there: fog mixes radiances, not sRGB codes.

The sRGB curves are those of IEC 61966-2-1:1999:
decode ``c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4``,
encode ``l <= 0.0031308 ? 12.92 l : 1.055 l ** (1 / 2.4) - 0.055``.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import numpy as np

from scenegen.effects.common import check_radiance

# Linear values below the knee are kept as they are by the filmic curve, so a daylight
# frame passes through it unchanged except in its highlights.
FILMIC_KNEE = 0.8

# Resolution of the encoding table: linear [0, 1] is quantised to 16 bits before the
# table look-up. The worst case is one code off the exact curve, right at a rounding
# boundary; every decoded u8 value maps back to itself exactly (tested).
_ENCODE_LEVELS = 65536


def _srgb_decode(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb_encode(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(np.asarray(lin, dtype=np.float64), 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1.0 / 2.4) - 0.055)


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


# Tables are constants (read-only), computed once at import.
SRGB_U8_TO_LINEAR: np.ndarray = _read_only(_srgb_decode(np.arange(256) / 255.0).astype(np.float32))
_LINEAR_U16_TO_SRGB_U8: np.ndarray = _read_only(
    np.rint(_srgb_encode(np.arange(_ENCODE_LEVELS) / (_ENCODE_LEVELS - 1)) * 255.0).astype(np.uint8)
)


@cache
def _encode_table(contrast: float) -> np.ndarray:
    """Linear u16 -> sRGB u8 with an S-shaped contrast curve on the encoded value.

    ``y' = (1 - c) y + c (3 y^2 - 2 y^3)`` (smoothstep): mid-tones steepen by ``1 + c / 2``,
    black and white stay put, the curve stays monotonic for ``c`` in [0, 1].
    """
    y = _srgb_encode(np.arange(_ENCODE_LEVELS) / (_ENCODE_LEVELS - 1))
    y = (1.0 - contrast) * y + contrast * (3.0 * y * y - 2.0 * y * y * y)
    return _read_only(np.rint(y * 255.0).astype(np.uint8))


def srgb_to_linear(rgb_u8: np.ndarray) -> np.ndarray:
    """Decode 8-bit sRGB to linear radiance.

    ``rgb_u8``: uint8 array of any shape (usually ``(H, W, 3)``).
    Returns float32 of the same shape, in [0, 1] (1.0 = code 255 = diffuse white).
    """
    a = np.asarray(rgb_u8)
    if a.dtype != np.uint8:
        raise TypeError(f"rgb_u8 must have dtype uint8, got {a.dtype}")
    return SRGB_U8_TO_LINEAR[a]


def filmic_tone_map(radiance_lin: np.ndarray) -> np.ndarray:
    """Compress highlights into [0, 1) while leaving values below ``FILMIC_KNEE`` unchanged.

    Above the knee ``k`` the curve is ``k + (1 - k) (1 - exp(-(x - k) / (1 - k)))``: it
    joins the identity with the same slope and approaches 1 asymptotically, so lamps at
    night (radiance >> 1) roll off to white instead of clipping flat. Applied per channel,
    which desaturates very bright lights towards white as film does.
    Returns float32 of the input's shape.
    """
    x = np.asarray(radiance_lin, dtype=np.float32)
    k = np.float32(FILMIC_KNEE)
    span = np.float32(1.0 - FILMIC_KNEE)
    # The shoulder is <= x above the knee and == k at or below it, so the curve is
    # min(x, shoulder(max(x, k))): one pass each, no select.
    shoulder = np.maximum(x, k)
    shoulder -= k
    shoulder /= -span
    np.exp(shoulder, out=shoulder)
    np.subtract(np.float32(1.0), shoulder, out=shoulder)
    shoulder *= span
    shoulder += k
    return np.minimum(x, shoulder, out=shoulder)


def linear_to_srgb_u8(
    radiance_lin: np.ndarray,
    exposure: float = 1.0,
    tone_map: Literal["clip", "filmic"] = "clip",
    contrast: float = 0.0,
) -> np.ndarray:
    """Encode linear radiance to 8-bit sRGB.

    ``radiance_lin``: float ``(H, W, 3)`` linear radiance (or any shape with float dtype).
    ``exposure``: multiplies the radiance first (a camera's gain x exposure time).
    ``tone_map``: ``"clip"`` clips at 1.0; ``"filmic"`` rolls highlights off smoothly
    (see :func:`filmic_tone_map`), for night scenes with lamps.
    ``contrast`` in [0, 1]: an S-curve on the encoded value (a camera's tone curve; 0 is
    plain sRGB, see :func:`_encode_table`).
    Returns uint8 of the input's shape. Uses a 16-bit table: at most one code from the
    exact curve, exact for every value produced by :func:`srgb_to_linear`.
    """
    x = np.asarray(radiance_lin)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"radiance_lin must be a float array, got dtype {x.dtype}")
    if x.ndim == 3:
        check_radiance(x)
    if not np.isfinite(exposure) or exposure <= 0:
        raise ValueError(f"exposure must be a finite number > 0, got {exposure!r}")
    if tone_map not in ("clip", "filmic"):
        raise ValueError(f"tone_map must be 'clip' or 'filmic', got {tone_map!r}")
    if not 0.0 <= contrast <= 1.0:
        raise ValueError(f"contrast must be in [0, 1], got {contrast!r}")
    scaled = (
        x.astype(np.float32) * np.float32(exposure) if exposure != 1.0 else x.astype(np.float32)
    )
    if tone_map == "filmic":
        scaled = filmic_tone_map(scaled)
    # NaN would index garbage; treat it as black (fmax ignores NaN), +inf as white.
    np.fmax(scaled, np.float32(0.0), out=scaled)
    np.minimum(scaled, np.float32(1.0), out=scaled)
    scaled *= np.float32(_ENCODE_LEVELS - 1)
    scaled += np.float32(0.5)
    table = _LINEAR_U16_TO_SRGB_U8 if contrast == 0.0 else _encode_table(float(contrast))
    return np.take(table, scaled.astype(np.uint16))
