"""``scenegen fidelity``: how far a synthetic dataset is from a real one, statistic by
statistic, next to the real data's own spread."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scenegen.cli.app import EXIT_INVALID_INPUT, app, err, out
from scenegen.cli.app import fail as _fail
from scenegen.errors import ScenegenError

_HELP = (
    "Compare a synthetic dataset with a real one (any format the readers know): camera, LiDAR "
    "and label statistics, each with the synthetic and the real value, a bootstrap interval "
    "and a real-vs-real baseline (two halves of REAL). Writes OUT/fidelity.json, "
    "OUT/report.md, OUT/report.html and OUT/plots/, and names the 5 statistics furthest from "
    "the baseline. Weight-free: no network, no model weights."
)


@app.command(help=_HELP)
def fidelity(
    synthetic_dir: Annotated[
        Path,
        typer.Argument(
            help="Synthetic dataset: a scenegen dataset, a KITTI folder, a COCO annotations "
            "file or its folder, or a YOLO folder.",
            show_default=False,
        ),
    ],
    real_dir: Annotated[
        Path,
        typer.Argument(
            help="Real dataset, in any of the same forms (at least 4 readable frames).",
            show_default=False,
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Report folder (created; files are replaced).")
    ] = Path("fidelity"),
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the bootstrap and of the real set's split.")
    ] = 0,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", "-b", min=10, help="Bootstrap replicates per statistic.")
    ] = 200,
    width: Annotated[
        int,
        typer.Option(
            "--width",
            min=16,
            max=4096,
            help="Width (px) every image is resized to before its statistics, aspect kept.",
        ),
    ] = 621,
    lidar_beams: Annotated[
        str,
        typer.Option(
            "--lidar-beams",
            help="Beam model that assigns rings from elevation when a scan has none: hdl64, "
            "vlp32, vlp16 or os1-128.",
        ),
    ] = "hdl64",
    synthetic_format: Annotated[
        str,
        typer.Option("--synthetic-format", help="auto, scenegen, kitti, coco or yolo."),
    ] = "auto",
    real_format: Annotated[
        str, typer.Option("--real-format", help="auto, scenegen, kitti, coco or yolo.")
    ] = "auto",
    frechet_weights: Annotated[
        Path | None,
        typer.Option(
            "--frechet-weights",
            help="Local TorchScript feature extractor (Inception-v3 for FID, or DINOv2) for "
            "the optional Fréchet distance; default $SCENEGEN_FRECHET_WEIGHTS. Never downloaded.",
            show_default=False,
        ),
    ] = None,
    frechet_size: Annotated[
        int,
        typer.Option(
            "--frechet-size", min=32, max=1024, help="Square input size of that network (px)."
        ),
    ] = 224,
) -> None:
    from scenegen.fidelity.report import write_report
    from scenegen.fidelity.run import FidelitySettings, run_fidelity

    try:
        settings = FidelitySettings(
            seed=seed,
            replicates=bootstrap,
            width_px=width,
            lidar_beams=lidar_beams,
            synthetic_format=synthetic_format,
            real_format=real_format,
        )
    except ValueError as exc:
        _fail(str(exc), EXIT_INVALID_INPUT)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    bars: dict[str, object] = {}

    def advance(which: str, done: int, total: int) -> None:
        if which not in bars:
            bars[which] = progress.add_task(which, total=total)
        progress.update(bars[which], completed=done)  # type: ignore[arg-type]

    try:
        with progress:
            result = run_fidelity(synthetic_dir, real_dir, settings, advance)
        paths = write_report(result, out_dir)
    except (ScenegenError, ValueError) as exc:
        _fail(str(exc), EXIT_INVALID_INPUT)
    except OSError as exc:
        _fail(f"{exc.filename or out_dir}: {exc.strerror or exc}")
    for which, stats in (("synthetic", result.synthetic), ("real", result.real)):
        for error in stats.errors:
            err.print(f"{which}: skipped {error}", highlight=False, markup=False, soft_wrap=True)
    weights = frechet_weights or (
        Path(os.environ["SCENEGEN_FRECHET_WEIGHTS"])
        if os.environ.get("SCENEGEN_FRECHET_WEIGHTS")
        else None
    )
    _frechet(weights, frechet_size, synthetic_dir, real_dir, synthetic_format, real_format, out_dir)
    table = Table(title="furthest from real (score: beyond real-vs-real, in its spread)")
    table.add_column("statistic")
    table.add_column("synthetic", justify="right")
    table.add_column("real", justify="right")
    table.add_column("score", justify="right")
    for row in result.top:
        table.add_row(row.info.name, _number(row.synthetic), _number(row.real), f"{row.score:.1f}")
    out.print(table)
    out.print(
        f"{len(result.rows)} statistics; report: {paths['markdown']}, {paths['html']}, "
        f"{paths['json']}",
        highlight=False,
        soft_wrap=True,
    )


def _frechet(
    weights: Path | None,
    size_px: int,
    synthetic_dir: Path,
    real_dir: Path,
    synthetic_format: str,
    real_format: str,
    out_dir: Path,
) -> None:
    """The optional network-feature Fréchet distance, written to OUT/frechet.json."""
    from scenegen.fidelity.frechet import SKIPPED, frechet_between
    from scenegen.io.atomic import atomic_write_bytes

    if weights is None:
        err.print(SKIPPED, highlight=False, markup=False, soft_wrap=True)
        return
    try:
        result = frechet_between(
            weights,
            synthetic_dir,
            real_dir,
            size_px=size_px,
            synthetic_format=synthetic_format,
            real_format=real_format,
        )
    except (ScenegenError, ValueError) as exc:
        _fail(str(exc), EXIT_INVALID_INPUT)
    atomic_write_bytes(out_dir / "frechet.json", json.dumps(result, indent=2).encode("utf-8"))
    out.print(
        f"Fréchet distance on {weights.name} features ({result['feature_dim']}-d, "
        f"{result['frames']['synthetic']} vs {result['frames']['real']} frames): "
        f"{result['frechet_distance']:.4g}; {out_dir / 'frechet.json'}",
        highlight=False,
        soft_wrap=True,
    )


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"
