"""Spinning LiDAR by ray casting (:class:`~scenegen.sensors.raycast.WorldRaycaster`: open3d's
Embree by default, warp on request).

A :class:`LidarScanner` is built once per :class:`~scenegen.world.types.World`; each
:meth:`LidarScanner.scan` casts every beam of a preset in one call.

Conventions:

* Beams (rings) are listed top to bottom, as ``LidarSpec.vertical_angles_deg``: ring 0 is
  the highest beam. Azimuth step ``k`` looks at ``pi - 2 pi k / steps`` (radians from +x,
  counter-clockwise): the head turns clockwise seen from above, starting behind the car,
  like a Velodyne, so the seam of a scan is behind the vehicle.
* Points come azimuth-major (every beam of the first azimuth step, then the next) in the
  lidar frame (x forward,
  y left, z up, origin at the sensor). Each beam leaves the head at its own height
  (``PRESET_BEAM_HEIGHT_OFFSETS_M``, like the HDL-64E's per-laser calibration); a point is
  ``origin_of_its_beam + range * direction``.
* Radiometry and detection follow :class:`scenegen.effects.lidar_weather.LidarRadiometry`:
  power ``rho cos(theta)^0.5 / R^2`` from the material's 905 nm reflectivity (a part's
  albedo override does not change it), detection probability from that power, intensity
  from its range-normalised, compressed value. Glass and sky give no return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenegen.effects.lidar_weather import (
    LidarRadiometry,
    LidarWeatherSetup,
    WeatherLike,
    apply_lidar_weather,
)
from scenegen.frame import transform_points
from scenegen.points import HARD_RETURN, MissedBeams, PointCloud
from scenegen.scenario.spec import LidarSpec
from scenegen.sensors.raycast import WorldRaycaster
from scenegen.world.types import GROUND_SEMANTICS, SEMANTIC_IDS, World

# KITTI's Velodyne HDL-64E: two blocks of 32 lasers, the upper one denser.
_HDL64_DEG = np.concatenate([np.linspace(2.0, -8.33, 32), np.linspace(-8.83, -24.9, 32)])
_VLP32C_DEG = np.array(
    [
        15.0,
        10.333,
        7.0,
        4.667,
        3.333,
        2.333,
        1.667,
        1.333,
        1.0,
        0.667,
        0.333,
        0.0,
        -0.333,
        -0.667,
        -1.0,
        -1.333,
        -1.667,
        -2.0,
        -2.333,
        -2.667,
        -3.0,
        -3.333,
        -3.667,
        -4.0,
        -4.667,
        -5.333,
        -6.148,
        -7.254,
        -8.843,
        -11.31,
        -15.639,
        -25.0,
    ]
)
_VLP16_DEG = np.linspace(15.0, -15.0, 16)
_OS1_128_DEG = np.linspace(22.5, -22.5, 128)

PRESET_VERTICAL_ANGLES_DEG: dict[str, tuple[float, ...]] = {
    "hdl64": tuple(float(a) for a in _HDL64_DEG),
    "vlp32": tuple(float(a) for a in _VLP32C_DEG),
    "vlp16": tuple(float(a) for a in _VLP16_DEG),
    "os1-128": tuple(float(a) for a in _OS1_128_DEG),
}

# Where each laser leaves the head, above the sensor origin (m). The HDL-64E's calibration
# carries a vertical offset per laser, about 0.20 m for the upper block and 0.145 m for the
# lower one; it is why KITTI's near points sit up to ~1 degree above their beam's angle.
PRESET_BEAM_HEIGHT_OFFSETS_M: dict[str, tuple[float, ...]] = {
    "hdl64": (0.205,) * 32 + (0.145,) * 32,
}

# Surfaces whose returns count as ground for the wet-road model.


def resolve_vertical_angles_deg(lidar: LidarSpec) -> np.ndarray:
    """Float64 ``(B,)`` beam elevations in degrees, top to bottom (ring order).

    Non-empty ``lidar.vertical_angles_deg`` define a custom sensor and win over the preset;
    otherwise ``lidar.preset`` must be one of ``PRESET_VERTICAL_ANGLES_DEG``.
    """
    if lidar.vertical_angles_deg:
        angles = np.asarray(lidar.vertical_angles_deg, dtype=np.float64)
        if angles.ndim != 1 or not np.all(np.isfinite(angles)) or np.any(np.abs(angles) >= 90):
            raise ValueError(
                "lidar.vertical_angles_deg must be finite elevations in (-90, 90) degrees, "
                f"got {lidar.vertical_angles_deg!r}"
            )
        return angles
    if lidar.preset not in PRESET_VERTICAL_ANGLES_DEG:
        raise ValueError(
            f"unknown lidar preset {lidar.preset!r}; expected one of "
            f"{sorted(PRESET_VERTICAL_ANGLES_DEG)} or non-empty vertical_angles_deg"
        )
    return np.asarray(PRESET_VERTICAL_ANGLES_DEG[lidar.preset], dtype=np.float64)


def resolve_beam_height_offsets_m(lidar: LidarSpec) -> np.ndarray:
    """Float64 ``(B,)`` height of each beam's origin above the sensor origin, m (ring order).

    Zero for custom beams and for presets without a known offset.
    """
    n_beams = len(resolve_vertical_angles_deg(lidar))
    if lidar.vertical_angles_deg or lidar.preset not in PRESET_BEAM_HEIGHT_OFFSETS_M:
        return np.zeros(n_beams)
    return np.asarray(PRESET_BEAM_HEIGHT_OFFSETS_M[lidar.preset], dtype=np.float64)


def beam_directions_lidar(
    vertical_angles_deg: np.ndarray, azimuth_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions float32 ``(steps * B, 3)`` (lidar frame) and their ring, int32.

    Azimuth-major, like a spinning head's firing order: all beams of azimuth step 0, then
    step 1, ... (this also balances the ray casting threads).
    """
    if azimuth_steps < 1:
        raise ValueError(f"lidar.azimuth_steps must be >= 1, got {azimuth_steps}")
    elevation = np.radians(np.asarray(vertical_angles_deg, np.float64))[None, :]
    azimuth = (np.pi - 2.0 * np.pi * np.arange(azimuth_steps) / azimuth_steps)[:, None]
    dirs = np.stack(
        [
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.broadcast_to(np.sin(elevation), (azimuth_steps, elevation.shape[1])),
        ],
        axis=-1,
    ).reshape(-1, 3)
    ring = np.tile(np.arange(elevation.shape[1], dtype=np.int32), azimuth_steps)
    return dirs.astype(np.float32), ring


@dataclass(frozen=True, eq=False)
class LidarScan:
    """One sweep.

    * ``points``: the returns, every column of :class:`scenegen.points.PointCloud` filled
      (``range_m``: measured distance along the beam from its origin, m).
    * ``cos_incidence``: float32 ``(N,)`` cosine between beam and surface normal (1 for
      weather echoes), ground truth the sensor itself does not report.
    * ``missed``: the beams without a return; weather adds fog / particle echoes there.
    """

    points: PointCloud
    cos_incidence: np.ndarray
    missed: MissedBeams

    def __len__(self) -> int:
        return len(self.points)


@dataclass(frozen=True)
class _SweepRays:
    """One sensor pose's rays, cached between sweeps (float32 unless noted)."""

    key: tuple
    rays: np.ndarray  # float32 (N, 6) world-frame origins and unit directions
    dirs_lidar: np.ndarray  # (N, 3) unit directions, lidar frame
    dirs_lidar_axes: tuple[np.ndarray, np.ndarray, np.ndarray]  # its (N,) columns
    dirs_world: np.ndarray  # (N, 3) unit directions, world frame
    ring: np.ndarray  # int32 (N,)
    beam_height_m: np.ndarray  # (B,) origin height of each ring above the sensor


class LidarScanner:
    """All of a world's triangles in one ray-casting scene, with per-geometry labels.

    ``n_threads`` = 0 lets the open3d backend use every core.
    """

    def __init__(
        self,
        world: World,
        *,
        radiometry: LidarRadiometry | None = None,
        n_threads: int = 0,
        raycaster: WorldRaycaster | None = None,
        ray_cache: dict | None = None,
    ) -> None:
        self.radiometry = radiometry or LidarRadiometry()
        self.n_threads = n_threads
        # The camera's shadow rays use the same scene: pass it in to build it once.
        rc = raycaster if raycaster is not None else WorldRaycaster(world)
        self._instance = rc.instance
        self._semantic = rc.semantic
        self._reflectivity = rc.reflectivity
        self._returns = rc.returns
        self._raycaster = rc
        # Sweep rays depend only on the sensor and its pose: a caller that scans many
        # worlds with one sensor passes the same dict to reuse them.
        self._ray_cache: dict = ray_cache if ray_cache is not None else {}

    def _rays_for(self, lidar: LidarSpec, T_world_from_lidar: np.ndarray) -> _SweepRays:
        angles = resolve_vertical_angles_deg(lidar)
        offsets = resolve_beam_height_offsets_m(lidar)
        T = np.asarray(T_world_from_lidar, np.float64)
        if T.shape != (4, 4):
            raise ValueError(f"T_world_from_lidar must be a 4x4 transform, got shape {T.shape}")
        key = (angles.tobytes(), offsets.tobytes(), lidar.azimuth_steps, T.tobytes())
        cached = self._ray_cache.get(key)
        if cached is None:
            dirs_lidar, ring = beam_directions_lidar(angles, lidar.azimuth_steps)
            T_rot = T.copy()
            T_rot[:3, 3] = 0.0
            dirs_world = transform_points(T_rot, dirs_lidar, np.float32)
            origins_lidar = np.zeros_like(dirs_lidar)
            origins_lidar[:, 2] = offsets[ring]
            origins_world = transform_points(T, origins_lidar, np.float32)
            rays = np.ascontiguousarray(np.concatenate([origins_world, dirs_world], axis=1))
            cached = self._ray_cache[key] = _SweepRays(
                key=key,
                rays=rays.astype(np.float32, copy=False),
                dirs_lidar=np.ascontiguousarray(dirs_lidar),
                # Per-axis contiguous columns: gathering 1-D arrays is several times faster.
                dirs_lidar_axes=tuple(np.ascontiguousarray(dirs_lidar[:, k]) for k in range(3)),
                dirs_world=np.ascontiguousarray(dirs_world),
                ring=ring,
                beam_height_m=offsets.astype(np.float32),
            )
        return cached

    def scan(
        self,
        lidar: LidarSpec,
        T_world_from_lidar: np.ndarray,
        rng: np.random.Generator,
    ) -> LidarScan:
        """Cast one sweep of ``lidar`` from the pose ``T_world_from_lidar`` (4x4, see rig.py).

        Imperfections drawn from ``rng``: Gaussian range noise (``lidar.range_noise_m``) and
        a per-return power fading that decides detection (dropout grows with range, grazing
        incidence and low reflectivity) and brightness.
        """
        if not 0 <= lidar.min_range_m < lidar.max_range_m:
            raise ValueError(
                f"lidar ranges must satisfy 0 <= min_range_m < max_range_m, got "
                f"{lidar.min_range_m} and {lidar.max_range_m}"
            )
        if lidar.range_noise_m < 0:
            raise ValueError(f"lidar.range_noise_m must be >= 0, got {lidar.range_noise_m}")
        sweep = self._rays_for(lidar, T_world_from_lidar)
        hits = self._raycaster.cast(sweep.rays, self.n_threads)
        t_hit = hits.t_hit
        # A miss reads the tables' extra, non-returning last row.
        geometry = hits.geometry

        candidate = np.flatnonzero(self._returns[geometry])
        g = geometry[candidate]
        range_m = t_hit[candidate]
        normals = hits.normals
        cos_all = np.einsum("ij,ij->i", normals, sweep.dirs_world)
        cos_incidence = np.abs(cos_all.take(candidate))
        power = self.radiometry.received_power(self._reflectivity[g], cos_incidence, range_m)
        power *= self.radiometry.fading(rng.random(len(candidate), dtype=np.float32))
        detected = power >= np.float32(self.radiometry.detection_power)
        detected &= range_m >= lidar.min_range_m
        detected &= range_m <= lidar.max_range_m
        keep_at = np.flatnonzero(detected)
        keep = candidate[keep_at]
        g = g[keep_at]
        range_m = range_m[keep_at]
        cos_incidence = cos_incidence[keep_at]
        ring = sweep.ring[keep]
        xyz = np.empty((len(keep), 3), np.float32)
        # Reported like the HDL-64's reflectance byte: two decimals.
        intensity = self.radiometry.intensity_from_power(power[keep_at], range_m)
        np.round(intensity, 2, out=intensity)
        if lidar.range_noise_m > 0:
            noise = rng.standard_normal(len(keep), dtype=np.float32)
            noise *= np.float32(lidar.range_noise_m)
            measured = np.maximum(range_m + noise, np.float32(0.0))
        else:
            measured = range_m
        # A beam leaves the head at its own height: origin (0, 0, beam_height_m[ring]).
        # Column by column: 2-D fancy indexing and strided broadcasts are several times slower.
        for axis in range(3):
            np.multiply(sweep.dirs_lidar_axes[axis].take(keep), measured, out=xyz[:, axis])
        xyz[:, 2] += sweep.beam_height_m.take(ring)

        missed = np.ones(len(t_hit), bool)
        missed[keep] = False
        missed = np.flatnonzero(missed)
        points = PointCloud(
            xyz=xyz,
            intensity=intensity,
            ring=ring,
            class_ids=self._semantic[g],
            instance_ids=self._instance[g],
            kind=np.full(len(keep), HARD_RETURN, np.uint8),
            range_m=measured,
        )
        missed_beams = MissedBeams(
            dirs_lidar=np.take(sweep.dirs_lidar, missed, axis=0),
            ring=sweep.ring[missed],
            range_m=t_hit[missed],
        )
        return LidarScan(points, cos_incidence, missed_beams)


def apply_weather_to_scan(
    scan: LidarScan,
    weather: WeatherLike,
    rng: np.random.Generator,
    *,
    min_range_m: float,
    vehicle_boxes_lidar: np.ndarray | None = None,
    radiometry: LidarRadiometry | None = None,
) -> LidarScan:
    """A synthetic scan under ``weather`` (:func:`apply_lidar_weather` with exact labels).

    Ground returns for the wet road come from the semantic ids; the beams that returned
    nothing let fog and particles add echoes there. Weather echoes get class and instance
    id 0, ``cos_incidence`` 1. ``vehicle_boxes_lidar``: see ``spray_points``.
    """
    setup = LidarWeatherSetup(
        min_range_m=min_range_m,
        missed=scan.missed,
        vehicle_boxes_lidar=vehicle_boxes_lidar,
        ground_class_ids=tuple(SEMANTIC_IDS[s] for s in GROUND_SEMANTICS),
        radiometry=radiometry,
    )
    out = apply_lidar_weather(scan.points, weather, rng, setup)
    from_hard = out.source_index >= 0
    cos_incidence = np.ones(len(out.points), np.float32)
    cos_incidence[from_hard] = scan.cos_incidence[out.source_index[from_hard]]
    return LidarScan(out.points, cos_incidence, MissedBeams.none())
