"""The bench config: a YAML file naming scenarios, test sets, corruptions, model and budget.

Paths are relative to the config file::

    name: ci
    seed: 0
    render: {image_scale: 0.5, lidar: false}      # camera resolution factor for rendering
    train: {scenarios: [../scenarios/clear_day_urban.yaml], frames_per_scenario: 200}
    #  or  train: {dataset: path/to/kitti_or_coco_or_yolo_or_scenegen_output}
    test:
      scenarios: [../scenarios/night_jaywalker.yaml]
      frames_per_scenario: 60
      seed: 1000                                   # other frames than training's
      real_kitti: /path/to/kitti/training          # optional; skipped when absent
    classes: [car, pedestrian]
    class_map: {van: car}                          # optional renames before training
    min_box_height_px: 8                           # smaller objects are ignore regions
    max_occlusion: 0.7                             # so are objects hidden more than this
    corruptions: [fog, rain, ic_gaussian_noise]    # names of scenegen.augment.catalogue
    severities: [1, 2, 3, 4, 5]
    model: {name: centernet, width: 24, head_width: 32}
    training: {epochs: 12, batch_size: 16, learning_rate: 0.002, image_scale: 1.0}
    report: {worst_frames: 12, distance_bins_m: [0, 10, 20, 35, 60, 100],
             bootstrap_resamples: 1000, confidence: 0.95}

Several training sources, fine-tuning, real test sets (``test.real``), the sim-to-real
comparison (``sim2real``) and the mix sweep (``mix_sweep``) are described in
:mod:`scenegen.harness.mix_config`. Errors name the file, the line and the key path.

Corruption names are the catalogue's (:mod:`scenegen.augment.catalogue`); its aliases
(``low_light`` -> ``night``, ``gaussian_noise`` -> ``ic_gaussian_noise``, ``contrast`` ->
``ic_contrast``) are accepted and stored under the catalogue name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from scenegen.errors import ScenegenError
from scenegen.frame import CLASS_NAMES
from scenegen.harness.config_reader import ConfigReader
from scenegen.harness.corruptions import SEVERITIES, Corruption, select_corruptions
from scenegen.harness.mix_config import (
    DatasetPart,
    Finetune,
    MixSweep,
    TrainSource,
    check_no_leak,
    parse_mix_sweep,
    parse_sim2real,
    parse_test_real,
    parse_train,
)
from scenegen.harness.model import CenterNet, CenterNetConfig
from scenegen.harness.train import TrainConfig

# Test frames per scenario unless the config says otherwise: enough that the clean vs
# severity-5 drop of the CI preset lies outside its 95 % bootstrap interval.
DEFAULT_TEST_FRAMES = 60


class BenchConfigError(ScenegenError):
    """A bench config that cannot be run; the message names the file and the key."""


_TOP_KEYS = {
    "name",
    "seed",
    "render",
    "train",
    "test",
    "classes",
    "class_map",
    "min_box_height_px",
    "max_occlusion",
    "corruptions",
    "severities",
    "model",
    "training",
    "report",
    "sim2real",
    "mix_sweep",
}


@dataclass(frozen=True)
class BenchConfig:
    path: Path
    name: str
    seed: int
    render_image_scale: float
    render_lidar: bool
    train_scenarios: tuple[Path, ...]
    train_frames: int
    train_dataset: Path | None
    test_scenarios: tuple[Path, ...]
    test_frames: int
    test_seed: int
    real_kitti: Path | None
    classes: tuple[str, ...]
    class_map: dict[str, str | None]
    min_box_height_px: float
    max_occlusion: float
    corruptions: tuple[str, ...]
    severities: tuple[int, ...]
    model: dict[str, Any]
    training: TrainConfig
    train_image_scale: float
    worst_frames: int
    distance_bins_m: tuple[float, ...]
    bootstrap_resamples: int = 1000
    confidence: float = 0.95
    raw: dict[str, Any] = field(default_factory=dict)
    train_sources: tuple[TrainSource, ...] = ()
    finetune: Finetune | None = None
    test_real: tuple[DatasetPart, ...] = ()
    sim2real: tuple[str, ...] = ()
    mix_sweep: MixSweep | None = None


def load_bench_config(
    path: Path, corruptions: Mapping[str, Corruption] | None = None, *, force: bool = False
) -> BenchConfig:
    """Read and validate a bench config; every error names the file, line and key.
    ``force`` trains mix-sweep mixes below the real floor (``mix_sweep.force``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except FileNotFoundError:
        raise BenchConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BenchConfigError(f"{path}: not a readable YAML file: {exc}") from None
    if not isinstance(data, dict):
        raise BenchConfigError(f"{path}: expected a mapping of bench settings at the top")

    reader = ConfigReader(path, text, BenchConfigError)
    fail = reader.fail

    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key; expected one of {sorted(_TOP_KEYS)}")

    def section(key: str, allowed: set[str], required: bool = False) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            if required:
                raise fail(key, "missing")
            return {}
        if not isinstance(value, dict):
            raise fail(key, f"expected a mapping, got {value!r}")
        extra = sorted(set(value) - allowed)
        if extra:
            raise fail(f"{key}.{extra[0]}", f"unknown key; expected one of {sorted(allowed)}")
        return value

    number = reader.number
    paths = reader.paths

    render = section("render", {"image_scale", "lidar"})
    train = section(
        "train",
        {
            "scenarios",
            "frames_per_scenario",
            "dataset",
            "frames",
            "repeat",
            "real",
            "sources",
            "finetune",
        },
        required=True,
    )
    test = section(
        "test", {"scenarios", "frames_per_scenario", "seed", "real_kitti", "real"}, required=True
    )
    model = section("model", {"name", "width", "head_width"})
    training = section(
        "training",
        {"epochs", "batch_size", "learning_rate", "image_scale", "max_seconds", "weight_decay"},
    )
    report = section(
        "report", {"worst_frames", "distance_bins_m", "bootstrap_resamples", "confidence"}
    )

    train_sources, finetune = parse_train(reader, train)
    first = train_sources[0]
    train_dataset = first.dataset.path if len(train_sources) == 1 and first.dataset else None
    train_scenarios = first.scenarios if len(train_sources) == 1 else ()
    test_real = parse_test_real(reader, test["real"]) if test.get("real") is not None else ()
    check_no_leak(reader, train_sources, finetune, test_real)
    real_kitti = None
    if test.get("real_kitti") is not None:
        if not isinstance(test["real_kitti"], str):
            raise fail("test.real_kitti", f"expected a folder path, got {test['real_kitti']!r}")
        real_kitti = (path.parent / test["real_kitti"]).resolve()

    classes = data.get("classes", list(CLASS_NAMES))
    if not isinstance(classes, list) or not classes or any(c not in CLASS_NAMES for c in classes):
        raise fail(
            "classes", f"expected a list of classes from {list(CLASS_NAMES)}, got {classes!r}"
        )
    class_map = data.get("class_map") or {}
    if not isinstance(class_map, dict) or any(
        k not in CLASS_NAMES or (v is not None and v not in CLASS_NAMES)
        for k, v in class_map.items()
    ):
        raise fail(
            "class_map", f"expected {{class: class or null}} with classes from {list(CLASS_NAMES)}"
        )
    corruption_names = data.get("corruptions", [])
    if not isinstance(corruption_names, list) or not all(
        isinstance(c, str) for c in corruption_names
    ):
        raise fail("corruptions", f"expected a list of corruption names, got {corruption_names!r}")
    try:
        corruption_names = list(select_corruptions(corruption_names, corruptions))
    except ValueError as exc:
        raise fail("corruptions", str(exc)) from None
    severities = data.get("severities", list(SEVERITIES))
    if (
        not isinstance(severities, list)
        or not severities
        or any(s not in SEVERITIES for s in severities)
    ):
        raise fail("severities", f"expected a list from {list(SEVERITIES)}, got {severities!r}")
    model_name = model.get("name", "centernet")
    if not isinstance(model_name, str):
        raise fail("model.name", f"expected a model name, got {model_name!r}")
    bins = report.get("distance_bins_m", [0, 10, 20, 35, 60, 100])
    if (
        not isinstance(bins, list)
        or len(bins) < 2
        or any(not isinstance(b, int | float) for b in bins)
        or sorted(bins) != bins
    ):
        raise fail("report.distance_bins_m", f"expected an increasing list of metres, got {bins!r}")
    train_config = TrainConfig(
        epochs=number("training.epochs", training.get("epochs", 12), 1, 10_000, integer=True),
        batch_size=number(
            "training.batch_size", training.get("batch_size", 16), 1, 1024, integer=True
        ),
        learning_rate=number(
            "training.learning_rate", training.get("learning_rate", 2e-3), 1e-6, 1.0
        ),
        weight_decay=number("training.weight_decay", training.get("weight_decay", 1e-4), 0.0, 1.0),
        seed=number("seed", data.get("seed", 0), 0, 2**31 - 1, integer=True),
        max_seconds=(
            None
            if training.get("max_seconds") is None
            else number("training.max_seconds", training["max_seconds"], 1, 10**7)
        ),
    )
    return BenchConfig(
        path=path.resolve(),
        name=str(data.get("name", path.stem)),
        seed=train_config.seed,
        render_image_scale=number("render.image_scale", render.get("image_scale", 1.0), 0.1, 2.0),
        render_lidar=bool(render.get("lidar", False)),
        train_scenarios=train_scenarios,
        train_frames=first.frames_per_scenario,
        train_dataset=train_dataset,
        test_scenarios=paths("test.scenarios", test.get("scenarios")),
        test_frames=number(
            "test.frames_per_scenario",
            test.get("frames_per_scenario", DEFAULT_TEST_FRAMES),
            1,
            10**6,
            integer=True,
        ),
        test_seed=number(
            "test.seed", test.get("seed", train_config.seed + 1000), 0, 2**31 - 1, integer=True
        ),
        real_kitti=real_kitti,
        classes=tuple(classes),
        class_map=dict(class_map),
        min_box_height_px=number("min_box_height_px", data.get("min_box_height_px", 8), 0, 10_000),
        max_occlusion=number("max_occlusion", data.get("max_occlusion", 1.0), 0.0, 1.0),
        corruptions=tuple(corruption_names),
        severities=tuple(severities),
        model={"name": model_name, **{k: v for k, v in model.items() if k != "name"}},
        training=train_config,
        train_image_scale=number(
            "training.image_scale", training.get("image_scale", 1.0), 0.1, 2.0
        ),
        worst_frames=number(
            "report.worst_frames", report.get("worst_frames", 12), 0, 1000, integer=True
        ),
        distance_bins_m=tuple(float(b) for b in bins),
        bootstrap_resamples=number(
            "report.bootstrap_resamples",
            report.get("bootstrap_resamples", 1000),
            10,
            100_000,
            integer=True,
        ),
        confidence=number("report.confidence", report.get("confidence", 0.95), 0.5, 0.999),
        raw=data,
        train_sources=train_sources,
        finetune=finetune,
        test_real=test_real,
        sim2real=parse_sim2real(reader, data.get("sim2real"), train_sources, finetune),
        mix_sweep=parse_mix_sweep(reader, data.get("mix_sweep"), train_sources, force),
    )


def build_bench_model(config: BenchConfig) -> torch.nn.Module:
    """A fresh, untrained detector of the config's ``model`` section."""
    options = {k: v for k, v in config.model.items() if k != "name"}
    if config.model["name"] == "centernet":
        try:
            return CenterNet(CenterNetConfig(num_classes=len(config.classes), **options))
        except TypeError as exc:
            raise BenchConfigError(f"{config.path}: model: {exc}") from None
    raise BenchConfigError(
        f"{config.path}: model.name: {config.model['name']!r} is not built in; the bench trains "
        "'centernet' (other models plug in through scenegen.harness.model.Detector in Python)"
    )
