"""``scenegen doctor``: which headless GL backends work here, and package versions."""

from __future__ import annotations

import os
import platform
from typing import Annotated

import typer
from rich.table import Table

from scenegen.cli.app import EXIT_FAILURE, app, out


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
