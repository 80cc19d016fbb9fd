"""Deferred shading: linear radiance from the camera's G-buffer.

Units: radiance is relative, 1.0 being a white Lambertian surface under a clear midday
sun and sky. Lighting model per pixel:

* sun: ``E_sun * max(0, n.l) * visible`` where ``visible`` comes from shadow rays cast
  towards the sun (open3d; :mod:`scenegen.sensors.sun_shadows`: half resolution, full
  resolution along shadow edges);
* sky: a hemisphere light, brighter on up-facing surfaces, stronger under clouds;
* lamps (street lights, headlights) at night: inverse-square point/spot lights;
* emission: lamps' own glow (headlights, tail lights, hazard lights, street lamps);
* a Blinn-Phong highlight for glossy materials;
* albedo: the material's, times its procedural texture (:mod:`scenegen.sensors.textures`),
  under settled snow where it snows (:mod:`scenegen.sensors.settled_snow`).

Surface normals come from the exact depth (differences of back-projected points, the
side with the smaller depth step, so edges do not smear), except for the ground whose
normal is the world's up axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scenegen.effects.snow import SNOW_ALBEDO
from scenegen.frame import Calibration
from scenegen.sensors.camera import GBuffer
from scenegen.sensors.pixel_grid import PixelGrid as PixelGrid  # re-exported
from scenegen.sensors.pixel_grid import SurfacePixels
from scenegen.sensors.raycast import WorldRaycaster
from scenegen.sensors.settled_snow import settled_snow_share
from scenegen.sensors.sun_shadows import sun_visibility
from scenegen.sensors.textures import apply_textures
from scenegen.world.types import World

MAX_LAMPS = 16


@dataclass(frozen=True)
class SkyLight:
    """Illumination levels derived from sun elevation and clouds (relative units)."""

    sun_irradiance: float
    sun_color: np.ndarray  # (3,) float32
    sky_irradiance: float
    sky_zenith_rgb: np.ndarray  # (3,) radiance of the sky straight up
    sky_horizon_rgb: np.ndarray  # (3,) radiance of the sky at the horizon

    def scaled(self, level: float, sun_colour_rgb: tuple[float, float, float]) -> SkyLight:
        """This light with sun and sky levels times ``level`` and the sun's colour times
        ``sun_colour_rgb`` (domain randomisation; 1 and (1, 1, 1) change nothing)."""
        if level == 1.0 and sun_colour_rgb == (1.0, 1.0, 1.0):
            return self
        return SkyLight(
            self.sun_irradiance * level,
            (self.sun_color * np.asarray(sun_colour_rgb, np.float32)).astype(np.float32),
            self.sky_irradiance * level,
            (self.sky_zenith_rgb * level).astype(np.float32),
            (self.sky_horizon_rgb * level).astype(np.float32),
        )

    @property
    def airlight_rgb(self) -> np.ndarray:
        """Radiance that fog scatters towards the camera: the horizon sky's."""
        return self.sky_horizon_rgb


# Relative units: 1.0 is a white surface under a clear midday sun and sky, about 10^4 lux
# of the lamp model (candela x 1e-4 / d^2). A moonless night sky under urban skyglow gives
# 0.1-1 lux (Kyba et al., "Cloud coverage acts as an amplifier for ecological light
# pollution in urban ecosystems", PLoS ONE 6(3), 2011: overcast city skies are several
# times brighter than clear ones); the end of civil twilight (sun at -6 deg) about 3 lux.
CLEAR_SKY_DIFFUSE = 0.135
OVERCAST_EXTRA_DIFFUSE = 0.42
NIGHT_SKY_IRRADIANCE = 2e-5
NIGHT_SKY_CLOUD_GAIN = 2.0  # overcast skies reflect the city's light back down
CIVIL_DUSK_SKY_IRRADIANCE = 3e-4
# Radiance colours of the night sky: clear, a deep blue; overcast, skyglow lit from below.
NIGHT_SKY_CLEAR_RGB = np.array([0.25, 0.35, 0.8], np.float32)
NIGHT_SKY_GLOW_RGB = np.array([1.0, 0.72, 0.48], np.float32)


def sky_light(sun_elevation_deg: float, cloud_cover: float) -> SkyLight:
    """Sun and sky levels for a sun elevation (degrees) and a cloud cover in [0, 1].

    Above 6 deg of sun elevation the sky is the day's; below -6 deg it is the night's
    (skyglow and twilight, hundreds to thousands of times darker), blended linearly in
    between.
    """
    elev = float(sun_elevation_deg)
    cloud = float(np.clip(cloud_cover, 0.0, 1.0))
    # Direct sun fades with air mass near the horizon and is cut by clouds.
    day = float(np.clip((elev + 6.0) / 12.0, 0.0, 1.0))  # 0 at -6 deg (civil dusk), 1 at +6
    sun = max(0.0, 1.0 - np.exp(-max(elev, 0.0) / 4.0)) * (1.0 - 0.85 * cloud)
    low = float(np.clip(1.0 - elev / 25.0, 0.0, 1.0))  # warmth of a low sun
    sun_color = np.array([1.0, 0.93 - 0.25 * low, 0.85 - 0.45 * low], np.float32)
    # Night: skyglow, brighter under clouds, plus the last of the twilight down to -12 deg.
    twilight = CIVIL_DUSK_SKY_IRRADIANCE * float(np.clip((elev + 12.0) / 6.0, 0.0, 1.0)) ** 2
    night = NIGHT_SKY_IRRADIANCE * (1.0 + NIGHT_SKY_CLOUD_GAIN * cloud) + twilight
    # Clear-sky diffuse light is ~16 % of the global horizontal irradiance with the sun at
    # 45 deg (Erbs, Klein & Duffie, Solar Energy 28(4), 1982: diffuse fraction at a
    # clearness index of 0.75), so shadows keep about a fifth of the sunlit level;
    # under full overcast the diffuse sky is all the light there is.
    sky = day * (CLEAR_SKY_DIFFUSE + OVERCAST_EXTRA_DIFFUSE * cloud) + (1.0 - day) * night
    blue = np.array([0.35, 0.55, 1.0], np.float32)
    grey = np.array([0.75, 0.78, 0.82], np.float32)
    night_rgb = (1 - cloud) * NIGHT_SKY_CLEAR_RGB + cloud * NIGHT_SKY_GLOW_RGB
    zenith = ((1 - cloud) * blue + cloud * grey) * (0.91 * day) + (1 - day) * night * night_rgb
    dusk = np.array([1.0, 0.55, 0.30], np.float32)
    horizon_day = (1 - cloud) * np.array([0.85, 0.9, 1.0], np.float32) + cloud * grey
    dusk_weight = float(np.clip(1.0 - abs(elev) / 8.0, 0.0, 1.0)) * (1 - cloud)
    # The horizon glows more than the zenith at night: the city's light scattered low.
    horizon = ((1 - dusk_weight) * horizon_day + dusk_weight * dusk) * (1.112 * day) + (1 - day) * (
        1.2 * night
    ) * night_rgb
    return SkyLight(sun, sun_color, sky, zenith.astype(np.float32), horizon.astype(np.float32))


def _one_sided_gradient(z: np.ndarray, axis: int) -> np.ndarray:
    """Derivative of a finite ``z`` along ``axis`` (per pixel), from whichever neighbour is
    closer in depth, so gradients do not blend across silhouettes (the backward difference
    on ties; the only neighbour on the border)."""
    zt = z if axis == 1 else z.T
    d = np.diff(zt, axis=1)
    ad = np.abs(d)
    g = np.empty_like(zt)
    g[:, 0] = d[:, 0]
    g[:, -1] = d[:, -1]
    np.copyto(g[:, 1:-1], d[:, :-1])
    np.copyto(g[:, 1:-1], d[:, 1:], where=ad[:, 1:] < ad[:, :-1])
    return g if axis == 1 else g.T


def normals_from_depth(depth_m: np.ndarray, grid: PixelGrid) -> tuple[np.ndarray, ...]:
    """Unit camera-frame normals ``(nx, ny, nz)``, each float32 ``(H, W)``, facing the camera.

    For a pinhole camera the (unnormalised) normal of the surface ``z(u, v)`` is
    ``(-fx z_u, -fy z_v, fx a z_u + fy b z_v + z)`` with ``(a, b)`` the normalised pixel
    coordinates: a cross product of the two tangent vectors, worked out by hand.
    """
    z = np.where(np.isfinite(depth_m), depth_m, np.float32(0.0)).astype(np.float32, copy=False)
    nx = _one_sided_gradient(z, axis=1)
    nx *= np.float32(-grid.fx)
    ny = _one_sided_gradient(z, axis=0)
    ny *= np.float32(-grid.fy)
    t = nx * grid.a
    t += ny * grid.b
    nz = z - t
    norm2 = nx * nx
    norm2 += ny * ny
    norm2 += nz * nz
    inv = np.sqrt(norm2, out=norm2)
    np.maximum(inv, np.float32(1e-12), out=inv)
    np.divide(np.float32(1.0), inv, out=inv)
    # Facing the camera means n . (a, b, 1) < 0; that dot product is t + nz (= z).
    t += nz
    np.negative(t, out=t)
    sign = np.copysign(inv, t, out=inv)
    nx *= sign
    ny *= sign
    nz *= sign
    return nx, ny, nz


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


def _lamp_irradiance(
    points_half: tuple[np.ndarray, ...],
    normals_half: tuple[np.ndarray, ...],
    valid_half: np.ndarray,
    shape: tuple[int, int],
    world: World,
    T_cam_from_world: np.ndarray,
) -> np.ndarray:
    """Irradiance from the world's lamps, computed at the half-resolution pixels of
    ``points_half`` (zero where not ``valid_half``): float32 ``(H, W, 4)``, rgb and a
    zero fourth channel (the layout :func:`shade` works in)."""
    h, w = shape
    px, py, pz = points_half
    nx, ny, nz = normals_half
    # The lamps nearest the camera matter most; cap their number to bound the cost.
    lights = sorted(world.lights, key=lambda lamp: float(np.hypot(*lamp.position_world[:2])))
    R, t = T_cam_from_world[:3, :3], T_cam_from_world[:3, 3]
    # Lamps of one colour share a gain image; the colour is applied once per group.
    gains: dict[tuple[float, ...], np.ndarray] = {}
    dx, dy, dz = (np.empty_like(px) for _ in range(3))
    dist2, inv, tmp = (np.empty_like(px) for _ in range(3))
    one, zero = np.float32(1.0), np.float32(0.0)
    for lamp in lights[:MAX_LAMPS]:
        lx, ly, lz = (R @ np.asarray(lamp.position_world) + t).astype(np.float32)
        np.subtract(lx, px, out=dx)
        np.subtract(ly, py, out=dy)
        np.subtract(lz, pz, out=dz)
        np.multiply(dx, dx, out=dist2)
        dist2 += np.multiply(dy, dy, out=tmp)
        dist2 += np.multiply(dz, dz, out=tmp)
        np.maximum(dist2, np.float32(0.25), out=dist2)
        np.sqrt(dist2, out=inv)
        np.divide(one, inv, out=inv)
        dx *= inv
        dy *= inv
        dz *= inv
        lambert = np.multiply(dx, nx)
        lambert += np.multiply(dy, ny, out=tmp)
        lambert += np.multiply(dz, nz, out=tmp)
        np.maximum(lambert, zero, out=lambert)
        np.minimum(lambert, one, out=lambert)
        gain = np.divide(lambert, dist2, out=lambert)
        gain *= np.float32(lamp.intensity_cd * 1e-4)  # 1e-4: candela to relative units
        if lamp.direction_world is not None:
            ax, ay, az = (R @ np.asarray(lamp.direction_world)).astype(np.float32)
            norm = np.sqrt(ax * ax + ay * ay + az * az)
            cos_edge = np.cos(np.deg2rad(lamp.cone_half_angle_deg))
            # cos_off = -(d . axis) / |axis|; cone = clip((cos_off - cos_edge) * k, 0, 1)
            cone = np.multiply(dx, ax, out=dist2)
            cone += np.multiply(dy, ay, out=tmp)
            cone += np.multiply(dz, az, out=tmp)
            cone *= np.float32(-1.0 / norm)
            cone -= np.float32(cos_edge)
            cone *= np.float32(1.0 / max(1.0 - cos_edge, 1e-3) * 3.0)
            np.maximum(cone, zero, out=cone)
            np.minimum(cone, one, out=cone)
            gain *= cone
        colour = tuple(float(c) for c in lamp.color_rgb)
        if colour in gains:
            gains[colour] += gain
        else:
            gains[colour] = gain
    out = np.zeros((*px.shape, 4), np.float32)
    zero = np.zeros_like(px)
    for colour, gain in gains.items():
        out += cv2.merge([*(gain * np.float32(c) for c in colour), zero])
    out[~valid_half] = 0
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


def _gather4(table: np.ndarray, node_ids: np.ndarray) -> np.ndarray:
    """``table[node_ids]`` for a float32 ``(N, 4)`` table: float32 ``(H, W, 4)``.

    Gathers 16-byte rows as single items, several times faster than fancy indexing.
    """
    rows = np.ascontiguousarray(table, dtype=np.float32).view("V16")[:, 0]
    return np.take(rows, node_ids).view(np.float32).reshape(*node_ids.shape, 4)


def _dot3(vx: np.ndarray, vy: np.ndarray, vz: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``vx c0 + vy c1 + vz c2`` for float32 images and a constant 3-vector."""
    out = vx * np.float32(c[0])
    out += vy * np.float32(c[1])
    out += vz * np.float32(c[2])
    return out


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

    Per pixel, ``radiance = albedo * (sky + sun + lamps) + highlight * sun_colour +
    emission`` (sky pixels: the sky's radiance). The scalar terms are computed on planar
    float32 images; the colours are applied by two per-pixel matrix products
    (``cv2.transform``) on a 4-channel image whose last channel carries the highlight.
    """
    grid = grid or PixelGrid.of(calibration)
    light = sky_light(world.sun_elevation_deg, world.cloud_cover).scaled(
        world.light_level_scale, world.sun_colour_scale_rgb
    )
    T_cam_from_world = calibration.T_cam_from_world
    T_world_from_cam = np.linalg.inv(T_cam_from_world)
    R_cw = T_cam_from_world[:3, :3]
    depth = gbuffer.depth_m
    node_ids = gbuffer.node_ids
    nodes = gbuffer.nodes
    h, w = depth.shape
    valid = np.isfinite(depth)
    nx, ny, nz = normals_from_depth(depth, grid)
    up = (R_cw @ np.array([0.0, 0.0, 1.0])).astype(np.float32)
    ground = np.take(nodes.is_ground, node_ids)
    has_ground = bool(ground.any())
    surface = SurfacePixels(depth, grid, (nx, ny, nz), ground if has_ground else None, up)

    sun_dir = np.asarray(world.sun_direction_world, np.float64)
    sun_dir /= np.linalg.norm(sun_dir)
    sun_cam = (R_cw @ sun_dir).astype(np.float32)
    # Ground normals are the world's up axis: their dot products are constants.
    n_up = _dot3(nx, ny, nz, up)
    if has_ground:
        np.copyto(n_up, _dot3(*up, up), where=ground)
    snow = (
        settled_snow_share(world, nodes, node_ids, n_up, valid, depth, grid, T_world_from_cam)
        if world.snow_rate_mm_h > 0
        else None
    )
    sky_tint = 0.5 * light.sky_zenith_rgb / max(float(light.sky_zenith_rgb.max()), 1e-6) + 0.5
    sky_term = n_up
    sky_term *= np.float32(0.45)
    sky_term += np.float32(0.55)
    sky_term *= np.float32(light.sky_irradiance)

    # Lighting that is computed at half resolution: lamps and sun shadows.
    need_sun = light.sun_irradiance > 1e-4 and sun_dir[2] > 0
    need_half = bool(world.lights) or (need_sun and raycaster is not None)
    if need_half:
        z_half = np.where(valid[::2, ::2], depth[::2, ::2], np.float32(0.0))
        points_half = (grid.a_half * z_half, grid.b_half * z_half, z_half)
        normals_half = tuple(np.ascontiguousarray(c[::2, ::2]) for c in (nx, ny, nz))
        if has_ground:
            ground_half = ground[::2, ::2]
            for c, value in zip(normals_half, up, strict=True):
                np.copyto(c, value, where=ground_half)

    sun_term = None
    highlight = None
    if need_sun:
        ndotl = _dot3(nx, ny, nz, sun_cam)
        if has_ground:
            np.copyto(ndotl, _dot3(*up, sun_cam), where=ground)
        np.maximum(ndotl, np.float32(0.0), out=ndotl)
        np.minimum(ndotl, np.float32(1.0), out=ndotl)
        if raycaster is not None:
            lit = valid & (ndotl > 0)
            vis = sun_visibility(
                points_half,
                normals_half,
                lit[::2, ::2],
                surface,
                lit,
                sun_dir,
                T_world_from_cam,
                raycaster,
            )
            ndotl *= vis
        sun_term = ndotl * np.float32(light.sun_irradiance)
        highlight = _sun_highlight(
            grid, nodes.specular, node_ids, (nx, ny, nz), ground, up, sun_cam, ndotl
        )
        if highlight is not None:
            highlight *= np.float32(2.0 * light.sun_irradiance)

    # Irradiance (rgb) and highlight as one 4-channel image, [sky, sun, highlight, 0]
    # times a 4x4 matrix: OpenCV's 4-to-4 channel transform is vectorised (4-to-3 is not).
    zero = np.zeros_like(sky_term)
    fields = cv2.merge(
        [
            sky_term,
            sun_term if sun_term is not None else zero,
            highlight if highlight is not None else zero,
            zero,
        ]
    )
    to_irradiance = np.zeros((4, 4), np.float32)
    to_irradiance[:3, 0] = sky_tint
    to_irradiance[:3, 1] = light.sun_color
    to_irradiance[3, 2] = 1.0
    irradiance = cv2.transform(fields, to_irradiance)
    if world.lights:
        lamps = _lamp_irradiance(
            points_half, normals_half, valid[::2, ::2], (h, w), world, T_cam_from_world
        )
        irradiance += lamps

    albedo4 = np.zeros((len(nodes.albedo_lin), 4), np.float32)
    albedo4[:, :3] = nodes.albedo_lin
    albedo4[:, 3] = 1.0
    albedo4[0] = 0.0  # sky: filled in below
    radiance4 = irradiance
    albedo_px = _gather4(albedo4, node_ids)
    apply_textures(albedo_px, nodes.texture, node_ids, surface, T_world_from_cam)
    if snow is not None:
        # Snow replaces the surface's albedo where it lies (and hides its gloss).
        snow4 = np.array([SNOW_ALBEDO, SNOW_ALBEDO, SNOW_ALBEDO, 0.0], np.float32)
        albedo_px += snow[..., None] * (snow4 - albedo_px)
        if highlight is not None:
            radiance4[..., 3] *= 1.0 - snow
    radiance4 *= albedo_px
    if nodes.emissive_lin.any():
        emissive4 = np.zeros((len(nodes.emissive_lin), 4), np.float32)
        emissive4[:, :3] = nodes.emissive_lin
        radiance4 += _gather4(emissive4, node_ids)
    # rgb += highlight * sun colour
    to_radiance = np.eye(4, dtype=np.float32)
    to_radiance[:3, 3] = light.sun_color
    radiance = cv2.cvtColor(cv2.transform(radiance4, to_radiance), cv2.COLOR_RGBA2RGB)
    sky = ~valid
    if sky.any():
        sky_rgb = sky_radiance(grid, T_world_from_cam[:3, :3], light, sun_dir)
        cv2.copyTo(sky_rgb, sky.view(np.uint8), radiance)
    return radiance, light


def _sun_highlight(
    grid: PixelGrid,
    specular: np.ndarray,
    node_ids: np.ndarray,
    normals: tuple[np.ndarray, ...],
    ground: np.ndarray,
    up: np.ndarray,
    sun_cam: np.ndarray,
    ndotl: np.ndarray,
) -> np.ndarray | None:
    """Blinn-Phong ``specular * (n . h)^48`` where the sun lights a glossy surface, else 0.

    ``h`` is the half vector between the view direction (``-ray``) and the sun. Computed
    only at glossy pixels; returns float32 ``(H, W)``, or ``None`` if nothing is glossy.
    """
    if not (specular > 0).any():
        return None
    strength = np.take(specular.astype(np.float32), node_ids)
    where = np.flatnonzero(strength)
    if where.size == 0:
        return None
    inv = np.take(grid.inv_ray_length, where)
    hx = sun_cam[0] - np.take(grid.a, where) * inv
    hy = sun_cam[1] - np.take(grid.b, where) * inv
    hz = sun_cam[2] - inv
    hinv = 1.0 / np.maximum(np.sqrt(hx * hx + hy * hy + hz * hz), np.float32(1e-6))
    n = [np.take(c, where) for c in normals]
    on_ground = np.take(ground, where)
    if on_ground.any():
        for c, value in zip(n, up, strict=True):
            c[on_ground] = value
    ndoth = np.clip((hx * n[0] + hy * n[1] + hz * n[2]) * hinv, 0.0, 1.0)
    # x^48 by squaring: x^3, then four squarings.
    p = ndoth * ndoth * ndoth
    for _ in range(4):
        p *= p
    p *= np.take(strength, where)
    p *= np.take(ndotl, where) > 0
    out = np.zeros(node_ids.shape, np.float32)
    np.put(out, where, p)
    return out
