"""``scenegen coverage``: which cells of the driving-condition taxonomy a dataset's frames
actually hold, t-way coverage, what is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scenegen.cli.app import app, exit_on_errors, out

_HELP = (
    "Measure which taxonomy cells DATASET holds (weather and light bands from each frame's "
    "recorded physical values, events that occurred, labelled classes and distance bins): "
    "t-way coverage for t = 1..--strength, the missing combinations, per-axis histograms and "
    "the discrepancy of the continuous axes. Writes OUT/coverage.json, coverage.md, "
    "coverage.html and histograms.png."
)


@app.command(help=_HELP)
def coverage(
    dataset: Annotated[
        Path,
        typer.Argument(
            help="A scenegen dataset (or a KITTI / COCO / YOLO one: only classes and "
            "distances are known there).",
            show_default=False,
        ),
    ],
    axes: Annotated[
        str,
        typer.Option(
            "--axes", help="Comma-separated axes: weather, light, event, actor, distance."
        ),
    ] = "weather,light,event,actor,distance",
    strength: Annotated[
        int, typer.Option("--strength", "-t", min=1, max=3, help="Largest t of the t-way coverage.")
    ] = 2,
    within: Annotated[
        list[Path] | None,
        typer.Option(
            "--within",
            help="Scenario file(s): count only the event and actor levels they can produce "
            "(what `render --cover` spans); repeat for several.",
            show_default=False,
        ),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Report folder (created; files are replaced).")
    ] = Path("coverage"),
) -> None:
    from scenegen.coverage.measure import measure_dataset
    from scenegen.coverage.report import write_report
    from scenegen.coverage.taxonomy import AXES
    from scenegen.errors import InvalidInputError

    with exit_on_errors(dataset):
        names = tuple(a.strip() for a in axes.split(",") if a.strip())
        unknown = [a for a in names if a not in AXES]
        if unknown or not names or len(set(names)) != len(names):
            raise InvalidInputError(
                f"--axes {axes!r}: expected different axes from {', '.join(AXES)}"
            )
        if strength > len(names):
            raise InvalidInputError(
                f"--strength {strength} needs at least {strength} axes, got {len(names)}"
            )
        levels = _levels_within(within or [])
        result = measure_dataset(dataset, names, strength, levels)
        paths = write_report(result, out_dir)
    shown = ", ".join(f"{t}-way {p:.1f} %" for t, p in result.strength_percent.items())
    out.print(f"{result.frames} frames: {shown}", highlight=False)
    missing = result.missing[strength]
    if missing:
        out.print(f"{len(missing)} {strength}-way combinations missing, e.g.:", highlight=False)
        for combo in missing[:5]:
            out.print("  " + ", ".join(f"{a}={v}" for a, v in combo.items()), highlight=False)
    out.print(f"report: {paths['markdown']}", highlight=False)


def _levels_within(scenario_paths: list[Path]) -> dict[str, tuple[str, ...]] | None:
    """The event and actor levels the scenarios can produce (``None``: the taxonomy's)."""
    if not scenario_paths:
        return None
    from scenegen.coverage.cover import cover_levels
    from scenegen.scenario import load_scenario

    levels: dict[str, dict[str, None]] = {"event": {}, "actor": {}}
    for path in scenario_paths:
        scenario = load_scenario(path)
        for axis in levels:
            if getattr(scenario, f"{axis}_types" if axis == "event" else "actor_classes"):
                levels[axis].update(dict.fromkeys(cover_levels(scenario, axis)))
    return {axis: tuple(found) for axis, found in levels.items() if found}
