"""Class size priors (assets/class_priors.yaml): fitted to real KITTI labels as the file
says, drawn as truncated normals, and validated with errors that name file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import SHARED_DATA

from scenegen.errors import ScenegenError
from scenegen.world import data_files
from scenegen.world.actors import build_actor, size_priors
from scenegen.world.actors.size_priors import SizePrior, class_size_priors, draw_dimensions

KITTI45 = SHARED_DATA / "kitti45" / "training"
needs_kitti45 = pytest.mark.skipif(
    not (KITTI45 / "label_2").is_dir(), reason=f"real KITTI labels not found at {KITTI45}"
)
# KITTI label_2 type -> scenegen class, for the classes that take a size prior.
KITTI_TYPES = {
    "Car": "car",
    "Van": "van",
    "Pedestrian": "pedestrian",
    "Person_sitting": "pedestrian",
    "Cyclist": "cyclist",
}


def _kitti_lwh(first: str, last: str) -> dict[str, np.ndarray]:
    """Length, width, height of every box, read straight from the label text (KITTI's
    devkit order: type trunc occ alpha x1 y1 x2 y2 h w l x y z ry)."""
    rows: dict[str, list[list[float]]] = {}
    for path in sorted((KITTI45 / "label_2").glob("*.txt")):
        if not first <= path.stem <= last:
            continue
        for line in path.read_text().splitlines():
            f = line.split()
            if f and f[0] in KITTI_TYPES:
                h, w, l = (float(v) for v in f[8:11])
                rows.setdefault(KITTI_TYPES[f[0]], []).append([l, w, h])
    return {cls: np.array(v) for cls, v in rows.items()}


@needs_kitti45
def test_priors_are_the_statistics_of_the_real_training_labels():
    real = _kitti_lwh("000004", "000029")
    _, data, _ = data_files.load_asset(size_priors.CLASS_PRIORS_FILE)
    assert set(data) == {"car", "van", "pedestrian", "cyclist"}
    for cls, entry in data.items():
        assert entry["boxes"] == len(real[cls])
        for axis, dim in enumerate(size_priors.DIMENSIONS):
            values = real[cls][:, axis]
            assert entry[dim]["mean"] == pytest.approx(values.mean(), abs=6e-4)
            assert entry[dim]["std"] == pytest.approx(values.std(ddof=1), abs=6e-4)
            assert entry[dim]["min"] == pytest.approx(values.min(), abs=6e-3)
            assert entry[dim]["max"] == pytest.approx(values.max(), abs=6e-3)
    # The car prior is KITTI's: cars are about 3.8 x 1.6 x 1.5 m (KITTI's mean car box).
    assert real["car"].mean(axis=0) == pytest.approx([3.8, 1.62, 1.52], abs=0.05)


def test_truncated_normal_keeps_its_range_and_moments():
    prior = SizePrior(mean_m=3.77, std_m=0.43, min_m=2.47, max_m=4.53)
    rng = np.random.default_rng(0)
    values = np.array([prior.draw(rng) for _ in range(20000)])
    assert values.min() >= 2.47 and values.max() <= 4.53
    # Moments of N(3.77, 0.43) truncated to [2.47, 4.53] (a = -3.023, b = 1.767), from
    # scipy.stats.truncnorm(a, b, 3.77, 0.43).mean() / .std(): 3.7344 and 0.3908.
    assert values.mean() == pytest.approx(3.7344, abs=0.01)
    assert values.std() == pytest.approx(0.3908, abs=0.01)


def test_procedural_cars_follow_the_prior():
    rng = np.random.default_rng(3)
    dims = np.array([build_actor("car", rng).dimensions_m for _ in range(300)])
    length, width, height = class_size_priors()["car"]
    for axis, prior in enumerate((length, width, height)):
        assert prior.min_m <= dims[:, axis].min() and dims[:, axis].max() <= prior.max_m
        # Truncation pulls the mean by less than a third of a std for these priors.
        assert abs(dims[:, axis].mean() - prior.mean_m) < 0.35 * prior.std_m
    heights = [build_actor("pedestrian", rng).dimensions_m[2] for _ in range(200)]
    assert np.mean(heights) == pytest.approx(class_size_priors()["pedestrian"][2].mean_m, abs=0.03)


def test_draws_depend_only_on_the_generator():
    a = [draw_dimensions("van", np.random.default_rng(5)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    assert draw_dimensions("van", np.random.default_rng(6)) != a[0]


def _with_priors_file(monkeypatch, tmp_path: Path, text: str) -> None:
    for name in ("materials.yaml", "textures.yaml"):
        (tmp_path / name).write_text((data_files.assets_dir() / name).read_text())
    (tmp_path / size_priors.CLASS_PRIORS_FILE).write_text(text)
    monkeypatch.setattr(data_files, "assets_dir", lambda: tmp_path)
    data_files.load_asset.cache_clear()
    class_size_priors.cache_clear()


@pytest.fixture
def restore_priors():
    yield
    data_files.load_asset.cache_clear()
    class_size_priors.cache_clear()


@pytest.mark.parametrize(
    "entry, expected",
    [
        (
            {"length_m": {"mean": 4, "std": 0.4, "min": 3, "max": 5}},
            r"missing \['height_m', 'width_m'\]",
        ),
        (
            {d: {"mean": 4, "std": 0.4, "min": 5, "max": 3} for d in size_priors.DIMENSIONS},
            r"length_m: expected 0 < min <= mean <= max",
        ),
        (
            {d: {"mean": 4, "std": 0.4, "min": 3} for d in size_priors.DIMENSIONS},
            r"length_m must be a mapping with keys \['mean', 'std', 'min', 'max'\]",
        ),
    ],
)
def test_bad_priors_file_names_file_line_and_key(
    monkeypatch, tmp_path, restore_priors, entry, expected
):
    text = "# comment\n" + yaml.safe_dump({"van": entry}, default_flow_style=True)
    _with_priors_file(monkeypatch, tmp_path, text)
    with pytest.raises(ScenegenError, match=rf"class_priors\.yaml:2: van: .*{expected}"):
        class_size_priors()


def test_class_without_prior_is_an_error(restore_priors):
    with pytest.raises(ScenegenError, match=r"class_priors\.yaml:1: truck: no size prior"):
        size_priors.size_prior("truck")
