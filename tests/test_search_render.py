"""``scenegen search`` on real renders: a detector whose failure region is known (it finds
a car only while fog leaves it enough contrast), bisected boundaries against a direct
scan, byte-identical replays, resume and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from search_detectors import ContrastDetector, weber_contrast
from typer.testing import CliRunner

from scenegen.scenario import load_scenario
from scenegen.search import MarginSettings, SearchSettings, run_search
from scenegen.search import evaluate as evaluate_module
from scenegen.search.evaluate import Evaluator, Job

FOG = "environment.weather.fog.visibility_m"
THRESHOLD = 0.1  # Weber contrast the detector needs
SCENARIO = f"""
version: 1
name: search-fog-car
road: {{type: urban, lanes: 2, sidewalks: false}}
sensors:
  camera: {{width: 310, height: 94, fov_deg: 81.4}}
  lidar: {{enabled: false}}
environment:
  time_of_day: "12:00"
actors:
  - {{class: car, count: 1}}
search:
  {FOG}: "uniform(20, 600)"
  environment.cloud_cover: "uniform(0, 1)"
"""
MARGIN = MarginSettings(classes=("car",))


@pytest.fixture
def scenario_path(tmp_path: Path) -> Path:
    path = tmp_path / "fog_car.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture
def detector(monkeypatch, gl_backend) -> SimpleNamespace:
    """The contrast detector, shown every frame the search renders (see search_detectors)."""
    contrast = ContrastDetector(THRESHOLD)
    render = Evaluator.render

    def render_and_remember(self, job):
        frame = render(self, job)
        contrast.remember(frame)
        return frame

    monkeypatch.setattr(evaluate_module.Evaluator, "render", render_and_remember)
    return SimpleNamespace(detector=contrast, class_names=["car"])


def search(scenario_path, detector, out, budget=24, method="cma", resume=False):
    settings = SearchSettings(method=method, budget=budget, boundaries=1, formats=("kitti",))
    return run_search(scenario_path, detector, scenario_path, settings, out, MARGIN, resume=resume)


def test_search_finds_the_fog_failures_and_bisects_the_true_boundary(
    scenario_path, detector, tmp_path
):
    result = search(scenario_path, detector, tmp_path / "out")
    assert result.failures, "fog below ~100 m hides the car from a contrast detector"
    evaluator = Evaluator(load_scenario(scenario_path), detector.detector, ["car"], MARGIN)
    try:
        # Truth by direct measurement: every row's flag is the contrast of its own frame.
        for row in result.rows[:6]:
            frame = evaluator.render(Job(row["evaluation"], row["params"], row["seed"]))
            (car,) = frame.objects
            assert row["failure"] == (weber_contrast(frame.rgb, car.box_2d) < THRESHOLD)
        # --boundaries 1: one failure bisected, its renders counted apart from the budget
        (bisected,) = json.loads((tmp_path / "out" / "boundaries.json").read_text())["failures"]
        assert len(result.rows) == 24 and result.boundary_renders > 0
        fog = bisected["boundaries"][FOG]
        assert fog["fails_to_low_end"] and fog["high"] is not None
        # The true boundary of this scene: scan the visibility at the failure's other values.
        scan = [20.0 + 10.0 * i for i in range(59)]
        fails = []
        for visibility in scan:
            point = {**bisected["params"], FOG: visibility}
            fails.append(evaluator.evaluate(Job(0, point, bisected["seed"])).score.failure)
        crossing = next(v for v, f in zip(scan, fails, strict=True) if not f)
        assert all(fails[: scan.index(crossing)])  # one crossing below it: a failing band
        assert abs(fog["high"] - (crossing - 5.0)) <= 0.02 * 580 + 5.0
    finally:
        evaluator.close()
    region = load_scenario(tmp_path / "out" / "failure_region.yaml")
    low, high = region.values[FOG].support()
    assert low <= min(r["params"][FOG] for r in result.failures)
    assert high >= max(r["params"][FOG] for r in result.failures)
    assert high < 600.0  # clear air is not part of the region
    # one scenario per failure cluster: together they hold every failure, each once, and
    # each samples only fog inside its cluster's box
    index = json.loads((tmp_path / "out" / "failure_regions" / "index.json").read_text())
    listed = sorted(e for r in index["regions"] for e in r["evaluations"])
    assert listed == sorted(r["evaluation"] for r in result.failures)
    by_evaluation = {r["evaluation"]: r for r in result.failures}
    for entry in index["regions"]:
        cluster = load_scenario(tmp_path / "out" / "failure_regions" / entry["file"])
        assert cluster.default_frames == entry["failing_renders"]
        fog = cluster.values[FOG]
        low, high = fog.support()
        assert [low, high] == pytest.approx(entry["box"][FOG])
        for e in entry["evaluations"]:
            assert low <= by_evaluation[e]["params"][FOG] <= high


def test_every_failure_replays_byte_identically_from_its_scenario_and_seed(
    scenario_path, detector, tmp_path
):
    from scenegen.cli import app

    out = tmp_path / "out"
    result = search(scenario_path, detector, out, budget=16)
    assert result.failures
    for row in result.failures[:2]:
        replay = tmp_path / f"replay_{row['evaluation']}"
        run = CliRunner().invoke(
            app,
            [
                *("render", str(out / row["replay"]), "--seed", str(row["seed"]), "--frames", "1"),
                *("--out", str(replay), "--workers", "1", "--formats", "kitti"),
            ],
        )
        assert run.exit_code == 0, run.output
        image = f"kitti/training/image_2/{row['evaluation']:06d}.png"
        assert (replay / "kitti/training/image_2/000000.png").read_bytes() == (
            out / "failures" / image
        ).read_bytes()
    manifest = [
        json.loads(line) for line in (out / "failures" / "manifest.jsonl").read_text().splitlines()
    ]
    assert sorted(r["frame_index"] for r in manifest) == sorted(
        r["evaluation"] for r in result.failures
    )
    assert (out / "failures.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("method", ["cma", "bo"])
def test_resume_gives_the_table_of_an_uninterrupted_run(scenario_path, detector, tmp_path, method):
    whole = search(scenario_path, detector, tmp_path / "whole", budget=14, method=method)
    search(scenario_path, detector, tmp_path / "part", budget=6, method=method)
    jsonl = (tmp_path / "part" / "evaluations.jsonl").read_text().splitlines()
    (tmp_path / "part" / "evaluations.jsonl").write_text(
        "\n".join(jsonl[:5]) + "\n" + jsonl[5][:20]
    )  # torn
    resumed = search(
        scenario_path, detector, tmp_path / "part", budget=14, method=method, resume=True
    )
    assert resumed.rendered == 14 - 5
    assert resumed.rows == whole.rows
    for name in ("evaluations.jsonl", "evaluations.csv", "boundaries.json"):
        assert (tmp_path / "part" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


def test_resume_refuses_other_settings_and_a_new_search_refuses_a_used_folder(
    scenario_path, detector, tmp_path
):
    from scenegen.errors import InvalidInputError

    search(scenario_path, detector, tmp_path / "out", budget=4)
    with pytest.raises(InvalidInputError, match="not empty"):
        search(scenario_path, detector, tmp_path / "out", budget=4)
    with pytest.raises(
        InvalidInputError, match=r"made with other settings \(expand, method differ"
    ):
        search(scenario_path, detector, tmp_path / "out", budget=4, method="random", resume=True)


def test_method_seed_moves_the_points_but_keeps_the_scenes(scenario_path, detector, tmp_path):
    def rows(out, method_seed=None):
        settings = SearchSettings(
            method="random", budget=4, boundaries=0, formats=("kitti",), method_seed=method_seed
        )
        return run_search(scenario_path, detector, scenario_path, settings, out, MARGIN).rows

    plain, same, other = rows(tmp_path / "a"), rows(tmp_path / "b", 0), rows(tmp_path / "c", 1)
    assert [r["params"] for r in same] == [r["params"] for r in plain]  # default: --seed
    assert [r["params"] for r in other] != [r["params"] for r in plain]
    assert [r["seed"] for r in other] == [r["seed"] for r in plain]


def test_cli_search_reports_bad_input_with_exit_code_2(scenario_path, tmp_path):
    from scenegen.cli import app

    run = CliRunner().invoke(
        app,
        [
            "search",
            str(scenario_path),
            "--detector",
            str(tmp_path / "none.pt"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert run.exit_code == 2
    assert "none.pt: not a file" in run.output


def test_the_table_does_not_depend_on_the_number_of_workers(scenario_path, tmp_path, gl_backend):
    """A harness checkpoint (an untrained, seeded CenterNet: deterministic) loaded in each
    of two worker processes gives the table of one process."""
    import torch

    from scenegen.harness.adapters import load_detector
    from scenegen.harness.model import CenterNet, CenterNetConfig, model_config
    from scenegen.harness.train import save_checkpoint

    torch.manual_seed(0)
    model = CenterNet(CenterNetConfig(num_classes=1, width=8, head_width=8))
    checkpoint = tmp_path / "checkpoint.pt"
    config = {"model": model_config(model), "bench": {"classes": ["car"]}}
    save_checkpoint(checkpoint, model, torch.optim.SGD(model.parameters(), lr=0.1), 0, config)
    loaded = load_detector(checkpoint)
    settings = SearchSettings(method="random", budget=6, boundaries=0, formats=("kitti",))
    tables = []
    for workers, name in ((1, "one"), (2, "two")):
        result = run_search(
            scenario_path,
            loaded,
            checkpoint,
            settings,
            tmp_path / name,
            MARGIN,
            workers=workers,
            loader=load_detector,
        )
        tables.append((tmp_path / name / "evaluations.jsonl").read_bytes())
        assert result.boundary_renders == 0 and result.boundaries == []  # --boundaries 0
    assert tables[0] == tables[1]
    assert len(tables[0].splitlines()) == 6


def test_lidar_puts_velodyne_scans_in_the_failing_frames(tmp_path, detector):
    from scenegen.errors import InvalidInputError
    from scenegen.io.reader import DatasetReader

    with_lidar = tmp_path / "fog_car_lidar.yaml"
    with_lidar.write_text(
        SCENARIO.replace("lidar: {enabled: false}", "lidar: {channels: 16, azimuth_steps: 512}")
    )
    settings = SearchSettings(method="qmc", budget=8, boundaries=0, formats=("kitti",), lidar=True)
    result = run_search(with_lidar, detector, with_lidar, settings, tmp_path / "out", MARGIN)
    assert result.failures, "fog below ~100 m hides the car"
    reader = DatasetReader(tmp_path / "out" / "failures")
    scans = sorted((tmp_path / "out" / "failures").rglob("velodyne/*.bin"))
    assert len(scans) == len(result.failures) == len(reader)
    for scan in scans:
        points = np.fromfile(scan, dtype=np.float32).reshape(-1, 4)
        assert len(points) > 100 and np.isfinite(points).all()  # the road, at least
    # A scenario without a LiDAR is refused, naming the file and the key.
    with pytest.raises(
        InvalidInputError, match=r"no_lidar\.yaml: --lidar, but the scenario has no LiDAR"
    ):
        run_search(
            scenario_path_of(tmp_path), detector, with_lidar, settings, tmp_path / "o2", MARGIN
        )


def scenario_path_of(tmp_path: Path) -> Path:
    path = tmp_path / "no_lidar.yaml"
    path.write_text(SCENARIO)
    return path
