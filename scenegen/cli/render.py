"""``scenegen render``, ``merge`` and ``preview``: making and joining dataset folders."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from scenegen.cli.layout import (
    CocoMasksOption,
    ForceOption,
    FormatsOption,
    OverwriteOption,
    PointcloudOption,
    SplitByOption,
    SplitOption,
    parse_layout,
    split_line,
)
from scenegen.errors import ScenegenError

if TYPE_CHECKING:
    from collections import Counter

    from scenegen.batch.runner import BatchSummary


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
            "--frames",
            "-n",
            min=1,
            help="Frames per scenario; sequences for a scenario with `sequence:` "
            "(default: each file's `frames`).",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Base seed (default: each file's `seed`).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-j",
            min=1,
            help="Worker processes (default: 2 on a 2+ core machine); with --engine ray, "
            "Ray workers (default: as many as the cluster fits).",
        ),
    ] = None,
    formats: FormatsOption = "kitti,coco,yolo",
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
    overwrite: OverwriteOption = False,
    force: ForceOption = False,
    preview: Annotated[
        bool, typer.Option("--preview/--no-preview", help="Also write OUT/preview.png.")
    ] = False,
    gl_backend: Annotated[
        str, typer.Option("--gl", help="Headless GL backend: auto, egl or osmesa.")
    ] = "auto",
    lidar_backend: Annotated[
        str,
        typer.Option(
            "--lidar-backend",
            help="Ray casting for the LiDAR and sun shadows: open3d (Embree, CPU) or warp "
            "(a CUDA GPU when present, else the CPU; needs the warp extra).",
        ),
    ] = "open3d",
    shading_backend: Annotated[
        str,
        typer.Option(
            "--shading-backend",
            help="Shading: numpy (default) or torch (CUDA when present, else the CPU; "
            "needs torch; same image within float32 rounding).",
        ),
    ] = "numpy",
    pointcloud: PointcloudOption = None,
    split: SplitOption = None,
    split_by: SplitByOption = "frame",
    coco_masks: CocoMasksOption = "rle",
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
        float | None,
        typer.Option(
            "--ray-cpus-per-task",
            min=0,
            help="With --engine ray: CPUs each Ray worker reserves (default 1).",
            show_default=False,
        ),
    ] = None,
    cover: Annotated[
        int | None,
        typer.Option(
            "--cover",
            help="Render a covering array of strength 2 or 3: every pair (triple) of "
            "taxonomy levels of --cover-axes appears in some frame; one frame per row.",
            show_default=False,
        ),
    ] = None,
    cover_axes: Annotated[
        str | None,
        typer.Option(
            "--cover-axes",
            help="With --cover: the axes, from weather, light, event, distance, actor "
            "(default weather,light,event,distance).",
            show_default=False,
        ),
    ] = None,
    ray_gpus_per_task: Annotated[
        float | None,
        typer.Option(
            "--ray-gpus-per-task",
            min=0,
            help="With --engine ray: GPUs each Ray worker reserves (default 0); a fraction "
            "shares one GPU (0.25: four workers per GPU), which then renders with EGL.",
            show_default=False,
        ),
    ] = None,
    gate: Annotated[
        bool,
        typer.Option(
            "--gate",
            help="Replace frames the quality gate rejects (black, blown out, NaN, camera in "
            "geometry, boxes vs masks, depth vs LiDAR, duplicates...) by re-sampling them "
            "with a derived seed (recorded). Without it frames are scored, not replaced.",
        ),
    ] = False,
    gate_attempts: Annotated[
        int,
        typer.Option("--gate-attempts", min=1, help="With --gate: replacements tried per frame."),
    ] = 3,
) -> None:
    """Render scenario files to a labelled dataset (KITTI, COCO, YOLO and a manifest)."""
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import BatchRun
    from scenegen.batch.settings import parse_render_settings
    from scenegen.batch.worker import RenderJob
    from scenegen.coverage.cover import parse_cover
    from scenegen.sensors.gl import configure_backend

    # Everything the user typed is checked before GL is probed or a bar is drawn.
    with exit_on_errors(out_dir):
        settings = parse_render_settings(
            formats=formats,
            pointcloud=pointcloud,
            shard=shard,
            engine=engine,
            workers=workers,
            gl_backend=gl_backend,
            shading_backend=shading_backend,
            address=address,
            ray_cpus_per_task=ray_cpus_per_task,
            ray_gpus_per_task=ray_gpus_per_task,
            ray_init_kwargs={"include_dashboard": False} if address is None else {},
            lidar_backend=lidar_backend,
        )
        split_spec = parse_layout(split, split_by, coco_masks)
        cover_request = parse_cover(cover, cover_axes)
        plan = plan_batch(scenarios, frames, seed, cover_request)
        if settings.shard is not None:
            plan = plan.shard(*settings.shard)
        job = RenderJob(
            str(out_dir),
            settings.formats,
            lidar,
            lidar_backend=settings.lidar_backend,
            shading_backend=settings.shading_backend,
            gate=gate,
            gate_attempts=gate_attempts,
            cover=cover_request,
        )
        batch = BatchRun(
            plan,
            job,
            resume=resume,
            overwrite=overwrite,
            force=force,
            split=split_spec,
            coco_masks=coco_masks,
        )

    if not batch.pending:
        try:
            batch.run(settings.make_engine())  # nothing to render: only finalizes
        except (ScenegenError, OSError) as exc:
            fail(str(exc))
        out.print(
            f"nothing to render: all {len(plan.tasks)} frames in {out_dir} are complete",
            highlight=False,
            soft_wrap=True,
        )
        if preview:
            _write_preview(out_dir, out_dir / "preview.png", 24, 3)
        return

    if settings.gl_on_remote_nodes:
        engine_obj = settings.make_engine()
        gl_text = f"{gl_backend}, chosen on each Ray worker's node"
    else:
        try:
            backend = configure_backend(gl_backend)
            engine_obj = settings.make_engine(backend.name, backend.gpu_devices, os.environ)
        except ScenegenError as exc:
            fail(str(exc))
        gl_text = f"{backend.kind} ({backend.renderer})"
    kept = f" ({batch.skipped} already complete)" if batch.skipped else ""
    err.print(
        f"rendering {len(batch.pending)} frames{kept} on {engine_obj.describe()}, GL: {gl_text}",
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
    rendered = 0
    try:
        with progress:
            bar = progress.add_task("render", total=len(batch.pending), rate="")

            def advance(_result: object) -> None:
                nonlocal rendered
                rendered += 1
                rate = rendered / max(time.perf_counter() - started, 1e-9)
                progress.update(bar, advance=1, rate=f"{rate:.2f} frames/s")

            summary = batch.run(engine_obj, on_frame=advance)
    except ScenegenError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail(f"interrupted; {_kept_text(rendered + batch.skipped)}, continue with --resume", 130)
    except OSError as exc:
        fail(_write_error_message(exc, out_dir, rendered + batch.skipped))

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
        f"{summary.dropped_objects} objects too small or hidden to label (ignore regions); "
        f"events: {dict(summary.events) or 'none'}",
        highlight=False,
    )
    out.print(_quality_line(summary, gate), highlight=False, soft_wrap=True)
    if split_spec is not None:
        from scenegen.io.dataset import read_split

        out.print(split_line(read_split(out_dir)), highlight=False, soft_wrap=True)
    if preview:
        _write_preview(out_dir, out_dir / "preview.png", 24, 3)


def _quality_line(summary: BatchSummary, gate: bool) -> str:
    """What the quality gate found, in one line (codes with their counts)."""

    def counts(counter: Counter) -> str:
        return ", ".join(f"{code} {n}" for code, n in sorted(counter.items()))

    failed = summary.failed_frames
    if not gate:
        if not failed:
            return "quality gate: every frame passed"
        return (
            f"quality gate: {failed} frame(s) flagged ({counts(summary.quality_failed)}), "
            "kept as rendered; see manifest.jsonl 'quality', or render with --gate to replace them"
        )
    replaced = summary.replaced_frames
    text = f"quality gate: {replaced} frame(s) replaced"
    if replaced:
        text += f" ({counts(summary.replaced_reasons)})"
    if failed:
        text += (
            f"; {failed} still rejected after every attempt, kept at their best "
            f"({counts(summary.quality_failed)})"
        )
    return text


def _kept_text(complete_frames: int) -> str:
    if complete_frames == 0:
        return "no frame was completed"
    return f"{complete_frames} completed frame(s) are kept"


def _write_error_message(exc: OSError, out_dir: Path, complete_frames: int) -> str:
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
    return f"{where}: {reason}; {_kept_text(complete_frames)}; {advice}"


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
        typer.Option(
            "--output", "-o", help="PNG (or GIF) to write (default: DATASET/preview.png)."
        ),
    ] = None,
    max_frames: Annotated[
        int, typer.Option("--max-frames", min=1, help="Frames on the sheet.")
    ] = 24,
    columns: Annotated[int, typer.Option("--columns", min=1, help="Tiles per row.")] = 3,
    sequence: Annotated[
        int | None,
        typer.Option(
            "--sequence",
            min=0,
            help="Instead of the sheet, play sequence N as an animated GIF with track ids "
            "(default output: DATASET/preview_SSSS.gif).",
        ),
    ] = None,
) -> None:
    """Draw a contact sheet: boxes with class, occlusion and event, LiDAR on the image, bird's-eye view."""
    try:
        if sequence is not None:
            from scenegen.io.preview import save_sequence_gif

            target = output or dataset / f"preview_{sequence:04d}.gif"
            out.print(f"preview: {save_sequence_gif(dataset, target, sequence)}", highlight=False)
            return
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
        Path, typer.Option("--out", "-o", help="Folder of the merged dataset (new or empty).")
    ] = Path("out"),
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the scenegen dataset already in --out.")
    ] = False,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing",
            help="Merge even when shards or frames are missing (the dataset then has gaps).",
        ),
    ] = False,
) -> None:
    """Join shard datasets into one (files hard-linked where possible, hashes checked)."""
    from scenegen.io import merge_datasets

    with exit_on_errors(out_dir):
        records = merge_datasets(shards, out_dir, overwrite=overwrite, allow_missing=allow_missing)
    out.print(
        f"merged {len(shards)} shard(s) into {out_dir}: {len(records)} frames", highlight=False
    )
