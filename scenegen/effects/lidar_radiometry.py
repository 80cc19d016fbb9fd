"""LiDAR radiometry shared by the sensor and the weather models: received power, detection,
the reported intensity and its 8-bit steps, and beam angles (see :class:`LidarRadiometry`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# One extinction model per weather, shared with the camera so one severity means the same
# weather on both sensors.

SPEED_OF_LIGHT_M_S = 299_792_458.0


@dataclass(frozen=True)
class LidarRadiometry:
    """How reflectivity, incidence and range turn into received power and intensity.

    Powers are in reflectivity per square metre (``rho * cos**k / R**2``).
    """

    detection_power: float = 0.10 / 50.0**2  # 50 % detection: 10 % target at 50 m
    detection_sharpness: float = 2.5  # slope of the detection curve in log power
    incidence_exponent: float = 0.5
    intensity_gain: float = 0.76
    intensity_gamma: float = 0.5  # compression of range-normalised power
    intensity_falloff_m: float = 28.0  # beyond this the HDL-64's gain stops compensating
    min_intensity: float = 0.005  # real returns reported as 0 still carried this much

    def received_power(
        self, reflectivity: np.ndarray, cos_incidence: np.ndarray, range_m: np.ndarray
    ) -> np.ndarray:
        """Float32 ``(N,)`` received power for surfaces of given reflectivity."""
        cos_k = np.power(np.clip(cos_incidence, 0.0, 1.0), self.incidence_exponent)
        return (reflectivity * cos_k / np.square(range_m)).astype(np.float32, copy=False)

    def _falloff(self, range_m: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.square(range_m / self.intensity_falloff_m))

    def intensity_from_power(self, power: np.ndarray, range_m: np.ndarray) -> np.ndarray:
        """Float32 ``(N,)`` reported intensity in [0, 1]."""
        apparent = np.maximum(power * np.square(range_m), 0.0)
        intensity = self.intensity_gain * np.power(apparent, self.intensity_gamma)
        return np.clip(intensity * self._falloff(range_m), 0.0, 1.0).astype(np.float32)

    def power_from_intensity(self, intensity: np.ndarray, range_m: np.ndarray) -> np.ndarray:
        """Float32 ``(N,)`` received power implied by a reported intensity (inverse model)."""
        normalised = np.maximum(intensity, self.min_intensity) / (
            self.intensity_gain * self._falloff(range_m)
        )
        apparent = np.power(normalised, 1.0 / self.intensity_gamma)
        return (apparent / np.square(range_m)).astype(np.float32)

    def detection_probability(self, power: np.ndarray) -> np.ndarray:
        """Float32 ``(N,)`` probability that a return of this power is reported."""
        ratio = self.detection_power / np.maximum(power, 1e-30)
        with np.errstate(over="ignore"):  # no echo at all: inf -> probability 0
            return (1.0 / (1.0 + np.power(ratio, self.detection_sharpness))).astype(np.float32)

    def fading(self, u: np.ndarray) -> np.ndarray:
        """Float32 ``(N,)`` power fading of returns from uniform draws ``u`` in (0, 1).

        Log-logistic with scale ``1 / detection_sharpness`` and median 1, so that
        ``power * fading(u) >= detection_power`` exactly when ``u < p(power)``: one draw
        decides both whether a return is detected and how bright it reads.
        """
        u = np.clip(u, 1e-7, 1.0 - 1e-7)
        return np.power((1.0 - u) / u, 1.0 / self.detection_sharpness).astype(np.float32)

    def survival_probability(self, power: np.ndarray, factor: np.ndarray) -> np.ndarray:
        """Float32 ``(N,)`` ``p(factor * power) / p(power)``: chance a detected return stays."""
        with np.errstate(over="ignore"):  # a vanishing factor: inf -> survival 0
            x = np.power(self.detection_power / np.maximum(power, 1e-30), self.detection_sharpness)
            x_weak = x * np.power(np.maximum(factor, 1e-30), -self.detection_sharpness)
            return ((1.0 + x) / (1.0 + x_weak)).astype(np.float32)


def lookup_uniform(x: np.ndarray, start: float, step: float, table: np.ndarray) -> np.ndarray:
    """Float32 linear interpolation of ``table`` sampled at ``start + step * i`` (clamped).

    ``np.interp`` bisects for every value; on a uniform grid the index is arithmetic.
    """
    last = len(table) - 1
    f = (np.asarray(x, np.float32) - np.float32(start)) * np.float32(1.0 / step)
    np.clip(f, 0.0, last, out=f)
    i = f.astype(np.int32)
    np.minimum(i, last - 1, out=i)
    f -= i.astype(np.float32)  # the weight; exact in float32
    t = table.astype(np.float32, copy=False)
    out = t.take(i)
    out += f * np.diff(t).take(i)
    return out


def check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0 (inf for none), got {value!r}")


def check_rate(name: str, value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite rate > 0 mm/h, got {value!r}")


def quantize_intensity(intensity: np.ndarray, levels: int) -> np.ndarray:
    """Float32 intensity in [0, 1] rounded to ``levels`` steps, as the sensor reports it."""
    steps = np.clip(intensity, 0.0, 1.0).astype(np.float32) * np.float32(levels)
    np.rint(steps, out=steps)
    steps *= np.float32(1.0 / levels)
    return steps


def elevation_deg(points_lidar: np.ndarray) -> np.ndarray:
    """Float32 ``(N,)`` elevation of each point above the sensor's horizontal plane, degrees."""
    xyz = np.asarray(points_lidar, np.float32)[:, :3]
    horizontal = np.hypot(xyz[:, 0], xyz[:, 1])
    return np.degrees(np.arctan2(xyz[:, 2], horizontal)).astype(np.float32)


def ring_from_elevation(points_lidar: np.ndarray, vertical_angles_deg: np.ndarray) -> np.ndarray:
    """Int32 ``(N,)`` index of the beam whose angle is nearest each point's elevation.

    For real scans that come without ring numbers (KITTI ``.bin``).
    """
    angles = np.asarray(vertical_angles_deg, np.float64)
    order = np.argsort(angles)
    sorted_angles = angles[order]
    el = elevation_deg(points_lidar)
    pos = np.clip(np.searchsorted(sorted_angles, el), 1, len(angles) - 1)
    left, right = sorted_angles[pos - 1], sorted_angles[pos]
    nearest = np.where(el - left < right - el, pos - 1, pos)
    return order[nearest].astype(np.int32)
