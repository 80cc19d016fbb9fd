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
3. extinction: one ``exp(-2 alpha R)`` with ``alpha = alpha_fog + alpha_rain + alpha_snow``,
4. strongest-return competition per beam between the attenuated hard return, the fog's
   soft-target return (Hahner et al., ICCV 2021) and a rain drop / snow flake return
   (Marshall-Palmer / Gunn-Marshall size distributions, cf. LISA, Kilic et al. 2021 and
   Hahner et al., CVPR 2022),
5. rain range noise on hard returns (grows with rate and range, Goodin et al. 2019).

Points come and go as :class:`scenegen.points.PointCloud`; weather returns get class id 0
and instance id 0 and are told apart by the ``kind`` column.
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
from scenegen.points import (
    FOG_RETURN,
    HARD_RETURN,
    RAIN_RETURN,
    SNOW_RETURN,
    SPRAY_RETURN,
    MissedBeams,
    PointCloud,
)

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
    n0, slope = gunn_marshall(rate_mm_h)
    return ParticleSizes(n0, slope, FLAKE_TO_MELTED_DIAMETER, 0.5)


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0 (inf for none), got {value!r}")


def _check_rate(name: str, value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite rate > 0 mm/h, got {value!r}")


# ----------------------------------------------------------------------------- fog (soft)


@dataclass(frozen=True)
class FogOptics:
    """Pulse and transmitter/receiver overlap of the fog soft-target model."""

    pulse_half_power_s: float = 20e-9  # tau_H of Hahner et al.
    overlap_start_m: float = 1.5  # receiver field of view starts to meet the beam
    overlap_full_m: float = 6.0  # ... and covers it fully (linear in between)
    grid_step_m: float = 0.1
    grid_max_m: float = 16.0


@dataclass(frozen=True)
class FogResponse:
    """Soft-target fog return as a function of the hard target's range ``R0``.

    ``peak_power[i]`` is the strongest fog echo (power units of :class:`LidarRadiometry`)
    in front of a hard target at ``hard_range_m[i]`` (a uniform grid); ``range_quantiles_m``
    (at uniformly spaced probabilities 0..1) samples where along the beam that echo is
    detected: anywhere the echo exceeds half its peak, in proportion to its strength,
    standing in for the droplet-to-droplet fluctuation of the waveform.
    """

    hard_range_m: np.ndarray
    peak_power: np.ndarray
    peak_range_m: np.ndarray
    range_quantiles_m: np.ndarray


def fog_response(visibility_m: float, optics: FogOptics | None = None) -> FogResponse:
    """Fog echo of Hahner et al. (ICCV 2021), Eq. (13), on a range grid, in closed matrix form.

    The received fog power at reception range ``R`` is ``pi * beta * sum_{R' <= min(R, R0)}
    pulse(R - R') * xi(R') / R'^2 * exp(-2 alpha R') dR'`` (``pi``: a white Lambertian target
    returns ``1/pi`` per steradian). A cumulative sum over ``R'`` gives it for every hard
    target range ``R0`` of the grid at once; ranges are shifted by half the pulse so a hard
    target reads at its true range.
    """
    optics = optics or FogOptics()
    alpha = fog_extinction_per_m(visibility_m)
    beta = fog_backscatter_per_m_sr(visibility_m)
    step = optics.grid_step_m
    r = np.arange(0.0, optics.grid_max_m, step)
    overlap = np.clip(
        (r - optics.overlap_start_m) / (optics.overlap_full_m - optics.overlap_start_m), 0.0, 1.0
    )
    impulse = np.pi * beta * overlap / np.maximum(r, step) ** 2 * np.exp(-2.0 * alpha * r) * step
    pulse_m = _SPEED_OF_LIGHT_M_S * optics.pulse_half_power_s  # 2 tau_H c / 2
    lag = r[:, None] - r[None, :]  # reception range minus scatterer range
    pulse = np.where((lag >= 0) & (lag < pulse_m), np.sin(np.pi * lag / pulse_m) ** 2, 0.0)
    # received[R, R0] = sum over scatterers R' <= R0 of pulse(R - R') impulse(R')
    received = np.cumsum(pulse * impulse[None, :], axis=1)
    best = np.argmax(received, axis=0)
    peak_power = received[best, np.arange(len(r))]
    peak_range = r[best] - pulse_m / 2.0
    # Where the echo is detected: anywhere its unobstructed waveform exceeds half its peak.
    waveform = received[:, -1]
    strong = np.flatnonzero(waveform >= 0.5 * waveform.max())
    cdf = np.cumsum(waveform[strong])
    cdf = (cdf - cdf[0]) / max(cdf[-1] - cdf[0], 1e-30)
    quantiles = np.interp(np.linspace(0.0, 1.0, 257), cdf, r[strong] - pulse_m / 2.0)
    return FogResponse(
        hard_range_m=r.astype(np.float32),
        peak_power=peak_power.astype(np.float32),
        peak_range_m=np.maximum(peak_range, step).astype(np.float32),
        range_quantiles_m=np.maximum(quantiles, step).astype(np.float32),
    )


@lru_cache(maxsize=16)
def _shared_fog_response(visibility_m: float, optics: FogOptics | None) -> FogResponse:
    """:func:`fog_response`, computed once per visibility (read-only arrays)."""
    response = fog_response(visibility_m, optics)
    for table in vars(response).values():
        table.setflags(write=False)
    return response


# ------------------------------------------------------------------- particles (rain/snow)


@dataclass(frozen=True)
class BeamGeometry:
    """Beam footprint for particle returns: radius ``exit_radius_m + R * divergence / 2``."""

    exit_radius_m: float = 0.005
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
    )


def _sample_particle_returns(
    clutter: ParticleClutter,
    radiometry: LidarRadiometry,
    limit_range_m: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per beam: has a particle echo (bool), its range (m) and power, float32 ``(N,)``.

    Only particles in front of the hard target (``limit_range_m``, inf for none) count.
    The particle's excess size over ``D_min`` is exponential (memoryless distribution),
    so its power is ``P_det * (D / D_min)^2``.
    """
    n = len(limit_range_m)
    step = float(clutter.range_m[1] - clutter.range_m[0])
    expected_to_limit = _lookup_uniform(
        limit_range_m, float(clutter.range_m[0]), step, clutter.expected
    )
    u = rng.random((3, n), dtype=np.float32)
    has = u[0] < -np.expm1(-expected_to_limit)
    idx = np.flatnonzero(has)
    target = u[1, idx] * expected_to_limit[idx]
    range_m = np.interp(target, clutter.expected, clutter.range_m).astype(np.float32)
    d_min = np.interp(range_m, clutter.range_m, clutter.min_diameter_mm)
    diameter = d_min - np.log1p(-u[2, idx]) / clutter.slope_per_mm
    power = (radiometry.detection_power * (diameter / d_min) ** 2).astype(np.float32)
    full_range = np.zeros(n, np.float32)
    full_power = np.zeros(n, np.float32)
    full_range[idx] = range_m
    full_power[idx] = power
    return has, full_range, full_power


# ------------------------------------------------------------------------------ the API


@dataclass(frozen=True, eq=False)
class WeatheredPoints:
    """Points after weather.

    * ``points``: the cloud, with the input's columns carried along (a column the input
      lacks stays ``None``; rings of weather echoes are their beam's, -1 for spray; class
      and instance ids 0), ``kind`` (HARD_RETURN, FOG_RETURN, ...) and ``range_m``
      (distance from the sensor origin, m).
    * ``source_index``: int64 ``(N,)`` index of the input point a hard return comes from,
      -1 for weather returns (use it to carry any other per-point array).
    """

    points: PointCloud
    source_index: np.ndarray


@dataclass(frozen=True)
class LidarWeatherSetup:
    """What the LiDAR weather needs besides the points and the weather values.

    * ``min_range_m``: weather returns nearer than this are discarded, as the sensor would.
    * ``missed``: beams that returned nothing in clear air, so fog and particles can add
      echoes there (synthetic scans have them, real ones do not).
    * ``vehicle_boxes_lidar``: ``(V, 7)`` vehicles throwing spray, see :func:`spray_points`.
    * ``ground_class_ids``: semantic ids of the road and other ground, which the wet road
      darkens (needs the cloud's ``class_ids``); without them, points lower than
      ``ground_z_lidar_m + 0.25`` count as ground.
    * ``radiometry``, ``fog_optics``, ``beam``: the sensor models (defaults when ``None``).
    """

    min_range_m: float = 0.0
    missed: MissedBeams | None = None
    vehicle_boxes_lidar: np.ndarray | None = None
    ground_class_ids: tuple[int, ...] | None = None
    ground_z_lidar_m: float = -1.73
    radiometry: LidarRadiometry | None = None
    fog_optics: FogOptics | None = None
    beam: BeamGeometry | None = None


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
    points: PointCloud,
    weather: WeatherLike,
    rng: np.random.Generator,
    setup: LidarWeatherSetup | None = None,
) -> WeatheredPoints:
    """Apply ``weather``'s wet road, spray, fog, rain and snow (in that order, see module notes).

    ``points`` in the lidar frame; ``setup`` (:class:`LidarWeatherSetup`) says what else is
    known of the scan and the sensor. A clear sky (inf visibility, no rain, snow or
    wetness) returns the points unchanged, with ``kind`` and ``range_m`` filled in.
    """
    points.require_frame()
    setup = setup or LidarWeatherSetup()
    pts = points.xyzi()
    n = len(pts)
    ring_in = _labels(points.ring, n, -1, "ring")
    class_in = _labels(points.class_ids, n, 0, "class_ids")
    inst_in = _labels(points.instance_ids, n, 0, "instance_ids")
    ground_ids = setup.ground_class_ids
    ground_mask = None if ground_ids is None else points.class_mask(ground_ids)
    ground_z_lidar_m, min_range_m = setup.ground_z_lidar_m, setup.min_range_m
    vehicle_boxes_lidar = setup.vehicle_boxes_lidar
    radiometry, fog_optics, beam = setup.radiometry, setup.fog_optics, setup.beam
    missed = setup.missed
    missed_dirs_lidar = None if missed is None else missed.dirs_lidar
    missed_range_m = None if missed is None else missed.range_m
    missed_ring = None if missed is None else missed.ring
    check_weather(weather)
    if is_clear(weather):
        unchanged = points.replace(
            xyz=points.xyz.copy(),
            intensity=points.intensity.copy(),
            kind=np.zeros(n, np.uint8),
            range_m=points.range_from_origin_m(),
        )
        return WeatheredPoints(unchanged, np.arange(n, dtype=np.int64))
    rad = radiometry or LidarRadiometry()
    fog_visibility_m = float(weather.fog_visibility_m)
    rain_rate_mm_h = float(weather.rain_rate_mm_h)
    snow_rate_mm_h = float(weather.snow_rate_mm_h)
    road_wetness = float(weather.road_wetness)

    xyz = pts[:, :3]
    range_m = np.sqrt(np.einsum("ij,ij->i", xyz, xyz)).astype(np.float32)
    power = rad.power_from_intensity(pts[:, 3], range_m)
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

    # 3. extinction of every echo along its round trip
    alpha = (
        fog_extinction_per_m(fog_visibility_m)
        + (rain_extinction_per_m(rain_rate_mm_h))
        + snow_extinction_per_m(snow_rate_mm_h)
    )
    if alpha > 0:
        factor *= np.exp(np.float32(-2.0 * alpha) * range_m)
    hard_power = power * factor

    # Beams: the N hard returns, then the M missed beams (no hard echo in clear air).
    if missed_dirs_lidar is not None and len(missed_dirs_lidar):
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

    # 4a. fog soft target
    if np.isfinite(fog_visibility_m):
        response = _shared_fog_response(fog_visibility_m, fog_optics)
        grid = response.hard_range_m
        fog_power = _lookup_uniform(limit, 0.0, float(grid[1] - grid[0]), response.peak_power)
        fog_range = _lookup_uniform(
            rng.random(n_beams, dtype=np.float32), 0.0, 1.0 / 256, response.range_quantiles_m
        )
        np.minimum(fog_range, np.maximum(limit - np.float32(0.1), np.float32(0.05)), out=fog_range)
        stronger = fog_power > best_power
        np.copyto(best_power, fog_power, where=stronger)
        np.copyto(best_range, fog_range, where=stronger)
        best_kind[stronger] = FOG_RETURN

    # 4b. rain drops and snow flakes
    for rate, sizes_of, kind in (
        (rain_rate_mm_h, rain_sizes, RAIN_RETURN),
        (snow_rate_mm_h, snow_sizes, SNOW_RETURN),
    ):
        if rate <= 0:
            continue
        clutter = particle_clutter(sizes_of(rate), rad, beam)
        has, p_range, p_power = _sample_particle_returns(clutter, rad, limit, rng)
        p_power *= np.exp(np.float32(-2.0 * alpha) * p_range)
        stronger = has & (p_power > best_power)
        np.copyto(best_power, p_power, where=stronger)
        np.copyto(best_range, p_range, where=stronger)
        best_kind[stronger] = kind

    # Detection of each beam's strongest echo: hard echoes were detected in clear air
    # (conditional survival); weather echoes are new (unconditional detection).
    u = rng.random(n_beams, dtype=np.float32)
    is_hard = best_kind == HARD_RETURN
    keep_prob = rad.detection_probability(best_power)
    keep_prob[:n][is_hard[:n]] = rad.survival_probability(power, factor)[is_hard[:n]]
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
    points_out[:n_h, 3] = rad.intensity_from_power(hard_power.take(hard_keep), out_range)

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
    points_out[w_rows, 3] = rad.intensity_from_power(best_power.take(weather_beams), w_range)
    range_out[w_rows] = w_range
    w_ring = np.concatenate([ring_in.take(from_points), missed_ring_arr.take(from_missed)])

    s_rows = slice(n_h + n_w, None)
    points_out[s_rows, :3] = spray_xyz[spray_keep]
    points_out[s_rows, 3] = rad.intensity_from_power(
        spray_power[spray_keep], spray_range[spray_keep]
    )
    range_out[s_rows] = spray_range[spray_keep]

    ring_out = np.concatenate([ring_in.take(hard_keep), w_ring, np.full(n_s, -1, np.int32)])
    class_out = np.concatenate([class_in.take(hard_keep), np.zeros(n_w + n_s, np.int32)])
    inst_out = np.concatenate([inst_in.take(hard_keep), np.zeros(n_w + n_s, np.int32)])
    cloud = PointCloud(
        xyz=points_out[:, :3],
        intensity=points_out[:, 3],
        ring=ring_out if points.ring is not None else None,
        class_ids=class_out if points.class_ids is not None else None,
        instance_ids=inst_out if points.instance_ids is not None else None,
        kind=np.concatenate(
            [
                np.zeros(n_h, np.uint8),
                best_kind.take(weather_beams),
                np.full(n_s, SPRAY_RETURN, np.uint8),
            ]
        ),
        range_m=range_out,
    )
    source_index = np.concatenate([hard_keep.astype(np.int64), np.full(n_w + n_s, -1, np.int64)])
    return WeatheredPoints(cloud, source_index)


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
