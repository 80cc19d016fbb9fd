"""Placement priors (assets/placement_priors.yaml): the distance histogram is KITTI's,
draws follow it inside any span, and parked vehicles stand in rows along the kerb."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from conftest import SHARED_DATA

from scenegen.errors import ScenegenError
from scenegen.scenario.spec import ActorGroupSpec, RoadSpec, SceneSpec
from scenegen.world import build_world_with_report, data_files
from scenegen.world.placement_priors import DistancePrior, placement_priors

KITTI45 = SHARED_DATA / "kitti45" / "training"
PRIOR_TYPES = ("Car", "Van", "Pedestrian", "Person_sitting", "Cyclist")


@pytest.mark.skipif(
    not (KITTI45 / "label_2").is_dir(), reason=f"real KITTI labels not found at {KITTI45}"
)
def test_distance_histogram_is_that_of_the_real_training_boxes():
    z_m = []
    for path in sorted((KITTI45 / "label_2").glob("*.txt")):
        if "000004" <= path.stem <= "000029":
            for line in path.read_text().splitlines():
                fields = line.split()
                if fields and fields[0] in PRIOR_TYPES:
                    z_m.append(float(fields[13]))  # KITTI devkit: location z, field 14
    prior = placement_priors().distance
    counts = np.histogram(z_m, prior.edges_m)[0]
    np.testing.assert_array_equal(counts, prior.counts)


def test_draws_follow_the_histogram_inside_the_span():
    prior = DistancePrior(edges_m=(0.0, 10.0, 20.0, 40.0), counts=(1.0, 3.0, 4.0))
    rng = np.random.default_rng(0)
    whole = np.array([prior.draw(rng, 0.0, 40.0) for _ in range(20000)])
    shares = np.histogram(whole, prior.edges_m)[0] / len(whole)
    np.testing.assert_allclose(shares, [1 / 8, 3 / 8, 4 / 8], atol=0.015)
    # Restricted to [15, 50]: 5 m of the 3-per-10-m bin, 20 m of the 4-per-20-m bin, and
    # 10 m beyond the last edge at that bin's density: masses 1.5 : 4 : 2.
    part = np.array([prior.draw(rng, 15.0, 50.0) for _ in range(20000)])
    assert part.min() >= 15.0 and part.max() <= 50.0
    shares = np.histogram(part, [15.0, 20.0, 40.0, 50.0])[0] / len(part)
    np.testing.assert_allclose(shares, np.array([1.5, 4.0, 2.0]) / 7.5, atol=0.015)


def _parked_street(seed: int) -> SceneSpec:
    return SceneSpec(
        "rows",
        0,
        seed,
        road=RoadSpec(type="urban", lanes=2),
        actors=(ActorGroupSpec("car", 10, placement="parked"),),
    )


def test_parked_cars_stand_in_rows_with_kerb_gaps():
    gap_lo, gap_hi = placement_priors().parked_rows.gap_m
    in_row, pairs = 0, 0
    for seed in range(6):
        world, report = build_world_with_report(_parked_street(seed))
        layout = report.layout
        sides: dict[int, list[tuple[float, float]]] = {}
        for car in world.labelled():
            s, t = layout.road_coords(car.pose_world[0, 3], car.pose_world[1, 3])
            sides.setdefault(int(np.sign(t)), []).append((float(s), car.dimensions_m[0]))
        for cars in sides.values():
            cars.sort()
            for (s0, l0), (s1, l1) in pairwise(cars):
                pairs += 1
                gap = (s1 - l1 / 2) - (s0 + l0 / 2)
                assert gap > 0  # parked cars never overlap
                in_row += gap_lo - 0.05 <= gap <= gap_hi + 0.05
    # With a 30 % chance of a new row per car, most neighbours are bumper to bumper;
    # uniform placement over 67 m would give a gap this small for about a fifth of them.
    assert pairs > 30 and in_row / pairs > 0.5


def test_bad_placement_file_names_file_line_and_key(monkeypatch, tmp_path):
    for name in ("materials.yaml", "textures.yaml", "class_priors.yaml"):
        (tmp_path / name).write_text((data_files.assets_dir() / name).read_text())
    (tmp_path / "placement_priors.yaml").write_text(
        "distance_m: {edges: [0, 10, 5], counts: [1, 2]}\n"
        "parked_rows: {gap_m: [0.6, 2.0], new_row_probability: 0.3}\n"
    )
    monkeypatch.setattr(data_files, "assets_dir", lambda: tmp_path)
    data_files.load_asset.cache_clear()
    placement_priors.cache_clear()
    try:
        with pytest.raises(
            ScenegenError, match=r"placement_priors\.yaml:1: distance_m: expected increasing"
        ):
            placement_priors()
    finally:
        monkeypatch.undo()
        data_files.load_asset.cache_clear()
        placement_priors.cache_clear()
