"""The ``scenegen`` Typer app, its consoles and the helpers every command uses to fail."""

from __future__ import annotations

import logging
import warnings
from typing import Annotated, NoReturn, TextIO

import typer
from rich.console import Console

from scenegen import __version__
from scenegen.errors import ScenarioWarning, ScenegenError

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


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_errors(exc: ScenegenError) -> None:
    for line in error_lines(exc):
        err.print(line, highlight=False, soft_wrap=True)


def error_lines(exc: ScenegenError) -> list[str]:
    errors = getattr(exc, "errors", None)
    if errors:
        return [str(e) for e in errors]
    return [str(exc)]


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
    warnings.showwarning = _show_warning


_python_show_warning = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Scenario warnings as ``warning: FILE:LINE:COL: key.path: ...``; others as Python does."""
    if issubclass(category, ScenarioWarning):
        err.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)
