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
from rich.markup import escape
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
from scenegen.errors import MissingDependencyError, ScenegenError

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
    # The message is plain text: "[harness]" or "[bold]" in it must print as written.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
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
            _print_errors(exc)
            continue
        cells = len(scenario.sweep_cells)
        extra = f", sweep of {cells} cells" if cells > 1 else ""
        out.print(
            f"[green]ok[/]  {path}  ({scenario.name}{extra})", highlight=False, soft_wrap=True
        )
    if bad:
        err.print(f"{bad} of {len(files)} file(s) invalid", highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT)


def _print_errors(exc: ScenegenError) -> None:
    for line in _error_lines(exc):
        err.print(line, highlight=False, soft_wrap=True)


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
    pointcloud: Annotated[
        str | None,
        typer.Option(
            "--pointcloud",
            help="Also write each LiDAR scan as OUT/pointcloud/NNNNNN.ply or .pcd "
            "(x, y, z, intensity, class_id, instance_id, ring): ply or pcd.",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="Where frames are rendered: process (worker processes on this machine) or "
            "ray (actors on a Ray cluster; needs the ray extra). Same bytes either way.",
        ),
    ] = "process",
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="With --engine ray: the cluster to use, auto (the cluster this machine belongs "
            "to) or ray://HOST:10001 (Ray Client); unset starts a private local Ray instance.",
        ),
    ] = None,
    ray_cpus_per_task: Annotated[
        float,
        typer.Option(
            "--ray-cpus-per-task", min=0, help="With --engine ray: CPUs each Ray worker reserves."
        ),
    ] = 1.0,
    ray_gpus_per_task: Annotated[
        float,
        typer.Option(
            "--ray-gpus-per-task",
            min=0,
            help="With --engine ray: GPUs each Ray worker reserves; a fraction shares one GPU "
            "(0.25: four workers per GPU), which then renders with EGL.",
        ),
    ] = 0.0,
) -> None:
    """Render scenario files to a labelled dataset (KITTI, COCO, YOLO and a manifest)."""
    from scenegen.batch.runner import ENGINES, default_workers, plan_batch, render_batch
    from scenegen.io.dataset import FORMATS
    from scenegen.io.pointcloud import POINTCLOUD_FORMATS
    from scenegen.sensors.gl import configure_backend

    format_list = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = sorted(set(format_list) - set(FORMATS))
    if unknown or not format_list:
        _fail(
            f"--formats {formats!r}: unknown {', '.join(unknown) or 'empty list'}; expected kitti, coco, yolo",
            EXIT_INVALID_INPUT,
        )
    if pointcloud is not None:
        if pointcloud not in POINTCLOUD_FORMATS:
            _fail(f"--pointcloud {pointcloud!r}: expected ply or pcd", EXIT_INVALID_INPUT)
        format_list = (*format_list, pointcloud)
    shard_kn = _parse_shard(shard)
    try:
        plan = plan_batch(scenarios, frames, seed)
    except ScenegenError as exc:
        _print_errors(exc)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    if shard_kn is not None:
        plan = plan.shard(*shard_kn)
    if engine not in ENGINES:
        _fail(f"--engine {engine!r}: expected process or ray", EXIT_INVALID_INPUT)
    n_workers = workers or default_workers()
    ray_options = None
    if engine == "ray" and address is not None:
        # Workers run on other machines: each picks its own GL backend there.
        where = f"Ray cluster {address}"
        gl_text = f"{gl_backend}, chosen on each Ray worker's node"
    else:
        try:
            backend = configure_backend(gl_backend)
        except ScenegenError as exc:
            _fail(str(exc))
        where = "a local Ray instance" if engine == "ray" else f"{n_workers} worker(s)"
        gl_text = f"{backend.kind} ({backend.renderer})"
        gl_backend = backend.name
    if engine == "ray":
        from scenegen.batch.ray_engine import RayOptions

        try:
            ray_options = RayOptions(
                address=address,
                actors=workers,
                cpus_per_task=ray_cpus_per_task,
                gpus_per_task=ray_gpus_per_task,
                gl_backend=gl_backend,
                init_kwargs={"include_dashboard": False} if address is None else {},
            )
        except ScenegenError as exc:
            _fail(str(exc), EXIT_INVALID_INPUT)
    err.print(f"rendering {len(plan.tasks)} frames on {where}, GL: {gl_text}", highlight=False)

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
                engine=engine,
                ray_options=ray_options,
            )
    except ScenegenError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; completed frames are kept, continue with --resume", 130)
    except OSError as exc:
        _fail(_write_error_message(exc, out_dir))

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


def _write_error_message(exc: OSError, out_dir: Path) -> str:
    """One line for a failed write: the path, what went wrong in words, what to do."""
    import errno

    where = exc.filename or out_dir
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = "the disk is full (no space left on device)"
        advice = "free space or move the folder to a bigger disk, then continue with --resume"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason = "permission denied, the output folder is not writable"
        advice = "choose a writable --out or fix its permissions, then continue with --resume"
    elif exc.errno == errno.EROFS:
        reason = "the file system is read-only"
        advice = "choose a writable --out, then continue with --resume"
    else:
        reason = exc.strerror or str(exc)
        advice = "continue with --resume"
    return f"{where}: {reason}; completed frames are kept; {advice}"


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


@app.command()
def augment(
    input_dir: Annotated[
        Path,
        typer.Argument(
            help="Input dataset: a KITTI folder (with training/ or image_2/), a COCO annotations "
            "file or folder, or a YOLO folder. Opened read-only.",
            show_default=False,
        ),
    ],
    input_format: Annotated[
        str, typer.Option("--format", "-f", help="Input (and output) format: kitti, coco or yolo.")
    ] = "kitti",
    corruptions: Annotated[
        str,
        typer.Option(
            "--corruptions",
            "-c",
            help="Comma-separated corruptions (fog, rain, snow, night, sun_glare, wet_road, "
            "sensor faults, ic_* ImageNet-C, lidar_*) or groups: all, weather, sensor, "
            "imagenet-c, lidar.",
        ),
    ] = "weather",
    severities: Annotated[
        str, typer.Option("--severities", "-s", help="Severities 1-5, e.g. 1-5 or 1,3,5.")
    ] = "1-5",
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder: OUT/<corruption>/<severity>/.")
    ] = Path("out_augment"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random draw.")] = 0,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace augmented datasets already in --out.")
    ] = False,
    contact_sheet: Annotated[
        Path | None,
        typer.Option(
            "--contact-sheet",
            help="Also write a PNG of the first readable frame through every camera corruption "
            "and severity.",
        ),
    ] = None,
) -> None:
    """Corrupt a real dataset with physical weather and sensor faults (KITTI-C style output)."""
    from scenegen.augment.run import (
        augment_dataset,
        iter_input_frames,
        parse_severities,
        resolve_corruptions,
    )
    from scenegen.augment.run import (
        contact_sheet as make_contact_sheet,
    )

    try:
        names = resolve_corruptions(corruptions)
        levels = parse_severities(severities)
        frames = list(iter_input_frames(input_dir, input_format))
    except ScenegenError as exc:
        _fail(str(exc), EXIT_INVALID_INPUT)
    progress = Progress(
        TextColumn("[bold]augment"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[name]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
    )
    try:
        with progress:
            bar = progress.add_task("augment", total=len(frames), name="")

            def advance(source: str, _written: int) -> None:
                progress.update(bar, advance=1, name=Path(source).name)

            summary = augment_dataset(
                input_dir, input_format, names, levels, out_dir, seed, advance, overwrite=overwrite
            )
        if contact_sheet is not None:
            import cv2

            from scenegen.frame import Frame

            first = next((item for _, item in frames if isinstance(item, Frame)), None)
            if first is not None:
                sheet = make_contact_sheet(first, names, levels, seed)
                contact_sheet.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(contact_sheet), sheet[..., ::-1])
                out.print(f"contact sheet: {contact_sheet}", highlight=False)
    except ScenegenError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or out_dir}: {exc.strerror or exc}")

    table = Table(title=f"{out_dir}", show_header=True)
    table.add_column("corruption")
    table.add_column("severities")
    table.add_column("frames", justify="right")
    for name in names:
        table.add_row(name, ",".join(map(str, levels)), str(summary.frames_read))
    out.print(table)
    out.print(
        f"{summary.frames_read} input frames, {summary.frames_written} frames written in "
        f"{summary.seconds:.1f} s; {len(summary.failed)} input(s) failed",
        highlight=False,
    )
    if summary.failed:
        failed = Table(title="failed inputs (skipped)", show_header=True)
        failed.add_column("file")
        failed.add_column("reason")
        for path, reason in summary.failed:
            failed.add_row(path, reason)
        err.print(failed)
        raise typer.Exit(EXIT_FAILURE)


@app.command()
def bench(
    config: Annotated[
        Path, typer.Argument(help="Bench config (YAML): scenarios, corruptions, model, budget.")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Report folder (rendered data is cached here).")
    ] = Path("reports/run1"),
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Train from scratch instead of resuming OUT/model."),
    ] = False,
    gl_backend: Annotated[
        str, typer.Option("--gl", help="Headless GL backend: auto, egl or osmesa.")
    ] = "auto",
) -> None:
    """Render, train a detector, measure it on every edge case and corruption; write a report.

    Needs torch (pip install 'scenegen[harness]').
    """
    from scenegen.sensors.gl import configure_backend

    try:
        from scenegen.harness.bench import BenchConfigError, load_bench_config, run_bench
    except MissingDependencyError as exc:
        _fail(str(exc))

    try:
        bench_config = load_bench_config(config)
    except BenchConfigError as exc:
        _fail(str(exc), EXIT_INVALID_INPUT)
    try:
        configure_backend(gl_backend)
    except ScenegenError as exc:
        _fail(str(exc))
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err,
    )
    bars: dict[str, object] = {}

    def advance(p: object) -> None:
        stage = p.stage  # type: ignore[attr-defined]
        if stage not in bars:
            bars[stage] = progress.add_task(stage, total=p.total, detail="")  # type: ignore[attr-defined]
        progress.update(bars[stage], completed=p.done, total=p.total, detail=p.detail)  # type: ignore[attr-defined]

    try:
        with progress:
            metrics = run_bench(bench_config, out_dir, on_progress=advance, resume=not fresh)
    except ScenegenError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; rendered data and the last epoch's checkpoint are kept", 130)
    r = metrics["robustness"]
    out.print(
        f"clean AP50 (P) {r['P']:.3f}, mPC {r['mPC']:.3f}, rPC {r['rPC']:.3f}; "
        f"report: {out_dir / 'report.md'}",
        highlight=False,
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
