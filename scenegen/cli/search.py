"""``scenegen search``: find where a detector fails in a scenario's parameter space."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from scenegen.cli.app import app, err, exit_on_errors, fail, out
from scenegen.errors import InvalidInputError, MissingDependencyError

VEHICLES_AS_CAR = ("van", "truck", "bus")


def parse_pairs(text: str, option: str) -> dict[str, str]:
    """``a=b,c=d`` -> ``{"a": "b", "c": "d"}``."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidInputError(f"{option} {text!r}: {item!r} is not NAME=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


def default_class_map(classes: list[str]) -> dict[str, str]:
    """KITTI's habit, as the CI bench trains it: vans, trucks and buses are cars when the
    detector has a car class but not theirs."""
    if "car" not in classes:
        return {}
    return {v: "car" for v in VEHICLES_AS_CAR if v not in classes}


@app.command()
def search(
    scenario: Annotated[Path, typer.Argument(help="Scenario file whose parameters to search.")],
    detector: Annotated[
        Path,
        typer.Option(
            "--detector",
            "-d",
            help="Detector: a bench checkpoint (.pt) or a detector YAML (checkpoint, TorchScript, ONNX).",
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder (new, or --resume).")],
    budget: Annotated[
        int, typer.Option("--budget", "-n", help="Renders to spend on the search.")
    ] = 100,
    method: Annotated[str, typer.Option("--method", "-m", help="cma, bo, qmc or random.")] = "cma",
    seeds_per_point: Annotated[
        int, typer.Option("--seeds-per-point", "-k", help="Scenes (seeds) rendered per point.")
    ] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the search in OUT from its error table.")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Render processes.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the method and of the scenes.")] = 0,
    method_seed: Annotated[
        int | None,
        typer.Option(
            "--method-seed",
            help="Seed of the method alone (default: --seed): the same scenes, other points.",
            show_default=False,
        ),
    ] = None,
    fresh_seeds: Annotated[
        bool,
        typer.Option("--fresh-seeds", help="A new scene per render instead of the same K scenes."),
    ] = False,
    keys: Annotated[
        str, typer.Option("--keys", help="Comma-separated key paths: search only these.")
    ] = "",
    qmc_sequence: Annotated[
        str, typer.Option("--qmc", help="Sequence of --method qmc: sobol or halton.")
    ] = "sobol",
    batch: Annotated[
        int, typer.Option("--batch", help="Points per step of bo, qmc and random.")
    ] = 4,
    classes: Annotated[
        str, typer.Option("--classes", help="Classes to score (default: the detector's).")
    ] = "",
    class_map: Annotated[
        str,
        typer.Option("--class-map", help="Ground-truth classes scored as others: van=car,..."),
    ] = "",
    iou: Annotated[
        str, typer.Option("--iou", help="IoU thresholds per class (default KITTI): car=0.7,...")
    ] = "",
    score_threshold: Annotated[
        float, typer.Option("--score-threshold", help="Score a detection needs.")
    ] = 0.3,
    near_m: Annotated[float, typer.Option("--near-m", help="Objects nearer weigh more.")] = 20.0,
    near_weight: Annotated[
        float, typer.Option("--near-weight", help="Weight of near objects' margins.")
    ] = 2.0,
    difficulty: Annotated[
        str, typer.Option("--difficulty", help="KITTI difficulty of scored objects.")
    ] = "hard",
    cell_bins: Annotated[
        int, typer.Option("--cell-bins", help="Bins per real key of the failure-cell grid.")
    ] = 4,
    expand: Annotated[
        bool | None,
        typer.Option(
            "--expand/--no-expand",
            help="Grow every failure into its neighbouring cells with probe renders "
            "(counted in the budget). Default: on for cma and bo, off for qmc and random.",
            show_default=False,
        ),
    ] = None,
    boundaries: Annotated[
        int, typer.Option("--boundaries", help="Failures whose boundaries to bisect.")
    ] = 3,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Bisection stops below this share of a range.")
    ] = 0.02,
    formats: Annotated[
        str, typer.Option("--formats", help="Formats of the failure dataset.")
    ] = "kitti,coco,yolo",
    lidar: Annotated[
        bool,
        typer.Option(
            "--lidar",
            help="Simulate the scenario's LiDAR in every render, so the failing frames "
            "carry velodyne scans (the detector still sees the camera only).",
        ),
    ] = False,
    gl_backend: Annotated[
        str, typer.Option("--gl", help="Headless GL backend: auto, egl or osmesa.")
    ] = "auto",
) -> None:
    """Search the scenario's parameters for where the detector fails.

    Writes the error table (evaluations.csv / .jsonl), the failing frames as a dataset
    (failures/), a replay scenario per failure, boundaries.json, failure_region.yaml,
    failures.png and summary.json. Needs torch, cma and optuna
    (pip install 'scenegen[search]').
    """
    try:
        from scenegen.harness.adapters import load_detector
        from scenegen.search import MarginSettings, SearchSettings, run_search
    except (MissingDependencyError, ImportError) as exc:
        fail(f"scenegen search needs the search extra: pip install 'scenegen[search]' ({exc})")
    from scenegen.batch.settings import parse_formats
    from scenegen.sensors.gl import configure_backend

    with exit_on_errors(out_dir):
        if workers < 1:
            raise InvalidInputError(f"--workers {workers}: expected >= 1")
        loaded = load_detector(detector)
        scored = [c.strip() for c in classes.split(",") if c.strip()] or list(loaded.class_names)
        mapping = parse_pairs(class_map, "--class-map") if class_map else default_class_map(scored)
        from scenegen.harness.metrics import KITTI_IOU

        thresholds = dict(KITTI_IOU)
        for cls, value in parse_pairs(iou, "--iou").items():
            try:
                thresholds[cls] = float(value)
            except ValueError:
                raise InvalidInputError(f"--iou {cls}={value}: expected a number") from None
        try:
            margin = MarginSettings(
                classes=tuple(scored),
                class_map=mapping,
                iou_thresholds=thresholds,
                score_threshold=score_threshold,
                near_m=near_m,
                near_weight=near_weight,
                difficulty=difficulty,
            )
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
        settings = SearchSettings(
            method=method,
            budget=budget,
            seeds_per_point=seeds_per_point,
            seed=seed,
            method_seed=method_seed,
            qmc_sequence=qmc_sequence,
            batch=batch,
            cell_bins=cell_bins,
            repeat_penalty=0.5,
            expand=expand,
            boundaries=boundaries,
            tolerance=tolerance,
            formats=parse_formats(formats, None),
            keys=tuple(k.strip() for k in keys.split(",") if k.strip()),
            fresh_seeds=fresh_seeds,
            lidar=lidar,
        )
        configure_backend(gl_backend)
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
        )
        bars: dict[str, object] = {}
        started = time.perf_counter()

        def advance(stage: str, done: int, total: int, failures: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total, detail="")
            rate = done / max(time.perf_counter() - started, 1e-9)
            detail = f"{failures} failures" + (
                f", {rate:.2f} renders/s" if stage == "search" else ""
            )
            progress.update(bars[stage], completed=done, total=total, detail=detail)  # type: ignore[arg-type]

        try:
            with progress:
                result = run_search(
                    scenario,
                    loaded,
                    detector,
                    settings,
                    out_dir,
                    margin,
                    workers=workers,
                    resume=resume,
                    loader=load_detector,
                    on_progress=advance,
                )
        except KeyboardInterrupt:
            fail(f"interrupted; the error table in {out_dir} is kept, continue with --resume", 130)
    summary = result.summary
    table = Table(title=f"{out_dir}", show_header=True)
    table.add_column("")
    table.add_column("value", justify="right")
    for key in (
        "method",
        "renders",
        "failing_renders",
        "first_failure_render",
        "failure_cells",
        "boundary_renders",
    ):
        table.add_row(key.replace("_", " "), str(summary[key]))
    out.print(table)
    out.print("searched: " + "; ".join(summary["keys"]), highlight=False, soft_wrap=True)
    if not result.failures:
        out.print(
            "no failures found: failure_region.yaml, failure_regions/ and failures.png are not written"
        )
    if summary["failing_renders"] == 0 and budget < 20:
        err.print("hint: a budget under 20 renders rarely finds anything", highlight=False)
