"""``scenegen validate`` and ``scenegen schema``: scenario files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from scenegen.cli.app import EXIT_INVALID_INPUT, app, err, fail, out, print_errors
from scenegen.errors import ScenegenError


@app.command()
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Scenario files, or folders whose *.yaml files are all checked.",
            show_default=False,
        ),
    ],
) -> None:
    """Check scenario files; print FILE:LINE:COL errors; exit 2 if any file is invalid."""
    from scenegen.scenario import load_scenario

    paths = _scenario_files(files)
    bad = 0
    for path in paths:
        try:
            scenario = load_scenario(path)
        except ScenegenError as exc:
            bad += 1
            print_errors(exc)
            continue
        cells = len(scenario.sweep_cells)
        extra = f", sweep of {cells} cells" if cells > 1 else ""
        if scenario.sequence is not None:
            seq = scenario.sequence
            extra += f", sequences of {seq.frames} frames at {seq.rate_hz:g} Hz"
        out.print(
            f"[green]ok[/]  {path}  ({scenario.name}{extra})", highlight=False, soft_wrap=True
        )
    if bad:
        err.print(f"{bad} of {len(paths)} file(s) invalid", highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT)


def _scenario_files(arguments: list[Path]) -> list[Path]:
    """The files to check: each file argument, and every ``*.yaml`` in each folder (sorted);
    a folder without one is an error (exit 2), not a silent success."""
    paths: list[Path] = []
    for argument in arguments:
        if argument.is_dir():
            found = sorted(argument.glob("*.yaml"))
            if not found:
                fail(f"{argument}: a folder without *.yaml scenario files", EXIT_INVALID_INPUT)
            paths.extend(found)
        else:
            paths.append(argument)
    return paths


@app.command()
def schema() -> None:
    """Print the scenario file's JSON Schema (for editor completion and validation)."""
    from scenegen.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")
