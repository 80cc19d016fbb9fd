"""LiDAR fog after Hahner et al. (ICCV 2021) and their public code (MartinHahner/LiDAR_fog_sim):
the soft-target echo of the fog volume, its peak range and strength per beam.

Follows the reference (compared number for number in tests/test_lidar_fog_reference.py);
``FogOptics.drop_undetectable`` is an addition beyond it, off by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# One extinction model per weather, shared with the camera so one severity means the same
# weather on both sensors.
from scenegen.effects.fog import fog_extinction_per_m
from scenegen.effects.lidar_radiometry import SPEED_OF_LIGHT_M_S, check_positive


def fog_backscatter_per_m_sr(visibility_m: float) -> float:
    """Fog backscatter ``beta`` (1/(m sr)) = 0.046 / MOR (Rasshofer et al. 2011)."""
    check_positive("visibility_m", visibility_m)
    return 0.0 if np.isinf(visibility_m) else float(0.046 / visibility_m)


@dataclass(frozen=True)
class FogOptics:
    """Sensor constants of the fog soft-target model, defaults as in Hahner et al.'s code.

    ``overlap_start_m`` / ``overlap_full_m``: where the receiver's field of view starts to meet
    the transmitted beam and covers it fully (linear in between; the reference's ``r_1``,
    ``r_2``). ``target_reflectivity``: the hard-target reflectivity the reference assumes for
    every point (``beta_0 = target_reflectivity / pi``) to turn a point's intensity into the
    sensor's power constant. ``intensity_levels``: intensities are reported in that many steps
    (the reference rounds the attenuated 0..255 intensity). ``drop_undetectable``: beyond the
    reference (off by default): also drop hard returns that fog's extinction pushes below the
    detection threshold (conditional survival of :class:`LidarRadiometry`); the reference
    keeps every point.
    """

    pulse_half_power_s: float = 20e-9  # tau_H
    overlap_start_m: float = 0.9
    overlap_full_m: float = 1.0
    target_reflectivity: float = 1e-6
    intensity_levels: int = 255
    drop_undetectable: bool = False
    grid_step_m: float = 0.1
    grid_max_m: float = 16.0  # the waveform only falls beyond its peak (< 8 m)
    time_samples: int = 400

    def __post_init__(self) -> None:
        if not 0 <= self.overlap_start_m < self.overlap_full_m:
            raise ValueError(
                "FogOptics needs 0 <= overlap_start_m < overlap_full_m, got "
                f"{self.overlap_start_m} and {self.overlap_full_m}"
            )
        for name in ("pulse_half_power_s", "target_reflectivity", "grid_step_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"FogOptics.{name} must be > 0, got {getattr(self, name)!r}")
        if self.intensity_levels < 1 or self.time_samples < 2:
            raise ValueError(
                "FogOptics needs intensity_levels >= 1 and time_samples >= 2, got "
                f"{self.intensity_levels} and {self.time_samples}"
            )
        if not self.grid_max_m > 10 * self.grid_step_m:
            raise ValueError(
                f"FogOptics.grid_max_m must exceed 10 grid steps, got {self.grid_max_m!r}"
            )


@dataclass(frozen=True)
class FogResponse:
    """Strongest fog echo in front of a hard target at ``hard_range_m[i]`` (a uniform grid).

    ``echo_ratio_per_m2[i]``: fog echo over a hard return's clear power, per square metre of
    hard-target range: a point of intensity ``I`` at ``R0`` has a fog echo of intensity
    ``I * R0**2 * echo_ratio_per_m2(R0)`` (0 where no reportable echo exists).
    ``echo_range_m[i]``: the range the echo is reported at.
    """

    hard_range_m: np.ndarray
    echo_ratio_per_m2: np.ndarray
    echo_range_m: np.ndarray


def fog_response(
    visibility_m: float, optics: FogOptics | None = None, *, min_range_m: float = 0.0
) -> FogResponse:
    """Fog echo of Hahner et al. (ICCV 2021), Eq. (13), as their public code computes it.

    Follows MartinHahner/LiDAR_fog_sim (``theory.py``, ``generate_integral_lookup_table.py``):
    the waveform at reception range ``R`` is ``int_0^{2 tau_H} sin^2(pi t / (2 tau_H))
    exp(-2 alpha R') xi(R') / R'^2 dt`` with ``R' = R - c t / 2``; in front of a hard target at
    ``R0`` the echo is the waveform's peak over ``R <= R0``, reported ``c tau_H / 2`` nearer
    (so a hard target reads at its true range) and scaled by ``beta / beta_0``.
    One addition: only the part of the waveform the sensor reports (``>= min_range_m``) can
    hold the echo; with ``min_range_m`` below the peak (about 1.6 m) this is the reference.
    """
    optics = optics or FogOptics()
    alpha = fog_extinction_per_m(visibility_m)
    ratio_scale = fog_backscatter_per_m_sr(visibility_m) * np.pi / optics.target_reflectivity
    tau = optics.pulse_half_power_s
    shift_m = SPEED_OF_LIGHT_M_S * tau / 2.0
    r = np.arange(0.0, optics.grid_max_m, optics.grid_step_m)
    t = np.linspace(0.0, 2.0 * tau, optics.time_samples)
    scatterer = r[:, None] - SPEED_OF_LIGHT_M_S * t[None, :] / 2.0
    overlap = np.clip(
        (scatterer - optics.overlap_start_m) / (optics.overlap_full_m - optics.overlap_start_m),
        0.0,
        1.0,
    )
    near = np.maximum(scatterer, optics.overlap_start_m)  # overlap is 0 there anyway
    integrand = np.sin(np.pi * t / (2.0 * tau)) ** 2 * np.exp(-2.0 * alpha * near) * overlap
    waveform = np.trapezoid(integrand / near**2, t, axis=1)
    waveform[r - shift_m < min_range_m] = 0.0  # nearer than the sensor reports
    # Peak over R <= R0: a running maximum, and where it was reached.
    peak = np.maximum.accumulate(waveform)
    at = np.maximum.accumulate(np.where(waveform >= peak, np.arange(len(r)), 0))
    return FogResponse(
        hard_range_m=r.astype(np.float32),
        echo_ratio_per_m2=(peak * ratio_scale).astype(np.float32),
        echo_range_m=np.maximum(r[at] - shift_m, 0.0).astype(np.float32),
    )


@lru_cache(maxsize=16)
def shared_fog_response(
    visibility_m: float, optics: FogOptics | None, min_range_m: float
) -> FogResponse:
    """:func:`fog_response`, computed once per visibility (read-only arrays)."""
    response = fog_response(visibility_m, optics, min_range_m=min_range_m)
    for table in vars(response).values():
        table.setflags(write=False)
    return response


def fog_soft_target(
    range_m: np.ndarray,
    clear_intensity: np.ndarray,
    hard_intensity: np.ndarray,
    response: FogResponse,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per hard return: fog echo wins (bool), its intensity in [0, 1] and range (m), ``(N,)``.

    Hahner et al.'s rule: the fog echo ``I R0^2 ratio(R0)`` (``I`` the clear intensity,
    clipped to full scale) replaces the return when it exceeds the attenuated, reported
    intensity ``hard_intensity``. A return of intensity 0 implies no emitted power in this
    calibration, so it never turns into fog and is kept.
    """
    ratio, echo_range = _fog_tables_at(range_m, response)
    fog_intensity = np.minimum(clear_intensity * np.square(range_m) * ratio, np.float32(1.0))
    return fog_intensity > hard_intensity, fog_intensity, echo_range


def _fog_tables_at(range_m: np.ndarray, response: FogResponse) -> tuple[np.ndarray, np.ndarray]:
    """Echo ratio (1/m^2) and echo range (m) in front of hard targets at ``range_m``.

    The nearest grid range, as the reference looks up its table (keys rounded to 0.1 m).
    """
    grid = response.hard_range_m
    f = np.asarray(range_m, np.float32) * np.float32(1.0 / float(grid[1] - grid[0]))
    np.clip(f, 0.0, len(grid) - 1, out=f)
    i = np.rint(f, out=f).astype(np.int32)
    return response.echo_ratio_per_m2.take(i), response.echo_range_m.take(i)


def missed_beam_fog(
    limit_m: np.ndarray,
    clear_intensity: np.ndarray,
    power: np.ndarray,
    range_m: np.ndarray,
    response: FogResponse,
    optics: FogOptics,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fog echo on beams without a clear-air return: has echo, intensity, range (m), power.

    The reference calibrates each fog echo by its own return (``I R0^2``); a beam without one
    takes the scan's median of ``I R^2`` (and of ``P R^2`` for the power). The echo is there
    when its intensity reaches one reported step; whether it is detected is decided by power.
    """
    calibrated = clear_intensity > 0
    if not calibrated.any():
        zero = np.zeros(len(limit_m), np.float32)
        return np.zeros(len(limit_m), bool), zero, zero, zero
    r2 = np.square(range_m[calibrated])
    scale_intensity = float(np.median(clear_intensity[calibrated] * r2))
    scale_power = float(np.median(power[calibrated] * r2))
    ratio, echo_range = _fog_tables_at(limit_m, response)
    intensity = np.minimum(np.float32(scale_intensity) * ratio, np.float32(1.0))
    has = intensity >= np.float32(0.5 / optics.intensity_levels)
    return has, intensity, echo_range, (np.float32(scale_power) * ratio).astype(np.float32)
