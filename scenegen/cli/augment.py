"""``scenegen augment``: corrupt a real dataset with physical weather and sensor faults."""

from __future__ import annotations

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

from scenegen.cli.app import EXIT_FAILURE, EXIT_INVALID_INPUT, app, err, out
from scenegen.cli.app import fail as _fail
from scenegen.errors import ScenegenError

if TYPE_CHECKING:
    from scenegen.augment.run import AugmentSummary
    from scenegen.io import DatasetReader


_HELP = (
    "Corrupt a real dataset with physical weather and sensor faults (KITTI-C style output). "
    "Output frames keep the input's frame ids; inputs that cannot be read are listed (frame "
    "id, part, full path, reason) and skipped, and the exit status is then 1."
)


@app.command(help=_HELP)
def augment(
    input_dir: Annotated[
        Path,
        typer.Argument(
            help="Input dataset: a KITTI folder (its root, training/ or training/image_2/), a "
            "COCO annotations file or its folder, a YOLO folder, or a scenegen dataset. Opened "
            "read-only.",
            show_default=False,
        ),
    ],
    input_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="Input (and output) format: auto (detect), kitti, coco or yolo.",
        ),
    ] = "auto",
    corruptions: Annotated[
        str,
        typer.Option(
            "--corruptions",
            "-c",
            help="Comma-separated corruptions (fog, rain, snow, night, sun_glare, wet_road, "
            "sensor faults, ic_* ImageNet-C, lidar_*) or groups: all, weather, sensor, "
            "imagenet-c, lidar. imagecorruptions names (gaussian_noise, frost, glass_blur, ...) "
            "mean their ic_* version; fog, snow, motion_blur and pixelate are scenegen's own.",
        ),
    ] = "weather",
    severities: Annotated[
        str, typer.Option("--severities", "-s", help="Severities 1-5, e.g. 1-5 or 1,3,5.")
    ] = "1-5",
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder: OUT/<corruption>/<severity>/.")
    ] = Path("out_augment"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random draw.")] = 0,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Keep output frames already complete in --out (files match their manifest "
            "sha256), write the rest. Needs the same input, --format and --seed.",
        ),
    ] = False,
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
    """Corrupt a real dataset with physical weather and sensor faults (see ``_HELP``)."""
    from scenegen.augment.run import (
        AugmentError,
        augment_dataset,
        open_input,
        parse_severities,
        resolve_corruptions,
    )
    from scenegen.io import DatasetReadError

    try:
        names = resolve_corruptions(corruptions)
        levels = parse_severities(severities)
        reader = open_input(input_dir, input_format)
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
    bar = progress.add_task("augment", total=None, name="")

    def start(total: int) -> None:  # the arguments and --out are checked: show the bar
        progress.update(bar, total=total)
        progress.start()

    def advance(source: str, _written: int) -> None:
        progress.update(bar, advance=1, name=Path(source).name)

    try:
        try:
            summary = augment_dataset(
                reader,
                input_format,
                names,
                levels,
                out_dir,
                seed,
                advance,
                overwrite=overwrite,
                resume=resume,
                on_start=start,
            )
        finally:
            progress.stop()
        if contact_sheet is not None:
            _write_contact_sheet(reader, names, levels, seed, contact_sheet)
    except (AugmentError, DatasetReadError) as exc:
        _fail(str(exc), EXIT_INVALID_INPUT)
    except ScenegenError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; completed frames are kept, continue with --resume", 130)
    except OSError as exc:
        _fail(f"{exc.filename or out_dir}: {exc.strerror or exc}; completed frames are kept")
    _print_summary(summary, names, levels)
    if summary.failed:
        raise typer.Exit(EXIT_FAILURE)


def _write_contact_sheet(
    reader: DatasetReader, names: list[str], levels: list[int], seed: int, path: Path
) -> None:
    import cv2

    from scenegen.augment.run import contact_sheet
    from scenegen.frame import Frame

    first = next((item for item in reader if isinstance(item, Frame)), None)
    if first is None:
        err.print("contact sheet: no readable input frame", highlight=False)
        return
    sheet = contact_sheet(first, names, levels, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet[..., ::-1])
    out.print(f"contact sheet: {path}", highlight=False)


def _print_summary(s: AugmentSummary, names: list[str], levels: list[int]) -> None:
    if s.frames_written == 0 and s.frames_kept and not s.failed:
        out.print(
            f"nothing to do: all {s.frames_kept} input frames are complete in {s.out_dir}",
            highlight=False,
            soft_wrap=True,
        )
        return
    table = Table(title=f"{s.out_dir}", show_header=True)
    table.add_column("corruption")
    table.add_column("severities")
    table.add_column("frames per dataset", justify="right")
    for name in names:
        counts = [str(s.datasets.get(f"{name}/{level}", 0)) for level in levels]
        table.add_row(name, ",".join(map(str, levels)), ",".join(counts))
    out.print(table)
    kept = f", {s.frames_kept} already complete" if s.frames_kept else ""
    out.print(
        f"{s.frames_read} input frames read{kept}, {s.frames_written} frames written in "
        f"{s.seconds:.1f} s; {len(s.failed)} input(s) failed",
        highlight=False,
    )
    if s.failed:
        # One line per frame, never cut: the path is what the user needs.
        err.print("failed inputs (skipped): frame id, part, file, reason", highlight=False)
        for failure in s.failed:
            err.print(
                f"  {failure.frame_id}  {failure.part}  {failure.path}: {failure.reason}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
