"""Weather on LiDAR point clouds: fog, rain, snow, wet roads and spray.

Every model is a pure function of point arrays, physical parameters and an explicit
``rng``; it works on synthetic scans and on real ones (KITTI ``.bin``: x, y, z,
reflectance) alike.

Radiometry (shared with :mod:`scenegen.sensors.lidar`, see :class:`LidarRadiometry`):
the received power of a return is expressed in *reflectivity per square metre*,
``P = rho * cos(theta)**k / R**2`` (``k = 0.5``: rough road surfaces scatter back more at
grazing incidence than a Lambertian one). A return is detected with probability
``p(P) = 1 / (1 + (P_det / P)**s)``; ``P_det`` puts the 50 % point of a 10 % target at
50 m (HDL-64E datasheet). The reported intensity compresses range-normalised power the
way the HDL-64's reflectance does. Weather multiplies a return's power by a factor
``F <= 1``; since the return was detected in clear air, it survives with the conditional
probability ``p(F P) / p(P)`` (exact for a per-return fading that is the same with and
without weather), so a factor of one keeps everything.

Order of application in :func:`apply_lidar_weather` (each step sees the previous one):

1. wet road: specular loss on ground returns (surface property),
2. spray: clutter points behind vehicles on a wet road,
3. extinction: one ``exp(-2 alpha R)`` with ``alpha = alpha_fog + alpha_rain + alpha_snow``;
   the reported intensity of a hard return falls by that factor and is rounded to the
   sensor's 8-bit steps, as in Hahner et al.'s and LISA's code. Wet road, rain and snow may
   lose a return (conditional survival above); fog never does (Hahner et al.) unless
   ``FogOptics.drop_undetectable`` asks for it,
4. strongest-return competition per beam: the fog's soft-target echo follows Hahner et al.
   (ICCV 2021) and their public code (MartinHahner/LiDAR_fog_sim): it replaces a hard return
   when ``I R0^2 beta/beta_0 * peak integral`` exceeds the attenuated intensity, at the
   waveform's peak (about 1.6 m, or the sensor's minimum range if that is farther); then a
   rain drop / snow flake return (Marshall-Palmer / Gunn-Marshall size distributions in
   LISA's beam cone beyond the minimum range, cf. Kilic et al. 2021 and Hahner et al., CVPR
   2022) wins where it is stronger,
5. rain range noise on hard returns (grows with rate and range, Goodin et al. 2019).

Weather returns get class id 0 and instance id 0 and are told apart by ``clutter_kind``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

# One extinction model per weather, shared with the camera so one severity means the same
# weather on both sensors.
from scenegen.effects.fog import fog_extinction_per_m
from scenegen.effects.rain import (
    MARSHALL_PALMER_N0_PER_M3_MM,
    MARSHALL_PALMER_SLOPE,
    MARSHALL_PALMER_SLOPE_EXPONENT,
    rain_extinction_per_m,
)
from scenegen.effects.snow import FLAKE_TO_MELTED_DIAMETER, gunn_marshall, snow_extinction_per_m

# What produced each output point (``WeatheredPoints.clutter_kind``).
HARD_RETURN = 0
FOG_RETURN = 1
RAIN_RETURN = 2
SNOW_RETURN = 3
SPRAY_RETURN = 4

_SPEED_OF_LIGHT_M_S = 299_792_458.0


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


def _lookup_uniform(x: np.ndarray, start: float, step: float, table: np.ndarray) -> np.ndarray:
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


# --------------------------------------------------------------------------- coefficients


def fog_backscatter_per_m_sr(visibility_m: float) -> float:
    """Fog backscatter ``beta`` (1/(m sr)) = 0.046 / MOR (Rasshofer et al. 2011)."""
    _check_positive("visibility_m", visibility_m)
    return 0.0 if np.isinf(visibility_m) else float(0.046 / visibility_m)


@dataclass(frozen=True)
class ParticleSizes:
    """Exponential size distribution ``N(D) = n0 exp(-slope D)`` (m^-3 mm^-1, D in mm).

    ``diameter_scale`` turns the distribution's diameter (melted diameter for snow) into
    the geometric diameter the beam sees; ``backscatter`` is the share of intercepted
    power a particle sends back (relative to a white Lambertian target).
    """

    n0_per_m3_mm: float
    slope_per_mm: float
    diameter_scale: float
    backscatter: float


def rain_sizes(rate_mm_h: float) -> ParticleSizes:
    """Marshall-Palmer drops: n0 = 8000, slope = 4.1 R^-0.21."""
    _check_rate("rain rate_mm_h", rate_mm_h)
    slope = MARSHALL_PALMER_SLOPE * rate_mm_h**MARSHALL_PALMER_SLOPE_EXPONENT
    return ParticleSizes(MARSHALL_PALMER_N0_PER_M3_MM, slope, 1.0, 0.02)


def snow_sizes(rate_mm_h: float) -> ParticleSizes:
    """Gunn-Marshall flakes (melted diameter): n0 = 3800 S^-0.87, slope = 2.55 S^-0.48."""
    _check_rate("snow rate_mm_h", rate_mm_h)
    _check_snow_rate("snow rate_mm_h", rate_mm_h)
    n0, slope = gunn_marshall(rate_mm_h)
    return ParticleSizes(n0, slope, FLAKE_TO_MELTED_DIAMETER, 0.5)


# Gunn and Marshall (1958) fitted snowfall of 0.2-2.5 mm/h of water; the heaviest snowfalls
# on record reach about 10 mm/h (a metre of snow a day). Beyond that the flake model is
# extrapolated into weather that does not occur, so it is refused rather than guessed.
MAX_SNOW_RATE_MM_H = 10.0


def _check_snow_rate(name: str, value: float) -> None:
    if value > MAX_SNOW_RATE_MM_H:
        raise ValueError(
            f"{name} must be <= {MAX_SNOW_RATE_MM_H:g} mm/h of liquid water (the heaviest "
            f"snowfall observed; 1-3 mm/h is heavy snow), got {value!r}"
        )


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0 (inf for none), got {value!r}")


def _check_rate(name: str, value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite rate > 0 mm/h, got {value!r}")


# ----------------------------------------------------------------------------- fog (soft)


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
    shift_m = _SPEED_OF_LIGHT_M_S * tau / 2.0
    r = np.arange(0.0, optics.grid_max_m, optics.grid_step_m)
    t = np.linspace(0.0, 2.0 * tau, optics.time_samples)
    scatterer = r[:, None] - _SPEED_OF_LIGHT_M_S * t[None, :] / 2.0
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
def _shared_fog_response(
    visibility_m: float, optics: FogOptics | None, min_range_m: float
) -> FogResponse:
    """:func:`fog_response`, computed once per visibility (read-only arrays)."""
    response = fog_response(visibility_m, optics, min_range_m=min_range_m)
    for table in vars(response).values():
        table.setflags(write=False)
    return response


def quantize_intensity(intensity: np.ndarray, levels: int) -> np.ndarray:
    """Float32 intensity in [0, 1] rounded to ``levels`` steps, as the sensor reports it."""
    steps = np.clip(intensity, 0.0, 1.0).astype(np.float32) * np.float32(levels)
    np.rint(steps, out=steps)
    steps *= np.float32(1.0 / levels)
    return steps


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


# ------------------------------------------------------------------- particles (rain/snow)


@dataclass(frozen=True)
class BeamGeometry:
    """Beam footprint for particle returns: radius ``exit_radius_m + R * divergence / 2``.

    The defaults are LISA's cone (Kilic et al. 2021, ``pylisa/lisa.py``: beam diameter
    ``tan(3 mrad) R`` from the sensor, no exit aperture), which keeps drops of a few
    millimetres detectable out to 4-6 m instead of only inside the sensor's minimum range.
    """

    exit_radius_m: float = 0.0
    divergence_rad: float = 3e-3
    max_clutter_range_m: float = 30.0
    grid_step_m: float = 0.05


@dataclass(frozen=True)
class ParticleClutter:
    """Cumulative expected number of detectable particles along one beam.

    ``expected[i]`` counts particles between the sensor and ``range_m[i]`` whose echo alone
    exceeds the detection power; ``min_diameter_mm[i]`` is the smallest such particle there.
    """

    range_m: np.ndarray
    expected: np.ndarray
    min_diameter_mm: np.ndarray
    slope_per_mm: float
    backscatter: float


def particle_clutter(
    sizes: ParticleSizes, radiometry: LidarRadiometry, beam: BeamGeometry | None = None
) -> ParticleClutter:
    """Expected detectable particles per beam for an exponential size distribution.

    A particle of geometric diameter ``D`` at range ``r`` intercepts ``(D/2)^2 / w(r)^2`` of a
    beam of radius ``w(r)`` and returns ``backscatter * that / r^2``; it is detected above
    ``D_min(r) = 2 w(r) r sqrt(P_det / backscatter)``. Particles at least that large number
    ``n0 / slope * exp(-slope D_min)`` per m^3; the beam sweeps ``pi w(r)^2`` m^3 per metre.
    """
    beam = beam or BeamGeometry()
    r = np.arange(beam.grid_step_m, beam.max_clutter_range_m, beam.grid_step_m)
    w = beam.exit_radius_m + r * beam.divergence_rad / 2.0
    d_min_geometric_mm = 2.0 * w * r * np.sqrt(radiometry.detection_power / sizes.backscatter) * 1e3
    d_min_mm = d_min_geometric_mm / sizes.diameter_scale
    density = sizes.n0_per_m3_mm / sizes.slope_per_mm * np.exp(-sizes.slope_per_mm * d_min_mm)
    expected = np.cumsum(density * np.pi * w**2 * beam.grid_step_m)
    return ParticleClutter(
        range_m=r.astype(np.float32),
        expected=expected.astype(np.float32),
        min_diameter_mm=d_min_mm.astype(np.float32),
        slope_per_mm=sizes.slope_per_mm,
        backscatter=sizes.backscatter,
    )


def _sample_particle_returns(
    clutter: ParticleClutter,
    radiometry: LidarRadiometry,
    limit_range_m: np.ndarray,
    rng: np.random.Generator,
    min_range_m: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per beam: has a particle echo (bool), its range (m) and power, float32 ``(N,)``.

    Only particles between ``min_range_m`` and the hard target (``limit_range_m``, inf for
    none) count: like LISA, drops nearer than the sensor's minimum range are left out before
    the strongest return is chosen. The particle's excess size over ``D_min`` is exponential
    (memoryless distribution), so its power is ``P_det * (D / D_min)^2``, at most what the
    whole beam would return (``backscatter / r^2``, LISA's ``min((D / D_beam)^2, 1)``).
    """
    n = len(limit_range_m)
    start, step = float(clutter.range_m[0]), float(clutter.range_m[1] - clutter.range_m[0])
    expected_to_limit = _lookup_uniform(limit_range_m, start, step, clutter.expected)
    expected_to_min = float(np.interp(min_range_m, clutter.range_m, clutter.expected, left=0.0))
    expected = np.maximum(expected_to_limit - np.float32(expected_to_min), np.float32(0.0))
    u = rng.random((3, n), dtype=np.float32)
    has = u[0] < -np.expm1(-expected)
    idx = np.flatnonzero(has)
    target = expected_to_min + u[1, idx] * expected[idx]
    range_m = np.interp(target, clutter.expected, clutter.range_m).astype(np.float32)
    d_min = np.interp(range_m, clutter.range_m, clutter.min_diameter_mm)
    diameter = d_min - np.log1p(-u[2, idx]) / clutter.slope_per_mm
    power = np.minimum(
        radiometry.detection_power * (diameter / d_min) ** 2,
        clutter.backscatter / np.square(range_m),
    ).astype(np.float32)
    full_range = np.zeros(n, np.float32)
    full_power = np.zeros(n, np.float32)
    full_range[idx] = range_m
    full_power[idx] = power
    return has, full_range, full_power


# ------------------------------------------------------------------------------ the API


@dataclass
class WeatheredPoints:
    """Points after weather.

    * ``points_lidar``: float32 ``(N, 4)`` x, y, z (m, lidar frame), intensity [0, 1].
    * ``ring``: int32 ``(N,)``, -1 where unknown.
    * ``class_ids`` / ``instance_ids``: int32 ``(N,)``; 0 for weather returns.
    * ``source_index``: int64 ``(N,)`` index of the input point a hard return comes from,
      -1 for weather returns (use it to carry any other per-point array).
    * ``clutter_kind``: uint8 ``(N,)`` one of HARD_RETURN, FOG_RETURN, RAIN_RETURN,
      SNOW_RETURN, SPRAY_RETURN.
    * ``range_m``: float32 ``(N,)`` distance of each point from the sensor origin, m.
    """

    points_lidar: np.ndarray
    ring: np.ndarray
    class_ids: np.ndarray
    instance_ids: np.ndarray
    source_index: np.ndarray
    clutter_kind: np.ndarray
    range_m: np.ndarray


class WeatherLike(Protocol):
    """What the LiDAR weather needs of a weather (``scenario.spec.WeatherSpec`` fits)."""

    @property
    def fog_visibility_m(self) -> float: ...
    @property
    def rain_rate_mm_h(self) -> float: ...
    @property
    def snow_rate_mm_h(self) -> float: ...
    @property
    def road_wetness(self) -> float: ...


def check_weather(weather: WeatherLike) -> None:
    """Raise ``ValueError`` naming the field when a weather value is out of range."""
    _check_positive("fog_visibility_m", weather.fog_visibility_m)
    for name in ("rain_rate_mm_h", "snow_rate_mm_h"):
        value = getattr(weather, name)
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite rate >= 0 mm/h, got {value!r}")
    _check_snow_rate("snow_rate_mm_h", weather.snow_rate_mm_h)
    if not 0.0 <= weather.road_wetness <= 1.0:
        raise ValueError(f"road_wetness must be in [0, 1], got {weather.road_wetness!r}")


def is_clear(weather: WeatherLike) -> bool:
    """No fog, rain, snow or wet road."""
    return (
        np.isinf(weather.fog_visibility_m)
        and weather.rain_rate_mm_h == 0
        and weather.snow_rate_mm_h == 0
        and weather.road_wetness == 0
    )


def wet_road_factor(road_wetness: float) -> float:
    """Share of a dry road's LiDAR echo left on a wet one (water film reflects specularly).

    1 when dry, 0.15 with standing water (wetness 1).
    """
    if not 0.0 <= road_wetness <= 1.0:
        raise ValueError(f"road_wetness must be in [0, 1], got {road_wetness!r}")
    return 1.0 - 0.85 * road_wetness


def spray_points(
    vehicle_boxes_lidar: np.ndarray,
    road_wetness: float,
    rng: np.random.Generator,
    *,
    beams_per_sr: float = 43_000.0,
    hit_share_at_full_wetness: float = 0.15,
    plume_length_m: float = 3.0,
    plume_height_m: float = 1.2,
) -> np.ndarray:
    """Spray clutter behind vehicles on a wet road, float32 ``(M, 3)`` lidar frame (m).

    ``vehicle_boxes_lidar``: ``(V, 7)`` rows ``x, y, z_bottom, length, width, height, yaw``
    (lidar frame, yaw about z, 0 = facing +x). Each plume is a box behind the vehicle's rear;
    the number of beams crossing it is its cross-section over range squared times the beam
    density (HDL-64: ~43k beams/sr), of which ``hit_share * wetness`` return from droplets.
    Plumes hidden behind their own vehicle (farther than its centre) are not seen.
    """
    boxes = np.asarray(vehicle_boxes_lidar, dtype=np.float64).reshape(-1, 7)
    if road_wetness <= 0 or len(boxes) == 0:
        return np.zeros((0, 3), np.float32)
    chunks = []
    for x, y, z, length, width, _height, yaw in boxes:
        heading = np.array([np.cos(yaw), np.sin(yaw)])
        centre = np.array([x, y]) - heading * (length / 2 + plume_length_m / 2)
        range_m = max(float(np.hypot(*centre)), 1.0)
        cross_section = (width + 0.4) * plume_height_m
        expected = hit_share_at_full_wetness * road_wetness * beams_per_sr * cross_section
        count = rng.poisson(expected / range_m**2)
        u = rng.random((count, 3))
        along = (u[:, 0] - 0.5) * plume_length_m
        across = (u[:, 1] - 0.5) * (width + 0.4)
        side = np.array([-heading[1], heading[0]])
        xy = centre + along[:, None] * heading + across[:, None] * side
        pts = np.column_stack([xy, z + u[:, 2] ** 2 * plume_height_m])  # denser low down
        in_front = np.hypot(pts[:, 0], pts[:, 1]) < np.hypot(x, y)
        chunks.append(pts[in_front])
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, 3), np.float32)


def rain_range_noise_m(range_m: np.ndarray, rate_mm_h: float) -> np.ndarray:
    """Std of the extra range error in rain, float32 ``(N,)`` m: 0.5 % of range at saturation."""
    return (0.005 * range_m * -np.expm1(-rate_mm_h / 20.0)).astype(np.float32)


def apply_lidar_weather(
    points_lidar: np.ndarray,
    weather: WeatherLike,
    rng: np.random.Generator,
    *,
    ring: np.ndarray | None = None,
    class_ids: np.ndarray | None = None,
    instance_ids: np.ndarray | None = None,
    ground_mask: np.ndarray | None = None,
    ground_z_lidar_m: float = -1.73,
    missed_dirs_lidar: np.ndarray | None = None,
    missed_range_m: np.ndarray | None = None,
    missed_ring: np.ndarray | None = None,
    vehicle_boxes_lidar: np.ndarray | None = None,
    min_range_m: float = 0.0,
    radiometry: LidarRadiometry | None = None,
    fog_optics: FogOptics | None = None,
    beam: BeamGeometry | None = None,
) -> WeatheredPoints:
    """Apply ``weather``'s wet road, spray, fog, rain and snow (in that order, see module notes).

    ``points_lidar``: ``(N, 4)`` x, y, z (m, lidar frame), intensity [0, 1]. Optional
    per-point ``ring``/``class_ids``/``instance_ids`` are carried along. Ground returns (for
    the wet road) are ``ground_mask`` when given, else points with ``z < ground_z_lidar_m +
    0.25``. ``missed_dirs_lidar`` ``(M, 3)`` unit directions of beams that returned nothing
    (with ``missed_range_m``: the range of an undetected or glass surface, inf for sky)
    let fog and particles add echoes where the clear scan had none; real scans lack them.
    Weather returns nearer than ``min_range_m`` are discarded as the sensor would.
    A clear sky (inf visibility, no rain, snow or wetness) returns the input unchanged.
    """
    pts = np.asarray(points_lidar, dtype=np.float32)
    if pts.ndim != 2 or pts.shape[1] < 4:
        raise ValueError(f"points_lidar must be (N, 4) x, y, z, intensity; got {pts.shape}")
    n = len(pts)
    ring_in = _labels(ring, n, -1, "ring")
    class_in = _labels(class_ids, n, 0, "class_ids")
    inst_in = _labels(instance_ids, n, 0, "instance_ids")
    check_weather(weather)
    if is_clear(weather):
        return WeatheredPoints(
            pts[:, :4].copy(),
            ring_in,
            class_in,
            inst_in,
            np.arange(n, dtype=np.int64),
            np.zeros(n, np.uint8),
            np.sqrt(np.einsum("ij,ij->i", pts[:, :3], pts[:, :3])).astype(np.float32),
        )
    rad = radiometry or LidarRadiometry()
    fog_visibility_m = float(weather.fog_visibility_m)
    rain_rate_mm_h = float(weather.rain_rate_mm_h)
    snow_rate_mm_h = float(weather.snow_rate_mm_h)
    road_wetness = float(weather.road_wetness)

    optics = fog_optics or FogOptics()
    has_missed = missed_dirs_lidar is not None and len(missed_dirs_lidar) > 0
    # Received power matters only where other echoes compete or returns may be lost.
    may_lose = rain_rate_mm_h > 0 or snow_rate_mm_h > 0 or road_wetness > 0
    may_lose = may_lose or optics.drop_undetectable
    xyz = pts[:, :3]
    range_m = np.sqrt(np.einsum("ij,ij->i", xyz, xyz)).astype(np.float32)
    if may_lose or has_missed:
        power = rad.power_from_intensity(pts[:, 3], range_m)
        # A reading of 0 (~9.5 % of KITTI's returns) says the return was dim, not how dim:
        # it was detected, so take it at the detection threshold rather than far below it.
        np.maximum(power, np.float32(rad.detection_power), out=power, where=pts[:, 3] <= 0)
    else:
        power = np.zeros(n, np.float32)  # nothing competes with the hard and fog echoes
    factor = np.ones(n, np.float32)

    # 1. wet road
    if road_wetness > 0:
        ground = (
            np.asarray(ground_mask, bool)
            if ground_mask is not None
            else xyz[:, 2] < ground_z_lidar_m + 0.25
        )
        factor[ground] *= wet_road_factor(road_wetness)

    # 2. spray: extra surfaces of droplets, treated as weak hard returns from here on
    spray_xyz = spray_points(
        vehicle_boxes_lidar if vehicle_boxes_lidar is not None else np.zeros((0, 7)),
        road_wetness if rain_rate_mm_h > 0 else 0.0,
        rng,
    )
    spray_range = np.linalg.norm(spray_xyz, axis=1).astype(np.float32)
    spray_power = rad.received_power(
        np.float32(0.05), np.float32(1.0), np.maximum(spray_range, 0.1)
    )

    # 3. extinction of every echo along its round trip. Fog's share never deletes a return
    # (Hahner et al.) unless asked to; wet road, rain and snow may (conditional survival).
    alpha_fog = fog_extinction_per_m(fog_visibility_m)
    alpha_precip = rain_extinction_per_m(rain_rate_mm_h) + snow_extinction_per_m(snow_rate_mm_h)
    alpha = alpha_fog + alpha_precip
    if alpha_precip > 0:
        factor *= np.exp(np.float32(-2.0 * alpha_precip) * range_m)
    fog_factor = np.exp(np.float32(-2.0 * alpha_fog) * range_m) if alpha_fog > 0 else 1.0
    total_factor = factor * np.float32(fog_factor)
    survival_factor = total_factor if optics.drop_undetectable else factor
    hard_power = power * total_factor if may_lose or has_missed else power
    # Reported intensity falls as exp(-2 alpha R) (Hahner et al., LISA), in the sensor's steps.
    clear_intensity = np.clip(pts[:, 3], 0.0, 1.0)
    hard_intensity = quantize_intensity(clear_intensity * total_factor, optics.intensity_levels)

    # Beams: the N hard returns, then the M missed beams (no hard echo in clear air).
    if has_missed:
        missed_dirs = np.asarray(missed_dirs_lidar, np.float32).reshape(-1, 3)
        missed_limit = (
            np.full(len(missed_dirs), np.inf, np.float32)
            if missed_range_m is None
            else np.asarray(missed_range_m, np.float32)
        )
        missed_ring_arr = _labels(missed_ring, len(missed_dirs), -1, "missed_ring")
    else:
        missed_dirs = np.zeros((0, 3), np.float32)
        missed_limit = np.zeros(0, np.float32)
        missed_ring_arr = np.zeros(0, np.int32)
    limit = np.concatenate([range_m, missed_limit])
    n_beams = len(limit)
    best_power = np.concatenate([hard_power, np.zeros(len(missed_dirs), np.float32)])
    best_kind = np.zeros(n_beams, np.uint8)
    best_range = limit.copy()
    best_intensity = np.concatenate([hard_intensity, np.zeros(len(missed_dirs), np.float32)])
    always_kept = np.zeros(n_beams, bool)  # fog echoes that replace a hard return

    # 4a. fog soft target
    if np.isfinite(fog_visibility_m):
        response = _shared_fog_response(fog_visibility_m, fog_optics, float(min_range_m))
        wins, fog_intensity, fog_range = fog_soft_target(
            range_m, clear_intensity, hard_intensity, response
        )
        fog_power = fog_intensity / np.maximum(clear_intensity, np.float32(1e-6))
        fog_power *= power
        if len(missed_dirs):
            missed = _missed_beam_fog(
                missed_limit, clear_intensity, power, range_m, response, optics
            )
            wins = np.concatenate([wins, missed[0]])
            fog_intensity = np.concatenate([fog_intensity, missed[1]])
            fog_range = np.concatenate([fog_range, missed[2]])
            fog_power = np.concatenate([fog_power, missed[3]])
        np.copyto(best_power, fog_power, where=wins)
        np.copyto(best_range, fog_range, where=wins)
        np.copyto(best_intensity, fog_intensity, where=wins)
        best_kind[wins] = FOG_RETURN
        always_kept[:n] = wins[:n]

    # 4b. rain drops and snow flakes
    for rate, sizes_of, kind in (
        (rain_rate_mm_h, rain_sizes, RAIN_RETURN),
        (snow_rate_mm_h, snow_sizes, SNOW_RETURN),
    ):
        if rate <= 0:
            continue
        clutter = particle_clutter(sizes_of(rate), rad, beam)
        has, p_range, p_power = _sample_particle_returns(
            clutter, rad, limit, rng, float(min_range_m)
        )
        p_power *= np.exp(np.float32(-2.0 * alpha) * p_range)
        stronger = has & (p_power > best_power)
        np.copyto(best_power, p_power, where=stronger)
        np.copyto(best_range, p_range, where=stronger)
        best_kind[stronger] = kind
        always_kept[stronger] = False
    particle = (best_kind == RAIN_RETURN) | (best_kind == SNOW_RETURN)
    best_intensity[particle] = rad.intensity_from_power(best_power[particle], best_range[particle])

    # Detection of each beam's strongest echo: hard echoes were detected in clear air
    # (conditional survival); a fog echo replacing one is reported (Hahner et al.); other
    # weather echoes are new (unconditional detection).
    u = rng.random(n_beams, dtype=np.float32)
    is_hard = best_kind == HARD_RETURN
    keep_prob = np.ones(n_beams, np.float32)
    new_echo = np.flatnonzero(~is_hard & ~always_kept)
    keep_prob[new_echo] = rad.detection_probability(best_power.take(new_echo))
    if may_lose:
        hard = np.flatnonzero(is_hard[:n])
        keep_prob[hard] = rad.survival_probability(power.take(hard), survival_factor.take(hard))
    keep_prob[n:][is_hard[n:]] = 0.0  # a missed beam has no hard echo
    detected = (u < keep_prob) & ((best_kind == HARD_RETURN) | (best_range >= min_range_m))

    # 5. rain range noise on hard returns. Outputs are written column by column into one
    # array: 2-D fancy indexing and strided broadcasts cost several times more.
    hard_keep = np.flatnonzero(detected[:n] & is_hard[:n])
    weather_beams = np.flatnonzero(detected & ~is_hard)
    out_range = range_m.take(hard_keep)
    measured = out_range
    if rain_rate_mm_h > 0 and len(hard_keep):
        sigma = rain_range_noise_m(out_range, rain_rate_mm_h)
        noisy = out_range + sigma * rng.standard_normal(len(hard_keep), dtype=np.float32)
        measured = np.maximum(noisy, np.float32(0.01))
    spray_keep = rng.random(len(spray_xyz), dtype=np.float32) < rad.detection_probability(
        spray_power * np.exp(np.float32(-2.0 * alpha) * spray_range)
    )
    spray_keep &= spray_range >= min_range_m
    n_h, n_w, n_s = len(hard_keep), len(weather_beams), int(np.count_nonzero(spray_keep))
    points_out = np.empty((n_h + n_w + n_s, 4), np.float32)
    range_out = np.empty(n_h + n_w + n_s, np.float32)

    for axis in range(3):
        np.take(pts[:, axis], hard_keep, out=points_out[:n_h, axis])
    if measured is not out_range:
        scale = measured / np.maximum(out_range, np.float32(1e-6))
        for axis in range(3):
            points_out[:n_h, axis] *= scale
    range_out[:n_h] = measured
    points_out[:n_h, 3] = hard_intensity.take(hard_keep)

    # Weather echoes along their beam: a hard point's direction or a missed beam's.
    split = int(np.searchsorted(weather_beams, n))
    from_points, from_missed = weather_beams[:split], weather_beams[split:] - n
    w_range = best_range.take(weather_beams)
    w_rows = slice(n_h, n_h + n_w)
    norm = np.maximum(range_m.take(from_points), np.float32(1e-6))
    for axis in range(3):
        dirs = np.concatenate(
            [pts[:, axis].take(from_points) / norm, missed_dirs[:, axis].take(from_missed)]
        )
        np.multiply(dirs, w_range, out=points_out[w_rows, axis])
    points_out[w_rows, 3] = best_intensity.take(weather_beams)
    range_out[w_rows] = w_range
    w_ring = np.concatenate([ring_in.take(from_points), missed_ring_arr.take(from_missed)])

    s_rows = slice(n_h + n_w, None)
    points_out[s_rows, :3] = spray_xyz[spray_keep]
    points_out[s_rows, 3] = rad.intensity_from_power(
        spray_power[spray_keep], spray_range[spray_keep]
    )
    range_out[s_rows] = spray_range[spray_keep]

    return WeatheredPoints(
        points_lidar=points_out,
        ring=np.concatenate([ring_in.take(hard_keep), w_ring, np.full(n_s, -1, np.int32)]),
        class_ids=np.concatenate([class_in.take(hard_keep), np.zeros(n_w + n_s, np.int32)]),
        instance_ids=np.concatenate([inst_in.take(hard_keep), np.zeros(n_w + n_s, np.int32)]),
        source_index=np.concatenate([hard_keep.astype(np.int64), np.full(n_w + n_s, -1, np.int64)]),
        clutter_kind=np.concatenate(
            [
                np.zeros(n_h, np.uint8),
                best_kind.take(weather_beams),
                np.full(n_s, SPRAY_RETURN, np.uint8),
            ]
        ),
        range_m=range_out,
    )


def _missed_beam_fog(
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


def _labels(values: np.ndarray | None, n: int, fill: int, name: str) -> np.ndarray:
    if values is None:
        return np.full(n, fill, np.int32)
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) like the points; got {arr.shape}")
    return arr.astype(np.int32, copy=False)


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
