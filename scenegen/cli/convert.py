"""``scenegen convert``: an existing dataset in other formats or another split, no rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from scenegen.cli.app import app, err, fail, out
from scenegen.cli.layout import (
    CocoMasksOption,
    ForceOption,
    FormatsOption,
    OverwriteOption,
    PointcloudOption,
    SplitByOption,
    SplitOption,
    parse_formats,
    parse_layout,
    split_line,
)
from scenegen.errors import ScenegenError


@app.command()
def convert(
    src: Annotated[Path, typer.Argument(help="A scenegen dataset folder (with manifest.jsonl).")],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write; the source itself to change only its split.",
            show_default=False,
        ),
    ],
    formats: FormatsOption = "kitti,coco,yolo",
    pointcloud: PointcloudOption = None,
    split: SplitOption = None,
    split_by: SplitByOption = "frame",
    coco_masks: CocoMasksOption = "rle",
    overwrite: OverwriteOption = False,
    force: ForceOption = False,
) -> None:
    """Write an existing scenegen dataset in other formats or another split, without
    rendering. Frames come from its KITTI folder (everything), else COCO (boxes, masks,
    calibration), else YOLO (boxes); without --split the source's split is kept."""
    from scenegen.io.convert import convert_dataset
    from scenegen.io.manifest import read_manifest

    format_list = parse_formats(formats, pointcloud)
    split_spec = parse_layout(split, split_by, coco_masks)
    try:
        total = len(read_manifest(src)) if src.is_dir() else 0
        progress = Progress(
            TextColumn("[bold]convert"), BarColumn(), MofNCompleteColumn(), console=err
        )
        with progress:
            bar = progress.add_task("convert", total=total)
            splits = convert_dataset(
                src,
                out_dir,
                format_list,
                split=split_spec,
                coco_masks=coco_masks,
                overwrite=overwrite,
                force=force,
                on_frame=lambda _stem: progress.update(bar, advance=1),
            )
    except ScenegenError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or out_dir}: {exc.strerror or exc}")
    if out_dir.resolve() == src.resolve():
        done = f"{src}: split files rewritten, no frame touched"
    else:
        done = f"{total} frames of {src} written to {out_dir} as {', '.join(format_list)}"
    out.print(done + (f"; {split_line(splits)}" if splits else ""), highlight=False, soft_wrap=True)
