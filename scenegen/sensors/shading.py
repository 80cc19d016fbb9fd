"""Deferred shading: linear radiance from the camera's G-buffer.

Units: radiance is relative, 1.0 being a white Lambertian surface under a clear midday
sun and sky. Lighting model per pixel:

* sun: ``E_sun * max(0, n.l) * visible`` where ``visible`` comes from a shadow ray cast
  towards the sun (open3d), at half resolution;
* sky: a hemisphere light, brighter on up-facing surfaces, stronger under clouds;
* lamps (street lights, headlights) at night: inverse-square point/spot lights;
* emission: lamps' own glow (headlights, tail lights, hazard lights, street lamps);
* a Blinn-Phong highlight for glossy materials.

Surface normals come from the exact depth (differences of back-projected points, the
side with the smaller depth step, so edges do not smear), except for the ground whose
normal is the world's up axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scenegen.frame import Calibration
from scenegen.sensors.camera import GBuffer
from scenegen.sensors.raycast import WorldRaycaster
from scenegen.world.types import World

SHADOW_MAX_DISTANCE_M = 150.0
MAX_LAMPS = 16


@dataclass(frozen=True)
class SkyLight:
    """Illumination levels derived from sun elevation and clouds (relative units)."""

    sun_irradiance: float
    sun_color: np.ndarray  # (3,) float32
    sky_irradiance: float
    sky_zenith_rgb: np.ndarray  # (3,) radiance of the sky straight up
    sky_horizon_rgb: np.ndarray  # (3,) radiance of the sky at the horizon

    @property
    def airlight_rgb(self) -> np.ndarray:
        """Radiance that fog scatters towards the camera: the horizon sky's."""
        return self.sky_horizon_rgb


def sky_light(sun_elevation_deg: float, cloud_cover: float) -> SkyLight:
    """Sun and sky levels for a sun elevation (degrees) and a cloud cover in [0, 1]."""
    elev = float(sun_elevation_deg)
    cloud = float(np.clip(cloud_cover, 0.0, 1.0))
    # Direct sun fades with air mass near the horizon and is cut by clouds.
    day = float(np.clip((elev + 6.0) / 12.0, 0.0, 1.0))  # 0 at -6 deg (civil dusk), 1 at +6
    sun = max(0.0, 1.0 - np.exp(-max(elev, 0.0) / 4.0)) * (1.0 - 0.85 * cloud)
    low = float(np.clip(1.0 - elev / 25.0, 0.0, 1.0))  # warmth of a low sun
    sun_color = np.array([1.0, 0.93 - 0.25 * low, 0.85 - 0.45 * low], np.float32)
    # Sky: bright by day, deep blue at dusk, moonlit grey-blue at night.
    night_level = 0.004
    sky = night_level + (0.30 + 0.25 * cloud) * day
    blue = np.array([0.35, 0.55, 1.0], np.float32)
    grey = np.array([0.75, 0.78, 0.82], np.float32)
    zenith = ((1 - cloud) * blue + cloud * grey) * (0.9 * day + 0.01)
    dusk = np.array([1.0, 0.55, 0.30], np.float32)
    horizon_day = (1 - cloud) * np.array([0.85, 0.9, 1.0], np.float32) + cloud * grey
    dusk_weight = float(np.clip(1.0 - abs(elev) / 8.0, 0.0, 1.0)) * (1 - cloud)
    horizon = ((1 - dusk_weight) * horizon_day + dusk_weight * dusk) * (1.1 * day + 0.012)
    return SkyLight(sun, sun_color, sky, zenith.astype(np.float32), horizon.astype(np.float32))


@dataclass(frozen=True)
class PixelGrid:
    """Per-pixel ray geometry of one camera, computed once and reused.

    ``a, b``: float32 ``(H, W)`` normalised image coordinates ``(u + 0.5 - cx) / fx`` and
    ``(v + 0.5 - cy) / fy`` of each pixel centre, so the camera-frame ray is ``(a, b, 1)``.
    """

    a: np.ndarray
    b: np.ndarray
    fx: float
    fy: float

    @staticmethod
    def of(calibration: Calibration) -> PixelGrid:
        k = calibration.intrinsics
        u = (np.arange(k.width, dtype=np.float32) + 0.5 - k.cx) / k.fx
        v = (np.arange(k.height, dtype=np.float32) + 0.5 - k.cy) / k.fy
        a = np.ascontiguousarray(np.broadcast_to(u[None, :], (k.height, k.width)))
        b = np.ascontiguousarray(np.broadcast_to(v[:, None], (k.height, k.width)))
        return PixelGrid(a, b, float(k.fx), float(k.fy))


def _one_sided_gradient(z: np.ndarray, axis: int) -> np.ndarray:
    """Derivative of ``z`` along ``axis`` (per pixel), from whichever neighbour is closer
    in depth, so gradients do not blend across silhouettes."""
    d = np.diff(z, axis=axis)
    pad_shape = list(z.shape)
    pad_shape[axis] = 1
    big = np.full(pad_shape, np.inf, np.float32)
    fwd = np.concatenate([d, big], axis=axis)
    bwd = np.concatenate([big, d], axis=axis)
    g = np.where(np.abs(fwd) < np.abs(bwd), fwd, bwd)
    g[~np.isfinite(g)] = 0.0
    return g


def normals_from_depth(depth_m: np.ndarray, grid: PixelGrid) -> tuple[np.ndarray, ...]:
    """Unit camera-frame normals ``(nx, ny, nz)``, each float32 ``(H, W)``, facing the camera.

    For a pinhole camera the (unnormalised) normal of the surface ``z(u, v)`` is
    ``(-fx z_u, -fy z_v, fx a z_u + fy b z_v + z)`` with ``(a, b)`` the normalised pixel
    coordinates: a cross product of the two tangent vectors, worked out by hand.
    """
    z = np.where(np.isfinite(depth_m), depth_m, 0.0).astype(np.float32)
    z_u = _one_sided_gradient(z, axis=1)
    z_v = _one_sided_gradient(z, axis=0)
    nx = -grid.fx * z_u
    ny = -grid.fy * z_v
    nz = -(nx * grid.a + ny * grid.b) + z
    inv = 1.0 / np.maximum(np.sqrt(nx * nx + ny * ny + nz * nz), 1e-12)
    # Facing the camera means n . (a, b, 1) < 0.
    sign = np.where(nx * grid.a + ny * grid.b + nz > 0, -inv, inv)
    return nx * sign, ny * sign, nz * sign


def sky_radiance(
    grid: PixelGrid, R_world_from_cam: np.ndarray, light: SkyLight, sun_dir_world: np.ndarray
) -> np.ndarray:
    """Radiance ``(H, W, 3)`` of the sky along each pixel ray: a horizon-to-zenith
    gradient and a glow around the sun, evaluated at quarter resolution (it is smooth).
    The sun's disc and glare are the lens's business (:mod:`scenegen.effects.glare`)."""
    h, w = grid.a.shape
    a, b = grid.a[::4, ::4], grid.b[::4, ::4]
    R = R_world_from_cam.astype(np.float32)
    d = [R[i, 0] * a + R[i, 1] * b + R[i, 2] for i in range(3)]
    inv = 1.0 / np.sqrt(d[0] ** 2 + d[1] ** 2 + d[2] ** 2)
    up = np.sqrt(np.clip(d[2] * inv, 0.0, 1.0))[..., None]
    cos_sun = (d[0] * sun_dir_world[0] + d[1] * sun_dir_world[1] + d[2] * sun_dir_world[2]) * inv
    glow = (0.6 * light.sun_irradiance) * np.exp((cos_sun - 1.0) * 40.0)
    small = (1 - up) * light.sky_horizon_rgb + up * light.sky_zenith_rgb
    small = small + glow[..., None] * light.sun_color
    sky = cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return sky


def _sun_visibility(
    points_cam: tuple[np.ndarray, ...],
    normals_cam: tuple[np.ndarray, ...],
    lit: np.ndarray,
    sun_dir_world: np.ndarray,
    T_world_from_cam: np.ndarray,
    raycaster: WorldRaycaster,
) -> np.ndarray:
    """1 where the sun is visible, 0 in shadow; rays cast at half resolution."""
    h, w = lit.shape
    ok = lit[::2, ::2]
    vis_sub = np.ones(ok.shape, np.float32)
    if ok.any():
        p = np.stack([c[::2, ::2][ok] for c in points_cam], axis=1)
        n = np.stack([c[::2, ::2][ok] for c in normals_cam], axis=1)
        R, t = T_world_from_cam[:3, :3], T_world_from_cam[:3, 3]
        origins = (p + n * 0.03) @ R.T + t + sun_dir_world * 0.02
        dirs = np.broadcast_to(sun_dir_world.astype(np.float32), origins.shape)
        blocked = raycaster.occluded(origins, dirs, SHADOW_MAX_DISTANCE_M)
        vis_sub[ok] = np.where(blocked, 0.0, 1.0)
    return cv2.resize(vis_sub, (w, h), interpolation=cv2.INTER_LINEAR)


def _lamp_irradiance(
    points_cam: tuple[np.ndarray, ...],
    normals_cam: tuple[np.ndarray, ...],
    valid: np.ndarray,
    world: World,
    T_cam_from_world: np.ndarray,
) -> np.ndarray:
    """Irradiance ``(H, W, 3)`` from the world's lamps, computed at half resolution."""
    h, w = valid.shape
    px, py, pz = (c[::2, ::2] for c in points_cam)
    nx, ny, nz = (c[::2, ::2] for c in normals_cam)
    out = np.zeros((*px.shape, 3), np.float32)
    # The lamps nearest the camera matter most; cap their number to bound the cost.
    lights = sorted(world.lights, key=lambda lamp: float(np.hypot(*lamp.position_world[:2])))
    R, t = T_cam_from_world[:3, :3], T_cam_from_world[:3, 3]
    for lamp in lights[:MAX_LAMPS]:
        lx, ly, lz = (R @ np.asarray(lamp.position_world) + t).astype(np.float32)
        dx, dy, dz = lx - px, ly - py, lz - pz
        dist2 = np.maximum(dx * dx + dy * dy + dz * dz, 0.25)
        inv = 1.0 / np.sqrt(dist2)
        dx, dy, dz = dx * inv, dy * inv, dz * inv
        lambert = np.clip(dx * nx + dy * ny + dz * nz, 0.0, 1.0)
        gain = (lamp.intensity_cd * 1e-4) * lambert / dist2  # 1e-4: candela to relative units
        if lamp.direction_world is not None:
            ax, ay, az = (R @ np.asarray(lamp.direction_world)).astype(np.float32)
            norm = np.sqrt(ax * ax + ay * ay + az * az)
            cos_off = -(dx * ax + dy * ay + dz * az) / norm
            cos_edge = np.cos(np.deg2rad(lamp.cone_half_angle_deg))
            gain *= np.clip((cos_off - cos_edge) / max(1.0 - cos_edge, 1e-3) * 3.0, 0.0, 1.0)
        out += gain[..., None] * np.asarray(lamp.color_rgb, np.float32)
    out[~valid[::2, ::2]] = 0
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


def shade(
    gbuffer: GBuffer,
    world: World,
    calibration: Calibration,
    raycaster: WorldRaycaster | None,
    grid: PixelGrid | None = None,
) -> tuple[np.ndarray, SkyLight]:
    """Linear radiance float32 ``(H, W, 3)`` for a rendered G-buffer.

    ``raycaster`` enables sun shadows (``None`` renders without shadows); ``grid`` may be
    passed to reuse the per-pixel rays between frames of one camera.
    """
    grid = grid or PixelGrid.of(calibration)
    light = sky_light(world.sun_elevation_deg, world.cloud_cover)
    T_cam_from_world = calibration.T_cam_from_world
    T_world_from_cam = np.linalg.inv(T_cam_from_world)
    R_cw = T_cam_from_world[:3, :3]
    depth = gbuffer.depth_m
    valid = np.isfinite(depth)
    z = np.where(valid, depth, 0.0).astype(np.float32)
    points = (grid.a * z, grid.b * z, z)
    nx, ny, nz = normals_from_depth(depth, grid)
    up = (R_cw @ np.array([0.0, 0.0, 1.0])).astype(np.float32)
    ground = gbuffer.nodes.is_ground[gbuffer.node_ids]
    nx[ground], ny[ground], nz[ground] = up
    normals = (nx, ny, nz)

    sun_dir = np.asarray(world.sun_direction_world, np.float64)
    sun_dir /= np.linalg.norm(sun_dir)
    sun_cam = (R_cw @ sun_dir).astype(np.float32)
    n_up = nx * up[0] + ny * up[1] + nz * up[2]
    sky_tint = 0.5 * light.sky_zenith_rgb / max(float(light.sky_zenith_rgb.max()), 1e-6) + 0.5
    irradiance = (light.sky_irradiance * (0.55 + 0.45 * n_up))[..., None] * sky_tint
    highlight = None
    if light.sun_irradiance > 1e-4 and sun_dir[2] > 0:
        ndotl = np.clip(nx * sun_cam[0] + ny * sun_cam[1] + nz * sun_cam[2], 0.0, 1.0)
        lit = valid & (ndotl > 0)
        if raycaster is not None:
            vis = _sun_visibility(points, normals, lit, sun_dir, T_world_from_cam, raycaster)
            ndotl *= vis
        irradiance += (light.sun_irradiance * ndotl)[..., None] * light.sun_color
        spec_strength = gbuffer.nodes.specular[gbuffer.node_ids]
        glossy = spec_strength > 0
        if glossy.any():
            # Blinn-Phong: half vector between the view direction (-ray) and the sun.
            inv = 1.0 / np.sqrt(grid.a**2 + grid.b**2 + 1.0)
            hx, hy, hz = sun_cam[0] - grid.a * inv, sun_cam[1] - grid.b * inv, sun_cam[2] - inv
            hinv = 1.0 / np.maximum(np.sqrt(hx * hx + hy * hy + hz * hz), 1e-6)
            ndoth = np.clip((hx * nx + hy * ny + hz * nz) * hinv, 0.0, 1.0)
            highlight = (2.0 * light.sun_irradiance) * spec_strength * ndoth**48 * (ndotl > 0)
    if world.lights:
        irradiance += _lamp_irradiance(points, normals, valid, world, T_cam_from_world)

    radiance = gbuffer.nodes.albedo_lin[gbuffer.node_ids] * irradiance
    if highlight is not None:
        radiance += highlight[..., None] * light.sun_color
    radiance += gbuffer.nodes.emissive_lin[gbuffer.node_ids]
    sky = sky_radiance(grid, T_world_from_cam[:3, :3], light, sun_dir)
    radiance[~valid] = sky[~valid]
    return radiance.astype(np.float32, copy=False), light
