"""``load_detector``: a harness checkpoint or a detector YAML -> a ready :class:`Detector`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scenegen.errors import DetectorConfigError, InvalidInputError, MissingDependencyError
from scenegen.harness.adapters.config import DetectorConfig, load_detector_config
from scenegen.harness.adapters.decode import (
    OutputDecodeError,
    decode_boxes_scores_labels,
    decode_yolo,
)
from scenegen.harness.adapters.geometry import fit_image
from scenegen.harness.adapters.runtimes import Runner, onnx_runner, torchscript_runner
from scenegen.harness.model import Detector
from scenegen.harness.train import load_centernet, load_checkpoint

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedDetector:
    """A detector and what it detects: its labels are 1-based indices into
    ``class_names`` (``labels == 1`` is ``class_names[0]``), 0 is background."""

    detector: Detector
    class_names: list[str]
    name: str
    source: Path
    kind: str

    def for_classes(self, classes: Sequence[str]) -> Detector:
        """The detector with its labels renumbered as 1-based indices into ``classes``;
        detections of classes not in ``classes`` are dropped. Every name of ``classes``
        must be one the detector knows."""
        missing = [c for c in classes if c not in self.class_names]
        if missing:
            raise InvalidInputError(
                f"{self.source}: detector {self.name!r} has no class {', '.join(map(repr, missing))}"
                f" (it detects {', '.join(self.class_names)}), expected every evaluated class"
            )
        lookup = torch.zeros(len(self.class_names) + 1, dtype=torch.int64)
        for i, name in enumerate(self.class_names):
            lookup[i + 1] = classes.index(name) + 1 if name in classes else 0
        inner = self.detector

        def detect(images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
            results = []
            for r in inner(images):
                labels = lookup[r["labels"].long()]
                keep = labels > 0
                results.append(
                    {"boxes": r["boxes"][keep], "scores": r["scores"][keep], "labels": labels[keep]}
                )
            return results

        return detect


def load_detector(path: str | Path) -> LoadedDetector:
    """A detector from a harness checkpoint (``.pt``, as ``scenegen bench`` writes it) or a
    detector YAML (:mod:`scenegen.harness.adapters.config`)."""
    path = Path(path)
    if path.suffix.lower() in YAML_SUFFIXES:
        return _from_config(load_detector_config(path))
    if not path.is_file():
        raise InvalidInputError(f"{path}: not a file, expected a detector YAML or checkpoint")
    return _harness(path, path, path.stem)


def _harness(checkpoint: Path, source: Path, name: str) -> LoadedDetector:
    try:
        model = load_centernet(checkpoint)
        classes = list(load_checkpoint(checkpoint)["config"]["bench"]["classes"])
    except (KeyError, TypeError, ValueError, RuntimeError, OSError) as exc:
        raise InvalidInputError(
            f"{checkpoint}: not a scenegen bench checkpoint ({type(exc).__name__}: {exc}), "
            "expected OUT/model/checkpoint.pt of a bench run"
        ) from None
    if len(classes) != model.config.num_classes:
        raise InvalidInputError(
            f"{checkpoint}: {model.config.num_classes} model classes but {len(classes)} class "
            "names in its config, expected as many"
        )

    @torch.no_grad()
    def detect(images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        return model(images)

    return LoadedDetector(detect, classes, name, source, "harness")


def _from_config(config: DetectorConfig) -> LoadedDetector:
    if config.kind == "harness":
        return _harness(config.model, config.path, config.name)
    make_runner = {"torchscript": torchscript_runner, "onnx": onnx_runner}[config.kind]
    try:
        runner = make_runner(config.model)
    except MissingDependencyError:
        raise
    except Exception as exc:  # a corrupt or foreign file: the runtime's own error says why
        raise DetectorConfigError(
            str(config.path),
            1,
            1,
            "model",
            f"{config.model} does not load as {config.kind} ({type(exc).__name__}: {exc})",
        ) from None
    assert config.classes is not None  # required for these kinds by the config reader
    class_names = list(dict.fromkeys(config.classes.values()))
    lookup = {index: class_names.index(name) + 1 for index, name in config.classes.items()}
    return LoadedDetector(
        _configured(runner, config, lookup), class_names, config.name, config.path, config.kind
    )


def _configured(runner: Runner, config: DetectorConfig, lookup: dict[int, int]) -> Detector:
    """Per image: fit to the model input, run, decode, undo the fit, map the labels."""

    def detect(images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        results = []
        for image in images:
            hwc = image.detach().cpu().float().permute(1, 2, 0).numpy()
            batch, transform = fit_image(hwc, config.input)
            size = (batch.shape[3], batch.shape[2])
            outputs = runner(batch)
            try:
                if config.output.format == "yolo":
                    boxes, scores, labels = decode_yolo(outputs[0], config.output, size)
                else:
                    boxes, scores, labels = decode_boxes_scores_labels(outputs, config.output, size)
            except OutputDecodeError as exc:
                raise DetectorConfigError(str(config.path), 1, 1, "output", str(exc)) from None
            mapped = np.array([lookup.get(int(label), 0) for label in labels], np.int64)
            keep = mapped > 0
            results.append(
                {
                    "boxes": torch.from_numpy(transform.boxes_to_image(boxes[keep])),
                    "scores": torch.from_numpy(np.ascontiguousarray(scores[keep], np.float32)),
                    "labels": torch.from_numpy(mapped[keep]),
                }
            )
        return results

    return detect
