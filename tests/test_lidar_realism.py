"""Synthetic HDL-64 scans against real KITTI scans (loose bounds; numbers in bench_lidar)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import load_benchmark

REPO = Path(__file__).resolve().parents[1]
VELODYNE = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "kitti" / "training" / "velodyne"
)
REAL = [VELODYNE / "000000.bin", VELODYNE / "000001.bin"]

pytestmark = pytest.mark.skipif(
    not all(p.exists() for p in REAL), reason=f"real KITTI scans not found under {VELODYNE}"
)


def _bench():
    return load_benchmark("bench_lidar")


def test_synthetic_street_scan_looks_like_real_kitti():
    bench = _bench()
    rows, _ = bench.realism({"street": bench.urban_world()})
    real = [r for r in rows if r.name.startswith("real")]
    synthetic = next(r for r in rows if r.name.startswith("synthetic"))
    uniform = next(r for r in rows if r.name.startswith("uniform"))
    real_points = np.mean([r.points for r in real])
    assert abs(synthetic.points - real_points) < 0.3 * real_points
    # Elevation histogram: real scans differ from each other by ~0.1 with these bins;
    # the HDL-64's two-block pattern with per-laser offsets must be closer than a
    # uniform 64-beam pattern and within 0.15 of both real scans.
    assert max(synthetic.js_to_real) <= 0.15
    assert min(uniform.js_to_real) > max(synthetic.js_to_real) + 0.05
    real_mean = np.mean([r.intensity_mean for r in real])
    assert abs(synthetic.intensity_mean - real_mean) < 0.05
    assert 0.5 < synthetic.intensity_std / np.mean([r.intensity_std for r in real]) < 1.5


def test_build_world_urban_scans_look_like_real_kitti():
    """The scenes the product renders, not only a hand-built street: the urban scenario's
    worlds must surround the sensor (street behind the car, facades not hidden by glass)."""
    bench = _bench()
    worlds = bench.scenario_worlds(bench.URBAN_SCENARIO, 3)
    rows, _ = bench.realism(worlds, with_uniform=False)
    real = [r for r in rows if r.name.startswith("real")]
    synthetic = [r for r in rows if r.name.startswith("synthetic")]
    assert len(synthetic) == 3
    real_points = np.mean([r.points for r in real])
    for row in synthetic:
        assert abs(row.points - real_points) < 0.3 * real_points, row
        assert max(row.js_to_real) <= 0.18, row
    assert np.mean([max(r.js_to_real) for r in synthetic]) <= 0.15
    real_mean = np.mean([r.intensity_mean for r in real])
    assert abs(np.mean([r.intensity_mean for r in synthetic]) - real_mean) < 0.05
