"""Covering arrays checked by exhaustive enumeration and against a standard generator and
published sizes; coverage measured on rendered datasets of known contents."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from conftest import REPO

from scenegen.coverage import taxonomy
from scenegen.coverage.cover import cover_scenario, parse_cover
from scenegen.coverage.covering import covering_array, missing_tuples
from scenegen.errors import ScenarioError
from scenegen.pipeline import scene_meta
from scenegen.scenario import load_scenario, load_scenario_text, sample_scene

# Best known CAN(t, k, v) from C. J. Colbourn's covering array tables
# (https://www.public.asu.edu/~ccolbou/src/tabby/catable.html); binary strength 2 is
# exact: the least N with C(N-1, ceil(N/2)) >= k (Kleitman-Spencer, Katona 1973).
PUBLISHED = [
    ((2,) * 4, 2, 5),
    ((2,) * 6, 2, 6),
    ((2,) * 7, 2, 6),
    ((3,) * 4, 2, 9),
    ((3,) * 5, 2, 11),
    ((3,) * 6, 2, 12),
    ((4,) * 5, 2, 16),
    ((2,) * 4, 3, 8),
    ((2,) * 6, 3, 12),
    ((3,) * 4, 3, 27),
]
# Mixed levels like the taxonomy's: the product of the t largest axes is a lower bound.
MIXED = [((9, 4, 2, 4), 2), ((9, 4, 3, 4, 8), 2), ((9, 4, 2, 4), 3), ((5, 3, 3, 2, 2, 2), 3)]


@pytest.mark.parametrize(("sizes", "strength", "best"), PUBLISHED)
def test_every_tuple_is_covered_within_10_percent_of_the_best_known_size(
    sizes, strength, best
) -> None:
    rows = covering_array(sizes, strength, seed=0)
    assert missing_tuples(rows, sizes, strength) == []
    assert all(0 <= row[j] < sizes[j] for row in rows for j in range(len(sizes)))
    assert best <= len(rows) <= math.floor(1.1 * best)


@pytest.mark.parametrize(("sizes", "strength"), MIXED)
def test_mixed_levels_meet_the_product_bound_within_10_percent(sizes, strength) -> None:
    rows = covering_array(sizes, strength, seed=3)
    assert missing_tuples(rows, sizes, strength) == []
    bound = math.prod(sorted(sizes)[-strength:])
    assert bound <= len(rows) <= 1.1 * bound
    assert rows == covering_array(sizes, strength, seed=3)  # deterministic per seed


def test_missing_tuples_finds_what_a_row_less_array_lacks() -> None:
    rows = covering_array((3, 3, 3), 2, seed=0)
    dropped = rows[1:]
    lacking = missing_tuples(dropped, (3, 3, 3), 2)
    # The removed row held 3 pairs that no other row of an optimal 9-row array holds.
    assert len(rows) == 9 and len(lacking) == 3
    assert all(tuple(rows[0][c] for c in cols) == levels for cols, levels in lacking)


@pytest.mark.parametrize("sizes", [(3, 3, 3, 3), (9, 4, 2, 4), (2,) * 6, (4, 3, 2, 5, 2)])
def test_pairwise_size_is_within_10_percent_of_allpairspy_whose_pairs_are_checked(sizes) -> None:
    allpairspy = pytest.importorskip("allpairspy", reason="allpairspy is in the test extra")
    theirs = [list(r) for r in allpairspy.AllPairs([list(range(s)) for s in sizes])]
    assert missing_tuples(theirs, sizes, 2) == []  # its pairwise sets are correct ...
    ours = covering_array(sizes, 2, seed=0)
    assert missing_tuples(ours, sizes, 2) == []
    assert len(ours) <= 1.1 * len(theirs)


def test_allpairspy_three_way_sets_miss_triples_ours_do_not() -> None:
    allpairspy = pytest.importorskip("allpairspy", reason="allpairspy is in the test extra")
    sizes = (3, 3, 3, 3)
    theirs = [list(r) for r in allpairspy.AllPairs([list(range(3))] * 4, n=3)]
    # ... but with n=3 it returns fewer rows than the 27 any 3-way array of 3^4 needs.
    assert missing_tuples(theirs, sizes, 3) != [] and len(theirs) < 27
    assert missing_tuples(covering_array(sizes, 3, seed=0), sizes, 3) == []


def test_every_cover_row_samples_into_its_own_bands() -> None:
    for name in ("night_jaywalker.yaml", "low_sun_cut_in.yaml"):
        scenario = load_scenario(REPO / "scenarios" / name)
        covered = cover_scenario(scenario, parse_cover(2, "weather,light,event,distance"))
        n = len(covered.pinned_cells)
        assert n == 9 * 4  # pairwise: the two largest axes, weather x light, bound it
        for i in range(n):
            spec = sample_scene(covered, i, 1, n)
            env = scene_meta(spec)["environment"]
            row = spec.sweep_cell
            assert taxonomy.weather_levels(env) == {row["cover.weather"]}
            assert taxonomy.light_level(env["sun_elevation_deg"]) == row["cover.light"]
            assert [e.type for e in spec.events if e.occurs] == [row["cover.event"]]
            distance = spec.events[0].params["distance_m"]
            assert taxonomy.distance_level(distance) == row["cover.distance"]


def test_a_scenario_without_cover_is_unchanged() -> None:
    scenario = load_scenario_text("version: 1\nname: plain\n")
    assert cover_scenario(scenario) is scenario


PINNED = """version: 1
name: pinned
seed: 3
sensors: {camera: {preset: kitti}, lidar: false}
environment:
  time_of_day: "23:00"
  weather: {fog: {visibility_m: 80}, rain: {rate_mm_h: 4}}
actors:
  - {class: car, count: 0}
events:
  - {type: stalled_vehicle, lane: ego, distance_m: 22}
"""
COVERED = """version: 1
name: covered
seed: 4
sensors: {camera: {preset: kitti}, lidar: false}
actors:
  - {class: car, count: 0}
events:
  - {type: stalled_vehicle, lane: ego}
  - {type: cut_in}
cover: {axes: [light, event, distance], strength: 2}
"""


def _cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "scenegen.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_coverage_of_rendered_frames_is_exactly_what_they_hold(tmp_path) -> None:
    (tmp_path / "pinned.yaml").write_text(PINNED)
    out = tmp_path / "pinned"
    _cli("render", str(tmp_path / "pinned.yaml"), "-n", "2", "--out", str(out), "--no-lidar")
    _cli("coverage", str(out), "--strength", "2", "--out", str(tmp_path / "report"))
    report = json.loads((tmp_path / "report" / "coverage.json").read_text())
    hist = report["histograms"]
    held = {axis: {lv for lv, n in counts.items() if n} for axis, counts in hist.items()}
    # 80 m visibility is dense fog, 4 mm/h moderate rain, 23:00 at 49 N is night, the one
    # labelled object is the stalled car about 22 m ahead: mid.
    assert held == {
        "weather": {"fog_dense", "rain_moderate"},
        "light": {"night"},
        "event": {"stalled_vehicle"},
        "actor": {"car"},
        "distance": {"mid"},
    }
    assert hist["weather"]["fog_dense"] == 2 and hist["distance"]["mid"] == 2
    n_levels = sum(len(v) for v in report["levels"].values())
    assert report["coverage_percent"]["1"] == pytest.approx(100 * 6 / n_levels)
    assert {"weather": "fog_dense", "light": "night"} not in report["missing"]["2"]
    assert {"weather": "clear", "light": "night"} in report["missing"]["2"]
    for name in ("coverage.md", "coverage.html", "histograms.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0


def test_a_cover_render_has_full_coverage_of_its_axes(tmp_path) -> None:
    scenario = tmp_path / "covered.yaml"
    scenario.write_text(COVERED)
    out = tmp_path / "covered"
    _cli("render", str(scenario), "--out", str(out), "--no-lidar", "--formats", "kitti")
    manifest = (out / "manifest.jsonl").read_text().splitlines()
    assert len(manifest) == 16  # one frame per row: 4 light x 4 distance levels
    stdout = _cli(
        "coverage",
        str(out),
        "--axes",
        "light,event,distance",
        "--within",
        str(scenario),
        "--out",
        str(tmp_path / "report"),
    )
    assert "2-way 100.0 %" in stdout


def test_a_bad_cover_block_is_a_load_error_at_its_place() -> None:
    text = "version: 1\nname: bad\ncover: {axes: [weather, lights], strength: 4}\n"
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, "bad.yaml")
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("bad.yaml:3:15: cover.axes: found 'lights'")
    assert lines[1] == "bad.yaml:3:44: cover.strength: found '4', expected one of 2, 3"
