"""``scenegen augment``: corrupt a real dataset with physical weather and sensor faults."""

from __future__ import annotations

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

from scenegen.cli.app import EXIT_FAILURE, EXIT_INVALID_INPUT, app, err, out
from scenegen.cli.app import fail as _fail
from scenegen.errors import ScenegenError


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
