"""Independent port of Hahner et al.'s LiDAR snowfall simulation (CVPR 2022), for comparisons.

Sources: github.com/SysCV/LiDAR_snow_sim at commit a22980d0, ``tools/snowfall/simulation.py``
(``process_single_channel``, ``get_occlusions``, ``compute_occlusion_dict``,
``received_power``, ``xsi``), and its particle sampler ``tools/snowfall/sampling.py``
(``compute_occupancy``, ``snowfall_rate_to_rainfall_rate``, ``gunn_marshall``,
``dart_throwing``), read in the fork github.com/tamerlan-b/LiDAR_snow_sim at c0356cd4 (the
upstream repository does not hold it). Rewritten with arrays instead of loops; the model:

* per LiDAR channel, snowflakes are disks in the channel's (horizontal) plane, within
  ``R_0`` = 80 m: balls of diameter ``D ~ Exp(mean 10 / (25.5 r^-0.48)) mm`` (at most
  20 mm; Gunn-Marshall's slope of a rain-equivalent rate ``r = (S / (487 rho_s 0.003 v))^1.5``)
  cut at a uniform height, thrown until they cover ``S / (3.6e6 rho_s v)`` of the plane
  (``S`` mm/h of water, ``rho_s`` = 0.1 g/cm^3, ``v`` the terminal velocity in m/s);
* a beam is a wedge of 3 mrad (``beam_divergence = degrees(3e-3)`` in the published
  scripts); flakes nearer than the hard target occlude parts of it, nearer flakes first;
  each occluder ``j`` at range ``r_j`` with share ``s_j`` of the wedge adds a pulse
  ``C s_j xsi(r_j) / r_j^2 sin^2(pi (R - r_j) / (c tau))`` for ``R`` in ``[r_j, r_j + c tau]``
  (``tau`` = 10 ns, 10 cm bins to 120 m + c tau, overlap ``xsi`` 0 below 0.9 m and 1 from
  1 m), with ``C = 0.9 * 255`` (flakes are 90 % reflective); the hard target adds the same
  pulse with its unoccluded share;
* the strongest bin is the return: within 0.2 m of the hard target its intensity becomes
  ``int(peak)``, else the point moves to the flake (``range = argmax / 10 - c tau / 2``).

As published, ``C`` of the hard target's pulse is the last flake's (``CA_P0`` is overwritten
in the loop over occluders and the hard target comes last), so a beam that holds any flake
treats its hard target as a 90 % reflective one; ``intended_hard_target=True`` uses the
target's own intensity instead (``i d^2``, range-normalised as the code computes it first).

Left out: the per-laser focal-distance intensity correction of the HDL-64E S3 calibration
file the code reads (KITTI's S2 has none published; ``focal_slope`` = 0 here), the
adaptive noise-floor filter fitted to the ground afterwards (it deletes dim hard returns,
not snow: it changes lost points only), the camera field-of-view crop, and rejection of
overlapping flakes (at occupancies of 1e-6 it almost never fires).
"""

from __future__ import annotations

import numpy as np

SPEED_OF_LIGHT_M_S = 299_792_458.0
TAU_H_S = 1e-8
PULSE_M = SPEED_OF_LIGHT_M_S * TAU_H_S
BEAM_DIVERGENCE_RAD = 3e-3
DOMAIN_RADIUS_M = 80.0
SNOW_DENSITY_G_CM3 = 0.1
MAX_INTENSITY = 255.0
FLAKE_REFLECTIVITY = 0.9
INTERVALS_PER_M = 10
_M = 120 * INTERVALS_PER_M
_M_EXTENDED = int(np.ceil(_M + PULSE_M * INTERVALS_PER_M))
R_GRID_M = np.round(np.linspace(0.0, 120.0 + PULSE_M, _M_EXTENDED), 2)
UNCHANGED, ATTENUATED, SCATTERED = 0, 1, 2


def occupancy(snowfall_rate_mm_h: float, terminal_velocity_m_s: float) -> float:
    """Share of a plane covered by flakes (``compute_occupancy``)."""
    return snowfall_rate_mm_h / (3.6e6 * SNOW_DENSITY_G_CM3 * terminal_velocity_m_s)


def mean_diameter_mm(snowfall_rate_mm_h: float, terminal_velocity_m_s: float) -> float:
    """Mean ball diameter: Gunn-Marshall slope of the code's rain-equivalent rate."""
    base = snowfall_rate_mm_h / (487 * SNOW_DENSITY_G_CM3 * 0.003 * terminal_velocity_m_s)
    rain_equivalent = np.sqrt(base**3)
    return float(10.0 / (25.5 * rain_equivalent**-0.48))


def sample_disks(
    snowfall_rate_mm_h: float, terminal_velocity_m_s: float, rng: np.random.Generator
) -> np.ndarray:
    """``(N, 3)`` flakes of one channel's plane: x, y and disk radius (m) (``dart_throwing``)."""
    target_area = occupancy(snowfall_rate_mm_h, terminal_velocity_m_s) * np.pi * DOMAIN_RADIUS_M**2
    mean_mm = mean_diameter_mm(snowfall_rate_mm_h, terminal_velocity_m_s)
    chunks, area = [], 0.0
    while area < target_area:
        n = 4096
        d_m = rng.exponential(mean_mm, n)
        d_m = d_m[d_m <= 20.0] / 1000.0
        height = rng.uniform(-d_m / 2, d_m / 2)
        radius = np.sqrt((d_m / 2) ** 2 - height**2)
        length = np.sqrt(rng.uniform(0, DOMAIN_RADIUS_M**2, len(d_m)))
        angle = rng.uniform(0, 2, len(d_m)) * np.pi
        x, y = length * np.cos(angle), length * np.sin(angle)
        keep = x**2 + y**2 > radius**2
        x, y, radius = x[keep], y[keep], radius[keep]
        # Stop at the disk that makes the covered area reach the target, as the loop does.
        cumulative = area + np.cumsum(np.pi * radius**2)
        stop = int(np.searchsorted(cumulative, target_area)) + 1
        chunks.append(np.column_stack([x, y, radius])[:stop])
        area = float(cumulative[min(stop, len(cumulative)) - 1])
    return np.concatenate(chunks)


def xsi(range_m: np.ndarray) -> np.ndarray:
    """Receiver overlap: 0 below 0.9 m, linear to 1 at 1.0 m."""
    return np.clip((np.asarray(range_m) - 0.9) / 0.1, 0.0, 1.0)


def _occluders(
    beam_angle: np.ndarray, beam_range: np.ndarray, disks: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (beam, flake range, left, right angle of the flake's part of the wedge)."""
    half = BEAM_DIVERGENCE_RAD / 2
    r = np.hypot(disks[:, 0], disks[:, 1])
    phi = np.mod(np.arctan2(disks[:, 1], disks[:, 0]), 2 * np.pi)
    w = np.arcsin(np.minimum(disks[:, 2] / r, 1.0))  # tangent half-angle seen from the origin
    order = np.argsort(beam_angle)
    sorted_angle = beam_angle[order]
    beams, ranges, lefts, rights = [], [], [], []
    for shift in (-2 * np.pi, 0.0, 2 * np.pi):  # beams near 0 / 2 pi see flakes across it
        centre = phi + shift
        lo = np.searchsorted(sorted_angle, centre - w - half, "left")
        hi = np.searchsorted(sorted_angle, centre + w + half, "right")
        count = hi - lo
        disk = np.repeat(np.arange(len(disks)), count)
        start = np.repeat(lo, count)
        offset = np.arange(len(disk)) - np.repeat(np.cumsum(count) - count, count)
        beam = order[start + offset]
        a = beam_angle[beam]
        left = np.maximum(centre[disk] - w[disk], a - half)
        right = np.minimum(centre[disk] + w[disk], a + half)
        keep = (right > left) & (r[disk] < beam_range[beam])
        beams.append(beam[keep])
        ranges.append(r[disk][keep])
        lefts.append(left[keep] - (a[keep] - half))
        rights.append(right[keep] - (a[keep] - half))
    return (
        np.concatenate(beams),
        np.concatenate(ranges),
        np.concatenate(lefts),
        np.concatenate(rights),
    )


def _shares(beam: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of the wedge each occluder gets, nearer ones first (``compute_occlusion_dict``).

    Pairs must be sorted by beam, then range.
    """
    share = (right - left) / BEAM_DIVERGENCE_RAD
    starts = np.flatnonzero(np.r_[True, beam[1:] != beam[:-1]])
    ends = np.r_[starts[1:], len(beam)]
    for s, e in zip(starts[(ends - starts) > 1], ends[(ends - starts) > 1], strict=True):
        covered: list[tuple[float, float]] = []
        for k in range(s, e):
            lo, hi = left[k], right[k]
            free = hi - lo
            for c_lo, c_hi in covered:
                free -= max(0.0, min(hi, c_hi) - max(lo, c_lo))
            # Intervals already covered may overlap each other: merge as we go.
            covered = _merge([*covered, (lo, hi)])
            share[k] = max(free, 0.0) / BEAM_DIVERGENCE_RAD
    return np.clip(share, 0.0, 1.0)


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _strongest(ranges: np.ndarray, amplitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak value and bin of the summed waveform, for beams with the same number of pulses.

    ``ranges``, ``amplitude``: ``(B, K)``; a pulse at ``r`` fills bins ``ceil(10 r)`` to
    ``floor(10 (r + c tau))`` with ``A sin^2(pi (R - r) / (c tau))``.
    """
    b, k = ranges.shape
    start = np.ceil(ranges * INTERVALS_PER_M).astype(np.int64)
    end = np.floor((ranges + PULSE_M) * INTERVALS_PER_M).astype(np.int64) + 1
    length = int((end - start).max())
    samples = (start[:, :, None] + np.arange(length)).reshape(b, k * length)
    sample_valid = samples < np.repeat(end, length, axis=1)
    samples_c = np.minimum(samples, len(R_GRID_M) - 1)
    grid = R_GRID_M[samples_c]  # (B, S)
    inside = (samples[:, :, None] >= start[:, None, :]) & (samples[:, :, None] < end[:, None, :])
    phase = np.pi * (grid[:, :, None] - ranges[:, None, :]) / PULSE_M
    value = np.where(inside, amplitude[:, None, :] * np.sin(phase) ** 2, 0.0).sum(axis=2)
    value = np.where(sample_valid, value, -np.inf)
    peak = value.max(axis=1)
    # np.argmax over the whole waveform takes the lowest bin among equal maxima.
    at_peak = np.where(value == peak[:, None], samples, np.iinfo(np.int64).max)
    return peak, at_peak.min(axis=1)


def simulate_snow(
    points: np.ndarray,
    channel: np.ndarray,
    snowfall_rate_mm_h: float,
    terminal_velocity_m_s: float,
    rng: np.random.Generator,
    *,
    intended_hard_target: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Label per point (UNCHANGED / ATTENUATED / SCATTERED) and the points after snow.

    ``points``: ``(N, 4)`` x, y, z, intensity in 0-255 (KITTI reflectance x 255);
    ``channel``: int ``(N,)`` laser of each point (one flake plane per channel).
    """
    out = points.astype(np.float64).copy()
    labels = np.full(len(points), UNCHANGED, np.int8)
    distance = np.linalg.norm(out[:, :3], axis=1)
    azimuth = np.mod(np.arctan2(out[:, 1], out[:, 0]), 2 * np.pi)
    for ch in np.unique(channel):
        idx = np.flatnonzero(channel == ch)
        disks = sample_disks(snowfall_rate_mm_h, terminal_velocity_m_s, rng)
        beam, r_flake, left, right = _occluders(azimuth[idx], distance[idx], disks)
        order = np.lexsort((r_flake, beam))
        beam, r_flake = beam[order], r_flake[order]
        share = _shares(beam, left[order], right[order])
        used = share > 0  # a flake whose part of the wedge is all taken adds nothing
        beam, r_flake, share = beam[used], r_flake[used], share[used]
        n_flakes = np.bincount(beam, minlength=len(idx))
        hard_share = np.clip(1.0 - np.bincount(beam, share, minlength=len(idx)), 0.0, 1.0)
        affected = np.flatnonzero(n_flakes > 0)
        flake_amp = FLAKE_REFLECTIVITY * MAX_INTENSITY * share * xsi(r_flake) / r_flake**2
        d = distance[idx]
        if intended_hard_target:
            hard_amp = out[idx, 3] * hard_share * xsi(d)  # i d^2 / d^2
        else:
            hard_amp = FLAKE_REFLECTIVITY * MAX_INTENSITY * hard_share * xsi(d) / d**2
        starts = np.r_[0, np.cumsum(n_flakes)[:-1]]
        for k in np.unique(n_flakes[affected]):
            group = affected[n_flakes[affected] == k]
            cols = starts[group][:, None] + np.arange(k)
            ranges = np.column_stack([r_flake[cols], d[group]])
            amps = np.column_stack([flake_amp[cols], hard_amp[group]])
            peak, at = _strongest(ranges, amps)
            d_max = at / INTERVALS_PER_M - PULSE_M / 2
            new_i = np.floor(np.clip(peak, 0.0, MAX_INTENSITY))
            rows = idx[group]
            moved = np.abs(d_max - d[group]) >= 2.0 / INTERVALS_PER_M
            labels[rows] = np.where(moved, SCATTERED, ATTENUATED)
            scale = np.where(moved, d_max / d[group], 1.0)
            out[rows, :3] *= scale[:, None]
            out[rows, 3] = new_i
    return labels, out
