"""Run a batch's frames on a Ray cluster (the ``ray`` extra): same frames, same bytes.

Each Ray actor owns one :class:`~scenegen.batch.worker.FrameWorker` (its own GL context
and ray-casting scene, kept between frames), renders the frames it is handed and writes
their files itself; the driver receives the manifest records and appends them in frame
order, exactly like :class:`~scenegen.batch.engine.ProcessEngine`. A frame is a pure function of its task, so which actor or
node renders it does not change a byte.

Assumptions, checked where possible:

* the output folder and the scenario files are on a filesystem every node sees at the
  same absolute path (NFS, a cluster file system, or one machine); the driver checks
  that the files of the first frame a worker wrote are visible to it;
* every node has the same scenegen (and Python packages) installed, or gets them through
  a Ray runtime environment.

Each actor asks Ray for ``cpus_per_task`` CPUs and ``gpus_per_task`` GPUs. A fractional
GPU share (``0.25``) lets several actors render on one GPU; an actor with a GPU renders
with EGL on the GPU Ray assigned to it. Rendering a frame is idempotent (atomic writes of
deterministic bytes), so Ray may restart a lost actor and retry its frames.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scenegen.batch.plan import FrameTask
from scenegen.batch.worker import FrameResult, FrameWorker, RenderJob
from scenegen.errors import InvalidInputError, ScenegenError

log = logging.getLogger(__name__)

# Frames queued per actor: one rendering and one waiting hides the driver's round trip.
_TASKS_IN_FLIGHT_PER_ACTOR = 2
# A lost actor (node gone, out of memory) is restarted and its frames retried this often.
_ACTOR_RESTARTS = 3


@dataclass(frozen=True)
class RayOptions:
    """How to run a batch on Ray.

    ``address``: ``None`` starts a private local Ray instance (shut down afterwards);
    ``"auto"`` joins the cluster this machine belongs to; ``"ray://HOST:10001"`` connects
    through Ray Client. When Ray is already initialised in this process (``ray.init``
    called by the caller), that connection is used and left open.
    ``actors``: workers to start (``--workers``); ``None`` fills the cluster (its CPUs divided by
    ``cpus_per_task``, and its GPUs divided by ``gpus_per_task`` when GPUs are asked for).
    ``gl_backend``: ``auto`` lets each actor pick EGL or OSMesa on its node; ``egl`` or
    ``osmesa`` pins it. ``init_kwargs``: extra arguments for ``ray.init`` when this
    module starts or joins Ray (e.g. ``num_cpus``, ``object_store_memory``).
    """

    address: str | None = None
    actors: int | None = None
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0
    gl_backend: str = "auto"
    init_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cpus_per_task < 0 or self.gpus_per_task < 0:
            raise InvalidInputError(
                f"Ray resources per task must be >= 0, got {self.cpus_per_task} CPUs and "
                f"{self.gpus_per_task} GPUs"
            )
        if self.gpus_per_task > 1 and not float(self.gpus_per_task).is_integer():
            raise InvalidInputError(
                f"--ray-gpus-per-task {self.gpus_per_task}: a share above 1 GPU must be a whole "
                "number (Ray's rule)"
            )
        if self.actors is not None and self.actors < 1:
            raise InvalidInputError(
                f"--workers with the Ray engine must be >= 1, got {self.actors}"
            )
        if self.gl_backend not in ("auto", "egl", "osmesa"):
            raise InvalidInputError(
                f"unknown GL backend {self.gl_backend!r}; expected auto, egl or osmesa"
            )


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`ScenegenError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ScenegenError(
            "the Ray engine needs Ray: pip install 'scenegen[ray]' (or pip install 'ray>=2.9')"
        ) from None
    return ray


class FrameActor:
    """One Ray worker: a :class:`FrameWorker` living in the actor process."""

    def __init__(self, job: RenderJob, gl_backend: str) -> None:
        import ray

        gpu_ids = ray.get_gpu_ids()
        if gpu_ids:
            # pyrender's EGL picks the device by this index; Ray's CUDA_VISIBLE_DEVICES
            # does not reach EGL, so without it every actor would share GPU 0.
            os.environ["EGL_DEVICE_ID"] = str(gpu_ids[0])
        if gl_backend == "auto":
            from scenegen.sensors.gl import configure_backend

            self._backend = configure_backend("auto").kind
        else:
            self._backend = gl_backend  # pinned through the actor's runtime environment
        self._worker = FrameWorker(job)

    def describe(self) -> str:
        """Where this actor runs and how it renders (for the driver's log)."""
        import socket

        return f"{socket.gethostname()} pid {os.getpid()}: GL {self._backend}"

    def render(self, task: FrameTask) -> FrameResult:
        return self._worker.run(task)

    def close(self) -> None:
        self._worker.close()


def _actor_count(ray: Any, options: RayOptions, frames: int) -> int:
    if options.actors is not None:
        return max(1, min(options.actors, frames))
    resources = ray.cluster_resources()
    fits = math.inf
    if options.cpus_per_task > 0:
        fits = resources.get("CPU", 0) // options.cpus_per_task
    if options.gpus_per_task > 0:
        gpus = resources.get("GPU", 0)
        if gpus <= 0:
            raise ScenegenError(
                f"--ray-gpus-per-task {options.gpus_per_task}: the Ray cluster has no GPU"
            )
        fits = min(fits, gpus // options.gpus_per_task)
    if fits < 1:
        raise ScenegenError(
            f"the Ray cluster ({dict(resources)}) cannot fit one task of "
            f"{options.cpus_per_task} CPUs and {options.gpus_per_task} GPUs"
        )
    return int(min(fits, frames))


def _check_shared_filesystem(out_dir: Path, result: FrameResult) -> None:
    missing = [rel for rel in result.record.get("files", {}) if not (out_dir / rel).is_file()]
    if missing:
        raise ScenegenError(
            f"{out_dir / missing[0]}: a Ray worker wrote this file but it is not visible here; "
            "the Ray engine needs --out (and the scenario files) on a filesystem shared by "
            "every node at the same path"
        )


def _unwrap(ray: Any, error: Exception) -> Exception:
    """The worker's own exception for a failed frame (no remote traceback in its text)."""
    if isinstance(error, ray.exceptions.RayTaskError):
        cause = getattr(error, "cause", None)
        if isinstance(cause, Exception):
            return cause
    if isinstance(error, ray.exceptions.RayActorError):
        return ScenegenError(
            f"a Ray worker died {_ACTOR_RESTARTS + 1} times rendering a frame ({error}); "
            "completed frames are kept, continue with --resume"
        )
    return error


@dataclass(frozen=True)
class RayEngine:
    """Renders on Ray actors (see the module docstring); ``options`` say where and how."""

    options: RayOptions = field(default_factory=RayOptions)

    def describe(self) -> str:
        where = (
            f"Ray cluster {self.options.address}"
            if self.options.address is not None
            else "a local Ray instance"
        )
        actors = self.options.actors
        return f"{actors if actors is not None else 'as many as fit'} Ray worker(s) on {where}"

    def results(self, job: RenderJob, tasks: Sequence[FrameTask]) -> Iterator[FrameResult]:
        """Render ``tasks`` on Ray; yield their results in task order.

        At most two frames per actor are in flight and finished results wait only until
        the frames before them are done, so the driver's memory does not grow with the
        batch.
        """
        if not tasks:
            return
        options = self.options
        ray = import_ray()
        out_dir = Path(job.out_dir).resolve()
        # Workers may start in another folder (or on another machine): absolute paths only.
        job = replace(job, out_dir=str(out_dir))
        tasks = [replace(t, scenario_path=str(Path(t.scenario_path).resolve())) for t in tasks]
        started_here = not ray.is_initialized()
        session_dir = None
        if started_here:
            init_kwargs = dict(options.init_kwargs)
            if options.address is None and "_temp_dir" not in init_kwargs:
                # A private instance keeps its session files (logs, sockets, spilled
                # objects) in a folder of its own, removed afterwards, not in /tmp/ray.
                session_dir = tempfile.mkdtemp(prefix="scenegen-ray-")
                init_kwargs["_temp_dir"] = session_dir
            ray.init(address=options.address, **init_kwargs)
        actors: list[Any] = []
        try:
            actors = _start_actors(ray, options, job, len(tasks))
            for description in ray.get([actor.describe.remote() for actor in actors]):
                log.info("Ray worker %s", description)
            yield from _dispatch(ray, actors, tasks, out_dir)
            ray.get([actor.close.remote() for actor in actors])
        finally:
            for actor in actors:
                ray.kill(actor)
            if started_here:
                ray.shutdown()
            if session_dir is not None:
                shutil.rmtree(session_dir, ignore_errors=True)


def _start_actors(ray: Any, options: RayOptions, job: RenderJob, frames: int) -> list[Any]:
    env_vars = {}
    if options.gl_backend != "auto":
        env_vars["PYOPENGL_PLATFORM"] = options.gl_backend
    actor_class = ray.remote(FrameActor).options(
        num_cpus=options.cpus_per_task,
        num_gpus=options.gpus_per_task,
        max_restarts=_ACTOR_RESTARTS,
        max_task_retries=_ACTOR_RESTARTS,
        runtime_env={"env_vars": env_vars} if env_vars else None,
    )
    count = _actor_count(ray, options, frames)
    return [actor_class.remote(job, options.gl_backend) for _ in range(count)]


def _dispatch(
    ray: Any, actors: list[Any], tasks: Sequence[FrameTask], out_dir: Path
) -> Iterator[FrameResult]:
    queue = deque(tasks)
    load = [0] * len(actors)
    in_flight: dict[Any, tuple[int, int]] = {}  # object ref -> (task index, actor slot)
    finished: dict[int, FrameResult] = {}
    order = [t.index for t in tasks]
    next_position = 0
    checked_shared = False
    window = _TASKS_IN_FLIGHT_PER_ACTOR * len(actors)
    while next_position < len(order):
        # Keep actors busy, but never run further ahead of the oldest unfinished frame
        # than the window: memory stays bounded even when one frame is slow.
        while queue and len(in_flight) + len(finished) < window:
            slot = min(range(len(actors)), key=load.__getitem__)
            if load[slot] >= _TASKS_IN_FLIGHT_PER_ACTOR:
                break
            task = queue.popleft()
            in_flight[actors[slot].render.remote(task)] = (task.index, slot)
            load[slot] += 1
        while next_position < len(order) and order[next_position] in finished:
            result = finished.pop(order[next_position])
            next_position += 1
            if not checked_shared:
                _check_shared_filesystem(out_dir, result)
                checked_shared = True
            yield result
        if next_position >= len(order) or not in_flight:
            continue
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in ready:
            index, slot = in_flight.pop(ref)
            load[slot] -= 1
            try:
                finished[index] = ray.get(ref)
            except Exception as error:
                raise _unwrap(ray, error) from None
