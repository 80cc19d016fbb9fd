"""``scenegen fidelity`` end to end: the comparison's logic on sets with a known answer, and
the command on a rendered scenegen dataset and on real KITTI frames."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SHARED_DATA
from test_cli import scenegen

from scenegen.fidelity.collect import DatasetStatistics
from scenegen.fidelity.compare import compare_datasets, furthest

KITTI45 = SHARED_DATA / "kitti45" / "training"


def _statistics(values: np.ndarray, histograms: np.ndarray, features: np.ndarray):
    return DatasetStatistics(
        path="mem",
        format="test",
        frames=len(values),
        scalars={"camera.r_mean": values},
        histograms={"camera.luminance_histogram": histograms},
        camera_feature_names=("a", "b", "c"),
        camera_features=features,
    )


def _draw(rng: np.random.Generator, n: int, shift: float) -> DatasetStatistics:
    values = rng.normal(0.4 + shift, 0.05, n)
    centre = 10 + 8 * shift
    histograms = np.stack(
        [np.histogram(rng.normal(centre, 3, 500), 32, (0, 32))[0] for _ in range(n)]
    ).astype(float)
    return _statistics(values, histograms, rng.normal(shift * 4, 1.0, (n, 3)))


def test_a_shifted_set_scores_high_and_a_same_distribution_set_does_not():
    rng = np.random.default_rng(11)
    real = _draw(rng, 40, 0.0)
    same = compare_datasets(_draw(rng, 120, 0.0), real, np.random.default_rng(0), 200)
    shifted = compare_datasets(_draw(rng, 120, 0.5), real, np.random.default_rng(0), 200)
    names = [r.info.name for r in same]
    assert names == [
        "camera.r_mean",
        "camera.luminance_histogram",
        "camera.kid",
        "camera.mmd_rbf",
    ]
    for row in same:
        assert row.score < 3, row
        assert row.distance_ci[0] <= row.distance <= row.distance_ci[1]
        assert row.baseline_ci[0] <= row.baseline <= row.baseline_ci[1]
    for row in shifted:
        assert row.score > 10, row
        assert not row.distance_ci[0] <= 0 <= row.distance_ci[1]
    mean_row = shifted[0]
    assert mean_row.distance == pytest.approx(0.5, abs=0.03)  # the shift of the means
    assert [r.info.name for r in furthest(shifted, 2)] == sorted(
        names, key=lambda n: -next(r.score for r in shifted if r.info.name == n)
    )[:2]


def test_same_seed_same_numbers_other_seed_other_intervals():
    rng = np.random.default_rng(12)
    a, b = _draw(rng, 30, 0.1), _draw(rng, 20, 0.0)
    first = compare_datasets(a, b, np.random.default_rng(5), 50)
    again = compare_datasets(a, b, np.random.default_rng(5), 50)
    other = compare_datasets(a, b, np.random.default_rng(6), 50)
    assert first == again
    assert [r.distance_plugin for r in first] == [r.distance_plugin for r in other]
    assert [r.distance_ci for r in first] != [r.distance_ci for r in other]


def test_too_few_real_frames_is_an_error_naming_the_set():
    rng = np.random.default_rng(13)
    with pytest.raises(ValueError, match="needs at least 4"):
        compare_datasets(_draw(rng, 10, 0), _draw(rng, 3, 0), rng, 20)


@pytest.fixture(scope="module")
def kitti45() -> Path:
    if not KITTI45.is_dir():
        pytest.skip(f"45 real KITTI frames not found at {KITTI45} (shared data folder absent)")
    return KITTI45


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, gl_backend) -> Path:
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch

    out = tmp_path_factory.mktemp("fidelity") / "synthetic"
    render_batch(plan_batch([REPO / "scenarios" / "clear_day_urban.yaml"], 6, 3), out)
    return out


def _load_strict(path: Path) -> dict:
    def refuse(token: str) -> float:
        raise AssertionError(f"{path} holds {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


def _check_real_vs_real(document: dict) -> None:
    for row in document["rows"]:
        low, high = row["baseline_ci"]
        assert low <= row["baseline"] <= high, row["name"]


def test_rendered_scenegen_dataset_against_real_kitti(rendered, kitti45, tmp_path):
    out = tmp_path / "report"
    result = scenegen("fidelity", str(rendered), str(kitti45), "--out", str(out), "-b", "60")
    assert result.returncode == 0, result.stderr
    document = _load_strict(out / "fidelity.json")
    assert document["synthetic"]["frames"] == 6 and document["real"]["frames"] == 45
    assert document["synthetic"]["frames_with_lidar"] == 6
    groups = {row["group"] for row in document["rows"]}
    assert groups == {"camera", "lidar", "labels"}
    _check_real_vs_real(document)
    assert len(document["furthest"]) == 5
    scores = [t["score"] for t in document["furthest"]]
    assert scores == sorted(scores, reverse=True)
    others = [
        r["score"]
        for r in document["rows"]
        if r["name"] not in {t["name"] for t in document["furthest"]}
    ]
    assert min(scores) >= max(s for s in others if s is not None)
    markdown = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for top in document["furthest"]:
        assert top["name"] in markdown and top["name"] in html
        assert top["name"] in result.stdout
    for plot in document["plots"].values():
        assert (out / plot).stat().st_size > 1000


def test_real_kitti_against_itself_is_within_its_own_noise(kitti45, tmp_path):
    out = tmp_path / "self"
    result = scenegen("fidelity", str(kitti45), str(kitti45), "--out", str(out), "-b", "60")
    assert result.returncode == 0, result.stderr
    document = _load_strict(out / "fidelity.json")
    _check_real_vs_real(document)
    assert document["unranked_different"] == []
    for row in document["rows"]:
        # Identical sets: nothing beyond real-vs-real noise, and a raw distance of 0 for
        # every distance but KID's U-statistic (which leaves out only the self-pairs).
        assert row["score"] is None or row["score"] < 3, row["name"]
        if row["name"] != "camera.kid":
            assert row["distance_plugin"] == pytest.approx(0.0, abs=1e-12), row["name"]


def test_unreadable_inputs_and_bad_options_exit_2_with_the_reason(tmp_path, kitti45):
    missing = scenegen("fidelity", str(tmp_path / "nothing"), str(kitti45), "-o", str(tmp_path))
    assert missing.returncode == 2
    assert "nothing" in missing.stderr and "no such file" in missing.stderr
    beams = scenegen("fidelity", str(kitti45), str(kitti45), "--lidar-beams", "hdl32")
    assert beams.returncode == 2 and "hdl64" in beams.stderr


def test_a_camera_only_format_compares_camera_and_labels_and_says_what_it_left_out(
    rendered, kitti45, tmp_path
):
    # The rendered dataset's YOLO copy has images and boxes but no scans and no 3D boxes.
    out = tmp_path / "yolo"
    result = scenegen("fidelity", str(rendered / "yolo"), str(kitti45), "-o", str(out), "-b", "20")
    assert result.returncode == 0, result.stderr
    document = _load_strict(out / "fidelity.json")
    assert document["synthetic"]["format"] == "yolo"
    assert document["synthetic"]["frames_with_lidar"] == 0
    assert {row["group"] for row in document["rows"]} == {"camera", "labels"}
    assert "lidar.points" in document["not_compared"]
    assert "lidar.points" in (out / "report.md").read_text()
    # YOLO stores no 3D boxes, so no distances: that histogram is left out, not compared.
    assert "labels.distance_histogram" in document["not_compared"]


def _copy_kitti_frames(source: Path, target: Path, frame_ids: list[str]) -> Path:
    for part, suffix in (("image_2", ".png"), ("calib", ".txt"), ("label_2", ".txt")):
        (target / part).mkdir(parents=True, exist_ok=True)
        for frame_id in frame_ids:
            shutil.copy(source / part / f"{frame_id}{suffix}", target / part)
    return target


def test_an_unreadable_real_frame_is_listed_and_skipped(kitti45, tmp_path):
    ids = ["000004", "000005", "000006", "000007", "000009"]
    real = _copy_kitti_frames(kitti45, tmp_path / "real", ids)
    (real / "image_2" / "000006.png").write_bytes(b"\x89PNG not really")
    out = tmp_path / "report"
    result = scenegen("fidelity", str(kitti45), str(real), "-o", str(out), "-b", "20")
    assert result.returncode == 0, result.stderr
    assert "000006" in result.stderr and "skipped" in result.stderr
    document = _load_strict(out / "fidelity.json")
    assert document["real"]["frames"] == 4
    [bad] = document["real"]["unreadable"]
    assert bad["frame_id"] == "000006" and bad["part"] == "image"
    # Without scans in the copy, only camera and label statistics are compared.
    assert {row["group"] for row in document["rows"]} == {"camera", "labels"}
    # One more bad frame leaves 3: too few for two halves.
    (real / "image_2" / "000007.png").write_bytes(b"")
    too_few = scenegen("fidelity", str(kitti45), str(real), "-o", str(out), "-b", "20")
    assert too_few.returncode == 2
    assert "3 readable frames" in too_few.stderr and "at least 4" in too_few.stderr
