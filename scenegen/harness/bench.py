"""``scenegen bench``: render, train, evaluate on every edge case and corruption, report.

A bench config (YAML) names everything; paths are relative to the config file::

    name: ci
    seed: 0
    render: {image_scale: 0.5, lidar: false}      # camera resolution factor for rendering
    train: {scenarios: [../scenarios/clear_day_urban.yaml], frames_per_scenario: 200}
    #  or  train: {dataset: path/to/kitti_or_coco_or_yolo_or_scenegen_output}
    test:
      scenarios: [../scenarios/night_jaywalker.yaml]
      frames_per_scenario: 24
      seed: 1000                                   # other frames than training's
      real_kitti: /path/to/kitti/training          # optional; skipped when absent
    classes: [car, pedestrian]
    class_map: {van: car}                          # optional renames before training
    min_box_height_px: 8                           # smaller objects are ignore regions
    max_occlusion: 0.7                             # so are objects hidden more than this
    corruptions: [fog, rain, gaussian_noise]       # see scenegen.harness.corruptions
    severities: [1, 2, 3, 4, 5]
    model: {name: centernet, width: 24, head_width: 32}
    training: {epochs: 12, batch_size: 16, learning_rate: 0.002, image_scale: 1.0}
    report: {worst_frames: 12, distance_bins_m: [0, 10, 20, 35, 60, 100]}

Rendered datasets are cached under ``OUT/data`` (reused when the same config part made
them), the checkpoint under ``OUT/model``; the report is ``OUT/report.md``,
``OUT/report.html``, ``OUT/metrics.json`` and PNGs next to them.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from scenegen.batch.engine import Engine
from scenegen.batch.plan import plan_batch
from scenegen.batch.runner import render_batch
from scenegen.errors import ScenegenError
from scenegen.frame import CLASS_NAMES
from scenegen.harness.corruptions import SEVERITIES, Corruption, builtin_corruptions
from scenegen.harness.dataset import DetectionDataset, image_tensor
from scenegen.harness.metrics import coco_eval, kitti_ap
from scenegen.harness.model import CenterNet, CenterNetConfig, Detector, count_parameters
from scenegen.harness.train import TrainConfig, TrainProgress, set_reproducible, train_detector
from scenegen.io.atomic import atomic_write_bytes


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
    raw: dict[str, Any] = field(default_factory=dict)


def load_bench_config(
    path: Path, corruptions: Mapping[str, Corruption] | None = None
) -> BenchConfig:
    """Read and validate a bench config; every error names the file and the key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BenchConfigError(f"{path}: not a readable YAML file: {exc}") from None
    if not isinstance(data, dict):
        raise BenchConfigError(f"{path}: expected a mapping of bench settings at the top")

    def fail(key: str, message: str) -> BenchConfigError:
        return BenchConfigError(f"{path}: {key}: {message}")

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

    def number(key: str, value: Any, low: float, high: float, integer: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(key, f"expected a number, got {value!r}")
        if integer and int(value) != value:
            raise fail(key, f"expected an integer, got {value!r}")
        if not low <= value <= high:
            raise fail(key, f"{value!r} is outside [{low}, {high}]")
        return int(value) if integer else float(value)

    def paths(key: str, value: Any, must_exist: bool = True) -> tuple[Path, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise fail(key, f"expected a non-empty list of file paths, got {value!r}")
        resolved = tuple((path.parent / v).resolve() for v in value)
        for original, p in zip(value, resolved, strict=True):
            if must_exist and not p.exists():
                raise fail(key, f"{original!r} does not exist (looked at {p})")
        return resolved

    render = section("render", {"image_scale", "lidar"})
    train = section("train", {"scenarios", "frames_per_scenario", "dataset"}, required=True)
    test = section(
        "test", {"scenarios", "frames_per_scenario", "seed", "real_kitti"}, required=True
    )
    model = section("model", {"name", "width", "head_width"})
    training = section(
        "training",
        {"epochs", "batch_size", "learning_rate", "image_scale", "max_seconds", "weight_decay"},
    )
    report = section("report", {"worst_frames", "distance_bins_m"})

    if ("scenarios" in train) == ("dataset" in train):
        raise fail("train", "give either scenarios (to render) or dataset (a folder), not both")
    train_dataset = None
    train_scenarios: tuple[Path, ...] = ()
    if "dataset" in train:
        if not isinstance(train["dataset"], str):
            raise fail("train.dataset", f"expected a folder path, got {train['dataset']!r}")
        train_dataset = (path.parent / train["dataset"]).resolve()
        if not train_dataset.exists():
            raise fail("train.dataset", f"{train['dataset']!r} does not exist")
    else:
        train_scenarios = paths("train.scenarios", train["scenarios"])
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
    available = corruptions if corruptions is not None else builtin_corruptions()
    corruption_names = data.get("corruptions", [])
    if not isinstance(corruption_names, list) or any(c not in available for c in corruption_names):
        raise fail(
            "corruptions", f"expected a list from {sorted(available)}, got {corruption_names!r}"
        )
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
        train_frames=number(
            "train.frames_per_scenario",
            train.get("frames_per_scenario", 100),
            1,
            10**6,
            integer=True,
        ),
        train_dataset=train_dataset,
        test_scenarios=paths("test.scenarios", test.get("scenarios")),
        test_frames=number(
            "test.frames_per_scenario", test.get("frames_per_scenario", 20), 1, 10**6, integer=True
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
        raw=data,
    )


# ------------------------------------------------------------------------ rendering


@dataclass
class BenchProgress:
    """What the bench is doing now: ``stage`` (render / train / evaluate), counters."""

    stage: str
    done: int
    total: int
    detail: str = ""


ProgressCallback = Callable[[BenchProgress], None]


def render_scenarios(
    scenario_paths: Sequence[Path],
    frames_per_scenario: int,
    seed: int,
    out_dir: Path,
    *,
    image_scale: float,
    lidar: bool,
    engine: Engine | None = None,
    on_frame: Callable[[int, int], None] | None = None,
) -> Path:
    """Render scenarios (camera scaled by ``image_scale``) into a KITTI-layout dataset at
    ``out_dir`` with ``engine`` (default: this process), or reuse it when a finished one
    made with the same settings is there."""
    key = {
        "scenarios": [str(p) for p in scenario_paths],
        "mtimes": [Path(p).stat().st_mtime_ns for p in scenario_paths],
        "frames_per_scenario": frames_per_scenario,
        "seed": seed,
        "image_scale": image_scale,
        "lidar": lidar,
    }
    key_path = out_dir / "bench_render.json"
    if key_path.exists() and json.loads(key_path.read_text()) == key:
        return out_dir
    plan = plan_batch(scenario_paths, frames_per_scenario, seed)
    total = len(plan.tasks)

    done = itertools.count(1)

    def advance(_result: object) -> None:
        if on_frame is not None:
            on_frame(next(done), total)

    render_batch(
        plan,
        out_dir,
        engine=engine,
        formats=("kitti",),
        lidar=lidar,
        image_scale=image_scale,
        overwrite=(out_dir / "manifest.jsonl").exists(),
        force=out_dir.is_dir() and not (out_dir / "manifest.jsonl").exists(),
        on_frame=advance,
    )
    # Written last and atomically: a half-written key never matches, so a run killed while
    # rendering or writing it renders again.
    atomic_write_bytes(key_path, json.dumps(key).encode("utf-8"))
    return out_dir


# ------------------------------------------------------------------------ evaluation


@torch.no_grad()
def predict(
    detector: Detector, images_u8: Sequence[np.ndarray], batch_size: int = 16
) -> list[dict]:
    """Run a detector over uint8 images in batches; returns its per-image dicts."""
    results: list[dict] = []
    for start in range(0, len(images_u8), batch_size):
        batch = [image_tensor(im) for im in images_u8[start : start + batch_size]]
        results.extend({k: v.cpu() for k, v in r.items()} for r in detector(batch))
    return results


@dataclass
class SplitData:
    """One test split (a scenario file) held in memory: scaled images, targets, depth."""

    name: str
    images: list[np.ndarray]
    targets: list[dict]
    frames_meta: list[dict]
    depths: list[np.ndarray | None]
    Ks: list[np.ndarray]
    full_images: list[np.ndarray]  # at rendered resolution (corruptions apply here)


def load_split(name: str, dataset: DetectionDataset) -> SplitData:
    split = SplitData(name, [], [], [], [], [], [])
    for i in range(len(dataset)):
        frame = dataset.frame(i)
        image, target = dataset.sample_from_frame(frame, i)
        split.images.append(image)
        split.targets.append(target)
        record = dataset.record(i)
        split.frames_meta.append(
            {
                "frame_id": frame.frame_id,
                "scenario": record.get("scenario_name") or name,
                "sweep_cell": record.get("sweep_cell") or {},
            }
        )
        split.depths.append(frame.depth_m)
        split.Ks.append(frame.calibration.intrinsics.K)
        split.full_images.append(frame.rgb)
    return split


def _cell_name(split: str, cell: Mapping[str, Any]) -> str:
    if not cell:
        return split
    parts = [f"{key.rsplit('.', 1)[-1]}={value}" for key, value in cell.items()]
    return f"{split} [{', '.join(parts)}]"


def evaluate_bench(
    detector: Detector,
    splits: Sequence[SplitData],
    config: BenchConfig,
    corruptions: Mapping[str, Corruption],
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Clean and corrupted AP per split, sweep cell, distance bin and occlusion level."""
    classes = list(config.classes)
    all_targets = [t for s in splits for t in s.targets]
    clean_predictions = {s.name: predict(detector, s.images) for s in splits}
    all_clean = [p for s in splits for p in clean_predictions[s.name]]
    clean = coco_eval(all_targets, all_clean, classes)
    height = splits[0].images[0].shape[0] if splits and splits[0].images else 375
    metrics: dict[str, Any] = {
        "classes": classes,
        "clean": _coco_dict(clean),
        "kitti_ap": kitti_ap(all_targets, all_clean, classes, height_scale=height / 375.0),
        "edge_cases": [],
        "distance": [],
        "occlusion": [],
        "corruptions": {},
    }
    # Per edge case: each split, and each sweep cell of a split.
    for split in splits:
        preds = clean_predictions[split.name]
        groups: dict[str, list[int]] = {}
        for i, meta in enumerate(split.frames_meta):
            groups.setdefault(_cell_name(split.name, meta["sweep_cell"]), []).append(i)
        entries = [(split.name, list(range(len(split.targets))))]
        if len(groups) > 1:
            entries += sorted(groups.items())
        for name, indices in entries:
            result = coco_eval(
                [split.targets[i] for i in indices], [preds[i] for i in indices], classes
            )
            metrics["edge_cases"].append(
                {"name": name, "split": split.name, "frames": len(indices), **_coco_dict(result)}
            )
    # Sliced by distance and occlusion (objects outside the slice are ignore regions).
    bins = config.distance_bins_m
    for low, high in itertools.pairwise(bins):
        keep = [((t["distance_m"] >= low) & (t["distance_m"] < high)).numpy() for t in all_targets]
        result = coco_eval(all_targets, all_clean, classes, keep=keep)
        metrics["distance"].append({"bin_m": [low, high], **_coco_dict(result)})
    for level, label in enumerate(
        ("fully visible", "partly occluded", "largely occluded", "unknown")
    ):
        keep = [(t["occlusion_level"] == level).numpy() for t in all_targets]
        result = coco_eval(all_targets, all_clean, classes, keep=keep)
        metrics["occlusion"].append({"level": level, "name": label, **_coco_dict(result)})
    # Corruption x severity grid over every test frame.
    total = len(corruptions) * len(config.severities)
    done = 0
    worst: list[dict] = []
    for corruption_name, corrupt in corruptions.items():
        per_severity = {}
        for severity in config.severities:
            images = []
            for s_index, split in enumerate(splits):
                for i, full in enumerate(split.full_images):
                    rng = np.random.default_rng(
                        np.random.SeedSequence(
                            [config.test_seed, s_index, i, severity, _name_seed(corruption_name)]
                        )
                    )
                    corrupted = corrupt(full, split.depths[i], severity, rng, K=split.Ks[i])
                    images.append(_rescale_like(corrupted, split.images[i]))
            preds = predict(detector, images)
            result = coco_eval(all_targets, preds, classes)
            per_severity[str(severity)] = _coco_dict(result)
            done += 1
            if on_progress is not None:
                on_progress(
                    BenchProgress("evaluate", done, total, f"{corruption_name} s{severity}")
                )
        metrics["corruptions"][corruption_name] = per_severity
    p_clean = clean.AP50
    grid = [v["AP50"] for c in metrics["corruptions"].values() for v in c.values()]
    mpc = float(np.nanmean(grid)) if grid else float("nan")
    metrics["robustness"] = {
        "metric": "AP50",
        "P": p_clean,
        "mPC": mpc,
        "rPC": mpc / p_clean if p_clean and p_clean > 0 and grid else float("nan"),
        "mean_by_severity": {
            str(s): float(
                np.nanmean([metrics["corruptions"][c][str(s)]["AP50"] for c in corruptions])
            )
            for s in config.severities
        }
        if corruptions
        else {},
    }
    # Worst clean frames (most missed ground truth), for the contact sheet.
    for split in splits:
        for i, (target, pred) in enumerate(
            zip(split.targets, clean_predictions[split.name], strict=True)
        ):
            worst.append(
                {
                    "split": split.name,
                    "index": i,
                    "frame_id": split.frames_meta[i]["frame_id"],
                    "missed": _missed(target, pred),
                    "objects": len(target["boxes"]),
                }
            )
    worst.sort(key=lambda w: (-w["missed"], -w["objects"]))
    metrics["worst_frames"] = worst[: config.worst_frames]
    return metrics


def _name_seed(name: str) -> int:
    return int.from_bytes(name.encode("utf-8")[:8].ljust(8, b"\0"), "little") % (2**31)


def _rescale_like(image: np.ndarray, like: np.ndarray) -> np.ndarray:
    if image.shape == like.shape:
        return image
    import cv2

    return cv2.resize(image, (like.shape[1], like.shape[0]), interpolation=cv2.INTER_AREA)


def _missed(target: dict, pred: dict, score_threshold: float = 0.3) -> int:
    from scenegen.harness.metrics import box_iou

    gt = target["boxes"].numpy()
    keep = pred["scores"].numpy() >= score_threshold
    det = pred["boxes"].numpy()[keep]
    if not len(gt):
        return 0
    if not len(det):
        return len(gt)
    return int((box_iou(gt, det).max(axis=1) < 0.5).sum())


def _coco_dict(result: Any) -> dict[str, Any]:
    return {
        "AP": result.AP,
        "AP50": result.AP50,
        "per_class_AP50": result.per_class_AP50,
        "num_gt": result.num_gt,
    }


# ------------------------------------------------------------------------ the whole run


def run_bench(
    config: BenchConfig,
    out_dir: Path,
    *,
    corruptions: Mapping[str, Corruption] | None = None,
    on_progress: ProgressCallback | None = None,
    resume: bool = True,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Render (or reuse) with ``engine`` (default: this process), train (or resume),
    evaluate and write the report; returns metrics."""
    from scenegen.harness.report import write_report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    grid = dict(corruptions) if corruptions is not None else builtin_corruptions()
    chosen = {name: grid[name] for name in config.corruptions}
    timings: dict[str, float] = {}

    def render_progress(stage: str) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress(BenchProgress(stage, done, total))

        return report

    started = time.perf_counter()
    if config.train_dataset is not None:
        train_path = config.train_dataset
    else:
        train_path = render_scenarios(
            config.train_scenarios,
            config.train_frames,
            config.seed,
            out_dir / "data" / "train",
            image_scale=config.render_image_scale,
            lidar=config.render_lidar,
            engine=engine,
            on_frame=render_progress("render train"),
        )
    test_paths = {}
    for scenario in config.test_scenarios:
        test_paths[scenario.stem] = render_scenarios(
            [scenario],
            config.test_frames,
            config.test_seed,
            out_dir / "data" / "test" / scenario.stem,
            image_scale=config.render_image_scale,
            lidar=config.render_lidar,
            engine=engine,
            on_frame=render_progress(f"render {scenario.stem}"),
        )
    timings["render_s"] = time.perf_counter() - started

    def dataset(path: Path, cache: bool = False) -> DetectionDataset:
        return DetectionDataset(
            path,
            classes=config.classes,
            class_map=config.class_map,
            min_box_height_px=config.min_box_height_px,
            max_occlusion=config.max_occlusion,
            image_scale=config.train_image_scale,
            cache=cache,
        )

    t = time.perf_counter()
    train_set = dataset(train_path)
    samples = [train_set.raw_item(i) for i in range(len(train_set))]
    set_reproducible(config.training.seed, config.training.num_threads)  # initial weights
    model = _build_model(config)

    def train_progress(p: TrainProgress) -> None:
        if on_progress is not None:
            done = p.epoch * p.steps_per_epoch + p.step
            on_progress(
                BenchProgress("train", done, p.epochs * p.steps_per_epoch, f"loss {p.loss:.3f}")
            )

    result = train_detector(
        model,
        samples,
        config.training,
        checkpoint_dir=out_dir / "model",
        resume=resume,
        run_config={"bench": config.raw},
        on_progress=train_progress,
    )
    timings["train_s"] = time.perf_counter() - t

    t = time.perf_counter()
    model.eval()
    detector: Detector = model
    splits = [load_split(name, dataset(path)) for name, path in test_paths.items()]
    metrics = evaluate_bench(detector, splits, config, chosen, on_progress)
    metrics["real_kitti"] = _evaluate_real_kitti(detector, config)
    timings["evaluate_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started
    metrics["config"] = {"name": config.name, "path": str(config.path)}
    metrics["task"] = {
        "classes": list(config.classes),
        "class_map": dict(config.class_map),
        "min_box_height_px": config.min_box_height_px,
        "max_occlusion": config.max_occlusion,
    }
    metrics["training"] = {
        "frames": len(samples),
        "epochs": result.epochs_done,
        "seconds": result.seconds,
        "images_per_second": result.images_per_second,
        "loss_history": result.loss_history,
        "parameters": count_parameters(model),
        "image_size": list(samples[0][0].shape[:2]),
    }
    metrics["timings"] = timings
    write_report(out_dir, metrics, splits, detector, config)
    return metrics


def _build_model(config: BenchConfig) -> torch.nn.Module:
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


def _evaluate_real_kitti(detector: Detector, config: BenchConfig) -> dict[str, Any] | None:
    root = config.real_kitti
    if root is None:
        return None
    if not (root / "image_2").is_dir():
        return {"skipped": f"{root} not found"}
    # Real frames are shown to the detector at the resolution it was trained on.
    scale = config.render_image_scale * config.train_image_scale
    real = DetectionDataset(
        root,
        kind="kitti",
        classes=config.classes,
        class_map=config.class_map,
        min_box_height_px=config.min_box_height_px,
        max_occlusion=config.max_occlusion,
        image_scale=scale,
    )
    items = [real.raw_item(i) for i in range(len(real))]
    preds = predict(detector, [im for im, _ in items])
    result = coco_eval([t for _, t in items], preds, list(config.classes))
    return {"root": str(root), "frames": len(items), "image_scale": scale, **_coco_dict(result)}
