"""Pure functions behind the camera transforms: uint8 sRGB in, uint8 sRGB out.

Weather and light call the renderer's physical effects (:mod:`scenegen.effects`) on linear
radiance with a metric z-depth map (``inf`` sky, ``nan`` unknown = far), so one visibility
or rain rate means the same weather on synthetic and real frames. Sensor faults model the
camera. Nothing here draws random numbers except through the ``rng`` it is given; inputs
are never modified.
"""

from __future__ import annotations

import cv2
import numpy as np

from scenegen.augment.imagenet_c import correlate_fft
from scenegen.effects import (
    airlight_from_image,
    airlight_from_sky,
    apply_fog,
    apply_rain,
    apply_sensor_noise,
    apply_snow,
    apply_sun_glare,
    apply_wet_road,
    linear_to_srgb_u8,
    srgb_to_linear,
)
from scenegen.effects.common import check_intrinsics

# Contrast below which an object is lost against the fog (the MOR definition, WMO No. 8).
INVISIBLE_CONTRAST = 0.05


def _check_u8(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
        raise TypeError(
            f"image must be a uint8 (H, W, 3) sRGB array, got {getattr(image, 'dtype', type(image))}"
        )
    return image


def default_intrinsics(height: int, width: int) -> np.ndarray:
    """3x3 K for an image without calibration: KITTI's 81-degree horizontal field of view."""
    f = width * 721.5377 / 1242.0
    return np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])


def object_depth_m(depth_m: np.ndarray, boxes_xyxy_px: np.ndarray) -> np.ndarray:
    """Float32 ``(N,)`` distance of each box's object: the 20th percentile of the finite
    depths inside its box (the object is usually the nearest surface there); ``nan`` where
    the box holds no finite depth."""
    boxes = np.asarray(boxes_xyxy_px, np.float64).reshape(-1, 4)
    height, width = depth_m.shape
    out = np.full(len(boxes), np.nan, np.float32)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        c0, c1 = int(max(0, np.floor(x1))), int(min(width, np.ceil(x2)))
        r0, r1 = int(max(0, np.floor(y1))), int(min(height, np.ceil(y2)))
        patch = depth_m[r0:r1, c0:c1]
        finite = patch[np.isfinite(patch)]
        if finite.size:
            out[i] = np.percentile(finite, 20)
    return out


def box_transmission(object_depth: np.ndarray, extinction_per_m: float) -> np.ndarray:
    """Contrast kept by each object, ``exp(-beta d)`` (Koschmieder); ``nan`` stays ``nan``."""
    return np.exp(-float(extinction_per_m) * np.asarray(object_depth, np.float32)).astype(
        np.float32
    )


def _airlight(lin: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
    # A real frame's brightest sky sets the colour (greyed: droplets scatter all
    # wavelengths alike); never darker than overcast grey.
    return np.maximum(airlight_from_sky(airlight_from_image(lin, depth_m)), np.float32(0.35))


def level_ground_mask(depth_m: np.ndarray, K: np.ndarray, camera_height_m: float) -> np.ndarray:
    """Bool ``(H, W)``: pixels whose depth matches a level road ``camera_height_m`` below
    the camera (within 10 %), with pin-holes of up to 4 px closed (recovered depth is
    noisy pixel to pixel; a road does not have holes that small)."""
    height = depth_m.shape[0]
    v = np.arange(height, dtype=np.float32)[:, None] + 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        plane = np.float32(K[1, 1] * camera_height_m) / (v - np.float32(K[1, 2]))
        mask = (v > K[1, 2]) & (np.abs(depth_m - plane) <= 0.1 * plane)
    closed = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return (closed > 0) & (v > K[1, 2])


def even_out_sunlight(lin: np.ndarray) -> np.ndarray:
    """Float32 ``(H, W)`` factor that evens out a daytime frame's large-scale light and
    shadow (sunlit road, shaded trees): the square root of the frame's mean brightness
    over the local one (Gaussian, 3 % of the width), in [0.5, 2]. For scenes without sun
    (night, overcast rain); a heuristic, since the sun's share is not known per pixel."""
    grey = lin.mean(axis=2)
    local = cv2.GaussianBlur(grey, (0, 0), 0.03 * lin.shape[1]) + np.float32(1e-4)
    return np.clip(np.sqrt(np.float32(local.mean()) / local), 0.5, 2.0).astype(np.float32)


def fog(image: np.ndarray, depth_m: np.ndarray, visibility_m: float, K: np.ndarray) -> np.ndarray:
    """Koschmieder fog of meteorological optical range ``visibility_m`` (m)."""
    lin = srgb_to_linear(_check_u8(image))
    out = apply_fog(lin, depth_m, visibility_m, _airlight(lin, depth_m), K)
    return linear_to_srgb_u8(out)


# Rain on a real frame: the road wetness a rate brings (a water film forms within minutes
# at a few mm/h): wetness = 1 - exp(-rate / RAIN_WET_ROAD_MM_H).
RAIN_WET_ROAD_MM_H = 2.0


# Shutter time of a real daytime driving frame: KITTI's Flea2 cameras adjust it dynamically
# up to 2 ms (cvlibs.net, KITTI raw data, "maximum shutter time: 2 ms"). A drop's streak
# is as long as its path in one exposure and its opacity spreads over that length, so
# the rendered camera's 5 ms would draw real frames' streaks 2.5x longer and fainter.
REAL_FRAME_EXPOSURE_S = 0.002


def rain(
    image: np.ndarray,
    depth_m: np.ndarray,
    rate_mm_h: float,
    K: np.ndarray,
    rng: np.random.Generator,
    camera_height_m: float = 1.65,
    exposure_s: float = REAL_FRAME_EXPOSURE_S,
) -> np.ndarray:
    """Rain of ``rate_mm_h`` on a daytime frame: overcast light (no sun shadows), the road
    wet by that rate (darker, glossy reflections, :func:`wet_road`; the road is the level
    plane ``camera_height_m`` below the camera), extinction and the streaks of one exposure
    of ``exposure_s`` seconds (``effects.apply_rain``; default: a real camera's 2 ms, see
    ``REAL_FRAME_EXPOSURE_S``). At 10 mm/h about 0.5 % of a KITTI frame lies under a clear
    streak (opacity >= 5 %), ~20 sRGB codes brighter than without it; the wet road
    carries most of the change elsewhere."""
    lin = srgb_to_linear(_check_u8(image))
    lin = lin * even_out_sunlight(lin)[..., None]
    wetness = float(1.0 - np.exp(-max(float(rate_mm_h), 0.0) / RAIN_WET_ROAD_MM_H))
    ground = level_ground_mask(depth_m, K, camera_height_m)
    if wetness > 0 and ground.any():
        lin = apply_wet_road(
            lin, depth_m, ground, wetness, K, camera_height_m, horizon_row=float(K[1, 2])
        )
    out = apply_rain(lin, depth_m, rate_mm_h, K, rng, _airlight(lin, depth_m), exposure_s)
    return linear_to_srgb_u8(out)


def snow(
    image: np.ndarray,
    depth_m: np.ndarray,
    rate_mm_h: float,
    K: np.ndarray,
    rng: np.random.Generator,
    ground_mask: np.ndarray | None = None,
    ground_cover: float = 0.0,
) -> np.ndarray:
    """Snowfall of ``rate_mm_h`` (water equivalent), optionally settled on ``ground_mask``."""
    lin = srgb_to_linear(_check_u8(image))
    out = apply_snow(
        lin,
        depth_m,
        rate_mm_h,
        K,
        rng,
        _airlight(lin, depth_m),
        ground_mask=ground_mask,
        ground_cover=ground_cover if ground_mask is not None else 0.0,
    )
    return linear_to_srgb_u8(out)


# Night on a real daytime frame (see :func:`night`).
# Illuminance the daytime frame's radiance 1.0 stands for (lux): a bright overcast day.
DAYLIGHT_REFERENCE_LUX = 20_000.0
# The night sky against the scene's residual light: an urban sky, faint sodium skyglow.
NIGHT_SKY_SHARE = 0.04
NIGHT_SKY_TINT = (0.9, 0.8, 0.75)
# Ego low beams (ECE R112 class): two lamps 0.75 m either side and 0.95 m below the
# camera, peak ~20,000 cd just below the horizon, +-20 degrees wide, cut off above it.
HEADLIGHT_PEAK_CD = 20_000.0
HEADLIGHT_OFFSETS_CAM_M = ((-0.75, 0.95, 0.0), (0.75, 0.95, 0.0))
HEADLIGHT_HALF_WIDTH_DEG = 20.0
HEADLIGHT_CUTOFF_DEG = 0.6  # below the lamp's horizontal, the low-beam cut-off line
HEADLIGHT_ABOVE_CUTOFF = 0.03  # glare-limited share of the peak above the cut-off
HEADLIGHT_TINT = (1.0, 0.97, 0.9)  # halogen / warm LED


def _surface_normals_cam(points_cam: np.ndarray) -> np.ndarray:
    """Unit normals ``(H, W, 3)`` of a map of camera-frame points, facing the camera;
    ``nan`` where a neighbour is unknown."""
    dy = np.gradient(points_cam, axis=0)
    dx = np.gradient(points_cam, axis=1)
    n = np.cross(dx, dy)
    n /= np.linalg.norm(n, axis=2, keepdims=True) + 1e-12
    facing = np.sum(n * points_cam, axis=2, keepdims=True) > 0
    return np.where(facing, -n, n)


def headlight_illuminance_lux(depth_m: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Float32 ``(H, W)``: illuminance (lux) the ego car's low beams put on each surface,
    ``I(angles) cos(incidence) / r^2`` summed over both lamps; 0 for sky and unknown."""
    k = check_intrinsics(K)
    height, width = depth_m.shape
    z = np.where(np.isfinite(depth_m), depth_m, np.nan).astype(np.float32)
    z = cv2.GaussianBlur(np.nan_to_num(z, nan=0.0), (0, 0), 1.5) / np.maximum(
        cv2.GaussianBlur(np.isfinite(z).astype(np.float32), (0, 0), 1.5), 1e-6
    )
    z[~np.isfinite(depth_m)] = np.nan
    u = (np.arange(width, dtype=np.float32) + 0.5 - np.float32(k[0, 2])) / np.float32(k[0, 0])
    v = (np.arange(height, dtype=np.float32) + 0.5 - np.float32(k[1, 2])) / np.float32(k[1, 1])
    points = np.stack(np.broadcast_arrays(u[None, :] * z, v[:, None] * z, z), axis=2)
    normals = _surface_normals_cam(points)
    total = np.zeros((height, width), np.float32)
    for offset in HEADLIGHT_OFFSETS_CAM_M:
        to_point = points - np.asarray(offset, np.float32)
        r = np.linalg.norm(to_point, axis=2)
        direction = to_point / (r[..., None] + 1e-6)
        horizontal = np.degrees(np.arctan2(direction[..., 0], direction[..., 2]))
        below = np.degrees(np.arcsin(np.clip(direction[..., 1], -1, 1)))  # camera y is down
        spread = np.exp(-0.5 * (horizontal / HEADLIGHT_HALF_WIDTH_DEG) ** 2)
        cutoff = 1.0 / (1.0 + np.exp(-(below - HEADLIGHT_CUTOFF_DEG) / 0.3))
        vertical = HEADLIGHT_ABOVE_CUTOFF + (1 - HEADLIGHT_ABOVE_CUTOFF) * cutoff * np.exp(
            -0.5 * (np.maximum(below - 2.0, 0) / 6.0) ** 2
        )
        cos_incidence = np.clip(-np.sum(normals * direction, axis=2), 0, 1)
        lux = HEADLIGHT_PEAK_CD * spread * vertical * cos_incidence / np.maximum(r, 0.5) ** 2
        total += np.nan_to_num(lux, nan=0.0).astype(np.float32)
    return total


def night(
    image: np.ndarray,
    rng: np.random.Generator,
    light_scale: float,
    max_gain: float = 16.0,
    depth_m: np.ndarray | None = None,
    K: np.ndarray | None = None,
) -> np.ndarray:
    """Night from a daytime frame: the scene's daylight falls to ``light_scale`` (< 1) of
    itself; with depth (``inf`` = sky) the sky falls further to a dark urban night sky
    (:data:`NIGHT_SKY_SHARE`) and the ego car's low beams light what lies ahead, by the
    inverse square of distance and the angle of incidence (surfaces' albedo taken from
    the daytime radiance, which stands for :data:`DAYLIGHT_REFERENCE_LUX`); the
    daytime's sunlit / shaded contrast is evened out at large scales. Then
    auto-exposure gain up to ``max_gain`` (the image darkens once it runs out), photon
    shot and read noise amplified by that gain, and the blue shift and desaturation of dim
    (mesopic) vision. Lamps and headlights of other cars cannot be placed from a daytime
    frame and are not added."""
    if not 0 < light_scale <= 1:
        raise ValueError(f"light_scale must be in (0, 1], got {light_scale!r}")
    lin = srgb_to_linear(_check_u8(image))
    illumination = np.full(lin.shape[:2], np.float32(light_scale), np.float32)
    headlit = np.zeros(lin.shape[:2], np.float32)
    if depth_m is not None:
        height, width = lin.shape[:2]
        illumination[np.isinf(depth_m)] *= np.float32(NIGHT_SKY_SHARE)
        K = intrinsics_or_default(K, height, width)
        headlit = headlight_illuminance_lux(depth_m, K) / np.float32(DAYLIGHT_REFERENCE_LUX)
    grey = lin.mean(axis=2, keepdims=True)
    mesopic = np.float32(min(1.0, 0.15 * np.log10(1.0 / light_scale) + 0.1))
    ambient = (1 - mesopic) * lin + mesopic * grey * np.array([0.85, 0.95, 1.15], np.float32)
    # No sun at night: the scene is lit diffusely.
    out = ambient * (illumination * even_out_sunlight(lin))[..., None]
    if depth_m is not None:
        out[np.isinf(depth_m)] *= np.asarray(NIGHT_SKY_TINT, np.float32)
    # Lamp light is white and bright enough for colour vision: no mesopic shift.
    out += lin * headlit[..., None] * np.asarray(HEADLIGHT_TINT, np.float32)
    gain = min(1.0 / light_scale, max_gain) * 0.7
    out = apply_sensor_noise(out.astype(np.float32), rng, exposure_gain=gain)
    return linear_to_srgb_u8(out, tone_map="filmic")


def sun_glare(
    image: np.ndarray,
    depth_m: np.ndarray | None,
    sun_uv: tuple[float, float],
    strength: float,
    K: np.ndarray,
) -> np.ndarray:
    """A low sun at pixel ``sun_uv``: veiling glare, ghosts and bloom (effects.glare)."""
    lin = srgb_to_linear(_check_u8(image))
    out = apply_sun_glare(lin, sun_uv, 1.0, strength, K, depth_m=depth_m)
    return linear_to_srgb_u8(out, tone_map="filmic")


def wet_road(
    image: np.ndarray,
    depth_m: np.ndarray,
    ground_mask: np.ndarray,
    road_wetness: float,
    K: np.ndarray,
    camera_height_m: float,
    horizon_row: float,
) -> np.ndarray:
    """Darker road with the scene's glossy reflection in its water film (effects.wet_road)."""
    lin = srgb_to_linear(_check_u8(image))
    out = apply_wet_road(
        lin, depth_m, ground_mask, road_wetness, K, camera_height_m, horizon_row=horizon_row
    )
    return linear_to_srgb_u8(out)


# ---------------------------------------------------------------------------- sensor faults
def sensor_noise(
    image: np.ndarray, rng: np.random.Generator, electrons_at_white: float
) -> np.ndarray:
    """Photon shot noise and 3 e- read noise of a sensor collecting ``electrons_at_white``."""
    lin = srgb_to_linear(_check_u8(image))
    out = apply_sensor_noise(lin, rng, electrons_at_white=electrons_at_white)
    return linear_to_srgb_u8(out)


def _line_kernel(length_px: float, angle_deg: float) -> np.ndarray:
    size = int(np.ceil(length_px)) | 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx = 0.5 * length_px * np.cos(np.radians(angle_deg))
    dy = 0.5 * length_px * np.sin(np.radians(angle_deg))
    cv2.line(
        kernel,
        (round((c - dx) * 16), round((c - dy) * 16)),
        (round((c + dx) * 16), round((c + dy) * 16)),
        1.0,
        1,
        cv2.LINE_AA,
        shift=4,
    )
    return kernel / kernel.sum()


def motion_blur(image: np.ndarray, length_px: float, angle_deg: float) -> np.ndarray:
    """Blur along a straight path of ``length_px`` pixels (camera shake / long exposure),
    averaged in linear light as the sensor integrates it."""
    lin = srgb_to_linear(_check_u8(image))
    kernel = _line_kernel(length_px, angle_deg)
    c = kernel.shape[0] // 2
    return linear_to_srgb_u8(correlate_fft(lin, kernel, (c, c), cv2.BORDER_REFLECT_101))


def defocus(image: np.ndarray, radius_px: float) -> np.ndarray:
    """Out-of-focus lens: a uniform disk (circle of confusion) of ``radius_px``, linear light."""
    lin = srgb_to_linear(_check_u8(image))
    size = 2 * int(np.ceil(radius_px)) + 1
    yy, xx = np.mgrid[:size, :size] - size // 2
    kernel = np.clip(radius_px + 0.5 - np.hypot(xx, yy), 0, 1).astype(np.float32)
    kernel /= kernel.sum()
    c = size // 2
    return linear_to_srgb_u8(correlate_fft(lin, kernel, (c, c), cv2.BORDER_REFLECT_101))


def gaussian_blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur of ``sigma_px`` pixels on the sRGB values, as ImageNet-C's
    ``gaussian_blur`` applies it (a soft focus or smeared lens, not a physical defocus)."""
    return cv2.GaussianBlur(_check_u8(image), (0, 0), sigmaX=sigma_px, sigmaY=sigma_px)


def _blotches(
    shape_hw: tuple[int, int], rng: np.random.Generator, count: int, radius_px: tuple[float, float]
) -> np.ndarray:
    height, width = shape_hw
    mask = np.zeros((height, width), np.float32)
    for _ in range(count):
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        axes = (int(rng.uniform(*radius_px)), int(rng.uniform(*radius_px)))
        cv2.ellipse(
            mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(0.5, 1.0)), -1
        )
    return mask


def lens_dirt(
    image: np.ndarray, rng: np.random.Generator, spots: int, opacity: float
) -> np.ndarray:
    """Out-of-focus dirt on the lens: soft dark blotches that also scatter light into a veil."""
    _check_u8(image)
    height, width = image.shape[:2]
    lin = srgb_to_linear(image)
    mask = _blotches((height, width), rng, spots, (0.02 * width, 0.08 * width))
    mask = cv2.GaussianBlur(mask, (0, 0), 0.02 * width) * np.float32(opacity)
    np.clip(mask, 0, 1, out=mask)
    veil = np.float32(0.3) * lin.mean(axis=(0, 1))
    dirt = np.array([0.05, 0.04, 0.03], np.float32)  # brownish grime
    out = lin * (1 - mask[..., None]) + mask[..., None] * (dirt + veil)
    return linear_to_srgb_u8(out)


def water_drops(
    image: np.ndarray, rng: np.random.Generator, drops: int, radius_px: float
) -> np.ndarray:
    """Drops on the lens: each acts as a small lens showing a blurred, inverted, minified view
    of what lies behind it, with a darker rim (refraction at the drop's edge)."""
    _check_u8(image)
    height, width = image.shape[:2]
    map_x = np.tile(np.arange(width, dtype=np.float32), (height, 1))
    map_y = np.tile(np.arange(height, dtype=np.float32)[:, None], (1, width))
    alpha = np.zeros((height, width), np.float32)
    rim = np.zeros((height, width), np.float32)
    for _ in range(drops):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = float(radius_px * rng.uniform(0.5, 1.5))
        c0, c1 = int(max(0, cx - r)), int(min(width, cx + r + 1))
        r0, r1 = int(max(0, cy - r)), int(min(height, cy + r + 1))
        if c0 >= c1 or r0 >= r1:
            continue
        yy, xx = np.mgrid[r0:r1, c0:c1].astype(np.float32)
        dist = np.hypot(xx - cx, yy - cy) / r
        inside = dist < 1
        # Inverted and minified (a ball lens): source = centre - 2.5 (p - centre).
        map_x[r0:r1, c0:c1][inside] = (cx - 2.5 * (xx - cx))[inside]
        map_y[r0:r1, c0:c1][inside] = (cy - 2.5 * (yy - cy))[inside]
        alpha[r0:r1, c0:c1] = np.maximum(alpha[r0:r1, c0:c1], np.clip((1 - dist) * 4, 0, 1))
        rim[r0:r1, c0:c1] = np.maximum(
            rim[r0:r1, c0:c1], np.exp(-(((dist - 0.92) / 0.08) ** 2)) * inside
        )
    blurred = cv2.GaussianBlur(image, (0, 0), 2.0)
    refracted = cv2.remap(
        blurred, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    lin = srgb_to_linear(image)
    drop_lin = srgb_to_linear(refracted) * (1 - 0.6 * rim[..., None])
    out = lin * (1 - alpha[..., None]) + drop_lin * alpha[..., None]
    return linear_to_srgb_u8(out)


def exposure(image: np.ndarray, stops: float) -> np.ndarray:
    """Exposure error of ``stops`` EV (positive: overexposed, clipping highlights)."""
    lin = srgb_to_linear(_check_u8(image))
    return linear_to_srgb_u8(lin, exposure=float(2.0**stops))


def dead_pixels(
    image: np.ndarray, rng: np.random.Generator, share: float, dead_columns: int
) -> np.ndarray:
    """Defective pixels: a ``share`` of pixels stuck dark (2/3) or hot (1/3), and whole
    columns lost (a failed column amplifier reads black)."""
    out = _check_u8(image).copy()
    height, width = out.shape[:2]
    n = round(share * height * width)
    idx = rng.choice(height * width, size=n, replace=False)
    hot = rng.random(n) < 1 / 3
    flat = out.reshape(-1, 3)
    flat[idx[~hot]] = 0
    flat[idx[hot]] = 255
    if dead_columns:
        out[:, rng.choice(width, size=dead_columns, replace=False)] = 0
    return out


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """JPEG encode / decode at ``quality`` (1-100)."""
    ok, data = cv2.imencode(
        ".jpg", _check_u8(image)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    )
    if not ok:
        raise RuntimeError("OpenCV could not encode the image as JPEG")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


def pixelate(image: np.ndarray, scale: float) -> np.ndarray:
    """Area-downsample by ``scale`` and nearest-upsample back (a low-resolution sensor)."""
    height, width = _check_u8(image).shape[:2]
    small = cv2.resize(
        image,
        (max(1, int(width * scale)), max(1, int(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)


def intrinsics_or_default(K: np.ndarray | None, height: int, width: int) -> np.ndarray:
    """``K`` checked, or :func:`default_intrinsics` when ``None``."""
    return default_intrinsics(height, width) if K is None else check_intrinsics(K)
