"""Robustness harness: metrics against hand-computed cases, datasets over every format,
reproducible resumable training, corruptions, and the CI bench preset end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from scenegen.augment.depth import RecoveredDepth
from scenegen.frame import Box3D, Calibration, CameraIntrinsics, Frame, ObjectLabel
from scenegen.harness.corruptions import builtin_corruptions
from scenegen.harness.dataset import EVENT_NAMES, DetectionDataset, collate_detection
from scenegen.harness.metrics import coco_eval, interpolated_ap, kitti_ap
from scenegen.harness.model import CenterNet, CenterNetConfig, decode, encode_targets
from scenegen.harness.train import TrainConfig, train_detector
from scenegen.io import DatasetWriter

REPO = Path(__file__).resolve().parents[1]


def _target(boxes, labels, **extra):
    n = len(boxes)
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.tensor(labels, dtype=torch.int64),
        "occlusion_level": extra.get("occ", torch.zeros(n, dtype=torch.int64)),
        "truncation": torch.zeros(n),
        "ignore_boxes": torch.tensor(extra.get("ignore", []), dtype=torch.float32).reshape(-1, 4),
    }


def _pred(boxes, scores, labels):
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "scores": torch.tensor(scores, dtype=torch.float32),
        "labels": torch.tensor(labels, dtype=torch.int64),
    }


# Two cars; detections: a hit (0.9), a false positive (0.8), a hit (0.7).
# Precision/recall: (1, 0.5), (0.5, 0.5), (2/3, 1). Interpolated precision is 1 up to
# recall 0.5 and 2/3 above: COCO (101 points: 51 at 1, 50 at 2/3) and KITTI R40 (20 and 20).
CASE_TARGET = _target([[0, 0, 10, 50], [50, 0, 60, 50]], [1, 1])
CASE_PRED = _pred([[0, 0, 10, 50], [30, 0, 40, 50], [50, 0, 60, 50]], [0.9, 0.8, 0.7], [1, 1, 1])


def test_coco_ap_matches_hand_computed_case():
    result = coco_eval([CASE_TARGET], [CASE_PRED], ["car"])
    assert pytest.approx((51 + 50 * 2 / 3) / 101, abs=1e-6) == result.AP50
    # Exact boxes: the same at every IoU threshold.
    assert pytest.approx((51 + 50 * 2 / 3) / 101, abs=1e-6) == result.AP
    assert result.num_gt == 2


def test_kitti_ap_matches_hand_computed_case():
    result = kitti_ap([CASE_TARGET], [CASE_PRED], ["car"], height_scale=1.0)
    assert result["car"]["easy"] == pytest.approx((20 + 20 * 2 / 3) / 40, abs=1e-9)


def test_ignore_regions_neither_help_nor_hurt():
    # The false positive lies in an ignore region: AP becomes perfect.
    target = _target([[0, 0, 10, 50], [50, 0, 60, 50]], [1, 1], ignore=[[28, 0, 42, 50]])
    assert pytest.approx(1.0) == coco_eval([target], [CASE_PRED], ["car"]).AP50
    # Slicing away the second car: its detection is ignored, the false positive still counts.
    sliced = coco_eval([CASE_TARGET], [CASE_PRED], ["car"], keep=[np.array([True, False])])
    assert sliced.num_gt == 1 and pytest.approx(1.0) == sliced.AP50


def test_kitti_difficulty_ignores_objects_below_min_height():
    # A 20 px tall car is below every difficulty's 25 px: no ground truth, AP is nan.
    target = _target([[0, 0, 10, 20]], [1])
    result = kitti_ap([target], [_pred([[0, 0, 10, 20]], [0.9], [1])], ["car"])
    assert np.isnan(result["car"]["moderate"])


def test_interpolated_ap_is_one_for_perfect_ranking_and_zero_without_hits():
    assert interpolated_ap(np.array([0.9, 0.5]), np.array([True, True]), 2, 101) == 1.0
    assert interpolated_ap(np.array([0.9]), np.array([False]), 1, 40) == 0.0


# ---------------------------------------------------------------------------- datasets


def _frame(index: int) -> Frame:
    rng = np.random.default_rng(index)
    intrinsics = CameraIntrinsics(64, 48, 50.0, 50.0, 32.0, 24.0)
    calibration = Calibration(intrinsics, np.eye(4), np.eye(4))
    objects = [
        ObjectLabel(
            "car",
            1,
            np.array([4, 6, 30, 40], np.float32),
            Box3D(1.5, 1.8, 4, 0, 1.65, 12, 0.1),
            alpha=0.1,
            truncation=0.0,
            occlusion=0.25,
            occlusion_level=1,
            distance_m=12.0,
            difficulty="moderate",
            event="cut_in",
            visible_pixels=500,
        ),
        ObjectLabel(
            "pedestrian",
            2,
            np.array([40, 10, 50, 44], np.float32),
            Box3D(1.7, 0.6, 0.6, 2, 1.65, 9, 0.0),
            alpha=0.0,
            truncation=0.1,
            occlusion=0.0,
            occlusion_level=0,
            distance_m=9.0,
            difficulty="easy",
            visible_pixels=200,
        ),
    ]
    rgb = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
    depth = np.full((48, 64), 20.0, np.float32)
    return Frame(f"{index:06d}", rgb, calibration, depth_m=depth, objects=objects)


@pytest.fixture(scope="module")
def written_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    writer = DatasetWriter(out, ("kitti", "coco", "yolo"))
    for i in range(3):
        writer.write_frame(_frame(i), i)
    writer.finalize()
    return out


@pytest.mark.parametrize("sub", ["", "kitti/training", "coco/annotations.json", "yolo"])
def test_dataset_targets_equal_the_labels_in_every_format(written_dataset, sub):
    dataset = DetectionDataset(written_dataset / sub if sub else written_dataset)
    assert len(dataset) == 3
    image, target = dataset[1]
    assert image.dtype == torch.float32 and image.shape == (3, 48, 64)
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    expected = _frame(1)
    np.testing.assert_allclose(image.permute(1, 2, 0).numpy() * 255, expected.rgb, atol=0.51)
    assert target["boxes"].dtype == torch.float32 and target["labels"].dtype == torch.int64
    # YOLO stores normalised 6-decimal centres: boxes come back within a thousandth of a pixel.
    np.testing.assert_allclose(
        target["boxes"].numpy(), np.stack([o.box_2d for o in expected.objects]), atol=1e-3
    )
    assert target["labels"].tolist() == [1, 5]  # car, pedestrian: class index + 1
    if sub != "yolo":  # YOLO files hold only class and box
        np.testing.assert_allclose(target["occlusion"].numpy(), [0.25, 0.0], atol=1e-4)
        np.testing.assert_allclose(target["distance_m"].numpy(), [12.0, 9.0], atol=1e-4)
        assert target["occlusion_level"].tolist() == [1, 0]
        np.testing.assert_allclose(target["truncation"].numpy(), [0.0, 0.1], atol=1e-4)
    if sub in ("", "kitti/training", "coco/annotations.json"):
        assert target["event"].tolist() == [EVENT_NAMES.index("cut_in"), -1]


def test_dataset_class_selection_scale_and_collate(written_dataset):
    dataset = DetectionDataset(written_dataset, classes=("car",), image_scale=0.5)
    image, target = dataset[0]
    assert image.shape == (3, 24, 32)
    np.testing.assert_allclose(target["boxes"].numpy(), [[2, 3, 15, 20]])
    # The pedestrian is not a chosen class: an ignore region, not a missing object.
    np.testing.assert_allclose(target["ignore_boxes"].numpy(), [[20, 5, 25, 22]])
    images, targets = collate_detection([dataset[0], dataset[1]])
    assert len(images) == 2 and targets[1]["image_id"].item() == 1


def test_dataset_turns_heavily_occluded_objects_into_ignore_regions(written_dataset):
    # The car is 25 % hidden, the pedestrian not at all.
    dataset = DetectionDataset(written_dataset, max_occlusion=0.2)
    _, target = dataset[0]
    assert target["labels"].tolist() == [5]
    np.testing.assert_allclose(target["ignore_boxes"].numpy(), [[4, 6, 30, 40]])
    _, target = DetectionDataset(written_dataset, max_occlusion=0.25)[0]
    assert target["labels"].tolist() == [1, 5] and len(target["ignore_boxes"]) == 0


def test_dataset_runs_an_albumentations_pipeline(written_dataset):
    import albumentations as A  # noqa: N812 (the library's own convention)

    from scenegen.harness.dataset import albumentations_compose

    flip = albumentations_compose([A.HorizontalFlip(p=1.0)])
    _, target = DetectionDataset(written_dataset, transform=flip)[0]
    np.testing.assert_allclose(target["boxes"].numpy()[0], [64 - 30, 6, 64 - 4, 40], atol=1e-4)
    assert target["labels"].tolist() == [1, 5]


def test_event_names_match_the_world_builder():
    from scenegen.world.events import EVENT_BUILDERS

    assert set(EVENT_NAMES) == set(EVENT_BUILDERS)


def test_dataset_reads_real_kitti(kitti_root):
    dataset = DetectionDataset(kitti_root, kind="kitti")
    _, target = dataset[0]
    frame = dataset.frame(0)
    kept = [o for o in frame.objects]
    np.testing.assert_allclose(
        target["boxes"].numpy(), np.stack([o.box_2d for o in kept]), atol=1e-3
    )


# ---------------------------------------------------------------------------- model, training


def test_centernet_decodes_its_own_encoding():
    target = {"boxes": torch.tensor([[8.0, 12.0, 40.0, 36.0]]), "labels": torch.tensor([2])}
    enc = encode_targets([target], 2, (16, 16))
    # Perfect head outputs: logits from the heatmap; at every cell, the log distances from
    # the cell centre to the sides of the box that cell regresses.
    heat = enc["heatmap"].clamp(1e-6, 1 - 1e-6)
    ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    x1, y1, x2, y2 = enc["box"][0]
    sides = torch.stack([xs + 0.5 - x1, ys + 0.5 - y1, x2 - xs - 0.5, y2 - ys - 0.5])
    out = {"heatmap": torch.log(heat / (1 - heat)), "box": sides.clamp(min=1e-6).log()[None]}
    result = decode(out, [(64, 64)], 5, 0.5)[0]
    assert result["labels"].tolist() == [2]
    np.testing.assert_allclose(result["boxes"].numpy()[0], [8, 12, 40, 36], atol=1e-4)
    # Box regression covers the cells around the centre, each object's weights summing to 1.
    weight = enc["box_weight"][0, 0]
    assert (weight > 0).sum() > 1 and float(weight.sum()) == pytest.approx(1.0)
    assert weight[6, 6] == weight.max()  # strongest at the centre cell: (24, 24) px / stride 4


def _tiny_samples():
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(6):
        image = (rng.random((32, 64, 3)) * 40).astype(np.uint8)
        x = int(rng.integers(0, 40))
        image[8:24, x : x + 16] = 220
        samples.append(
            (
                image,
                {
                    "boxes": torch.tensor([[x, 8.0, x + 16, 24]]),
                    "labels": torch.tensor([1]),
                    "ignore_boxes": torch.zeros((0, 4)),
                },
            )
        )
    return samples


def test_resumed_training_matches_an_uninterrupted_run(tmp_path):
    samples = _tiny_samples()
    config = TrainConfig(epochs=3, batch_size=4, learning_rate=1e-3, seed=3)

    def model() -> CenterNet:
        torch.manual_seed(3)  # initial weights come from torch's global generator
        return CenterNet(CenterNetConfig(num_classes=1, width=8, head_width=8))

    full = model()
    train_detector(full, samples, config)
    part = model()
    first = TrainConfig(epochs=3, batch_size=4, learning_rate=1e-3, seed=3, max_seconds=1e-9)
    result = train_detector(part, samples, first, checkpoint_dir=tmp_path)
    assert result.epochs_done == 1
    resumed = model()
    result = train_detector(resumed, samples, config, checkpoint_dir=tmp_path, resume=True)
    assert result.epochs_done == 3
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_corruptions_keep_shape_and_grow_with_severity():
    rng = np.random.default_rng(0)
    image = (rng.random((40, 80, 3)) * 200 + 20).astype(np.uint8)
    depth_m = np.linspace(5, 200, 80, dtype=np.float32)[None].repeat(40, 0)
    ground = np.zeros((40, 80), bool)
    ground[30:] = True
    depth = RecoveredDepth(depth_m, np.zeros((40, 80), bool), ground, 20.0)
    for name, corrupt in builtin_corruptions().items():
        changes = []
        for severity in (1, 5):
            out = corrupt(image, depth, severity, np.random.default_rng(1))
            assert out.shape == image.shape and out.dtype == np.uint8, name
            changes.append(np.abs(out.astype(float) - image).mean())
        assert changes[1] > changes[0], name


# ---------------------------------------------------------------------------- the CI preset


@pytest.mark.slow
def test_ci_bench_preset_end_to_end(tmp_path, gl_backend):
    from scenegen.harness.bench import load_bench_config, run_bench

    config = load_bench_config(REPO / "benchmarks" / "ci_bench.yaml")
    metrics = run_bench(config, tmp_path)
    for name in (
        "report.md",
        "report.html",
        "metrics.json",
        "ap_vs_severity.png",
        "worst_frames.png",
    ):
        assert (tmp_path / name).is_file(), name
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["robustness"]["P"] == pytest.approx(metrics["robustness"]["P"])
    by_severity = metrics["robustness"]["mean_by_severity"]
    worst, mildest = max(config.severities), min(config.severities)
    assert by_severity[str(worst)] < by_severity[str(mildest)]
    # The test sets are sized so that the severity-5 drop is outside the bootstrap noise.
    drop = metrics["robustness"]["drop_by_severity"][str(worst)]
    assert drop["within_noise"] is False and drop["AP50_diff_ci"][1] < 0, drop
    low, high = saved["robustness"]["P_ci"]
    assert low <= saved["robustness"]["P"] <= high
    assert "[" in (tmp_path / "report.md").read_text()
    if (REPO.parent / "shared" / "data" / "kitti" / "training").is_dir():
        assert metrics["real_kitti"]["frames"] == 3
    # Well above chance on its own held-out synthetic frames (measured 0.65).
    assert metrics["clean"]["AP50"] >= 0.5, metrics["clean"]
