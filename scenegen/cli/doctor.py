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
    from importlib.util import find_spec

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
    egl = next((backend for backend in working if backend.name == "egl"), None)
    if egl is not None and egl.egl_devices:
        devices = Table(title="EGL devices", show_header=True)
        devices.add_column("index (EGL_DEVICE_ID)")
        devices.add_column("kind")
        devices.add_column("DRM device")
        devices.add_column("extensions")
        for device in egl.egl_devices:
            kind = "GPU" if device.is_gpu else "software"
            devices.add_row(str(device.index), kind, device.drm_file or "-", device.extensions)
        out.print(devices)
    if working:
        out.print(f"render will use: {working[0].kind} via {working[0].name}")
        from scenegen.batch.engine import default_workers
        from scenegen.sensors.gl import EGL_DEVICE_VARIABLE

        gpus = working[0].gpu_devices
        if gpus:
            pinned = os.environ.get(EGL_DEVICE_VARIABLE)
            where = (
                f"all on EGL device {pinned} ({EGL_DEVICE_VARIABLE} is set)"
                if pinned
                else "worker k on EGL device " + f"gpus[k % {len(gpus)}], gpus = {list(gpus)}"
            )
            out.print(f"default workers: {default_workers(gpus)} (one per GPU), {where}")
        else:
            out.print(f"default workers: {default_workers()} (no GPU: EGL's default device)")
    if find_spec("torch") is not None:
        import torch

        cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
        where = f"CUDA ({cuda} GPU{'s' if cuda != 1 else ''})" if cuda else "the CPU (no CUDA)"
        out.print(f"--shading-backend torch would shade on {where}")
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
