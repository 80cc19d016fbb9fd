"""Mixed synthetic + real training: the batch sampler, the sim-to-real runs and the mix sweep.

Every run trains the same detector for the same number of steps (``training.epochs`` epochs
of the full mix's size, ``sum(frames x repeat)`` over the sources), so the rows differ only
in *what* the batches hold:

* ``mixed``: every source in proportion to ``frames x repeat`` (the bench's main model);
* ``real_only`` / ``synthetic_only``: only the real / only the synthetic sources;
* ``finetune``: the synthetic-only model, then ``train.finetune`` for its own epochs;
* the mix sweep: a real share ``f`` of every batch (:class:`MixSampler`), and generations
  after the first trained on the previous model's labels (pseudo-labels with score >=
  ``pseudo_label_score``) of the same images: ``replace`` trains only on them (the
  recursive setting that collapses, Shumailov et al., Nature 2024), ``accumulate`` keeps the
  real frames at share ``f`` and adds each generation's pseudo-labelled frames to the
  synthetic part (Gerstgrasser et al. 2024, "Is model collapse inevitable?").
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenegen.harness.bench_config import BenchConfig, build_bench_model
from scenegen.harness.bootstrap import resample_weights
from scenegen.harness.dataset import DIFFICULTIES, DetectionDataset
from scenegen.harness.evaluate import BenchProgress, ProgressCallback, Scorer, predict
from scenegen.harness.metrics import KITTI_DIFFICULTY
from scenegen.harness.mix_config import DatasetPart, sweep_mixes
from scenegen.harness.train import TrainProgress, TrainResult, set_reproducible, train_detector

Sample = tuple[np.ndarray, dict[str, torch.Tensor]]


@dataclass
class Pool:
    """Training samples of one source: ``real`` frames carry ground-truth labels of real
    images; ``pseudo`` ones a model's own labels."""

    name: str
    real: bool
    samples: list[Sample]
    frame_ids: tuple[str, ...]
    repeat: int = 1
    pseudo: bool = False


def pool_info(pool: Pool, share: float) -> dict[str, Any]:
    """What a run trained on, for ``metrics.json`` and the report."""
    return {
        "name": pool.name,
        "real": pool.real,
        "pseudo": pool.pseudo,
        "frames": len(pool.samples),
        "share": float(share),
        "frame_ids": list(pool.frame_ids),
    }


class MixSampler:
    """Epoch order over pools laid end to end (pool ``p``'s samples at
    ``offsets[p]..offsets[p+1]``): position ``k`` of the epoch goes to the pool furthest
    behind its share (``shares[p] * (k + 1) - taken``), so every batch, and every prefix of
    the epoch, holds each pool within one sample of its share. Within a pool, samples come
    in shuffled passes: none repeats before all were used."""

    def __init__(self, pool_sizes: Sequence[int], shares: Sequence[float], epoch_size: int):
        sizes = np.asarray(pool_sizes, np.int64)
        weights = np.asarray(shares, np.float64)
        if len(sizes) != len(weights) or not len(sizes):
            raise ValueError("one share per pool, at least one pool")
        if (weights < 0).any() or not np.isclose(weights.sum(), 1.0):
            raise ValueError(f"shares must be >= 0 and sum to 1, got {list(shares)}")
        if ((weights > 0) & (sizes == 0)).any():
            raise ValueError("a pool with a share above 0 has no samples")
        if epoch_size < 1:
            raise ValueError(f"epoch_size must be >= 1, got {epoch_size}")
        self.epoch_size = int(epoch_size)
        self.sizes = sizes
        self.shares = weights
        self.offsets = np.r_[0, np.cumsum(sizes)]
        taken = np.zeros(len(sizes))
        self.pool_at = np.empty(self.epoch_size, np.int64)
        for k in range(self.epoch_size):
            p = int(np.argmax(weights * (k + 1) - taken))
            self.pool_at[k] = p
            taken[p] += 1

    def __call__(self, rng: np.random.Generator) -> np.ndarray:
        order = np.empty(self.epoch_size, np.int64)
        for p, size in enumerate(self.sizes):
            positions = np.flatnonzero(self.pool_at == p)
            if not len(positions):
                continue
            passes = -(-len(positions) // int(size))
            draws = np.concatenate([rng.permutation(int(size)) for _ in range(passes)])
            order[positions] = self.offsets[p] + draws[: len(positions)]
        return order

    def pool_of(self, indices: np.ndarray) -> np.ndarray:
        """The pool each (concatenated) sample index belongs to."""
        return np.searchsorted(self.offsets, np.asarray(indices), side="right") - 1


def natural_shares(pools: Sequence[Pool]) -> list[float]:
    """Shares in proportion to ``frames x repeat``: what ``repeat: K`` means."""
    weights = np.array([len(p.samples) * p.repeat for p in pools], np.float64)
    return list(weights / weights.sum())


def fraction_shares(pools: Sequence[Pool], real_fraction: float) -> list[float]:
    """A real share ``real_fraction`` split over the real pools, the rest over the others,
    each side in proportion to ``frames x repeat``."""
    shares = []
    for want_real, total in ((True, real_fraction), (False, 1.0 - real_fraction)):
        side = [p for p in pools if p.real == want_real]
        weights = np.array([len(p.samples) * p.repeat for p in side], np.float64)
        norm = weights.sum()
        shares.append(
            {id(p): total * w / norm if norm else 0.0 for p, w in zip(side, weights, strict=True)}
        )
    merged = {**shares[0], **shares[1]}
    return [merged[id(p)] for p in pools]


def pseudo_labelled(
    detector: Any, samples: Sequence[Sample], score_threshold: float, batch_size: int = 16
) -> list[Sample]:
    """The same images labelled by ``detector``: its boxes with score >= ``score_threshold``
    become the targets (no ignore regions, unknown occlusion, distance and difficulty)."""
    predictions = predict(detector, [image for image, _ in samples], batch_size)
    out = []
    for (image, target), pred in zip(samples, predictions, strict=True):
        keep = pred["scores"] >= score_threshold
        boxes = pred["boxes"][keep].float().reshape(-1, 4)
        n = len(boxes)
        nan = torch.full((n,), float("nan"))
        out.append(
            (
                image,
                {
                    "boxes": boxes,
                    "labels": pred["labels"][keep].long(),
                    "occlusion": nan,
                    "occlusion_level": torch.zeros(n, dtype=torch.int64),
                    "truncation": nan.clone(),
                    "distance_m": nan.clone(),
                    "event": torch.full((n,), -1, dtype=torch.int64),
                    "difficulty": torch.full(
                        (n,), DIFFICULTIES.index("unknown"), dtype=torch.int64
                    ),
                    "area": (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]),
                    "iscrowd": torch.zeros(n, dtype=torch.int64),
                    "ignore_boxes": torch.zeros((0, 4)),
                    "image_id": target["image_id"],
                },
            )
        )
    return out


# ------------------------------------------------------------------------ evaluation


def real_dataset(config: BenchConfig, part: DatasetPart) -> DetectionDataset:
    """The frames of ``part`` at the resolution the detector trains on (real frames are
    stored at full resolution, rendered ones at ``render.image_scale``)."""
    return DetectionDataset(
        part.path,
        classes=config.classes,
        class_map=config.class_map,
        min_box_height_px=config.min_box_height_px,
        max_occlusion=config.max_occlusion,
        image_scale=config.render_image_scale * config.train_image_scale,
        frames=part.frame_ids,
    )


@dataclass
class RealTestSet:
    """A real test set held in memory for every model to be scored on."""

    part: DatasetPart
    images: list[np.ndarray]
    targets: list[dict[str, torch.Tensor]]
    frame_ids: tuple[str, ...]
    image_scale: float


def load_real_test(config: BenchConfig, part: DatasetPart) -> RealTestSet:
    dataset = real_dataset(config, part)
    items = [dataset.raw_item(i) for i in range(len(dataset))]
    return RealTestSet(
        part,
        [image for image, _ in items],
        [target for _, target in items],
        dataset.frame_ids,
        dataset.image_scale,
    )


def evaluate_real(detector: Any, test: RealTestSet, config: BenchConfig) -> dict[str, Any]:
    """AP50 with its bootstrap interval on one real test set, overall and per KITTI
    difficulty (cumulative, as KITTI counts: moderate includes easy). A difficulty is
    ``resolved`` when its minimum box height, at the evaluated resolution, is at least
    ``min_box_height_px``; otherwise part of it is ignore regions and the number is partial."""
    predictions = predict(detector, test.images)
    seed = np.random.SeedSequence([config.seed, config.test_seed, 17])
    weights = resample_weights(
        len(test.targets), config.bootstrap_resamples, np.random.default_rng(seed)
    )
    scorer = Scorer(list(config.classes), weights, config.confidence)
    entry, _ = scorer.score(test.targets, predictions)
    height = test.images[0].shape[0] if test.images else 375
    height_scale = height / 375.0
    by_difficulty = {}
    for name, (min_h, max_occ, max_trunc) in KITTI_DIFFICULTY.items():
        keep = []
        for t in test.targets:
            heights = (t["boxes"][:, 3] - t["boxes"][:, 1]).numpy()
            keep.append(
                (heights >= min_h * height_scale)
                & (t["occlusion_level"].numpy() <= max_occ)
                & (np.nan_to_num(t["truncation"].numpy()) <= max_trunc)
            )
        d_entry, _ = scorer.score(test.targets, predictions, keep=keep)
        by_difficulty[name] = {
            "AP50": d_entry["AP50"],
            "AP50_ci": d_entry["AP50_ci"],
            "num_gt": d_entry["num_gt"],
            "resolved": bool(min_h * height_scale >= config.min_box_height_px),
        }
    return {
        "name": test.part.name,
        "root": str(test.part.root),
        "frames": len(test.targets),
        "frame_ids": list(test.frame_ids),
        "image_scale": test.image_scale,
        "AP50": entry["AP50"],
        "AP50_ci": entry["AP50_ci"],
        "AP": entry["AP"],
        "num_gt": entry["num_gt"],
        "difficulty": by_difficulty,
    }


# ------------------------------------------------------------------------ training runs


@dataclass
class TrainedRun:
    key: str
    model: torch.nn.Module
    result: TrainResult
    real_share: float
    pools: list[dict[str, Any]]


class MixTrainer:
    """Trains (or resumes) the runs of one bench, each once: a run is keyed by its pools
    and shares, so the mix sweep's ends reuse the real-only and synthetic-only models."""

    def __init__(
        self,
        config: BenchConfig,
        pools: Sequence[Pool],
        model_dir: Path,
        *,
        resume: bool,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.config = config
        self.pools = list(pools)
        self.epoch_size = sum(len(p.samples) * p.repeat for p in pools)
        self.model_dir = Path(model_dir)
        self.resume = resume
        self.on_progress = on_progress
        self.runs: dict[tuple, TrainedRun] = {}

    def _progress(self, stage: str) -> Callable[[TrainProgress], None] | None:
        if self.on_progress is None:
            return None
        callback = self.on_progress

        def report(p: TrainProgress) -> None:
            done = p.epoch * p.steps_per_epoch + p.step
            total = p.epochs * p.steps_per_epoch
            callback(BenchProgress(stage, done, total, f"loss {p.loss:.3f}"))

        return report

    def train(self, name: str, pools: Sequence[Pool], shares: Sequence[float]) -> TrainedRun:
        """A model trained for the bench's budget on ``pools`` at ``shares``."""
        used = [(p, s) for p, s in zip(pools, shares, strict=True) if s > 0]
        key = tuple((p.name, round(float(s), 9)) for p, s in used)
        if key in self.runs:
            return self.runs[key]
        samples = [sample for p, _ in used for sample in p.samples]
        sampler = MixSampler(
            [len(p.samples) for p, _ in used], [s for _, s in used], self.epoch_size
        )
        set_reproducible(self.config.training.seed, self.config.training.num_threads)
        model = build_bench_model(self.config)
        result = train_detector(
            model,
            samples,
            self.config.training,
            checkpoint_dir=self.model_dir / _slug(name),
            resume=self.resume,
            run_config={"bench": self.config.raw, "mix": [list(k) for k in key]},
            on_progress=self._progress(f"train {name}"),
            sampler=sampler,
        )
        run = TrainedRun(
            name,
            model,
            result,
            float(sum(s for p, s in used if p.real)),
            [pool_info(p, s) for p, s in used],
        )
        self.runs[key] = run
        return run

    def finetune(self, name: str, start: TrainedRun, pool: Pool) -> TrainedRun:
        """``start``'s model trained further on ``pool`` for ``train.finetune.epochs``."""
        spec = self.config.finetune
        assert spec is not None
        model = copy.deepcopy(start.model)
        training = replace(
            self.config.training,
            epochs=spec.epochs,
            learning_rate=spec.learning_rate or self.config.training.learning_rate,
        )
        result = train_detector(
            model,
            pool.samples,
            training,
            checkpoint_dir=self.model_dir / _slug(name),
            resume=self.resume,
            run_config={"bench": self.config.raw, "finetune_of": start.key},
            on_progress=self._progress(f"train {name}"),
        )
        info = {**pool_info(pool, 1.0), "finetune_epochs": spec.epochs}
        return TrainedRun(name, model, result, start.real_share, [*start.pools, info])


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def run_entry(
    run: TrainedRun, label: str, tests: Sequence[RealTestSet], config: BenchConfig
) -> dict:
    run.model.eval()
    return {
        "run": run.key,
        "label": label,
        "real_share": run.real_share,
        "pools": run.pools,
        "epochs": run.result.epochs_done,
        "seconds": run.result.seconds,
        "real": [evaluate_real(run.model, t, config) for t in tests],
    }


SIM2REAL_LABELS = {
    "real_only": "real frames only",
    "synthetic_only": "scenegen frames only",
    "finetune": "scenegen pre-training, then fine-tuning on real frames",
    "mixed": "scenegen + real frames mixed in one run",
}


def run_sim2real(
    trainer: MixTrainer,
    main: TrainedRun,
    finetune_pool: Pool | None,
    tests: Sequence[RealTestSet],
) -> list[dict[str, Any]]:
    """The ``sim2real`` rows, in the config's order; ``main`` is the mixed run."""
    config = trainer.config
    rows = []
    synthetic_only = None
    for name in config.sim2real:
        if name == "mixed":
            run = main
        elif name == "real_only":
            run = trainer.train("real_only", trainer.pools, fraction_shares(trainer.pools, 1.0))
        else:
            if synthetic_only is None:
                synthetic_only = trainer.train(
                    "synthetic_only", trainer.pools, fraction_shares(trainer.pools, 0.0)
                )
            run = synthetic_only
            if name == "finetune":
                assert finetune_pool is not None
                run = trainer.finetune("finetune", synthetic_only, finetune_pool)
        rows.append({"name": name, **run_entry(run, SIM2REAL_LABELS[name], tests, config)})
    return rows


def run_mix_sweep(trainer: MixTrainer, tests: Sequence[RealTestSet]) -> dict[str, Any]:
    """One model per real fraction, then the generations of each mode."""
    config = trainer.config
    sweep = config.mix_sweep
    assert sweep is not None
    base = trainer.pools
    images = [sample for p in base for sample in p.samples]
    points = []
    real_shares = sweep_mixes(sweep)
    for fraction in sweep.real_fractions:
        first = trainer.train(f"mix_f{fraction:g}", base, fraction_shares(base, fraction))
        points.append(
            {
                "real_fraction": fraction,
                "mode": "",
                "generation": 0,
                **run_entry(first, f"real share {fraction:g}", tests, config),
            }
        )
        for mode in sweep.modes:
            previous, pseudo_pools = first, []
            for generation in range(1, sweep.generations):
                previous.model.eval()
                pseudo = Pool(
                    f"pseudo-labels f{fraction:g} {mode} g{generation}",
                    real=False,
                    samples=pseudo_labelled(previous.model, images, sweep.pseudo_label_score),
                    frame_ids=tuple(i for p in base for i in p.frame_ids),
                    pseudo=True,
                )
                if mode == "replace":
                    pools, shares = [pseudo], [1.0]
                else:
                    pseudo_pools.append(pseudo)
                    pools = [*base, *pseudo_pools]
                    shares = fraction_shares(pools, fraction)
                run = trainer.train(f"mix_f{fraction:g}_{mode}_g{generation}", pools, shares)
                assert np.isclose(run.real_share, real_shares[(fraction, mode, generation)])
                points.append(
                    {
                        "real_fraction": fraction,
                        "mode": mode,
                        "generation": generation,
                        **run_entry(run, f"{mode} generation {generation}", tests, config),
                    }
                )
                previous = run
    return {
        "real_fractions": list(sweep.real_fractions),
        "modes": list(sweep.modes),
        "generations": sweep.generations,
        "real_floor": sweep.real_floor,
        "forced": sweep.force,
        "pseudo_label_score": sweep.pseudo_label_score,
        "points": points,
    }
