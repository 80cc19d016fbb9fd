"""Training as plain functions: reproducible, checkpointed, resumable.

Reproducibility: every random choice (epoch order, horizontal flips) comes from
``numpy.random.SeedSequence([seed, epoch])`` and the weights from ``torch.manual_seed(seed)``,
so a run resumed from the checkpoint of epoch ``k`` continues exactly as the uninterrupted
run would (same thread count, same torch build). :func:`train_detector` sets
``torch.set_num_threads`` and deterministic algorithms (warn only), which are process-wide.
For speed, train on downscaled images (``DetectionDataset(image_scale=0.5)``): the cost
of the detector grows with the pixel count.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from scenegen.harness.dataset import image_tensor
from scenegen.harness.model import CenterNet, CenterNetConfig, model_config
from scenegen.io.atomic import atomic_write_bytes

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 16
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    num_threads: int = 2
    hflip: bool = True
    max_seconds: float | None = None  # stop early after this long (breaks reproducibility)


class EpochSampler(Protocol):
    """Which samples an epoch trains on, in order: ``epoch_size`` indices per call (repeats
    allowed), drawn from the epoch's generator (e.g. :class:`scenegen.harness.mix.MixSampler`)."""

    epoch_size: int

    def __call__(self, rng: np.random.Generator) -> np.ndarray: ...


@dataclass
class TrainProgress:
    epoch: int  # 0-based epoch in progress
    epochs: int
    step: int  # steps done in this epoch
    steps_per_epoch: int
    loss: float  # running mean of the epoch's total loss
    seconds: float


@dataclass
class TrainResult:
    epochs_done: int
    seconds: float
    images_per_second: float
    loss_history: list[float]  # mean loss per epoch (all epochs, including resumed ones)


def set_reproducible(seed: int, num_threads: int) -> None:
    """Seed torch and ask for deterministic kernels (process-wide settings)."""
    torch.manual_seed(seed)
    torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _lr_at(config: TrainConfig, epoch: int, step: int, steps_per_epoch: int) -> float:
    # Linear warm-up over the first epoch, then cosine decay to 5 %.
    progress = (epoch * steps_per_epoch + step) / max(1, config.epochs * steps_per_epoch)
    warm = min(1.0, (epoch * steps_per_epoch + step + 1) / max(1, steps_per_epoch))
    return config.learning_rate * warm * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * progress)))


def save_checkpoint(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, config: dict
) -> None:
    """Write model, optimizer, finished ``epoch`` count and the run's config atomically
    (:func:`scenegen.io.atomic.atomic_write_bytes`: a crash leaves the previous checkpoint)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "config": config,
        },
        buffer,
    )
    atomic_write_bytes(path, buffer.getbuffer().tobytes())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint written by :func:`save_checkpoint` (raises ``FileNotFoundError``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no checkpoint there")
    return torch.load(path, map_location="cpu", weights_only=False)


def load_centernet(path: Path) -> CenterNet:
    """The :class:`CenterNet` stored in a checkpoint, in eval mode."""
    checkpoint = load_checkpoint(path)
    model_cfg = dict(checkpoint["config"]["model"])
    if model_cfg.pop("name", None) != "centernet":
        raise ValueError(f"{path}: not a centernet checkpoint")
    model = CenterNet(CenterNetConfig(**model_cfg))
    model.load_state_dict(checkpoint["model"])
    return model.eval()


def _flip(image: torch.Tensor, target: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    width = image.shape[-1]
    flipped = dict(target)
    for key in ("boxes", "ignore_boxes"):
        boxes = target[key].clone()
        boxes[:, [0, 2]] = width - target[key][:, [2, 0]]
        flipped[key] = boxes
    return image.flip(-1), flipped


def train_detector(
    model: nn.Module,
    samples: Sequence[tuple[np.ndarray, dict[str, torch.Tensor]]],
    config: TrainConfig,
    *,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    run_config: dict | None = None,
    on_progress: Callable[[TrainProgress], None] | None = None,
    sampler: EpochSampler | None = None,
) -> TrainResult:
    """Train ``model`` (torchvision convention: ``model(images, targets)`` returns a loss
    dict in train mode) on ``samples``: ``(uint8 HxWx3 image, target)`` pairs, e.g.
    ``[dataset.raw_item(i) for i in range(len(dataset))]``.

    With ``checkpoint_dir`` a checkpoint is written after every epoch; with ``resume`` the
    run continues from it (its weights, optimizer and epoch). ``on_progress`` is called
    after every step. Seeds torch with ``config.seed`` (see the module docstring).
    ``sampler`` chooses each epoch's samples (default: every sample once, shuffled).
    """
    if not samples:
        raise ValueError("no training samples")
    set_reproducible(config.seed, config.num_threads)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    start_epoch, history = 0, []
    checkpoint_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
    if resume and checkpoint_path is not None and checkpoint_path.exists():
        checkpoint = load_checkpoint(checkpoint_path)
        saved = dict(checkpoint["config"].get("train", {}))
        wanted = asdict(config)
        saved.pop("max_seconds", None)
        wanted.pop("max_seconds", None)
        if saved != wanted:
            raise ValueError(
                f"{checkpoint_path}: made with training settings {saved}, not {wanted}; "
                "resume with the same settings or start afresh"
            )
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start_epoch = int(checkpoint["epoch"])
        history = list(checkpoint["config"].get("loss_history", []))
    full_config = {**(run_config or {}), "train": asdict(config)}
    if isinstance(model, CenterNet):
        full_config["model"] = model_config(model)
    epoch_size = len(samples) if sampler is None else sampler.epoch_size
    steps_per_epoch = (epoch_size + config.batch_size - 1) // config.batch_size
    started = time.perf_counter()
    images_seen = 0
    model.train()
    epochs_done = start_epoch
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng(np.random.SeedSequence([config.seed, epoch]))
        if sampler is None:
            order = rng.permutation(len(samples))
            flip_at = (rng.random(len(samples)) < 0.5)[order]
        else:
            # A sample may come twice in an epoch; each time gets its own flip.
            order = np.asarray(sampler(rng), dtype=np.int64)
            flip_at = rng.random(len(order)) < 0.5
        # Weights see a fresh, epoch-determined torch seed too (for any model randomness).
        torch.manual_seed(config.seed * 100_003 + epoch)
        total = 0.0
        for step in range(steps_per_epoch):
            start = step * config.batch_size
            batch = order[start : start + config.batch_size]
            images, targets = [], []
            for position, index in enumerate(batch, start):
                rgb, target = samples[int(index)]
                image = image_tensor(rgb)
                if config.hflip and flip_at[position]:
                    image, target = _flip(image, target)
                images.append(image)
                targets.append(target)
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(config, epoch, step, steps_per_epoch)
            losses = model(images, targets)
            loss = sum(losses.values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            total += float(loss.detach())
            images_seen += len(batch)
            if on_progress is not None:
                on_progress(
                    TrainProgress(
                        epoch,
                        config.epochs,
                        step + 1,
                        steps_per_epoch,
                        total / (step + 1),
                        time.perf_counter() - started,
                    )
                )
        history.append(total / steps_per_epoch)
        epochs_done = epoch + 1
        if checkpoint_path is not None:
            save_checkpoint(
                checkpoint_path,
                model,
                optimizer,
                epoch + 1,
                {**full_config, "loss_history": history},
            )
        if config.max_seconds is not None and time.perf_counter() - started > config.max_seconds:
            break
    model.eval()
    seconds = time.perf_counter() - started
    return TrainResult(
        epochs_done=epochs_done,
        seconds=seconds,
        images_per_second=images_seen / seconds if seconds > 0 else 0.0,
        loss_history=history,
    )
