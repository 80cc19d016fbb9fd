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
   rain drop return (Marshall-Palmer drops in LISA's beam cone beyond the minimum range, Kilic
   et al. 2021) wins where it is stronger; then a snow flake following Hahner et al. (CVPR
   2022, SysCV/LiDAR_snow_sim; see :func:`sample_snow_returns`) replaces the return where its
   pulse outshines the target's,
5. rain range noise on hard returns (grows with rate and range, Goodin et al. 2019).

Points come and go as :class:`scenegen.points.PointCloud`; weather returns get class id 0
and instance id 0 and are told apart by the ``kind`` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

# One extinction model per weather, shared with the camera so one severity means the same
# weather on both sensors.
from scenegen.effects.fog import fog_extinction_per_m
from scenegen.effects.lidar_fog import (
    FogOptics,
    FogResponse,
    fog_backscatter_per_m_sr,
    fog_response,
    fog_soft_target,
    missed_beam_fog,
    shared_fog_response,
)
from scenegen.effects.lidar_particles import (
    MAX_SNOW_RATE_MM_H,
    BeamGeometry,
    ParticleClutter,
    ParticleSizes,
    SnowfallOptics,
    check_snow_rate,
    particle_clutter,
    rain_range_noise_m,
    rain_sizes,
    sample_particle_returns,
    sample_snow_returns,
    spray_points,
)
from scenegen.effects.lidar_radiometry import (
    LidarRadiometry,
    check_positive,
    elevation_deg,
    quantize_intensity,
    ring_from_elevation,
)
from scenegen.effects.rain import (
    rain_extinction_per_m,
)
from scenegen.effects.snow import snow_extinction_per_m
from scenegen.points import (
    FOG_RETURN,
    HARD_RETURN,
    RAIN_RETURN,
    SNOW_RETURN,
    SPRAY_RETURN,
    MissedBeams,
    PointCloud,
)


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
    * ``radiometry``, ``fog_optics``, ``beam`` (rain drops), ``snow_optics``: the sensor and
      particle models (defaults when ``None``).
    """

    min_range_m: float = 0.0
    missed: MissedBeams | None = None
    vehicle_boxes_lidar: np.ndarray | None = None
    ground_class_ids: tuple[int, ...] | None = None
    ground_z_lidar_m: float = -1.73
    radiometry: LidarRadiometry | None = None
    fog_optics: FogOptics | None = None
    beam: BeamGeometry | None = None
    snow_optics: SnowfallOptics | None = None


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
    check_positive("fog_visibility_m", weather.fog_visibility_m)
    for name in ("rain_rate_mm_h", "snow_rate_mm_h"):
        value = getattr(weather, name)
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite rate >= 0 mm/h, got {value!r}")
    check_snow_rate("snow_rate_mm_h", weather.snow_rate_mm_h)
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
    missed_beams = setup.missed
    missed_dirs_lidar = None if missed_beams is None else missed_beams.dirs_lidar
    missed_range_m = None if missed_beams is None else missed_beams.range_m
    missed_ring = None if missed_beams is None else missed_beams.ring
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
        response = shared_fog_response(fog_visibility_m, fog_optics, float(min_range_m))
        wins, fog_intensity, fog_range = fog_soft_target(
            range_m, clear_intensity, hard_intensity, response
        )
        fog_power = fog_intensity / np.maximum(clear_intensity, np.float32(1e-6))
        fog_power *= power
        if len(missed_dirs):
            missed = missed_beam_fog(
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

    # 4b. rain drops (LISA's strongest return)
    if rain_rate_mm_h > 0:
        clutter = particle_clutter(rain_sizes(rain_rate_mm_h), rad, beam)
        has, p_range, p_power = sample_particle_returns(
            clutter, rad, limit, rng, float(min_range_m)
        )
        p_power *= np.exp(np.float32(-2.0 * alpha) * p_range)
        stronger = has & (p_power > best_power)
        np.copyto(best_power, p_power, where=stronger)
        np.copyto(best_range, p_range, where=stronger)
        best_kind[stronger] = RAIN_RETURN
        always_kept[stronger] = False
    drops = best_kind == RAIN_RETURN
    best_intensity[drops] = rad.intensity_from_power(best_power[drops], best_range[drops])

    # 4c. snow flakes (Hahner et al.): a flake outshining the target is reported like the
    # reference reports it, always; against fog or a drop, or in a beam with no target,
    # it must be stronger and, in the last case, detected.
    if snow_rate_mm_h > 0:
        snow = sample_snow_returns(limit, snow_rate_mm_h, rng, setup.snow_optics)
        replaces = snow.wins & ((best_kind == HARD_RETURN) | (snow.power > best_power))
        np.copyto(best_power, snow.power, where=replaces)
        np.copyto(best_range, snow.range_m, where=replaces)
        np.copyto(best_intensity, snow.intensity, where=replaces)
        best_kind[replaces] = SNOW_RETURN
        always_kept[:n] |= replaces[:n]

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


__all__ = [
    "MAX_SNOW_RATE_MM_H",
    "BeamGeometry",
    "FogOptics",
    "FogResponse",
    "LidarRadiometry",
    "LidarWeatherSetup",
    "ParticleClutter",
    "ParticleSizes",
    "SnowfallOptics",
    "WeatherLike",
    "WeatheredPoints",
    "apply_lidar_weather",
    "check_weather",
    "elevation_deg",
    "fog_backscatter_per_m_sr",
    "fog_response",
    "fog_soft_target",
    "is_clear",
    "particle_clutter",
    "quantize_intensity",
    "rain_range_noise_m",
    "rain_sizes",
    "ring_from_elevation",
    "sample_snow_returns",
    "spray_points",
    "wet_road_factor",
]
