"""Mixed synthetic + real training: config forms and errors, the real floor, the batch
sampler, a real mixed training run and evaluation on held-out real frames only."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO, SHARED_DATA

from scenegen.harness.bench_config import BenchConfigError, build_bench_model, load_bench_config
from scenegen.harness.mix import (
    MixSampler,
    Pool,
    fraction_shares,
    load_real_test,
    natural_shares,
    pseudo_labelled,
    real_dataset,
)
from scenegen.harness.mix_config import sweep_mixes
from scenegen.io.splits import SplitSpecError, parse_frame_selection, select_frames

KITTI45 = SHARED_DATA / "kitti45" / "training"
SCENARIO = REPO / "scenarios" / "clear_day_urban.yaml"


@pytest.fixture(scope="module")
def kitti45() -> Path:
    if not (KITTI45 / "image_2").is_dir():
        pytest.skip(f"the 45 real KITTI frames are not at {KITTI45} (shared data folder absent)")
    return KITTI45


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bench.yaml"
    head = """\
        name: t
        classes: [car]
        class_map: {van: car}
        model: {name: centernet, width: 8, head_width: 8}
        training: {epochs: 1, batch_size: 4, image_scale: 1.0}
        render: {image_scale: 0.25}
        """
    path.write_text(textwrap.dedent(head) + textwrap.dedent(body))
    return path


def mixed_body(kitti: Path, extra: str = "", test_frames: str = "000030-000049") -> str:
    return f"""\
        train:
          sources:
            - {{scenarios: [{SCENARIO}], frames_per_scenario: 4}}
            - {{dataset: {kitti}, frames: "000004-000029", repeat: 5}}
          finetune: {{dataset: {kitti}, frames: "000004-000029", epochs: 3}}
        test:
          scenarios: [{SCENARIO}]
          real: [{{dataset: {kitti}, frames: "{test_frames}"}}, {SHARED_DATA / "kitti" / "training"}]
        """ + textwrap.dedent(extra)


# ---------------------------------------------------------------------------- frame ids


def test_frame_selection_is_inclusive_and_numeric():
    ids = ["000004", "000007", "000009", "000010", "000029", "000030", "000100"]
    assert select_frames(ids, parse_frame_selection("000004-000029")) == (
        "000004",
        "000007",
        "000009",
        "000010",
        "000029",
    )
    # Numbers, not text: 9 < 10 < 100 whatever the zero padding.
    assert select_frames(ids, parse_frame_selection("9-10,100")) == ("000009", "000010", "000100")
    assert select_frames(ids, parse_frame_selection("000011-000028")) == ()
    assert select_frames(ids, parse_frame_selection(["000009-000010", "000100"])) == (
        "000009",
        "000010",
        "000100",
    )
    with pytest.raises(SplitSpecError, match="runs backwards"):
        parse_frame_selection("000029-000004")


def test_kitti45_split_has_25_training_and_20_test_frames(kitti45, tmp_path):
    config = load_bench_config(write_config(tmp_path, mixed_body(kitti45, "sim2real: true\n")))
    real_source = config.train_sources[1]
    assert real_source.real and real_source.repeat == 5
    assert len(real_source.dataset.frame_ids) == 25  # 000008 is not in kitti45
    assert "000008" not in real_source.dataset.frame_ids
    assert config.test_real[0].frame_ids == tuple(f"{i:06d}" for i in range(30, 50))
    assert not config.train_sources[0].real
    assert config.finetune.epochs == 3 and config.finetune.dataset.selection == "000004-000029"
    assert config.sim2real == ("real_only", "synthetic_only", "finetune", "mixed")


# ---------------------------------------------------------------------------- config forms


def test_single_source_forms_keep_working(kitti45, tmp_path):
    ci = load_bench_config(REPO / "benchmarks" / "ci_bench.yaml")
    assert len(ci.train_sources) == 1 and ci.train_frames == 120
    assert ci.train_scenarios == ci.train_sources[0].scenarios
    path = write_config(
        tmp_path,
        f"""\
        train: {{dataset: {kitti45}}}
        test: {{scenarios: [{SCENARIO}], real_kitti: {kitti45}}}
        """,
    )
    config = load_bench_config(path)
    assert config.train_dataset == kitti45.resolve()
    assert len(config.train_sources[0].dataset.frame_ids) == 45
    assert config.real_kitti == kitti45.resolve()


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("            - {dataset: KITTI, repeat: 0}\n", "train.sources[2].repeat"),
        ("            - {dataset: KITTI, frames: 7}\n", "train.sources[2].frames"),
        ("            - {dataset: KITTI, frames: '000200-000300'}\n", "train.sources[2].frames"),
        ("            - {scenarios: [SCEN], real: true}\n", "train.sources[2].real"),
        ("            - {dataset: KITTI, shuffle: 1}\n", "train.sources[2].shuffle"),
        ("            - {dataset: nowhere/at/all}\n", "train.sources[2].dataset"),
    ],
)
def test_source_errors_name_file_line_and_key(kitti45, tmp_path, extra, key):
    body = mixed_body(kitti45).replace(
        "          finetune:",
        extra.replace("KITTI", str(kitti45)).replace("SCEN", str(SCENARIO)) + "          finetune:",
    )
    path = write_config(tmp_path, body)
    line = (
        1 + next(i for i, text in enumerate(path.read_text().splitlines()) if "sources" in text) + 3
    )
    with pytest.raises(BenchConfigError) as error:
        load_bench_config(path)
    assert str(error.value).startswith(f"{path}:{line}: {key}: "), str(error.value)


def test_other_errors_name_file_line_and_key(kitti45, tmp_path):
    cases = {
        "sim2real: [real_only, best]\n": "sim2real",
        "mix_sweep: {real_fraction: [0.5, 1.5]}\n": "mix_sweep.real_fraction[1]",
        "mix_sweep: {real_fraction: [0.5], mode: recycle}\n": "mix_sweep.mode",
        "mix_sweep: {real_fraction: [0.5], generations: 0}\n": "mix_sweep.generations",
    }
    for extra, key in cases.items():
        path = write_config(tmp_path, mixed_body(kitti45, extra))
        with pytest.raises(BenchConfigError) as error:
            load_bench_config(path)
        line = len(path.read_text().splitlines())  # the extra is the last line
        assert str(error.value).startswith(f"{path}:{line}: {key}: "), str(error.value)


def test_a_test_frame_that_is_also_trained_on_is_refused(kitti45, tmp_path):
    path = write_config(tmp_path, mixed_body(kitti45, test_frames="000025-000035"))
    with pytest.raises(BenchConfigError) as error:
        load_bench_config(path)
    message = str(error.value)
    assert "test.real[0].frames" in message and "000025" in message
    assert "train.sources[1]" in message


# ---------------------------------------------------------------------------- the real floor


def test_a_mix_below_the_real_floor_is_refused_unless_forced(kitti45, tmp_path):
    replace = "mix_sweep: {real_fraction: [0.5], mode: replace, generations: 2}\n"
    path = write_config(tmp_path, mixed_body(kitti45, replace))
    with pytest.raises(BenchConfigError, match=r"generation 1 in replace mode .* real_floor 0.1"):
        load_bench_config(path)
    assert load_bench_config(path, force=True).mix_sweep.force
    forced = replace.replace("generations: 2", "generations: 2, force: true")
    assert load_bench_config(write_config(tmp_path, mixed_body(kitti45, forced))).mix_sweep
    # A plain mix below the floor, and accumulate over generations, which keeps real data.
    low = "mix_sweep: {real_fraction: [0.05, 0.5], real_floor: 0.1}\n"
    with pytest.raises(BenchConfigError, match=r"real_fraction 0\.05"):
        load_bench_config(write_config(tmp_path, mixed_body(kitti45, low)))
    accumulate = "mix_sweep: {real_fraction: [0.25], mode: accumulate, generations: 3}\n"
    sweep = load_bench_config(write_config(tmp_path, mixed_body(kitti45, accumulate))).mix_sweep
    assert sweep_mixes(sweep) == {
        (0.25, "", 0): 0.25,
        (0.25, "accumulate", 1): 0.25,
        (0.25, "accumulate", 2): 0.25,
    }


# ---------------------------------------------------------------------------- the sampler


def test_sampler_gives_every_batch_its_share_and_uses_a_pool_up_before_repeating():
    sampler = MixSampler([25, 480], [0.1, 0.9], epoch_size=605)
    order = sampler(np.random.default_rng(0))
    assert len(order) == 605
    pools = sampler.pool_of(order)
    assert abs((pools == 0).sum() - 0.1 * 605) < 1.0
    for start in range(0, 605, 16):
        real = int((pools[start : start + 16] == 0).sum())
        size = len(pools[start : start + 16])
        assert abs(real - 0.1 * size) < 1.0 + 1e-9, (start, real)
    # 61 real draws from 25 frames: two full passes (every frame twice) and 11 more.
    counts = np.bincount(order[pools == 0], minlength=25)
    assert set(counts) <= {2, 3} and (counts == 3).sum() == 11
    with pytest.raises(ValueError, match="sum to 1"):
        MixSampler([3, 3], [0.5, 0.6], 10)


def test_repeat_and_fraction_shares():
    real = Pool("real", True, [None] * 25, (), repeat=5)  # type: ignore[list-item]
    synthetic = Pool("synth", False, [None] * 480, ())  # type: ignore[list-item]
    assert natural_shares([synthetic, real]) == pytest.approx([480 / 605, 125 / 605])
    assert fraction_shares([synthetic, real], 0.25) == pytest.approx([0.75, 0.25])
    assert fraction_shares([synthetic, real], 1.0) == pytest.approx([0.0, 1.0])


# ---------------------------------------------------------------------------- real runs


def test_real_and_synthetic_frames_train_in_the_same_batches(kitti45, tmp_path, gl_backend):
    from scenegen.harness.bench import render_scenarios
    from scenegen.harness.dataset import DetectionDataset
    from scenegen.harness.train import TrainConfig, train_detector

    config = load_bench_config(write_config(tmp_path, mixed_body(kitti45)))
    rendered = render_scenarios([SCENARIO], 4, 0, tmp_path / "synth", image_scale=0.25, lidar=False)
    synth = DetectionDataset(rendered, classes=("car",), class_map={"van": "car"})
    synth_samples = [synth.raw_item(i) for i in range(len(synth))]
    part = config.train_sources[1].dataset
    real = real_dataset(config, part)
    real_samples = [real.raw_item(i) for i in range(4)]
    # Real frames are read from the KITTI files and shown at the rendered frames' size.
    assert real_samples[0][0].shape == (94, 310, 3) == synth_samples[0][0].shape
    assert sum(len(t["boxes"]) for _, t in real_samples) > 0

    class Recording:
        def __init__(self, inner: MixSampler) -> None:
            self.inner, self.epoch_size, self.orders = inner, inner.epoch_size, []

        def __call__(self, rng: np.random.Generator) -> np.ndarray:
            self.orders.append(self.inner(rng))
            return self.orders[-1]

    sampler = Recording(MixSampler([4, 4], [0.5, 0.5], epoch_size=8))
    model = build_bench_model(config)
    before = [p.detach().clone() for p in model.parameters()]
    result = train_detector(
        model,
        [*real_samples, *synth_samples],
        TrainConfig(epochs=2, batch_size=4, learning_rate=0.005),
        sampler=sampler,
    )
    assert result.epochs_done == 2 and all(np.isfinite(result.loss_history))
    assert len(sampler.orders) == 2
    for order in sampler.orders:
        for start in (0, 4):
            batch = order[start : start + 4]
            assert (batch < 4).sum() == 2 and (batch >= 4).sum() == 2  # 2 real + 2 synthetic
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_evaluation_sees_only_the_real_test_frames(kitti45, tmp_path):
    from scenegen.harness.mix import evaluate_real

    config = load_bench_config(write_config(tmp_path, mixed_body(kitti45)))
    test = load_real_test(config, config.test_real[0])
    model = build_bench_model(config).eval()
    entry = evaluate_real(model, test, config)
    trained = set(config.train_sources[1].dataset.frame_ids) | set(
        config.finetune.dataset.frame_ids
    )
    assert entry["frame_ids"] == [f"{i:06d}" for i in range(30, 50)]
    assert not trained & set(entry["frame_ids"])
    assert entry["frames"] == 20 and entry["num_gt"] > 0
    # At 0.25 of KITTI's 375 px easy cars (>= 40 px) are >= 10 px, above the 8 px minimum;
    # moderate and hard ones (>= 25 px) can be 6.25 px, partly ignore regions.
    resolved = {name: d["resolved"] for name, d in entry["difficulty"].items()}
    assert resolved == {"easy": True, "moderate": False, "hard": False}
    low, high = entry["AP50_ci"]
    assert low <= entry["AP50"] <= high


def test_pseudo_labels_are_the_detectors_confident_boxes():
    boxes = torch.tensor([[1.0, 2.0, 11.0, 12.0], [5.0, 5.0, 9.0, 20.0]])

    def detector(images):
        return [
            {"boxes": boxes, "scores": torch.tensor([0.9, 0.2]), "labels": torch.tensor([1, 1])}
            for _ in images
        ]

    image = np.zeros((32, 32, 3), np.uint8)
    target = {"image_id": torch.tensor(3), "boxes": torch.zeros((0, 4))}
    ((_, labelled),) = pseudo_labelled(detector, [(image, target)], score_threshold=0.3)
    assert torch.equal(labelled["boxes"], boxes[:1])
    assert labelled["labels"].tolist() == [1] and labelled["ignore_boxes"].shape == (0, 4)
    assert labelled["area"].tolist() == [100.0]
