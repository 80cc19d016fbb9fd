"""The deferred-shading model of :mod:`scenegen.sensors.shading`, in torch.

Selected by ``shade(..., backend="torch")`` (``--shading-backend torch``): the per-pixel
work (normals from depth, sky and sun terms, the Blinn-Phong highlight, the lamps, the
albedo and emission look-ups, the procedural textures, settled snow's albedo) runs on a
CUDA GPU when torch sees one and on the CPU otherwise. Three sub-stages stay in numpy
inside this path, as the numpy backend runs them:

* the sun's shadow rays (:func:`~scenegen.sensors.sun_shadows.sun_visibility`): they are
  cast by the world's ray caster (open3d, or warp with ``--lidar-backend warp``), which
  takes host arrays;
* the settled-snow share (:func:`~scenegen.sensors.settled_snow.settled_snow_share`): the
  world-fixed patch field of :mod:`scenegen.effects` (one function for the renderer and
  the augmentation of real frames);
* the sky dome (:func:`~scenegen.sensors.shading_model.sky_radiance`), a quarter-resolution
  gradient.

The model's constants and light levels come from :mod:`scenegen.sensors.shading_model`,
which both backends import. The result equals the numpy path's within float32 rounding
(``tests/test_shading_torch.py``). torch is optional: it is imported when a frame is
first shaded with it, with a message saying what to install when it is missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scenegen.effects.snow import SNOW_ALBEDO
from scenegen.frame import Calibration
from scenegen.sensors.camera import GBuffer
from scenegen.sensors.pixel_grid import PixelGrid, SurfacePixels
from scenegen.sensors.raycast import WorldRaycaster
from scenegen.sensors.settled_snow import settled_snow_share
from scenegen.sensors.shading_model import (
    HIGHLIGHT_GAIN,
    LAMP_CANDELA_TO_RELATIVE,
    LAMP_MIN_DIST2_M2,
    SKY_TERM_UP_WEIGHT,
    SPOT_EDGE_SHARPNESS,
    FrameLighting,
    SkyLight,
    shading_lamps,
    sky_radiance,
)
from scenegen.sensors.sun_shadows import sun_visibility
from scenegen.sensors.textures_torch import texture_coordinates_torch, texture_multipliers_torch
from scenegen.world.types import Light, World


def import_torch() -> Any:
    """torch, or an ``ImportError`` that says how to get it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise ImportError(
            "the torch shading backend needs PyTorch: pip install torch "
            "(or render with --shading-backend numpy)"
        ) from exc
    return torch


def shading_device() -> str:
    """Where the torch backend shades: ``cuda`` when torch sees a GPU, else ``cpu``."""
    torch = import_torch()
    return "cuda" if torch.cuda.is_available() else "cpu"


def select_cuda_device(gpu_index: int | None) -> None:
    """Shade on GPU ``gpu_index`` (the worker's EGL device) when torch sees GPUs; a no-op
    on the CPU or for ``None``. EGL and CUDA usually number one machine's GPUs alike; where
    they do not, set ``CUDA_DEVICE_ORDER=PCI_BUS_ID``."""
    torch = import_torch()
    if gpu_index is not None and torch.cuda.is_available():
        torch.cuda.set_device(gpu_index % torch.cuda.device_count())


def _one_sided_gradient(torch: Any, z: Any, dim: int) -> Any:
    """Torch twin of :func:`scenegen.sensors.shading._one_sided_gradient`."""
    d = torch.diff(z, dim=dim)
    n = z.shape[dim]
    back = d.narrow(dim, 0, n - 2)
    fwd = d.narrow(dim, 1, n - 2)
    inner = torch.where(fwd.abs() < back.abs(), fwd, back)
    return torch.cat([d.narrow(dim, 0, 1), inner, d.narrow(dim, n - 2, 1)], dim=dim)


def _upsample(torch: Any, image_chw: Any, shape: tuple[int, int]) -> Any:
    """Bilinear resize with pixel centres aligned (OpenCV's ``INTER_LINEAR``)."""
    resized = torch.nn.functional.interpolate(
        image_chw[None], size=shape, mode="bilinear", align_corners=False
    )
    return resized[0]


def _f32(x: float) -> float:
    """``x`` rounded to float32, as the numpy path's ``np.float32`` constants are."""
    return float(np.float32(x))


def _dot3_np(v: np.ndarray, c: np.ndarray) -> float:
    """``v . c`` in float32, in the numpy path's order (its ground-normal constants)."""
    v, c = v.astype(np.float32), c.astype(np.float32)
    return float(v[0] * c[0] + v[1] * c[1] + v[2] * c[2])


def shade_torch(
    gbuffer: GBuffer,
    world: World,
    calibration: Calibration,
    raycaster: WorldRaycaster | None,
    grid: PixelGrid,
    device: str | None = None,
) -> tuple[np.ndarray, SkyLight]:
    """:func:`scenegen.sensors.shading.shade` in torch; same arguments and result
    (float32 ``(H, W, 3)`` numpy radiance and the sky levels). ``device`` defaults to
    :func:`shading_device`."""
    torch = import_torch()
    dev = torch.device(device or shading_device())

    def tensor(x: np.ndarray) -> Any:
        return torch.as_tensor(np.ascontiguousarray(x), device=dev)

    def host(x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    frame = FrameLighting.of(world, calibration)
    light, T_cam_from_world, T_world_from_cam = (
        frame.light, frame.T_cam_from_world, frame.T_world_from_cam
    )  # fmt: skip
    depth_np = gbuffer.depth_m
    nodes = gbuffer.nodes
    h, w = depth_np.shape
    valid_np = np.isfinite(depth_np)
    depth = tensor(depth_np)
    node_ids = tensor(gbuffer.node_ids).long()
    valid = tensor(valid_np)
    a, b, inv_ray = tensor(grid.a), tensor(grid.b), tensor(grid.inv_ray_length)

    # Normals from depth (see normals_from_depth for the formula).
    z = torch.where(valid, depth, torch.zeros((), dtype=depth.dtype, device=dev))
    nx = _one_sided_gradient(torch, z, 1) * _f32(-grid.fx)
    ny = _one_sided_gradient(torch, z, 0) * _f32(-grid.fy)
    t = nx * a + ny * b
    nz = z - t
    norm = torch.sqrt(nx * nx + ny * ny + nz * nz).clamp_min(1e-12)
    sign = torch.copysign(1.0 / norm, -(t + nz))
    nx, ny, nz = nx * sign, ny * sign, nz * sign

    up = frame.up_cam
    ground = tensor(nodes.is_ground)[node_ids]
    has_ground = bool(ground.any())

    def on_ground(image: Any, value: float) -> Any:
        """``image`` with the ground's pixels set to ``value`` (an up-axis constant)."""
        return torch.where(ground, torch.tensor(value, device=dev), image) if has_ground else image

    def dot(c: np.ndarray) -> Any:
        """``n . c`` per pixel, the ground's normal being the world's up axis."""
        c = c.astype(np.float32)
        out = nx * float(c[0]) + ny * float(c[1]) + nz * float(c[2])
        return on_ground(out, _dot3_np(up, c))

    sun_dir, sun_cam = frame.sun_dir_world, frame.sun_cam
    n_up = dot(up)
    snow = None
    normals_np = (host(nx), host(ny), host(nz))
    ground_np = host(ground)
    surface = SurfacePixels(depth_np, grid, normals_np, ground_np if has_ground else None, up)
    if world.snow_rate_mm_h > 0:
        snow_np = settled_snow_share(
            world, nodes, gbuffer.node_ids, host(n_up).copy(), valid_np, depth_np, grid,
            T_world_from_cam,
        )  # fmt: skip
        snow = tensor(snow_np)
    sky_tint = 0.5 * light.sky_zenith_rgb / max(float(light.sky_zenith_rgb.max()), 1e-6) + 0.5
    sky_term = (n_up * _f32(SKY_TERM_UP_WEIGHT) + _f32(1.0 - SKY_TERM_UP_WEIGHT)) * _f32(
        light.sky_irradiance
    )

    lamps = shading_lamps(world)
    need_sun = frame.needs_sun
    need_half = bool(lamps) or (need_sun and raycaster is not None)
    if need_half:
        valid_half = valid[::2, ::2]
        z_half = torch.where(valid_half, depth[::2, ::2], torch.zeros((), device=dev))
        points_half = (tensor(grid.a_half) * z_half, tensor(grid.b_half) * z_half, z_half)
        normals_half = tuple(
            on_ground(c, float(value))[::2, ::2].contiguous()
            for c, value in zip((nx, ny, nz), up, strict=True)
        )

    irradiance = torch.stack([sky_term * float(c) for c in sky_tint.astype(np.float32)])
    highlight = None
    if need_sun:
        ndotl = dot(sun_cam).clamp(0.0, 1.0)
        if raycaster is not None:
            lit = valid & (ndotl > 0)
            vis = sun_visibility(
                tuple(host(p) for p in points_half),
                tuple(host(n) for n in normals_half),
                host(lit[::2, ::2]),
                surface,
                host(lit),
                sun_dir,
                T_world_from_cam,
                raycaster,
            )
            ndotl = ndotl * tensor(vis)
        sun_term = ndotl * _f32(light.sun_irradiance)
        irradiance = irradiance + torch.stack([sun_term * float(c) for c in light.sun_color])
        if (nodes.specular > 0).any():
            highlight = _sun_highlight(torch, tensor(nodes.specular.astype(np.float32))[node_ids],
                                       a, b, inv_ray, dot, sun_cam, ndotl)  # fmt: skip
            highlight = highlight * _f32(HIGHLIGHT_GAIN * light.sun_irradiance)
    if lamps:
        irradiance = irradiance + _lamp_irradiance(
            torch, tensor, points_half, normals_half, valid_half, (h, w), lamps, T_cam_from_world
        )

    albedo_table = np.asarray(nodes.albedo_lin, np.float32).copy()
    albedo_table[0] = 0.0  # sky: filled in below
    albedo = tensor(albedo_table)[node_ids].permute(2, 0, 1)
    uv_footprint = texture_coordinates_torch(
        torch, z, a, b, inv_ray, (nx, ny, nz), (ground, up) if has_ground else None, grid.fx,
        T_world_from_cam,
    )  # fmt: skip
    multipliers = texture_multipliers_torch(torch, nodes.texture, node_ids, uv_footprint)
    if multipliers is not None:
        gray, tint = multipliers
        if tint is None:
            albedo = albedo * gray
        else:
            albedo = albedo * torch.stack([gray * (1.0 + tint), gray, gray * (1.0 - tint)])
    # The highlight's own albedo: 1 on surfaces, 0 on the sky (node 0).
    gloss = (node_ids != 0).to(torch.float32)
    if snow is not None:
        # Snow replaces the surface's albedo where it lies (and hides its gloss).
        albedo = albedo + snow * (float(SNOW_ALBEDO) - albedo)
        if highlight is not None:
            gloss = gloss + snow * (0.0 - gloss)
            highlight = highlight * (1.0 - snow)
    radiance = irradiance * albedo
    if nodes.emissive_lin.any():
        emissive = tensor(np.asarray(nodes.emissive_lin, np.float32))[node_ids]
        radiance = radiance + emissive.permute(2, 0, 1)
    if highlight is not None:
        highlight = highlight * gloss
        radiance = radiance + torch.stack([highlight * float(c) for c in light.sun_color])
    out = np.ascontiguousarray(host(radiance.permute(1, 2, 0)))
    sky = ~valid_np
    if sky.any():
        sky_rgb = sky_radiance(grid, T_world_from_cam[:3, :3], light, sun_dir)
        out[sky] = sky_rgb[sky]
    return out, light


def _sun_highlight(
    torch: Any,
    strength: Any,
    a: Any,
    b: Any,
    inv_ray: Any,
    dot: Any,
    sun_cam: np.ndarray,
    ndotl: Any,
) -> Any:
    """Blinn-Phong ``specular * (n . h)^48`` where the sun lights a glossy surface, else 0;
    see :func:`scenegen.sensors.shading._sun_highlight`."""
    hx = float(sun_cam[0]) - a * inv_ray
    hy = float(sun_cam[1]) - b * inv_ray
    hz = float(sun_cam[2]) - inv_ray
    hinv = 1.0 / torch.sqrt(hx * hx + hy * hy + hz * hz).clamp_min(1e-6)
    # n . h with the ground's normal: dot() takes a constant vector, so expand per axis.
    nx = dot(np.array([1.0, 0.0, 0.0]))
    ny = dot(np.array([0.0, 1.0, 0.0]))
    nz = dot(np.array([0.0, 0.0, 1.0]))
    ndoth = ((hx * nx + hy * ny + hz * nz) * hinv).clamp(0.0, 1.0)
    p = ndoth * ndoth * ndoth
    for _ in range(4):
        p = p * p
    return p * strength * (ndotl > 0)


def _lamp_irradiance(
    torch: Any,
    tensor: Any,
    points_half: tuple,
    normals_half: tuple,
    valid_half: Any,
    shape: tuple[int, int],
    lamps: list[Light],
    T_cam_from_world: np.ndarray,
) -> Any:
    """Irradiance ``(3, H, W)`` of ``lamps``, at half resolution, upsampled; see
    :func:`scenegen.sensors.shading._lamp_irradiance` for the model."""
    R, t = T_cam_from_world[:3, :3], T_cam_from_world[:3, 3]
    px, py, pz = points_half
    nx, ny, nz = normals_half
    rgb = torch.zeros((3, *px.shape), dtype=px.dtype, device=px.device)
    for lamp in lamps:
        lx, ly, lz = (
            float(c) for c in (R @ np.asarray(lamp.position_world) + t).astype(np.float32)
        )
        dx, dy, dz = lx - px, ly - py, lz - pz
        dist2 = (dx * dx + dy * dy + dz * dz).clamp_min(LAMP_MIN_DIST2_M2)
        inv = 1.0 / torch.sqrt(dist2)
        dx, dy, dz = dx * inv, dy * inv, dz * inv
        lambert = (dx * nx + dy * ny + dz * nz).clamp(0.0, 1.0)
        gain = lambert / dist2 * _f32(lamp.intensity_cd * LAMP_CANDELA_TO_RELATIVE)
        if lamp.direction_world is not None:
            ax, ay, az = (R @ np.asarray(lamp.direction_world)).astype(np.float32)
            norm = np.sqrt(ax * ax + ay * ay + az * az)
            cos_edge = np.cos(np.deg2rad(lamp.cone_half_angle_deg))
            cone = (dx * float(ax) + dy * float(ay) + dz * float(az)) * _f32(-1.0 / norm)
            cone = (cone - _f32(cos_edge)) * _f32(
                1.0 / max(1.0 - cos_edge, 1e-3) * SPOT_EDGE_SHARPNESS
            )
            gain = gain * cone.clamp(0.0, 1.0)
        rgb = rgb + gain * tensor(np.asarray(lamp.color_rgb, np.float32))[:, None, None]
    rgb = torch.where(valid_half, rgb, torch.zeros((), dtype=rgb.dtype, device=rgb.device))
    return _upsample(torch, rgb, shape)
