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

import cv2
import numpy as np

from scenegen.effects.snow import SNOW_ALBEDO
from scenegen.frame import Calibration
from scenegen.sensors.camera import GBuffer
from scenegen.sensors.pixel_grid import PixelGrid as PixelGrid  # re-exported
from scenegen.sensors.pixel_grid import SurfacePixels
from scenegen.sensors.raycast import WorldRaycaster
from scenegen.sensors.settled_snow import settled_snow_share
from scenegen.sensors.shading_model import (
    HIGHLIGHT_GAIN,
    LAMP_CANDELA_TO_RELATIVE,
    LAMP_MIN_DIST2_M2,
    SKY_TERM_UP_WEIGHT,
    SPOT_EDGE_SHARPNESS,
    FrameLighting,
    check_shading_backend,
    shading_lamps,
    sky_radiance,
)
from scenegen.sensors.shading_model import SHADING_BACKENDS as SHADING_BACKENDS  # re-exported
from scenegen.sensors.shading_model import SkyLight as SkyLight  # re-exported
from scenegen.sensors.shading_model import sky_light as sky_light  # re-exported
from scenegen.sensors.sun_shadows import sun_visibility
from scenegen.sensors.textures import apply_textures
from scenegen.world.types import World


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
    # Only surface pixels are lit: the lamps are evaluated on those alone (the sky, often
    # a third of a night frame, is zero anyway).
    where = np.flatnonzero(valid_half)
    px, py, pz = (np.take(c, where) for c in points_half)
    nx, ny, nz = (np.take(c, where) for c in normals_half)
    R, t = T_cam_from_world[:3, :3], T_cam_from_world[:3, 3]
    # Lamps of one colour share a gain image; the colour is applied once per group.
    gains: dict[tuple[float, ...], np.ndarray] = {}
    dx, dy, dz = (np.empty_like(px) for _ in range(3))
    dist2, inv, tmp = (np.empty_like(px) for _ in range(3))
    one, zero = np.float32(1.0), np.float32(0.0)
    for lamp in shading_lamps(world):
        lx, ly, lz = (R @ np.asarray(lamp.position_world) + t).astype(np.float32)
        np.subtract(lx, px, out=dx)
        np.subtract(ly, py, out=dy)
        np.subtract(lz, pz, out=dz)
        np.multiply(dx, dx, out=dist2)
        dist2 += np.multiply(dy, dy, out=tmp)
        dist2 += np.multiply(dz, dz, out=tmp)
        np.maximum(dist2, np.float32(LAMP_MIN_DIST2_M2), out=dist2)
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
        gain *= np.float32(lamp.intensity_cd * LAMP_CANDELA_TO_RELATIVE)
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
            cone *= np.float32(1.0 / max(1.0 - cos_edge, 1e-3) * SPOT_EDGE_SHARPNESS)
            np.maximum(cone, zero, out=cone)
            np.minimum(cone, one, out=cone)
            gain *= cone
        colour = tuple(float(c) for c in lamp.color_rgb)
        if colour in gains:
            gains[colour] += gain
        else:
            gains[colour] = gain
    lit = np.zeros((px.size, 4), np.float32)
    for colour, gain in gains.items():
        for c, value in enumerate(colour):
            lit[:, c] += gain * np.float32(value)
    out = np.zeros((*valid_half.shape, 4), np.float32)
    np.put(out.view("V16")[..., 0], where, lit.view("V16")[:, 0])
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
    backend: str = "numpy",
) -> tuple[np.ndarray, SkyLight]:
    """Linear radiance float32 ``(H, W, 3)`` for a rendered G-buffer.

    ``raycaster`` enables sun shadows (``None`` renders without shadows); ``grid`` may be
    passed to reuse the per-pixel rays between frames of one camera. ``backend`` is one
    of ``SHADING_BACKENDS``: ``numpy`` (the default) or ``torch``
    (:mod:`scenegen.sensors.shading_torch`: the same model on CUDA when present, else on
    the CPU; equal within float32 rounding).

    Per pixel, ``radiance = albedo * (sky + sun + lamps) + highlight * sun_colour +
    emission`` (sky pixels: the sky's radiance). The scalar terms are computed on planar
    float32 images; the colours are applied by two per-pixel matrix products
    (``cv2.transform``) on a 4-channel image whose last channel carries the highlight.
    """
    grid = grid or PixelGrid.of(calibration)
    if backend != "numpy":
        check_shading_backend(backend)
        from scenegen.sensors.shading_torch import shade_torch

        return shade_torch(gbuffer, world, calibration, raycaster, grid)
    frame = FrameLighting.of(world, calibration)
    light, T_cam_from_world, T_world_from_cam = (
        frame.light, frame.T_cam_from_world, frame.T_world_from_cam
    )  # fmt: skip
    depth = gbuffer.depth_m
    node_ids = gbuffer.node_ids
    nodes = gbuffer.nodes
    h, w = depth.shape
    valid = np.isfinite(depth)
    nx, ny, nz = normals_from_depth(depth, grid)
    up = frame.up_cam
    ground = np.take(nodes.is_ground, node_ids)
    has_ground = bool(ground.any())
    surface = SurfacePixels(depth, grid, (nx, ny, nz), ground if has_ground else None, up)

    sun_dir, sun_cam = frame.sun_dir_world, frame.sun_cam
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
    sky_term *= np.float32(SKY_TERM_UP_WEIGHT)
    sky_term += np.float32(1.0 - SKY_TERM_UP_WEIGHT)
    sky_term *= np.float32(light.sky_irradiance)

    # Lighting that is computed at half resolution: lamps and sun shadows.
    need_sun = frame.needs_sun
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
            highlight *= np.float32(HIGHLIGHT_GAIN * light.sun_irradiance)

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
