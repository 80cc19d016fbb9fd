"""Motion blur and the LiDAR rolling shutter against plain pinhole and sweep kinematics.

Blur: a point Z metres ahead moving across the view at v m/s moves ``fx v T / Z`` pixels
during an exposure T (pinhole projection u = fx X / Z + cx with X changing by v T).
Rolling shutter: a sensor turning clockwise once per ``sweep_s``, facing forward at the
frame's time, measures azimuth phi at ``-phi / (2 pi) sweep_s``; a surface moving with
relative velocity v then appears displaced by ``v dt``.
"""

from __future__ import annotations

import numpy as np
import pytest

from scenegen.effects.motion_blur import apply_motion_blur, motion_flow_px
from scenegen.effects.rolling_shutter import apply_rolling_shutter, sweep_time_offsets_s
from scenegen.points import PointCloud

FX, FY, CX, CY = 500.0, 500.0, 80.0, 40.0


def test_blur_length_is_speed_times_exposure_over_distance_in_pixels():
    depth = np.full((80, 160), 12.0, np.float32)
    ids = np.zeros((80, 160), np.int32)
    ids[:, 80:] = 1
    table = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0]])  # instance 1 crosses at 3 m/s
    flow = motion_flow_px(depth, ids, FX, FY, CX, CY, table, exposure_s=0.02)
    assert flow[:, 80:, 0] == pytest.approx(FX * 3.0 * 0.02 / 12.0, rel=1e-5)  # 2.5 px
    assert flow[:, 80:, 1] == pytest.approx(0.0, abs=1e-5)
    assert np.all(flow[:, :80] == 0)


def test_forward_motion_blurs_radially_and_the_sky_not_at_all():
    depth = np.full((80, 160), 20.0, np.float32)
    depth[:10] = np.inf  # sky
    ids = np.zeros((80, 160), np.int32)
    table = np.array([[0.0, 0.0, -10.0]])  # driving forward at 10 m/s: the world comes closer
    flow = motion_flow_px(depth, ids, FX, FY, CX, CY, table, exposure_s=0.01)
    assert np.all(flow[:10] == 0)
    # a point at column u moves to cx + (u - cx) * Z / (Z - dZ): outwards from the centre
    u = 150.5
    z0, z1 = 20.0 + 0.05, 20.0 - 0.05
    expected_du = (u - CX) * 20.0 * (1 / z1 - 1 / z0)
    assert flow[70, 150, 0] == pytest.approx(expected_du, rel=1e-4)
    assert flow[70, 150, 1] > 0 and flow[20, 10, 0] < 0


def test_blur_spreads_an_edge_over_the_motion_length():
    image = np.zeros((20, 200, 3), np.float32)
    image[:, 100:] = 1.0
    for length_px in (4.0, 9.0, 16.0):
        flow = np.zeros((20, 200, 2), np.float32)
        flow[..., 0] = length_px
        row = apply_motion_blur(image, flow)[10, :, 0]
        ramp = np.flatnonzero((row > 0.01) & (row < 0.99))
        assert len(ramp) == pytest.approx(length_px, abs=1.0)
        assert ramp.mean() + 0.5 == pytest.approx(100.0, abs=0.6)  # centred on the edge
    assert apply_motion_blur(image, np.zeros((20, 200, 2), np.float32)) == pytest.approx(image)


def test_sweep_times_run_clockwise_from_behind_with_forward_at_the_frame_time():
    xyz = np.array([[10, 0, 0], [0, 10, 0], [0, -10, 0], [-10, 1e-6, 0], [-10, -1e-6, 0]], float)
    dt = sweep_time_offsets_s(xyz, 0.1)
    assert dt == pytest.approx([0.0, -0.025, 0.025, -0.05, 0.05], abs=1e-6)


def test_points_of_a_moving_object_are_skewed_by_velocity_times_time_offset():
    angles = np.linspace(-np.pi * 0.95, np.pi * 0.95, 40)
    xyz = np.stack([15 * np.cos(angles), 15 * np.sin(angles), np.zeros_like(angles)], axis=1)
    ids = np.where(np.arange(40) % 2 == 0, 7, 0).astype(np.int32)
    cloud = PointCloud(xyz, np.full(40, 0.5), instance_ids=ids, range_m=np.full(40, 15.0))
    table = np.zeros((8, 3))
    table[0] = [-12.0, 0.0, 0.0]  # the static world, seen from an ego driving at 12 m/s
    table[7] = [4.0, -6.0, 0.0]  # instance 7 relative to the ego
    skewed = apply_rolling_shutter(cloud, 0.1, table)
    dt = -angles / (2 * np.pi) * 0.1
    expected = xyz + table[ids] * dt[:, None]
    assert skewed.xyz == pytest.approx(expected.astype(np.float32), abs=1e-5)
    assert skewed.time_s == pytest.approx(dt, abs=1e-7)
    assert skewed.range_m == pytest.approx(np.linalg.norm(expected, axis=1), abs=1e-4)
