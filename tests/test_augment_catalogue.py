"""The corruption catalogue is the one owner of corruptions: the bench and ``scenegen
augment`` give identical pixels from the same seed, aliases and errors, no second table."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from scenegen.augment import functional
from scenegen.augment.catalogue import (
    ALIASES,
    CAMERA_CORRUPTIONS,
    CATALOGUE,
    KINDS,
    UnknownCorruptionError,
    apply_camera,
    canonical_name,
    corruption_rng,
    entry,
)
from scenegen.augment.depth import frame_depth
from scenegen.augment.lidar import LIDAR_TABLES
from scenegen.augment.run import augment_dataset
from scenegen.augment.severity import CAMERA_TABLES, FOG_VISIBILITY_M, SEVERITIES
from scenegen.harness.corruptions import builtin_corruptions, select_corruptions
from scenegen.harness.dataset import DetectionDataset
from scenegen.harness.evaluate import corrupted_images, load_split
from scenegen.io.png import read_image

REPO = Path(__file__).resolve().parents[1]
SEED = 11


def _one_frame_kitti(source: Path, frame_id: str, out: Path) -> Path:
    """A KITTI folder holding only ``frame_id`` of ``source`` (links, nothing copied)."""
    for folder, suffix in (
        ("image_2", ".png"),
        ("velodyne", ".bin"),
        ("label_2", ".txt"),
        ("calib", ".txt"),
    ):
        (out / folder).mkdir(parents=True)
        (out / folder / f"{frame_id}{suffix}").symlink_to(source / folder / f"{frame_id}{suffix}")
    return out


def _assert_bench_equals_augment(root: Path, names: list[str], tmp_path: Path) -> int:
    """Corrupt ``root`` with ``scenegen augment`` and with the bench; compare every pixel."""
    out = tmp_path / "augmented"
    augment_dataset(root, "kitti", names, "1-5", out, seed=SEED)
    split = load_split("test", DetectionDataset(root, kind="kitti"))
    grid = builtin_corruptions()
    compared = 0
    for name in names:
        for severity in SEVERITIES:
            bench = corrupted_images([split], name, grid[name], severity, SEED)
            images = sorted((out / name / str(severity) / "kitti").rglob("image_2/*.png"))
            assert len(images) == len(bench), (name, severity)
            for path, image in zip(images, bench, strict=True):
                written = read_image(path, color=True)
                assert np.array_equal(written, image), (name, severity, path.name)
                compared += 1
    return compared


@pytest.mark.slow
def test_bench_and_augment_give_identical_pixels_on_a_real_kitti_frame(kitti_root, tmp_path):
    # Frame 000001: a full scan, so fog, rain, snow and the wet road use recovered depth.
    root = _one_frame_kitti(kitti_root, "000001", tmp_path / "kitti")
    compared = _assert_bench_equals_augment(root, list(CAMERA_CORRUPTIONS), tmp_path)
    assert compared == len(CAMERA_CORRUPTIONS) * len(SEVERITIES)


def test_bench_and_augment_give_identical_pixels_on_a_rendered_frame(gl_backend, tmp_path):
    # Rendered frames carry exact depth: both paths must use it (not a recovered one).
    from scenegen.harness.bench import render_scenarios

    root = render_scenarios(
        [REPO / "scenarios" / "clear_day_urban.yaml"],
        1,
        5,
        tmp_path / "rendered",
        image_scale=0.25,
        lidar=False,
    )
    weather = [n for n, e in CATALOGUE.items() if e.kind == "weather"]
    frame = DetectionDataset(root).frame(0)
    assert frame.depth_m is not None
    depth = frame_depth(frame)
    assert depth.depth_m is not None and np.isfinite(depth.depth_m).any()
    assert depth.ground_mask.any(), "the road of a rendered frame lies on the ground plane"
    assert _assert_bench_equals_augment_rendered(root, weather, tmp_path) == len(weather) * 5


def _assert_bench_equals_augment_rendered(root: Path, names: list[str], tmp_path: Path) -> int:
    out = tmp_path / "augmented"
    augment_dataset(root / "kitti", "kitti", names, "1-5", out, seed=SEED)
    split = load_split("test", DetectionDataset(root))
    grid = builtin_corruptions()
    compared = 0
    for name in names:
        for severity in SEVERITIES:
            bench = corrupted_images([split], name, grid[name], severity, SEED)
            images = sorted((out / name / str(severity)).rglob("image_2/*.png"))
            assert len(images) == len(bench) == 1, (name, severity, images)
            assert np.array_equal(read_image(images[0], color=True), bench[0]), (name, severity)
            compared += 1
    return compared


def test_every_entry_has_a_kind_and_five_severities_of_parameters():
    assert set(KINDS) == {e.kind for e in CATALOGUE.values()}
    for name, spec in CATALOGUE.items():
        assert spec.name == name and spec.kind in KINDS
        for key, values in spec.table.items():
            assert len(values) == len(SEVERITIES), (name, key)
        for severity in SEVERITIES:
            assert set(spec.parameters(severity)) == set(spec.table), name
    # The tables are the augmentation's: camera weather and the LiDAR use the same numbers.
    assert entry("fog").parameters(3)["visibility_m"] == pytest.approx(np.log(20) / 0.02)
    assert (
        CATALOGUE["fog"].lidar_model == "fog" and CATALOGUE["wet_road"].lidar_model == "wet_ground"
    )
    assert LIDAR_TABLES["fog"]["visibility_m"] == CAMERA_TABLES["fog"]["visibility_m"]
    assert LIDAR_TABLES["rain"]["rate_mm_h"] == CAMERA_TABLES["rain"]["rate_mm_h"]
    assert CATALOGUE["lidar_jitter"].kind == "lidar" and not CATALOGUE["lidar_jitter"].camera


def test_bench_fog_is_the_catalogue_fog():
    # Severity 3 was 100 m in the bench's own table; the catalogue says ln(20)/0.02 = 150 m.
    rng = np.random.default_rng(0)
    image = (rng.random((30, 40, 3)) * 255).astype(np.uint8)
    frame_depth_m = np.linspace(5, 300, 40, dtype=np.float32)[None].repeat(30, 0)
    K = functional.default_intrinsics(30, 40)
    from scenegen.augment.depth import RecoveredDepth

    depth = RecoveredDepth(frame_depth_m, np.zeros((30, 40), bool), np.zeros((30, 40), bool), 15.0)
    bench = builtin_corruptions()["fog"](image, depth, 3, np.random.default_rng(1), K=K)
    assert np.array_equal(bench, functional.fog(image, frame_depth_m, FOG_VISIBILITY_M[2], K))
    assert not np.array_equal(bench, functional.fog(image, frame_depth_m, 100.0, K))


def test_aliases_give_the_catalogue_corruption_and_its_pixels():
    assert canonical_name("low_light") == "night"
    assert set(ALIASES.values()) <= set(CATALOGUE)
    assert not set(ALIASES) & set(CATALOGUE), "an alias must not shadow a catalogue name"
    rng_image = np.random.default_rng(2)
    image = (rng_image.random((20, 30, 3)) * 255).astype(np.uint8)
    K = functional.default_intrinsics(20, 30)
    a, _ = apply_camera("low_light", 4, image, None, K, corruption_rng(3, 0, "low_light", 4))
    b, _ = apply_camera("night", 4, image, None, K, corruption_rng(3, 0, "night", 4))
    assert np.array_equal(a, b)
    chosen = select_corruptions(["low_light", "gaussian_noise"])
    assert list(chosen) == ["night", "ic_gaussian_noise"]


def test_unknown_names_are_errors_that_suggest_the_closest():
    with pytest.raises(UnknownCorruptionError, match="did you mean 'fog'"):
        canonical_name("fogg")
    with pytest.raises(UnknownCorruptionError, match="LiDAR-only"):
        apply_camera(
            "lidar_jitter",
            1,
            np.zeros((4, 4, 3), np.uint8),
            None,
            np.eye(3),
            np.random.default_rng(0),
        )


def test_bench_configs_with_old_names_load_and_typos_name_file_and_key(tmp_path):
    from scenegen.harness.bench_config import BenchConfigError, load_bench_config

    text = (REPO / "benchmarks" / "ci_bench.yaml").read_text()
    text = text.replace("../scenarios/", f"{REPO}/scenarios/").replace("../../shared", "/nowhere")
    config_path = tmp_path / "_old_names_test.yaml"
    old = (
        text.split("corruptions:")[0]
        + "corruptions: [fog, low_light, contrast]\n"
        + ("severities:" + text.split("severities:", 1)[1])
    )
    config_path.write_text(old)
    config = load_bench_config(config_path)
    assert config.corruptions == ("fog", "night", "ic_contrast")
    config_path.write_text(old.replace("low_light", "low_lihgt"))
    with pytest.raises(
        BenchConfigError,
        match=r"_old_names_test.yaml:\d+: corruptions: .*low_lihgt.*did you mean 'low_light'",
    ):
        load_bench_config(config_path)


def test_the_harness_keeps_no_severity_tables():
    # No module of the harness may define a five-value table of numbers (its own severities).
    for path in (REPO / "scenegen" / "harness").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.List) and len(node.elts) == 5:
                numbers = [
                    e
                    for e in node.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, int | float)
                ]
                assert len(numbers) < 5, f"{path.name}:{node.lineno}: a severity table?"


def test_augment_records_the_catalogue_parameters(tmp_path, kitti_root):
    root = _one_frame_kitti(kitti_root, "000003", tmp_path / "kitti")
    out = tmp_path / "out"
    augment_dataset(root, "kitti", ["low_light"], "2", out, seed=SEED)
    manifest = next((out / "night" / "2").rglob("manifest.jsonl"))
    record = json.loads(manifest.read_text().splitlines()[0])
    text = json.dumps(record)
    assert '"light_scale": 0.1' in text, text[:400]


def test_from_albumentations_passes_depth_and_intrinsics():
    from scenegen.augment import Fog
    from scenegen.augment.depth import RecoveredDepth
    from scenegen.harness.corruptions import from_albumentations

    rng = np.random.default_rng(4)
    image = (rng.random((24, 32, 3)) * 255).astype(np.uint8)
    depth_m = np.linspace(5, 400, 32, dtype=np.float32)[None].repeat(24, 0)
    depth = RecoveredDepth(depth_m, np.zeros((24, 32), bool), np.zeros((24, 32), bool), 12.0)
    K = np.array([[40.0, 0, 16], [0, 40.0, 12], [0, 0, 1]])
    corrupt = from_albumentations(lambda s: Fog(visibility_m=(400, 200, 100, 60, 35)[s - 1]))
    out = corrupt(image, depth, 2, np.random.default_rng(0), K=K)
    assert np.array_equal(out, functional.fog(image, depth_m, 200, K))
    with pytest.raises(ValueError, match="needs metric depth"):
        corrupt(image, None, 2, np.random.default_rng(0), K=K)
