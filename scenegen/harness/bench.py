"""``scenegen bench``: render, train, evaluate on every edge case and corruption, report.

The config format is :mod:`scenegen.harness.bench_config`; evaluation with bootstrap
intervals is :mod:`scenegen.harness.evaluate`; the report :mod:`scenegen.harness.report`.
Rendered datasets are cached under ``OUT/data`` (reused when the same config part made
them), the checkpoint under ``OUT/model``; the report is ``OUT/report.md``,
``OUT/report.html``, ``OUT/metrics.json`` and PNGs next to them.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from scenegen.batch.engine import Engine
from scenegen.batch.plan import plan_batch
from scenegen.batch.runner import render_batch
from scenegen.harness.adapters import LoadedDetector
from scenegen.harness.bench_config import (
    BenchConfig,
    BenchConfigError,
    build_bench_model,
    load_bench_config,
)
from scenegen.harness.corruptions import Corruption, builtin_corruptions, select_corruptions
from scenegen.harness.dataset import DetectionDataset
from scenegen.harness.evaluate import (
    BenchProgress,
    ProgressCallback,
    coco_dict,
    evaluate_bench,
    load_split,
    predict,
)
from scenegen.harness.metrics import coco_eval
from scenegen.harness.mix import (
    MixTrainer,
    Pool,
    TrainedRun,
    evaluate_real,
    load_real_test,
    natural_shares,
    pool_info,
    real_dataset,
    run_mix_sweep,
    run_sim2real,
)
from scenegen.harness.mix_config import DatasetPart, TrainSource
from scenegen.harness.model import Detector, count_parameters
from scenegen.harness.report import write_report
from scenegen.harness.train import TrainProgress, set_reproducible, train_detector
from scenegen.io.atomic import atomic_write_bytes

__all__ = [
    "BenchConfig",
    "BenchConfigError",
    "BenchProgress",
    "load_bench_config",
    "predict",
    "render_scenarios",
    "run_bench",
]


# ------------------------------------------------------------------------ rendering


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


# ------------------------------------------------------------------------ the whole run


def run_bench(
    config: BenchConfig,
    out_dir: Path,
    *,
    corruptions: Mapping[str, Corruption] | None = None,
    on_progress: ProgressCallback | None = None,
    resume: bool = True,
    engine: Engine | None = None,
    detector: LoadedDetector | None = None,
) -> dict[str, Any]:
    """Render (or reuse) with ``engine`` (default: this process), train (or resume),
    evaluate and write the report; returns metrics.

    With ``detector`` (:func:`scenegen.harness.adapters.load_detector`) nothing is
    trained: that detector is evaluated on the test sets and corruptions, its labels
    renumbered onto the config's ``classes`` (each of which it must detect)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    grid = dict(corruptions) if corruptions is not None else builtin_corruptions()
    chosen = select_corruptions(list(config.corruptions), grid)
    timings: dict[str, float] = {}

    def render_progress(stage: str) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress(BenchProgress(stage, done, total))

        return report

    started = time.perf_counter()
    loaded = detector.for_classes(config.classes) if detector is not None else None
    rendered = {}
    for i, source in enumerate(config.train_sources):
        if source.dataset is not None or detector is not None:
            continue
        # One source keeps the cache folder (and seed) the single-source form always had.
        folder = "train" if len(config.train_sources) == 1 else f"train_{i}"
        rendered[i] = render_scenarios(
            source.scenarios,
            source.frames_per_scenario,
            config.seed + i,
            out_dir / "data" / folder,
            image_scale=config.render_image_scale,
            lidar=config.render_lidar,
            engine=engine,
            on_frame=render_progress(f"render {folder}"),
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

    def dataset(path: Path, frames: Sequence[str] | None = None) -> DetectionDataset:
        return DetectionDataset(
            path,
            classes=config.classes,
            class_map=config.class_map,
            min_box_height_px=config.min_box_height_px,
            max_occlusion=config.max_occlusion,
            image_scale=config.train_image_scale,
            frames=frames,
        )

    main: TrainedRun | None = None
    if loaded is None:
        t = time.perf_counter()
        pools = [
            _pool(config, source, rendered.get(i), dataset)
            for i, source in enumerate(config.train_sources)
        ]
        finetune_pool = (
            None
            if config.finetune is None
            else _dataset_pool(
                config,
                config.finetune.dataset,
                real=config.finetune.dataset.format != "scenegen",
                repeat=1,
                dataset=dataset,
            )
        )
        samples = [sample for pool in pools for sample in pool.samples]
        trainer = MixTrainer(
            config, pools, out_dir / "model", resume=resume, on_progress=on_progress
        )
        if _single_source(config, pools):
            main = _train_single(config, pools[0], out_dir / "model", resume, on_progress)
        else:
            main = trainer.train("mixed", pools, natural_shares(pools))
            if finetune_pool is not None and not config.sim2real:
                main = trainer.finetune("finetune", main, finetune_pool)
        timings["train_s"] = time.perf_counter() - t

    t = time.perf_counter()
    if main is not None:
        main.model.eval()
    evaluated: Detector = main.model if main is not None else loaded
    splits = [load_split(name, dataset(path)) for name, path in test_paths.items()]
    metrics = evaluate_bench(evaluated, splits, config, chosen, on_progress)
    metrics["real_kitti"] = _evaluate_real_kitti(evaluated, config)
    real_tests = [load_real_test(config, part) for part in config.test_real]
    metrics["real"] = [evaluate_real(evaluated, test, config) for test in real_tests]
    timings["evaluate_s"] = time.perf_counter() - t
    if main is not None and (config.sim2real or config.mix_sweep is not None):
        t = time.perf_counter()
        if config.sim2real:
            metrics["sim2real"] = run_sim2real(trainer, main, finetune_pool, real_tests)
        if config.mix_sweep is not None:
            metrics["mix_sweep"] = run_mix_sweep(trainer, real_tests)
        timings["sim2real_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started
    metrics["config"] = {"name": config.name, "path": str(config.path)}
    metrics["task"] = {
        "classes": list(config.classes),
        "class_map": dict(config.class_map),
        "min_box_height_px": config.min_box_height_px,
        "max_occlusion": config.max_occlusion,
    }
    if main is not None:
        metrics["training"] = {
            "frames": len(samples),
            "epochs": main.result.epochs_done,
            "seconds": main.result.seconds,
            "images_per_second": main.result.images_per_second,
            "loss_history": main.result.loss_history,
            "parameters": count_parameters(main.model),
            "image_size": list(samples[0][0].shape[:2]),
            "sources": main.pools,
            "real_share": main.real_share,
        }
    if detector is not None:
        metrics["detector"] = {
            "name": detector.name,
            "kind": detector.kind,
            "source": str(detector.source),
            "class_names": list(detector.class_names),
        }
    metrics["timings"] = timings
    write_report(out_dir, metrics, splits, evaluated, config)
    return metrics


def _dataset_pool(
    config: BenchConfig,
    part: DatasetPart,
    *,
    real: bool,
    repeat: int,
    dataset: Callable[..., DetectionDataset],
) -> Pool:
    # Real frames are stored at full resolution; scenegen datasets at render.image_scale.
    data = real_dataset(config, part) if real else dataset(part.path, frames=part.frame_ids)
    samples = [data.raw_item(i) for i in range(len(data))]
    return Pool(part.name, real, samples, data.frame_ids, repeat)


def _pool(
    config: BenchConfig,
    source: TrainSource,
    rendered: Path | None,
    dataset: Callable[..., DetectionDataset],
) -> Pool:
    if source.dataset is not None:
        return _dataset_pool(
            config, source.dataset, real=source.real, repeat=source.repeat, dataset=dataset
        )
    assert rendered is not None
    data = dataset(rendered)
    samples = [data.raw_item(i) for i in range(len(data))]
    return Pool(source.name, False, samples, data.frame_ids, source.repeat)


def _single_source(config: BenchConfig, pools: Sequence[Pool]) -> bool:
    """The original form: one source, once, nothing else to train."""
    return (
        len(pools) == 1
        and pools[0].repeat == 1
        and config.finetune is None
        and not config.sim2real
        and config.mix_sweep is None
    )


def _train_single(
    config: BenchConfig,
    pool: Pool,
    model_dir: Path,
    resume: bool,
    on_progress: ProgressCallback | None,
) -> TrainedRun:
    """Every sample once per epoch, shuffled, checkpoints in ``model_dir`` (as always)."""
    set_reproducible(config.training.seed, config.training.num_threads)  # initial weights
    model = build_bench_model(config)

    def train_progress(p: TrainProgress) -> None:
        if on_progress is not None:
            done = p.epoch * p.steps_per_epoch + p.step
            on_progress(
                BenchProgress("train", done, p.epochs * p.steps_per_epoch, f"loss {p.loss:.3f}")
            )

    result = train_detector(
        model,
        pool.samples,
        config.training,
        checkpoint_dir=model_dir,
        resume=resume,
        run_config={"bench": config.raw},
        on_progress=train_progress,
    )
    share = 1.0 if pool.real else 0.0
    return TrainedRun("main", model, result, share, [pool_info(pool, 1.0)])


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
    return {"root": str(root), "frames": len(items), "image_scale": scale, **coco_dict(result)}
