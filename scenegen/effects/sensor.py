"""Camera sensor and lens: photon shot noise, read noise, gain, and bloom.

* Noise (the Poisson-Gaussian model of raw sensor data, Foi et al., "Practical
  Poissonian-Gaussian noise modeling and fitting for single-image raw-data", IEEE TIP
  17(10), 2008; EMVA 1288 standard): a pixel collects ``e = radiance x
  electrons_at_white`` photo-electrons on average, Poisson distributed and clipped at
  the full-well capacity, plus Gaussian read noise of ``read_noise_e`` electrons; the
  camera then multiplies by ``exposure_gain``. Dark scenes brightened by a high gain
  therefore show noise of relative size ``sqrt(e + read^2) / e``: the night look.
  Sampling: with at least ``LATTICE_SMOOTHING_READ_E`` electrons of read noise, the sum
  ``Poisson(e) + N(0, read^2)`` has no visible one-electron lattice (the read noise's
  characteristic function at the lattice frequency is ``exp(-2 pi^2 read^2)`` < 3e-9), so
  one normal draw ``z`` per value is turned into a sample with that sum's exact mean and
  variance and its third cumulant ``e`` (the Cornish-Fisher skew term
  ``c (z^2 - 1)``, ``c = e / (6 var)``); the next terms move a quantile by under 0.2
  electron at 3 sigma for 4 e of read noise (tests/test_effects_light.py compares the
  8-bit output with exact Poisson draws). Without read noise, counts below
  ``_POISSON_NORMAL_SWITCH_E`` take the exact Poisson draw.
* Bloom: a real lens spreads a few percent of every point's light into wide wings (glare
  spread function; Talvala et al., "Veiling glare in high dynamic range imaging", ACM
  TOG 26(3), 2007). Spreading only the part above a threshold keeps ordinary pixels
  exact and gives lamps and the sun their glow; it conserves energy.
"""

from __future__ import annotations

import numpy as np

from scenegen.effects.common import add_gaussian_blur, check_radiance, check_rng

# Read noise (electrons std) from which shot + read noise is drawn as a skew-corrected
# normal at every count; below it, counts under _POISSON_NORMAL_SWITCH_E draw exact Poisson.
LATTICE_SMOOTHING_READ_E = 1.0
_POISSON_NORMAL_SWITCH_E = 10.0
# Bloom wings: Gaussian widths (pixels) and shares of the spread light.
BLOOM_SIGMAS_PX = (2.0, 8.0, 32.0)
BLOOM_SHARES = (0.5, 0.3, 0.2)


def apply_sensor_noise(
    radiance_lin: np.ndarray,
    rng: np.random.Generator,
    exposure_gain: float = 1.0,
    read_noise_e: float = 3.0,
    electrons_at_white: float = 4000.0,
    full_well_e: float = 10000.0,
) -> np.ndarray:
    """Photon shot noise, read noise and gain of a CMOS sensor.

    ``radiance_lin``: float32 ``(H, W, 3)`` scene radiance reaching the sensor;
    ``exposure_gain``: amplification the camera applies (>= 1 when it brightens a dark
    scene; multiply-in here, so tone-map the result with ``exposure=1``);
    ``read_noise_e``: read noise std (electrons); ``electrons_at_white``: mean
    photo-electrons for radiance 1.0; ``full_well_e``: saturation (electrons).
    Returns new float32 ``(H, W, 3)``: ``gain x (electrons / electrons_at_white)``, whose
    mean equals ``gain x radiance`` below saturation.
    """
    img = check_radiance(radiance_lin)
    check_rng(rng)
    for name, value in (
        ("exposure_gain", exposure_gain),
        ("electrons_at_white", electrons_at_white),
        ("full_well_e", full_well_e),
    ):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if not np.isfinite(read_noise_e) or read_noise_e < 0:
        raise ValueError(
            f"read_noise_e must be a finite number >= 0 electrons, got {read_noise_e!r}"
        )
    mean_e = np.maximum(img, np.float32(0.0))
    mean_e *= np.float32(electrons_at_white)
    np.minimum(mean_e, np.float32(full_well_e), out=mean_e)
    normal = np.empty_like(mean_e)
    rng.standard_normal(dtype=np.float32, out=normal)
    if read_noise_e >= LATTICE_SMOOTHING_READ_E:
        electrons = _shot_and_read_from_normal(mean_e, normal, read_noise_e)
    else:
        # Shot and read noise in one normal draw: their variances add.
        electrons = mean_e + np.sqrt(mean_e + np.float32(read_noise_e**2)) * normal
        low = mean_e < _POISSON_NORMAL_SWITCH_E
        if np.any(low):
            # Exact Poisson where counts are small, plus the read noise, reusing the normals.
            electrons[low] = (
                rng.poisson(mean_e[low]).astype(np.float32) + np.float32(read_noise_e) * normal[low]
            )
    np.clip(electrons, 0.0, np.float32(full_well_e), out=electrons)
    electrons *= np.float32(exposure_gain / electrons_at_white)
    return electrons


def _shot_and_read_from_normal(
    mean_e: np.ndarray, normal: np.ndarray, read_noise_e: float
) -> np.ndarray:
    """``Poisson(mean_e) + N(0, read^2)`` from standard normals (consumed in place).

    ``x = mean + s z + c (z^2 - 1)`` with ``c = mean / (6 var)`` (the Cornish-Fisher skew
    term: third cumulant ``6 s^2 c = mean``, Poisson's) and ``s^2 = var - 2 c^2``, so the
    mean and the variance ``var = mean + read^2`` are exact.
    """
    var = mean_e + np.float32(read_noise_e**2)
    c = np.divide(mean_e, var)
    c *= np.float32(1.0 / 6.0)
    skew = np.square(normal)
    skew -= np.float32(1.0)
    skew *= c
    np.square(c, out=c)
    c *= np.float32(2.0)
    var -= c
    np.sqrt(var, out=var)
    normal *= var
    normal += skew
    normal += mean_e
    return normal


def bloom(
    radiance_lin: np.ndarray,
    threshold: float = 1.0,
    strength: float = 0.05,
) -> np.ndarray:
    """Spread ``strength`` of the light above ``threshold`` into wide lens wings.

    ``radiance_lin``: float32 ``(H, W, 3)``; ``threshold``: radiance above which light
    blooms (1.0 = diffuse white); ``strength`` in [0, 1]: share of that excess moved into
    the wings (``BLOOM_SIGMAS_PX`` / ``BLOOM_SHARES``). Energy is conserved (up to what
    leaves the frame); an image with nothing above the threshold is returned unchanged.
    Returns new float32 ``(H, W, 3)``.
    """
    img = check_radiance(radiance_lin)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength!r}")
    moved = np.maximum(img - np.float32(threshold), 0.0)
    if strength == 0 or not np.any(moved):
        return img.copy()
    moved *= np.float32(strength)
    out = img - moved
    for sigma, share in zip(BLOOM_SIGMAS_PX, BLOOM_SHARES, strict=True):
        add_gaussian_blur(out, moved, share, sigma)  # only around the bright pixels
    return out
