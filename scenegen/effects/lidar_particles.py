"""LiDAR returns from rain drops, snow flakes and spray: rain drops (Marshall-Palmer) in the
beam cone after LISA (Kilic et al. 2021), snowfall following Hahner et al. (CVPR 2022),
spray behind vehicles on a wet road, and rain range noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# One extinction model per weather, shared with the camera so one severity means the same
# weather on both sensors.
from scenegen.effects.lidar_radiometry import LidarRadiometry, check_rate, lookup_uniform
from scenegen.effects.rain import (
    MARSHALL_PALMER_N0_PER_M3_MM,
    MARSHALL_PALMER_SLOPE,
    MARSHALL_PALMER_SLOPE_EXPONENT,
)


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
    check_rate("rain rate_mm_h", rate_mm_h)
    slope = MARSHALL_PALMER_SLOPE * rate_mm_h**MARSHALL_PALMER_SLOPE_EXPONENT
    return ParticleSizes(MARSHALL_PALMER_N0_PER_M3_MM, slope, 1.0, 0.02)


# Gunn and Marshall (1958) fitted snowfall of 0.2-2.5 mm/h of water; the heaviest snowfalls
# on record reach about 10 mm/h (a metre of snow a day). Beyond that the flake model is
# extrapolated into weather that does not occur, so it is refused rather than guessed.
MAX_SNOW_RATE_MM_H = 10.0


def check_snow_rate(name: str, value: float) -> None:
    if value > MAX_SNOW_RATE_MM_H:
        raise ValueError(
            f"{name} must be <= {MAX_SNOW_RATE_MM_H:g} mm/h of liquid water (the heaviest "
            f"snowfall observed; 1-3 mm/h is heavy snow), got {value!r}"
        )


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


def sample_particle_returns(
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
    expected_to_limit = lookup_uniform(limit_range_m, start, step, clutter.expected)
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


@dataclass(frozen=True)
class SnowfallOptics:
    """Hahner et al.'s snowfall model (CVPR 2022, code SysCV/LiDAR_snow_sim), followed.

    Flakes are balls cut by each beam's plane into disks (a 2-D beam: a wedge of
    ``divergence_rad``). They cover ``S / (3.6e6 snow_density_g_cm3 v)`` of the plane
    (``S`` mm/h of water, ``v = terminal_velocity_m_s``) with diameters exponential of
    mean ``10 / (25.5 r^-0.48)`` mm, at most 20 mm (Gunn-Marshall's slope of the code's rain
    equivalent ``r = (S / (487 snow_density_g_cm3 0.003 v))^1.5``), out to ``domain_radius_m``.
    The terminal velocity defaults to the ~1 m/s of the camera's flakes (effects/snow.py).
    """

    terminal_velocity_m_s: float = 1.0
    snow_density_g_cm3: float = 0.1
    divergence_rad: float = 3e-3
    domain_radius_m: float = 80.0
    flake_reflectivity: float = 0.9
    max_diameter_mm: float = 20.0
    overlap_start_m: float = 0.9  # receiver overlap: none below, full from overlap_full_m
    overlap_full_m: float = 1.0
    same_echo_m: float = 0.2  # a flake this near the target only dims it (one echo)

    def occupancy(self, rate_mm_h: float) -> float:
        """Share of a beam's plane covered by flakes."""
        return rate_mm_h / (3.6e6 * self.snow_density_g_cm3 * self.terminal_velocity_m_s)

    def mean_diameter_mm(self, rate_mm_h: float) -> float:
        """Mean diameter of the untruncated exponential (the code's scale parameter)."""
        base = rate_mm_h / (487.0 * self.snow_density_g_cm3 * 0.003 * self.terminal_velocity_m_s)
        return 10.0 / (25.5 * (base**1.5) ** -0.48)

    def overlap(self, range_m: np.ndarray) -> np.ndarray:
        span = self.overlap_full_m - self.overlap_start_m
        return np.clip((range_m - self.overlap_start_m) / span, 0.0, 1.0)


@dataclass(frozen=True)
class SnowReturns:
    """Per beam: ``wins`` (a flake's echo replaces the target's), ``range_m`` and
    ``intensity`` of that echo (float32, 0 where it does not win) and ``power`` of the flake
    echo (reflectivity per m^2) from its cross-section in a 3-D cone of the same divergence:
    beams with no target lie outside the reference (it only alters existing points), and
    there the echo must be detected; the 2-D share, linear in the flake's size, would
    make flakes 50 m away detectable."""

    wins: np.ndarray
    range_m: np.ndarray
    intensity: np.ndarray
    power: np.ndarray


def _truncated_exponential_mm(mean_mm: float, max_mm: float, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of an exponential of mean ``mean_mm`` cut at ``max_mm``."""
    tail = -np.expm1(-max_mm / mean_mm)
    return -mean_mm * np.log1p(-u * tail)


def sample_snow_returns(
    limit_range_m: np.ndarray,
    rate_mm_h: float,
    rng: np.random.Generator,
    optics: SnowfallOptics | None = None,
) -> SnowReturns:
    """Flakes in each beam and whether one of them outshines the target (Hahner et al.).

    ``limit_range_m``: float32 ``(N,)`` range of each beam's target (inf for none). Flakes
    nearer than the target touch the beam as a Poisson process of the plane's disk density
    over the wedge and its rims (a disk of radius ``a`` touches within ``a`` of an edge, so
    large flakes are the likelier near the sensor). A flake taking share ``s`` of
    the wedge at range ``r`` sends a pulse of ``s xsi(r) / r^2``, the target one of its
    unoccluded share over ``d^2`` (as the published code computes it: the target counts as
    a flake-bright surface once a flake is in its beam); the strongest pulse is the echo,
    reported at intensity ``floor(255 * 0.9 s xsi / r^2) / 255``. Simplifications of the
    reference: independent beams (the code shares one disk field per laser), no partial
    hiding of one flake by another, no summing of pulses that overlap.
    """
    optics = optics or SnowfallOptics()
    check_rate("snow rate_mm_h", rate_mm_h)
    check_snow_rate("snow rate_mm_h", rate_mm_h)
    limit = np.minimum(np.asarray(limit_range_m, np.float64), optics.domain_radius_m)
    n = len(limit)
    mean_mm, max_mm = optics.mean_diameter_mm(rate_mm_h), optics.max_diameter_mm
    # Moments of the disk radius a = sqrt(D^2/4 - h^2), h uniform in +-D/2:
    # E[a^2] = E[D^2] / 6 and E[a] = pi E[D] / 8 (D truncated exponential, in m).
    grid = _truncated_exponential_mm(mean_mm, max_mm, (np.arange(4096) + 0.5) / 4096) * 1e-3
    mean_a2, mean_a = float(np.mean(grid**2)) / 6.0, np.pi * float(np.mean(grid)) / 8.0
    disks_per_m2 = optics.occupancy(rate_mm_h) / (np.pi * mean_a2)
    half = optics.divergence_rad / 2.0
    # Area where a flake nearer than L touches the wedge: delta L^2 / 2 + 2 E[a] L.
    area = optics.divergence_rad * limit**2 / 2.0 + 2.0 * mean_a * limit
    count = rng.poisson(disks_per_m2 * area)
    beam = np.repeat(np.arange(n), count)
    length = limit[beam]
    u = rng.random((6, len(beam)))
    # Flakes of disk radius a at range r touch the wedge at a rate f(a) (delta r + 2 a): a
    # mixture of the wedge itself (r ~ r dr, a ~ f) and its rims (r uniform, a ~ a f(a)).
    rim = u[0] * area[beam] >= optics.divergence_rad * length**2 / 2.0
    r = np.where(rim, u[1] * length, length * np.sqrt(u[1]))
    r = np.maximum(r, 1e-6)
    # Diameter: exponential, or its size-biased Gamma(2) for the rims (sum of two draws),
    # cut at max_mm by redrawing from the plain law (rare); the cut's height across the
    # ball: uniform, or the semicircle law (the x of a point uniform in a disk) for the rims.
    d_mm = _truncated_exponential_mm(mean_mm, max_mm, u[2])
    biased = d_mm - mean_mm * np.log1p(-u[3])
    d_mm = np.where(rim & (biased <= max_mm), biased, d_mm)
    height = np.where(rim, np.sqrt(u[4]) * np.cos(2.0 * np.pi * u[5]), 2.0 * u[4] - 1.0)
    radius = d_mm * 1e-3 / 2.0 * np.sqrt(1.0 - height**2)
    u_centre = rng.random(len(beam))
    width = np.arcsin(np.minimum(radius / r, 1.0))
    centre = (2.0 * u_centre - 1.0) * (half + width)
    share = (np.minimum(centre + width, half) - np.maximum(centre - width, -half)).clip(0.0)
    share /= optics.divergence_rad
    hard_share = np.clip(1.0 - np.bincount(beam, share, minlength=n), 0.0, 1.0)
    pulse = share * optics.overlap(r) / r**2
    # Strongest flake per beam: sort by (beam, pulse) and take each beam's last.
    order = np.lexsort((pulse, beam))
    sorted_beam = beam[order]
    last = order[np.append(sorted_beam[1:] != sorted_beam[:-1], True)] if len(order) else order
    best_pulse = np.zeros(n)
    best_range = np.zeros(n)
    best_radius = np.zeros(n)
    best_pulse[beam[last]] = pulse[last]
    best_range[beam[last]] = r[last]
    best_radius[beam[last]] = radius[last]
    target_range = np.asarray(limit_range_m, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        hard_pulse = np.where(
            np.isfinite(target_range),
            hard_share * optics.overlap(target_range) / target_range**2,
            0.0,
        )
    wins = (best_pulse > hard_pulse) & (np.abs(best_range - target_range) >= optics.same_echo_m)
    intensity = np.floor(255.0 * optics.flake_reflectivity * best_pulse) / 255.0
    with np.errstate(divide="ignore", invalid="ignore"):
        cone_share = np.minimum((best_radius / (best_range * half)) ** 2, 1.0)
        power = optics.flake_reflectivity * cone_share * optics.overlap(best_range) / best_range**2
    return SnowReturns(
        wins=wins,
        range_m=np.where(wins, best_range, 0.0).astype(np.float32),
        intensity=np.where(wins, np.minimum(intensity, 1.0), 0.0).astype(np.float32),
        power=np.where(wins, power, 0.0).astype(np.float32),
    )
