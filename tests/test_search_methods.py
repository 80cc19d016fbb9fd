"""The search as plain functions: space encoding, margins, methods on analytic objectives,
bisection, the failure region, the scenario's search: block and pinned sampling."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scenegen.errors import ScenarioError
from scenegen.frame import ObjectLabel
from scenegen.scenario import load_scenario_text, sample_scene
from scenegen.scenario.rewrite import rewrite_scenario
from scenegen.scenario.sampling import sample_spec_at
from scenegen.search.boundary import bisect_failure
from scenegen.search.clusters import cluster_failures
from scenegen.search.loop import PointResult, failure_cells, first_failure, search_loop
from scenegen.search.margin import MarginSettings, score_frame
from scenegen.search.methods import METHODS, make_method
from scenegen.search.region import envelope, region_values
from scenegen.search.space import Dimension, SearchSpace, search_space

SIX = SearchSpace(tuple(Dimension(f"k{i}", "real", 0.0, 10.0) for i in range(6)))


def box_margin(point: dict) -> float:
    """Fails (< 0) inside the box k0 < 2.5 and k1 > 6 (10 % of the space); the margin is
    the distance to that box's faces in units of the range, so it guides a search."""
    return max(point["k0"] - 2.5, 6.0 - point["k1"]) / 10.0


def analytic(batch):
    return [PointResult(box_margin(p), box_margin(p) < 0) for _, p in batch]


# ---------------------------------------------------------------- space


def test_dimensions_map_the_unit_interval_to_values_and_back():
    real = Dimension("a", "real", 20.0, 300.0)
    assert real.value_at(0.0) == 20.0 and real.value_at(1.0) == 300.0
    assert real.value_at(0.25) == pytest.approx(90.0)
    assert real.unit_of(90.0) == pytest.approx(0.25)
    integer = Dimension("b", "int", 2.0, 4.0)  # 3 equal bins
    assert [integer.value_at(u) for u in (0.0, 0.33, 0.34, 0.66, 0.67, 1.0)] == [2, 2, 3, 3, 4, 4]
    assert integer.unit_of(3) == pytest.approx(0.5)  # the bin's centre
    choice = Dimension("c", "choice", options=("x", "y"))
    assert [choice.value_at(u) for u in (0.0, 0.49, 0.5, 1.0)] == ["x", "x", "y", "y"]
    assert all(choice.value_at(choice.unit_of(v)) == v for v in ("x", "y"))


def test_cells_cut_real_keys_into_equal_bins():
    space = SearchSpace(
        (Dimension("a", "real", 0.0, 8.0), Dimension("c", "choice", options=(1, 2)))
    )
    assert space.cell_of({"a": 0.0, "c": 1}, 4) == (0, 0)
    assert space.cell_of({"a": 3.9, "c": 2}, 4) == (1, 1)
    assert space.cell_of({"a": 8.0, "c": 2}, 4) == (3, 1)


SCENARIO = """
version: 1
name: t
road: {lanes: "randint(1, 3)"}
environment:
  cloud_cover: "uniform(0, 1)"
  time_of_day: "12:00"
actors:
  - {class: car, count: "choice([1, 2, 2])"}
"""


def test_the_default_space_is_every_distribution_and_a_search_block_replaces_it():
    space = search_space(load_scenario_text(SCENARIO, "t.yaml"))
    assert {d.path: d.kind for d in space.dimensions} == {
        "road.lanes": "int",
        "environment.cloud_cover": "real",
        "actors[0].count": "choice",
    }
    assert space.dimensions[2].options == (1, 2)  # repeated options are one category
    block = SCENARIO + 'search:\n  environment.weather.fog.visibility_m: "uniform(20, 300)"\n'
    space = search_space(load_scenario_text(block, "t.yaml"))
    assert [(d.path, d.low, d.high) for d in space.dimensions] == [
        ("environment.weather.fog.visibility_m", 20.0, 300.0)
    ]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "  road.lanes: 3\n",
            "t.yaml:11:15: search.road.lanes: found the constant '3', expected a distribution",
        ),
        ('  road.wide: "uniform(1, 2)"\n', "t.yaml:11:3: search.road.wide: unknown key 'wide'"),
        (
            '  environment.weather.fog.visibility_m: "uniform(1, 50)"\n',
            "search.environment.weather.fog.visibility_m: 'uniform(1, 50)' can give values in [1, 50], "
            "expected a distribution within [5, 100000]",
        ),
        (
            '  actors[3].count: "randint(1, 2)"\n',
            "search.actors[3].count: actors[3] does not exist",
        ),
    ],
)
def test_search_block_errors_name_file_line_key_and_expectation(block, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(SCENARIO + "search:\n" + block, "t.yaml")
    assert message in str(info.value)


# ---------------------------------------------------------------- pinned sampling


def test_a_pinned_point_replays_from_the_rewritten_scenario(tmp_path: Path):
    path = tmp_path / "t.yaml"
    path.write_text(SCENARIO)
    scenario = load_scenario_text(SCENARIO, str(path))
    point = {
        "environment.cloud_cover": 0.123456789012345,
        "road.lanes": 3,
        "environment.weather.fog.visibility_m": 77.5,
    }
    spec = sample_spec_at(scenario, point, seed=42)
    assert spec.environment.cloud_cover == point["environment.cloud_cover"]
    assert spec.road.lanes == 3 and spec.environment.weather.fog_visibility_m == 77.5
    text = rewrite_scenario(path, point, name="t", description="replay", frames=1, seed=42)
    replayed = sample_scene(load_scenario_text(text, str(path)), 0, 42, 1)
    assert replayed == spec
    # keys left free are still drawn from the seed
    other = sample_spec_at(scenario, point, seed=43)
    assert replace(other, seed=spec.seed) != spec or other.actors != spec.actors


# ---------------------------------------------------------------- margins


def car(box, distance_m=30.0, cls="car", occlusion_level=0):
    return ObjectLabel(
        cls, 1, np.array(box, np.float32), distance_m=distance_m, occlusion_level=occlusion_level
    )


SETTINGS = MarginSettings(classes=("car", "pedestrian"), class_map={"van": "car"})


def test_object_margin_is_the_best_detection_against_the_class_thresholds():
    # IoU of [0,0,40,40] and [0,0,40,36] is 36/40 = 0.9: margin min(0.9 - 0.7, 0.5 - 0.3) = 0.2
    score = score_frame([car([0, 0, 40, 40])], 375, [[0, 0, 40, 36]], [0.5], ["car"], SETTINGS)
    assert score.margin == pytest.approx(0.2) and not score.failure
    # a low score: min(0.2, 0.25 - 0.3) = -0.05, a miss
    score = score_frame([car([0, 0, 40, 40])], 375, [[0, 0, 40, 36]], [0.25], ["car"], SETTINGS)
    assert score.margin == pytest.approx(-0.05) and score.failure
    # IoU 0.6 passes a pedestrian (0.5) but not a car (0.7)
    det = [[0, 0, 40, 24]]
    assert score_frame(
        [car([0, 0, 40, 40])], 375, det, [0.9], ["car"], SETTINGS
    ).margin == pytest.approx(-0.1)
    ped = car([0, 0, 40, 40], cls="pedestrian")
    assert score_frame([ped], 375, det, [0.9], ["pedestrian"], SETTINGS).margin == pytest.approx(
        0.1
    )
    # a detection of another class does not count; without one the margin is -max(0.7, 0.3)
    assert score_frame(
        [car([0, 0, 40, 40])], 375, det, [0.9], ["pedestrian"], SETTINGS
    ).margin == pytest.approx(-0.7)


def test_near_objects_weigh_more_and_irrelevant_ones_not_at_all():
    near_miss = score_frame([car([0, 0, 40, 40], distance_m=10.0)], 375, [], [], [], SETTINGS)
    assert near_miss.margin == pytest.approx(-1.4)  # -0.7 * 2
    near_pass = score_frame(
        [car([0, 0, 40, 40], distance_m=10.0)], 375, [[0, 0, 40, 40]], [0.9], ["car"], SETTINGS
    )
    assert near_pass.margin == pytest.approx(0.3 / 2)  # min(1 - 0.7, 0.9 - 0.3) / 2
    van = car([0, 0, 40, 40], cls="van")  # scored as a car through the class map
    assert score_frame([van], 375, [], [], [], SETTINGS).margin == pytest.approx(-0.7)
    small = car([0, 0, 40, 20])  # 20 px < KITTI hard's 25 px at 375 px
    hidden = car([0, 0, 40, 40], occlusion_level=3)
    cyclist = car([0, 0, 40, 40], cls="cyclist")
    ignored = score_frame([small, hidden, cyclist], 375, [], [], [], SETTINGS)
    assert ignored.margin is None and not ignored.failure
    # the same 20 px box is relevant in a 188 px tall image (25 * 188 / 375 = 12.5 px)
    assert score_frame([small], 188, [], [], [], SETTINGS).failure


# ---------------------------------------------------------------- methods


@pytest.mark.parametrize("method", METHODS)
def test_each_method_finds_the_failure_box_of_an_analytic_objective(method):
    steps = search_loop(make_method(method, SIX, 0, 4), SIX, analytic, 120)
    assert len(steps) == 120
    found = first_failure(steps)
    assert found is not None and found <= 40, found
    for step in steps:  # flags are the objective's truth, points lie in the space
        assert step.result.failure == (step.point["k0"] < 2.5 and step.point["k1"] > 6.0)
        assert all(0.0 <= v <= 10.0 for v in step.point.values())


@pytest.mark.parametrize("expand", [False, True])
@pytest.mark.parametrize("method", METHODS)
def test_methods_are_functions_of_their_seed(method, expand):
    def points(seed):
        steps = search_loop(make_method(method, SIX, seed, 4), SIX, analytic, 30, expand=expand)
        return [s.point for s in steps]

    assert points(3) == points(3)
    assert points(3) != points(4)


def test_cma_covers_many_more_failure_cells_than_random_on_the_box():
    cells = {
        m: np.mean(
            [
                len(failure_cells(search_loop(make_method(m, SIX, s, 4), SIX, analytic, 200)))
                for s in range(3)
            ]
        )
        for m in ("cma", "random")
    }
    # random lands in the 10 % box ~20 times in 200; CMA-ES keeps sampling inside it and
    # the repeat penalty moves it on to new cells
    assert cells["cma"] >= 3 * cells["random"], cells


def test_expansion_probes_only_unseen_neighbours_of_earlier_failures():
    steps = search_loop(make_method("qmc", SIX, 0, 4), SIX, analytic, 200, expand=True)
    probes = [s for s in steps if s.origin == "expand"]
    assert probes, "the box fails in ~10 % of the cube: some failure must be grown"
    for probe in probes:
        earlier = steps[: probe.index]
        assert probe.cell not in {s.cell for s in earlier}  # a new cell every time
        # one cell away, along one key, from a failure seen before it
        assert any(
            s.result.failure
            and sum(abs(a - b) for a, b in zip(s.cell, probe.cell, strict=True)) == 1
            for s in earlier
        )
    # at most one probe batch after each method batch: the method keeps half the budget
    assert len(probes) <= len(steps) // 2 + 4


def test_expansion_leaves_the_methods_own_points_unchanged():
    plain = search_loop(make_method("qmc", SIX, 2, 4), SIX, analytic, 80)
    grown = search_loop(make_method("qmc", SIX, 2, 4), SIX, analytic, 160, expand=True)
    own = [s.point for s in grown if s.origin == "method"]
    assert own == [s.point for s in plain][: len(own)] and len(own) >= 80


@pytest.mark.parametrize("method", ["qmc", "random"])
def test_expansion_finds_several_times_the_failure_cells(method):
    def cells(expand: bool) -> float:
        return np.mean(
            [
                len(
                    failure_cells(
                        search_loop(
                            make_method(method, SIX, s, 4), SIX, analytic, 200, expand=expand
                        )
                    )
                )
                for s in range(3)
            ]
        )

    # uniform points land in the box ~20 times in 200; its cells are connected, so the
    # neighbours of a failing cell fail far more often than a fresh point does
    assert cells(True) >= 2.5 * cells(False)


def test_cma_leaves_numpys_global_generator_alone():
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    search_loop(make_method("cma", SIX, 0, 4), SIX, analytic, 20)
    assert np.random.random() == expected


# ---------------------------------------------------------------- boundaries and region


def test_bisection_finds_the_box_faces_to_the_tolerance():
    space = SearchSpace(SIX.dimensions[:3])
    point = {"k0": 1.0, "k1": 8.0, "k2": 5.0}
    found = bisect_failure(space, point, lambda p: box_margin(p) < 0, tolerance=0.01)
    k0, k1, k2 = found
    assert k0.fails_to_low_end and k0.high == pytest.approx(2.5, abs=0.1)
    assert k1.low == pytest.approx(6.0, abs=0.1) and k1.fails_to_high_end
    assert k2.fails_to_low_end and k2.fails_to_high_end  # k2 does not matter
    assert k0.renders <= 2 + int(np.ceil(np.log2(1 / 0.01))) + 1
    values = region_values(space, [point], [found])
    low, high = (float(v) for v in values["k0"][len("uniform(") : -1].split(","))
    assert low == 0.0 and high == pytest.approx(2.5, abs=0.1)
    assert values["k2"] == "uniform(0.0, 10.0)"


def test_region_of_integer_and_choice_keys_lists_the_failing_values():
    space = SearchSpace(
        (Dimension("n", "int", 0.0, 5.0), Dimension("c", "choice", options=("a", "b", "c")))
    )
    failures = [{"n": 1, "c": "a"}, {"n": 3, "c": "c"}]
    assert region_values(space, failures) == {"n": "randint(1, 3)", "c": 'choice(["a", "c"])'}
    assert region_values(space, failures[:1]) == {"n": 1, "c": "a"}


# ---------------------------------------------------------------- failure clusters

FOUR = SearchSpace(SIX.dimensions[:4])


def two_boxes_fail(point: dict) -> bool:
    """Fails in two separate boxes of the 4-D space (3 % and 4 % of it); k2, k3 do not matter."""
    in_a = 1.0 <= point["k0"] <= 2.5 and 6.0 <= point["k1"] <= 8.0
    in_b = 7.0 <= point["k0"] <= 9.0 and 1.0 <= point["k1"] <= 3.0
    return in_a or in_b


def sample_box(box, space: SearchSpace, n: int, rng: np.random.Generator) -> list[dict]:
    """Points drawn as the box's scenario values draw them: uniform per real key."""
    lows = np.array([box.ranges[d.path][0] for d in space.dimensions])
    highs = np.array([box.ranges[d.path][1] for d in space.dimensions])
    return [dict(zip(space.paths, row, strict=True)) for row in rng.uniform(lows, highs, (n, 4))]


def test_cluster_boxes_fail_far_more_often_than_the_envelope_and_hold_every_failure():
    rng = np.random.default_rng(3)
    searched = [dict(zip(FOUR.paths, u * 10.0, strict=True)) for u in rng.random((600, 4))]
    failures = [p for p in searched if two_boxes_fail(p)]
    assert len(failures) > 20
    bisected = {0: bisect_failure(FOUR, failures[0], two_boxes_fail, tolerance=0.01)}
    clusters = cluster_failures(FOUR, failures, 4, bisected)
    assert sorted(i for c in clusters for i in c.members) == list(range(len(failures)))
    for cluster in clusters:
        assert all(cluster.box.contains(failures[i]) for i in cluster.members)
    # The union sampled as `scenegen render failure_regions/*.yaml` does: each box in
    # proportion to its failures (its file's frames).
    union = [
        p
        for c in clusters
        for p in sample_box(c.box, FOUR, 20 * len(c.members), np.random.default_rng(len(c.members)))
    ]
    old = sample_box(envelope(FOUR, failures, list(bisected.values())), FOUR, len(union), rng)
    share_new = np.mean([two_boxes_fail(p) for p in union])
    share_old = np.mean([two_boxes_fail(p) for p in old])
    # The envelope spans k0 1-9, k1 1-8: about 7/56 of it fails; each cluster box lies
    # inside one failure box (convex), bisection widening it only up to its cells' edges.
    assert share_old < 0.2
    assert share_new > 0.9
    # The bisected failure's box reaches the true faces of its failure box along k1 (to
    # the tolerance), or stops at the edge of its cluster's cells, whichever is nearer.
    first = next(c for c in clusters if 0 in c.members)
    face_low, face_high = (6.0, 8.0) if failures[0]["k0"] < 5.0 else (1.0, 3.0)
    own = [cell[1] for cell in first.cells]
    low_k1, high_k1 = first.box.ranges["k1"]
    assert low_k1 == pytest.approx(max(face_low, 2.5 * min(own)), abs=0.1)
    assert high_k1 == pytest.approx(min(face_high, 2.5 * (max(own) + 1)), abs=0.1)
