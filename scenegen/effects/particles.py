"""Falling particles (raindrops, snowflakes) seen by a camera during one exposure.

Shared by rain and snow. A particle of diameter ``D`` at camera depth ``z`` moves with
velocity ``(0, v_fall(D), -v_ego)`` in the camera frame (x right, y down, z forward)
during the exposure ``T``; it draws the segment between its projections at ``-T/2`` and
``+T/2``. Its image is a disc of diameter ``d = fx D / z`` pixels, widened by defocus
``b = fx A / z`` for a lens of aperture ``A`` focused far away. Over the exposure the disc
covers ``pi d^2 / 4`` pixel-areas on average, so that is the opacity it spreads over its
streak of length ``L + w`` and width ``w = max(1, sqrt(d^2 + b^2))``:
``alpha = (pi / 4) d^2 / ((L + w) w)`` per pixel. This is the photometric streak model of
Garg & Nayar ("Vision and Rain", IJCV 75(1), 2007): a streak's brightness change does
not depend on its depth while the drop is wider than a pixel, and falls as ``1 / z^2``
below that, so only nearby drops are visible and distant ones act as extinction.

Particles are drawn per diameter bin from a size distribution ``N(D)`` (per m^3 per mm),
uniformly in the camera's viewing volume up to the depth beyond which their streak
opacity falls below ``min_alpha`` (those further are invisible as particles and count only
through extinction). Counts are Poisson, so the expected number grows with ``N(D)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scenegen.effects.common import check_intrinsics, expand_to_rgb, times_rgb

# Caps on the rasterisation of one streak, in samples, to bound the cost of the rare
# drop that passes right in front of the lens.
_MAX_SAMPLES_ALONG = 512
_MAX_SAMPLES_ACROSS = 24
# Closest approach kept for a particle's projection (metres): avoids division blow-up.
_MIN_PROJECTED_Z_M = 0.05


@dataclass(frozen=True)
class ParticleStreaks:
    """Screen-space streaks of one exposure; all arrays have length ``N``.

    ``start_uv`` / ``end_uv``: float32 ``(N, 2)`` pixels; ``width_px``: float32 ``(N,)``;
    ``alpha``: float32 ``(N,)`` mean opacity over the ``(L + w) x w`` rectangle around the
    streak (``alpha (L + w) w`` is the particle's time-integrated coverage in pixels); ``depth_m``: float32
    ``(N,)`` camera z-depth; ``diameter_mm``: float32 ``(N,)``.
    """

    start_uv: np.ndarray
    end_uv: np.ndarray
    width_px: np.ndarray
    alpha: np.ndarray
    depth_m: np.ndarray
    diameter_mm: np.ndarray

    def __len__(self) -> int:
        return int(self.alpha.shape[0])


def _streak_alpha(
    diameter_mm: np.ndarray, z_m: np.ndarray, length_px: np.ndarray, fx: float, aperture_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel opacity and width (px) of streaks; inputs broadcast together."""
    d_px = fx * diameter_mm * 1e-3 / z_m
    blur_px = fx * aperture_m / z_m
    width_px = np.maximum(1.0, np.sqrt(d_px * d_px + blur_px * blur_px))
    alpha = (np.pi / 4.0) * d_px * d_px / ((length_px + width_px) * width_px)
    return np.minimum(alpha, 1.0), width_px


def sample_falling_particles(
    rng: np.random.Generator,
    K: np.ndarray,
    height: int,
    width: int,
    diameter_edges_mm: np.ndarray,
    number_density_per_m3: np.ndarray,
    fall_speed_m_s: Callable[[np.ndarray], np.ndarray],
    exposure_s: float,
    ego_speed_m_s: float = 0.0,
    min_alpha: float = 0.02,
    near_m: float = 0.5,
    max_depth_m: float = 60.0,
    aperture_m: float = 2e-3,
) -> ParticleStreaks:
    """Draw the visible particles of one exposure.

    ``diameter_edges_mm``: ``(B + 1,)`` increasing bin edges (mm); ``number_density_per_m3``:
    ``(B,)`` particles per m^3 in each bin; ``fall_speed_m_s``: terminal speed (m/s) of a
    diameter (mm). Diameters inside a bin are drawn log-uniformly. See the module
    docstring for the optics. Returns :class:`ParticleStreaks`.
    """
    k = check_intrinsics(K)
    fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    edges = np.asarray(diameter_edges_mm, dtype=np.float64)
    density = np.asarray(number_density_per_m3, dtype=np.float64)
    if edges.ndim != 1 or density.shape != (edges.size - 1,) or np.any(np.diff(edges) <= 0):
        raise ValueError(
            "diameter_edges_mm must be increasing (B+1,) and number_density_per_m3 (B,)"
        )
    if exposure_s <= 0:
        raise ValueError(f"exposure_s must be > 0 seconds, got {exposure_s!r}")

    # Streaks that start outside the frame can cross it: widen the sampled rectangle.
    longest_px = fx * (float(fall_speed_m_s(edges[-1:])[0]) + ego_speed_m_s) * exposure_s / near_m
    margin = float(min(0.5 * longest_px + 4.0, 0.5 * height))
    u_lo, u_hi, v_lo, v_hi = -margin, width + margin, -margin, height + margin
    solid_area = ((u_hi - u_lo) / fx) * ((v_hi - v_lo) / fy)  # frustum cross-section at z=1 m

    # Depth beyond which a bin's largest particle is too faint to see.
    z_grid = np.geomspace(near_m, max_depth_m, 256)
    hi = edges[1:]
    length_grid = fx * fall_speed_m_s(hi)[:, None] * exposure_s / z_grid[None, :]
    alpha_grid, _ = _streak_alpha(hi[:, None], z_grid[None, :], length_grid, fx, aperture_m)
    visible = alpha_grid >= min_alpha
    # First True in the reversed mask = the last depth at which the bin is still visible.
    last_visible = visible.shape[1] - 1 - np.argmax(visible[:, ::-1], axis=1)
    z_far = np.where(visible.any(axis=1), z_grid[last_visible], 0.0)

    volumes = solid_area * np.maximum(z_far**3 - near_m**3, 0.0) / 3.0
    counts = rng.poisson(np.maximum(density, 0.0) * volumes)
    total = int(counts.sum())
    if total == 0:
        empty = np.zeros((0,), np.float32)
        return ParticleStreaks(
            np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32), empty, empty, empty, empty
        )

    bin_of = np.repeat(np.arange(counts.size), counts)
    lo_d, hi_d = edges[bin_of], edges[bin_of + 1]
    diameter = lo_d * (hi_d / lo_d) ** rng.random(total)
    # Uniform in volume: z with density ~ z^2 between near and the bin's far limit.
    z_hi = z_far[bin_of]
    z = np.cbrt(near_m**3 + rng.random(total) * (z_hi**3 - near_m**3))
    u_mid = u_lo + rng.random(total) * (u_hi - u_lo)
    v_mid = v_lo + rng.random(total) * (v_hi - v_lo)
    x = (u_mid - cx) * z / fx
    y = (v_mid - cy) * z / fy

    speed = fall_speed_m_s(diameter)
    half_t = 0.5 * exposure_s
    uv_ends = []
    for sign in (-1.0, 1.0):
        ze = np.maximum(z - sign * ego_speed_m_s * half_t, _MIN_PROJECTED_Z_M)
        ye = y + sign * speed * half_t
        uv_ends.append(np.stack([fx * x / ze + cx, fy * ye / ze + cy], axis=1))
    start, end = uv_ends
    length = np.hypot(*(end - start).T)
    alpha, width_px = _streak_alpha(diameter, z, length, fx, aperture_m)
    keep = alpha >= 0.5 * min_alpha
    f32 = np.float32
    return ParticleStreaks(
        start_uv=start[keep].astype(f32),
        end_uv=end[keep].astype(f32),
        width_px=width_px[keep].astype(f32),
        alpha=alpha[keep].astype(f32),
        depth_m=z[keep].astype(f32),
        diameter_mm=diameter[keep].astype(f32),
    )


def render_streak_alpha(streaks: ParticleStreaks, depth_m: np.ndarray) -> np.ndarray:
    """Rasterise streaks into an opacity map, hidden behind closer surfaces.

    Each streak is a capsule of its width around its segment, sampled about once per
    pixel and splatted bilinearly. A sample lands on a pixel only if that pixel's depth
    is larger than the streak's (``inf`` and ``nan`` count as far), so particles never
    cover anything in front of them. Overlapping streaks add, clipped at 1.
    ``depth_m``: float32 ``(H, W)`` z-depth. Returns float32 ``(H, W)`` opacity in [0, 1].
    """
    height, width = depth_m.shape
    if len(streaks) == 0:
        return np.zeros((height, width), np.float32)
    f32 = np.float32
    start = streaks.start_uv.astype(f32)
    delta = streaks.end_uv.astype(f32) - start
    length = np.hypot(delta[:, 0], delta[:, 1])
    w = streaks.width_px.astype(f32)
    n_along = np.clip(np.ceil(length + w), 1, _MAX_SAMPLES_ALONG).astype(np.int64)
    n_across = np.clip(np.ceil(w), 1, _MAX_SAMPLES_ACROSS).astype(np.int64)
    per = n_along * n_across
    direction = np.where(
        length[:, None] > 1e-6, delta / np.maximum(length, 1e-6)[:, None], f32([0.0, 1.0])
    )
    # One row of parameters per streak, gathered once per sample.
    params = np.stack(
        [
            start[:, 0] - 0.5 * w * direction[:, 0],  # the capsule starts w/2 before the segment
            start[:, 1] - 0.5 * w * direction[:, 1],
            direction[:, 0] * (length + w) / n_along,  # step along, per sample
            direction[:, 1] * (length + w) / n_along,
            -direction[:, 1] * w / n_across,  # step across, per sample
            direction[:, 0] * w / n_across,
            n_across.astype(f32),
            0.5 * (n_across - 1).astype(f32),
            # Opacity x area: the disc's time-integrated coverage, shared among samples.
            streaks.alpha * (length + w) * w,
            streaks.depth_m,
            (length + w) / (n_along * w),  # step along, in widths
            length / w,  # segment length, in widths
        ],
        axis=1,
    ).astype(f32)
    first = np.cumsum(per) - per
    owner = np.repeat(np.arange(len(streaks)), per)
    p = params[owner]
    local = (np.arange(owner.size) - first[owner]).astype(f32)
    i_along = np.floor((local + 0.5) / p[:, 6])
    i_across = local - i_along * p[:, 6] - p[:, 7]
    i_along += 0.5
    # Distance of the sample from the segment, in widths (capsule: keep those <= 1/2).
    along_w = i_along * p[:, 10] - 0.5
    beyond = np.maximum(np.maximum(-along_w, along_w - p[:, 11]), 0.0)
    across_w = i_across / p[:, 6]
    in_capsule = beyond * beyond + across_w * across_w <= 0.25
    u = p[:, 0] + p[:, 2] * i_along + p[:, 4] * i_across
    v = p[:, 1] + p[:, 3] * i_along + p[:, 5] * i_across

    # Splat into a buffer with a one-pixel ring around the image; samples beyond the ring
    # get no weight, and the ring is cropped away at the end.
    pw = width + 2
    # Samples in the corners of the (L + w) x w grid are dropped; the rest share the mass.
    in_count = np.maximum(np.bincount(owner, weights=in_capsule, minlength=len(streaks)), 1.0)
    mass = (
        p[:, 8]
        / in_count[owner].astype(f32)
        * (in_capsule & (u > -1) & (u < width) & (v > -1) & (v < height))
    )
    u += 1.0
    v += 1.0
    np.clip(u, 0.0, width + 0.5, out=u)
    np.clip(v, 0.0, height + 0.5, out=v)
    u0 = u.astype(np.int64)
    v0 = v.astype(np.int64)
    fu = u - u0
    fv = v - v0
    depth_padded = np.full((height + 2, pw), np.inf, f32)
    depth_padded[1:-1, 1:-1] = depth_m
    depth_flat = depth_padded.reshape(-1)
    base = v0 * pw + u0
    sample_depth = p[:, 9]
    acc = np.zeros((height + 2) * pw, np.float64)
    for offset, weight in (
        (0, (1 - fu) * (1 - fv)),
        (1, fu * (1 - fv)),
        (pw, (1 - fu) * fv),
        (pw + 1, fu * fv),
    ):
        idx = base + offset
        # NaN compares False: unknown depth never hides a particle.
        weight *= mass * ~(depth_flat[idx] <= sample_depth)
        acc += np.bincount(idx, weights=weight, minlength=acc.size)
    out = acc.reshape(height + 2, pw)[1:-1, 1:-1]
    return np.minimum(out, 1.0).astype(np.float32)


def composite(radiance_lin: np.ndarray, alpha: np.ndarray, particle_rgb: np.ndarray) -> np.ndarray:
    """``I (1 - alpha) + particle_rgb alpha``: float32 ``(H, W, 3)``, a new array."""
    a = np.asarray(alpha, dtype=np.float32)
    out = radiance_lin * expand_to_rgb(1.0 - a)
    out += times_rgb(a, particle_rgb)
    return out
