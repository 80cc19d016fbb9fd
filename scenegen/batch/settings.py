"""The render command's options, checked in one place before anything is written.

:func:`parse_render_settings` turns the options as typed (``--formats kitti,coco``,
``--shard 1/4``, ``--engine ray``...) into :class:`RenderSettings`, or raises
:class:`~scenegen.errors.InvalidInputError` naming the option and what was expected.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, replace

from scenegen.batch.engine import Engine, ProcessEngine, default_workers
from scenegen.batch.ray_engine import RayEngine, RayOptions
from scenegen.errors import InvalidInputError
from scenegen.io.dataset import FORMATS
from scenegen.io.pointcloud import POINTCLOUD_FORMATS
from scenegen.sensors.gl import BACKENDS
from scenegen.sensors.raycast import RAYCAST_BACKENDS
from scenegen.sensors.shading_model import SHADING_BACKENDS

ENGINES: tuple[str, ...] = ("process", "ray")
GL_CHOICES: tuple[str, ...] = ("auto", *BACKENDS)


@dataclass(frozen=True)
class RenderSettings:
    """Checked render options. ``ray`` is set exactly when ``engine == "ray"``."""

    formats: tuple[str, ...]
    shard: tuple[int, int] | None
    engine: str
    workers: int | None
    gl_backend: str
    ray: RayOptions | None = None
    lidar_backend: str = "open3d"
    shading_backend: str = "numpy"

    @property
    def gl_on_remote_nodes(self) -> bool:
        """Whether frames render on other machines, each choosing its own GL backend."""
        return self.ray is not None and self.ray.address is not None

    def make_engine(
        self,
        gl_backend: str | None = None,
        gpu_devices: tuple[int, ...] = (),
        env: Mapping[str, str] | None = None,
    ) -> Engine:
        """The engine these settings ask for; ``gl_backend`` is the backend configured
        here (Ray actors started by this machine use the same one), ``gpu_devices`` its
        GPUs' EGL device indices (one worker process per GPU unless --workers says), ``env``
        the environment to read ``EGL_DEVICE_ID`` from (pins every worker to one device)."""
        if self.ray is not None:
            options = self.ray
            if gl_backend is not None and not self.gl_on_remote_nodes:
                options = replace(options, gl_backend=gl_backend)
            return RayEngine(options)
        return ProcessEngine(
            self.workers or default_workers(gpu_devices), gpu_devices, dict(env or {})
        )


def parse_formats(formats: str, pointcloud: str | None) -> tuple[str, ...]:
    names = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = sorted(set(names) - set(FORMATS))
    if unknown or not names:
        raise InvalidInputError(
            f"--formats {formats!r}: unknown {', '.join(unknown) or 'empty list'}; "
            f"expected a comma-separated list of {', '.join(FORMATS)}"
        )
    if pointcloud is not None:
        if pointcloud not in POINTCLOUD_FORMATS:
            raise InvalidInputError(
                f"--pointcloud {pointcloud!r}: expected {' or '.join(POINTCLOUD_FORMATS)}"
            )
        names = (*names, pointcloud)
    return names


def parse_shard(shard: str | None) -> tuple[int, int] | None:
    """``"K/N"`` (1-based) as ``(K, N)``; ``None`` stays ``None``."""
    if shard is None:
        return None
    try:
        k, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise InvalidInputError(f"--shard {shard!r}: expected K/N, e.g. 1/4") from None
    if not 1 <= k <= n:
        raise InvalidInputError(f"--shard {shard!r}: expected 1 <= K <= N")
    return k, n


def parse_render_settings(
    *,
    formats: str = ",".join(FORMATS),
    pointcloud: str | None = None,
    shard: str | None = None,
    engine: str = "process",
    workers: int | None = None,
    gl_backend: str = "auto",
    shading_backend: str = "numpy",
    address: str | None = None,
    ray_cpus_per_task: float | None = None,
    ray_gpus_per_task: float | None = None,
    ray_init_kwargs: dict | None = None,
    lidar_backend: str = "open3d",
) -> RenderSettings:
    """Check every render option (see the module docstring). The ``ray_*`` and ``address``
    options need ``engine="ray"``; ``workers`` is the number of processes or Ray actors."""
    if engine not in ENGINES:
        raise InvalidInputError(f"--engine {engine!r}: expected {' or '.join(ENGINES)}")
    if gl_backend not in GL_CHOICES:
        raise InvalidInputError(f"--gl {gl_backend!r}: expected {', '.join(GL_CHOICES)}")
    check_backend_option(
        "--shading-backend", shading_backend, SHADING_BACKENDS,
        ("torch", "torch", "PyTorch, which is not installed: pip install torch "
         "(or use --shading-backend numpy)"),
    )  # fmt: skip
    if workers is not None and workers < 1:
        raise InvalidInputError(f"--workers {workers}: expected at least 1")
    ray_only = {
        "--address": address,
        "--ray-cpus-per-task": ray_cpus_per_task,
        "--ray-gpus-per-task": ray_gpus_per_task,
    }
    ray = None
    if engine == "ray":
        ray = RayOptions(
            address=address,
            actors=workers,
            cpus_per_task=1.0 if ray_cpus_per_task is None else ray_cpus_per_task,
            gpus_per_task=0.0 if ray_gpus_per_task is None else ray_gpus_per_task,
            gl_backend=gl_backend,
            init_kwargs=ray_init_kwargs or {},
        )
    else:
        given = [name for name, value in ray_only.items() if value is not None]
        if given:
            raise InvalidInputError(f"{', '.join(given)} needs --engine ray")
    return RenderSettings(
        formats=parse_formats(formats, pointcloud),
        shard=parse_shard(shard),
        engine=engine,
        workers=workers,
        gl_backend=gl_backend,
        ray=ray,
        lidar_backend=parse_lidar_backend(lidar_backend),
        shading_backend=shading_backend,
    )


def parse_lidar_backend(name: str) -> str:
    """``name`` if it is a ray-casting backend this machine can run."""
    return check_backend_option(
        "--lidar-backend", name, RAYCAST_BACKENDS,
        ("warp", "warp", "warp-lang, which is not installed: "
         "pip install 'scenegen[warp]' (or use --lidar-backend open3d)"),
    )  # fmt: skip


def check_backend_option(
    option: str, name: str, choices: tuple[str, ...], optional: tuple[str, str, str]
) -> str:
    """``name`` if it is one of ``choices`` and this machine can run it; ``optional`` is
    ``(backend, module it needs, what to install)`` for the backend that needs an extra."""
    if name not in choices:
        raise InvalidInputError(f"{option} {name!r}: expected {' or '.join(choices)}")
    backend, module, install = optional
    if name == backend and importlib.util.find_spec(module) is None:
        raise InvalidInputError(f"{option} {name} needs {install}")
    return name
