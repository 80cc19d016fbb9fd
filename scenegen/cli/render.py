"""``scenegen render``, ``merge`` and ``preview``: making and joining dataset folders."""

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

from scenegen.cli.app import EXIT_INVALID_INPUT, app, err, fail, out, print_errors
from scenegen.errors import ScenegenError


def _parse_shard(shard: str | None) -> tuple[int, int] | None:
    if shard is None:
        return None
    try:
        k, n = (int(x) for x in shard.split("/"))
    except ValueError:
        fail(f"--shard {shard!r}: expected K/N, e.g. 1/4", EXIT_INVALID_INPUT)
    if not 1 <= k <= n:
        fail(f"--shard {shard!r}: expected 1 <= K <= N", EXIT_INVALID_INPUT)
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
        fail(
            f"--formats {formats!r}: unknown {', '.join(unknown) or 'empty list'}; expected kitti, coco, yolo",
            EXIT_INVALID_INPUT,
        )
    if pointcloud is not None:
        if pointcloud not in POINTCLOUD_FORMATS:
            fail(f"--pointcloud {pointcloud!r}: expected ply or pcd", EXIT_INVALID_INPUT)
        format_list = (*format_list, pointcloud)
    shard_kn = _parse_shard(shard)
    try:
        plan = plan_batch(scenarios, frames, seed)
    except ScenegenError as exc:
        print_errors(exc)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    if shard_kn is not None:
        plan = plan.shard(*shard_kn)
    if engine not in ENGINES:
        fail(f"--engine {engine!r}: expected process or ray", EXIT_INVALID_INPUT)
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
            fail(str(exc))
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
            fail(str(exc), EXIT_INVALID_INPUT)
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
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; completed frames are kept, continue with --resume", 130)
    except OSError as exc:
        fail(_write_error_message(exc, out_dir))

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
        fail(str(exc))


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
        fail(str(exc))
    out.print(
        f"merged {len(shards)} shard(s) into {out_dir}: {len(records)} frames", highlight=False
    )
