"""Temporary: harness checkpoints only, with the signature of
``scenegen.harness.adapters.load_detector`` (which replaces this module when it lands)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from scenegen.errors import InvalidInputError
from scenegen.harness.model import Detector
from scenegen.harness.train import load_centernet, load_checkpoint


@dataclass(frozen=True)
class LoadedDetector:
    """A detector and what it detects: labels are 1-based indices into ``class_names``."""

    detector: Detector
    class_names: list[str]
    name: str
    source: Path
    kind: str


def load_detector(path: str | Path) -> LoadedDetector:
    """A detector from a harness checkpoint (``.pt``, as ``scenegen bench`` writes it)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: not a file, expected a bench checkpoint (.pt)")
    try:
        model = load_centernet(path)
        classes = list(load_checkpoint(path)["config"]["bench"]["classes"])
    except (KeyError, TypeError, ValueError, RuntimeError, OSError) as exc:
        raise InvalidInputError(
            f"{path}: not a scenegen bench checkpoint ({type(exc).__name__}: {exc}), "
            "expected OUT/model/checkpoint.pt of a bench run"
        ) from None

    @torch.no_grad()
    def detect(images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        return model(images)

    return LoadedDetector(detect, classes, path.stem, path, "harness")
