"""Engines run a batch's frame tasks and hand back their results in task order.

One interface, three engines: :class:`InProcessEngine` (this process, writing overlapped
with rendering), :class:`ProcessEngine` (worker processes on this machine) and
:class:`~scenegen.batch.ray_engine.RayEngine` (actors on a Ray cluster). The CLI, the bench
and a parameter search call :func:`~scenegen.batch.runner.render_batch` with any of them;
all give the same bytes, since a frame is a pure function of its task.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import queue
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from scenegen.batch.plan import FrameTask
from scenegen.batch.worker import FrameResult, FrameWorker, RenderedFrame, RenderJob, picklable
from scenegen.errors import InvalidInputError, ScenegenError
from scenegen.sensors.gl import egl_device_for_worker, worker_environment


@runtime_checkable
class Engine(Protocol):
    """Renders and writes the frames of ``tasks``; yields their results in task order.

    The frames' files are written by the engine's workers; the caller appends the
    manifest records in the order they come. Closing the iterator early stops the
    workers.
    """

    def describe(self) -> str:
        """Where the frames are rendered, in words (``2 worker processes``)."""
        ...

    def results(self, job: RenderJob, tasks: Sequence[FrameTask]) -> Iterator[FrameResult]: ...


def default_workers(gpu_devices: tuple[int, ...] = ()) -> int:
    """Worker processes to use when none is asked for: one per GPU on a machine with GPUs,
    else 2 on a 2+ core machine (the fastest measured, see benchmarks/README.md)."""
    if gpu_devices:
        return len(gpu_devices)
    return max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class InProcessEngine:
    """Renders in this process: frame i+1 renders while a thread writes frame i.

    PNG encoding (OpenCV), hashing and fsync release the GIL, so the writing overlaps the
    rendering on another core (or the disk). At most one frame waits to be written, so
    memory stays at two frames. ``egl_device``: the GPU to render on (``None``: default).
    """

    egl_device: int | None = None

    def describe(self) -> str:
        return "this process"

    def results(self, job: RenderJob, tasks: Sequence[FrameTask]) -> Iterator[FrameResult]:
        if not tasks:
            return
        with (
            job.worker(self.egl_device) as worker,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="scenegen-write") as pool,
        ):
            pending: deque[Future[FrameResult]] = deque()
            try:
                for task in tasks:
                    pending.append(pool.submit(worker.write, worker.render(task)))
                    while len(pending) > 1 or (pending and pending[0].done()):
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()


@dataclass(frozen=True)
class ProcessEngine:
    """``workers`` processes on this machine, each with its own :class:`FrameWorker`.

    Tasks go out through one queue (whichever worker is free takes the next; the frames of
    a sequence go together), at most ``4 x workers`` frames (or one sequence) ahead of the
    oldest unfinished one, so the results waiting to be put
    in order stay few whatever the batch size. One worker (or one frame) renders in this
    process instead: same bytes, no start-up cost.

    ``gpu_devices``: EGL device indices of the machine's GPUs (``GLBackend.gpu_devices``);
    worker ``k`` renders on ``gpu_devices[k % len(gpu_devices)]``, so one worker per GPU
    gets a GPU each. Empty: every worker uses the platform's default device. ``env``: the
    environment the batch started with; an ``EGL_DEVICE_ID`` there pins every worker to
    that device (:func:`~scenegen.sensors.gl.egl_device_for_worker`).
    """

    workers: int
    gpu_devices: tuple[int, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise InvalidInputError(f"--workers {self.workers}: expected at least 1")
        self.worker_devices()  # a bad EGL_DEVICE_ID is refused before anything starts

    def worker_devices(self) -> tuple[int | None, ...]:
        """The EGL device of each worker (``None``: the platform's default)."""
        return tuple(
            egl_device_for_worker(k, self.gpu_devices, self.env) for k in range(self.workers)
        )

    def describe(self) -> str:
        text = f"{self.workers} worker process{'es' if self.workers > 1 else ''}"
        devices = self.worker_devices()
        if any(d is not None for d in devices):
            text += " on EGL device" + ("s " if len(set(devices)) > 1 else " ")
            text += ", ".join(str(d) for d in devices)
        return text

    def results(self, job: RenderJob, tasks: Sequence[FrameTask]) -> Iterator[FrameResult]:
        if self.workers <= 1 or len(tasks) <= 1:
            yield from InProcessEngine(self.worker_devices()[0]).results(job, tasks)
            return
        # "spawn": a forked child would inherit the parent's GL and thread state.
        ctx = mp.get_context("spawn")
        tasks_q, results_q = ctx.Queue(), ctx.Queue()
        procs = [
            ctx.Process(
                target=_worker_loop,
                args=(job, tasks_q, results_q, device),
                daemon=True,
            )
            for device in self.worker_devices()
        ]
        for proc in procs:
            proc.start()
        position = {task.index: pos for pos, task in enumerate(tasks)}
        # A sequence goes to one worker, which builds its world once.
        units = [tuple(unit) for _, unit in itertools.groupby(tasks, key=lambda t: t.unit)]
        window = 4 * self.workers
        waiting: dict[int, FrameResult] = {}
        sent = sent_units = next_pos = 0
        try:
            while next_pos < len(tasks):
                while sent_units < len(units) and sent < next_pos + window:
                    tasks_q.put(units[sent_units])
                    sent += len(units[sent_units])
                    sent_units += 1
                got = next_result(results_q, procs)
                if got is None:
                    continue
                kind, payload = got
                if kind == "error":
                    raise payload
                waiting[position[payload.index]] = payload
                while next_pos in waiting:
                    yield waiting.pop(next_pos)
                    next_pos += 1
            for _ in procs:
                tasks_q.put(None)
            for proc in procs:
                proc.join()
        finally:
            tasks_q.cancel_join_thread()  # tasks never taken must not hold up our exit
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
                    proc.join()


def next_result(results_q: mp.Queue, procs: Sequence[Any]) -> tuple[str, Any] | None:
    """The next ``(kind, payload)`` a worker posted, ``None`` after a second without one;
    raises when a worker process died."""
    try:
        return results_q.get(timeout=1.0)
    except queue.Empty:
        dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
        if dead:
            raise ScenegenError(
                f"a worker process died (exit code {dead[0]}) while rendering"
            ) from None
        return None


def _worker_loop(
    job: RenderJob, tasks_q: mp.Queue, results_q: mp.Queue, egl_device: int | None
) -> None:
    """A worker process: render tasks until ``None`` on EGL device ``egl_device``; a thread
    writes each frame and posts its result while the next frame renders (one frame in
    writing at a time). ``job`` makes the worker (``job.worker(egl_device)``): a
    :class:`FrameWorker` for a batch, an evaluation worker for a parameter search
    (:class:`~scenegen.batch.session.WorkerSession`)."""

    def write_and_post(worker: FrameWorker, rendered: RenderedFrame) -> None:
        try:
            results_q.put(("ok", worker.write(rendered)))
        except BaseException as exc:
            results_q.put(("error", picklable(exc)))

    # This process is the worker's own: anything in it that opens GL without a device
    # (pyrender reads EGL_DEVICE_ID) lands on the worker's device too.
    os.environ.update(worker_environment(egl_device))
    try:
        with (
            job.worker(egl_device) as worker,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="scenegen-write") as pool,
        ):
            pending: Future[None] | None = None
            while (unit := tasks_q.get()) is not None:
                for task in unit:
                    rendered = worker.render(task)
                    if pending is not None:
                        pending.result()
                    pending = pool.submit(write_and_post, worker, rendered)
            if pending is not None:
                pending.result()
    except BaseException as exc:
        results_q.put(("error", picklable(exc)))
