"""The ``scenegen`` command line: the only place that prints, exits or reads the environment."""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from scenegen import __version__
from scenegen.errors import ScenegenError

app = typer.Typer(
    name="scenegen",
    help="Synthetic driving data for the rare and dangerous cases: scenario files to labelled "
    "camera and LiDAR datasets (KITTI, COCO, YOLO).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

EXIT_FAILURE = 1
EXIT_INVALID_INPUT = 2


def _fail(message: str, code: int = EXIT_FAILURE) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"scenegen {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug messages.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command()
def validate(
    files: Annotated[
        list[Path], typer.Argument(help="Scenario files to check.", show_default=False)
    ],
) -> None:
    """Check scenario files; print FILE:LINE:COL errors; exit 2 if any file is invalid."""
    from scenegen.scenario import load_scenario

    bad = 0
    for path in files:
        try:
            scenario = load_scenario(path)
        except ScenegenError as exc:
            bad += 1
            for line in _error_lines(exc):
                err.print(line, highlight=False, soft_wrap=True)
            continue
        cells = len(scenario.sweep_cells)
        extra = f", sweep of {cells} cells" if cells > 1 else ""
        out.print(
            f"[green]ok[/]  {path}  ({scenario.name}{extra})", highlight=False, soft_wrap=True
        )
    if bad:
        err.print(f"{bad} of {len(files)} file(s) invalid", highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT)


def _error_lines(exc: ScenegenError) -> list[str]:
    errors = getattr(exc, "errors", None)
    if errors:
        return [str(e) for e in errors]
    return [str(exc)]


def _parse_shard(shard: str | None) -> tuple[int, int] | None:
    if shard is None:
        return None
    try:
        k, n = (int(x) for x in shard.split("/"))
    except ValueError:
        _fail(f"--shard {shard!r}: expected K/N, e.g. 1/4", EXIT_INVALID_INPUT)
    if not 1 <= k <= n:
        _fail(f"--shard {shard!r}: expected 1 <= K <= N", EXIT_INVALID_INPUT)
    return k, n


@app.command()
def render(
    scenarios: Annotated[
        list[Path],
        typer.Argument(
            help="Scenario files; their frames go one after another into one dataset.",
            show_default=False,
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Dataset folder to write.")] = Path(
        "out"
    ),
    frames: Annotated[
        int | None,
        typer.Option(
            "--frames", "-n", min=1, help="Frames per scenario (default: each file's `frames`)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Base seed (default: each file's `seed`).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", "-j", min=1, help="Worker processes (default: 2 on a 2+ core machine)."
        ),
    ] = None,
    formats: Annotated[
        str, typer.Option("--formats", help="Comma-separated writers: kitti, coco, yolo.")
    ] = "kitti,coco,yolo",
    lidar: Annotated[
        bool,
        typer.Option("--lidar/--no-lidar", help="Simulate the LiDAR when the scenario has one."),
    ] = True,
    shard: Annotated[
        str | None,
        typer.Option("--shard", help="Render only shard K of N (K/N, 1-based): every N-th frame."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Keep frames already complete in --out, render the rest."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the scenegen dataset already in --out.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Write into a non-empty folder that is not a scenegen dataset."
        ),
    ] = False,
    preview: Annotated[
        bool, typer.Option("--preview/--no-preview", help="Also write OUT/preview.png.")
    ] = False,
    gl_backend: Annotated[
        str, typer.Option("--gl", help="Headless GL backend: auto, egl or osmesa.")
    ] = "auto",
) -> None:
    """Render scenario files to a labelled dataset (KITTI, COCO, YOLO and a manifest)."""
    from scenegen.batch.runner import default_workers, plan_batch, render_batch
    from scenegen.sensors.gl import configure_backend

    format_list = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = sorted(set(format_list) - {"kitti", "coco", "yolo"})
    if unknown or not format_list:
        _fail(
            f"--formats {formats!r}: unknown {', '.join(unknown) or 'empty list'}; expected kitti, coco, yolo",
            EXIT_INVALID_INPUT,
        )
    shard_kn = _parse_shard(shard)
    try:
        plan = plan_batch(scenarios, frames, seed)
    except ScenegenError as exc:
        for line in _error_lines(exc):
            err.print(line, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    if shard_kn is not None:
        plan = plan.shard(*shard_kn)
    n_workers = workers or default_workers()
    try:
        backend = configure_backend(gl_backend)
    except ScenegenError as exc:
        _fail(str(exc))
    err.print(
        f"rendering {len(plan.tasks)} frames with {n_workers} worker(s), GL: {backend.kind} ({backend.renderer})",
        highlight=False,
    )

    progress = Progress(
        TextColumn("[bold]render"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    started = time.perf_counter()
    try:
        with progress:
            bar = progress.add_task("render", total=len(plan.tasks), rate="")

            def advance(_result: object) -> None:
                done = progress.tasks[0].completed + 1
                rate = done / max(time.perf_counter() - started, 1e-9)
                progress.update(bar, advance=1, rate=f"{rate:.2f} frames/s")

            summary = render_batch(
                plan,
                out_dir,
                formats=format_list,
                workers=n_workers,
                lidar=lidar,
                resume=resume,
                overwrite=overwrite,
                force=force,
                on_frame=advance,
            )
    except ScenegenError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; completed frames are kept, continue with --resume", 130)
    except OSError as exc:
        _fail(
            f"{exc.filename or out_dir}: {exc.strerror or exc}; completed frames are kept, continue with --resume"
        )

    table = Table(title=f"{out_dir}", show_header=True)
    table.add_column("class")
    table.add_column("objects", justify="right")
    for cls, n in sorted(summary.objects_per_class.items()):
        table.add_row(cls, str(n))
    out.print(table)
    fps = summary.frames / summary.seconds if summary.seconds > 0 else 0.0
    out.print(
        f"{summary.frames} frames rendered"
        + (f", {summary.skipped_existing} already complete" if summary.skipped_existing else "")
        + f" in {summary.seconds:.1f} s ({fps:.2f} frames/s); "
        f"{summary.dropped_objects} objects too small to label; "
        f"events: {dict(summary.events) or 'none'}",
        highlight=False,
    )
    if preview:
        _write_preview(out_dir, out_dir / "preview.png", 24, 3)


def _write_preview(dataset: Path, output: Path, max_frames: int, columns: int) -> None:
    from scenegen.io import save_contact_sheet

    path = save_contact_sheet(dataset, output, max_frames=max_frames, columns=columns)
    out.print(f"preview: {path}", highlight=False)


@app.command()
def preview(
    dataset: Annotated[
        Path,
        typer.Argument(
            help="A dataset folder written by `scenegen render` (or a KITTI training folder's parent).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="PNG to write (default: DATASET/preview.png)."),
    ] = None,
    max_frames: Annotated[
        int, typer.Option("--max-frames", min=1, help="Frames on the sheet.")
    ] = 24,
    columns: Annotated[int, typer.Option("--columns", min=1, help="Tiles per row.")] = 3,
) -> None:
    """Draw a contact sheet: boxes with class, occlusion and event, LiDAR on the image, bird's-eye view."""
    try:
        _write_preview(dataset, output or dataset / "preview.png", max_frames, columns)
    except ScenegenError as exc:
        _fail(str(exc))


@app.command()
def merge(
    shards: Annotated[
        list[Path],
        typer.Argument(help="Dataset folders rendered with --shard K/N.", show_default=False),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder of the merged dataset.")
    ] = Path("out"),
) -> None:
    """Join shard datasets into one (files hard-linked where possible, hashes checked)."""
    from scenegen.io import merge_datasets

    try:
        records = merge_datasets(shards, out_dir)
    except ScenegenError as exc:
        _fail(str(exc))
    out.print(
        f"merged {len(shards)} shard(s) into {out_dir}: {len(records)} frames", highlight=False
    )


@app.command()
def schema() -> None:
    """Print the scenario file's JSON Schema (for editor completion and validation)."""
    from scenegen.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command()
def doctor(
    gl_backend: Annotated[
        str, typer.Option("--gl", help="Backend to check: auto, egl or osmesa.")
    ] = "auto",
) -> None:
    """Report the headless GL backends that work here, and package versions."""
    from importlib.metadata import PackageNotFoundError, version

    from scenegen.sensors.gl import BACKENDS, GLBackend, probe_backend

    table = Table(title="headless OpenGL", show_header=True)
    table.add_column("backend")
    table.add_column("status")
    table.add_column("renderer")
    names = BACKENDS if gl_backend == "auto" else (gl_backend,)
    working = []
    for name in names:
        result = probe_backend(name)
        if isinstance(result, GLBackend):
            working.append(result)
            table.add_row(name, f"[green]works[/] ({result.kind})", result.renderer)
        else:
            table.add_row(name, "[red]fails[/]", result)
    out.print(table)
    if working:
        out.print(f"render will use: {working[0].kind} via {working[0].name}")
    versions = Table(title="packages", show_header=True)
    versions.add_column("package")
    versions.add_column("version")
    versions.add_row("python", platform.python_version())
    for pkg in (
        "scenegen",
        "numpy",
        "opencv-python-headless",
        "pyrender",
        "PyOpenGL",
        "trimesh",
        "torch",
        "albumentations",
        "open3d-cpu",
        "open3d",
    ):
        try:
            versions.add_row(pkg, version(pkg))
        except PackageNotFoundError:
            versions.add_row(pkg, "-")
    out.print(versions)
    out.print(
        f"CPU cores: {os.cpu_count()}; LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS', 'unset (all cores)')}"
    )
    if not working:
        raise typer.Exit(EXIT_FAILURE)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
