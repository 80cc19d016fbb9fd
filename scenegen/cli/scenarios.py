"""``scenegen validate`` and ``scenegen schema``: scenario files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from scenegen.cli.app import EXIT_INVALID_INPUT, app, err, out, print_errors
from scenegen.errors import ScenegenError


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
            print_errors(exc)
            continue
        cells = len(scenario.sweep_cells)
        extra = f", sweep of {cells} cells" if cells > 1 else ""
        out.print(
            f"[green]ok[/]  {path}  ({scenario.name}{extra})", highlight=False, soft_wrap=True
        )
    if bad:
        err.print(f"{bad} of {len(files)} file(s) invalid", highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT)


@app.command()
def schema() -> None:
    """Print the scenario file's JSON Schema (for editor completion and validation)."""
    from scenegen.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")
