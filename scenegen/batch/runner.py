"""Render a batch of frames from one or more scenario files into one dataset.

Frame ``i`` of the dataset is a pure function of (scenario file, base seed, its index in
that scenario, the scenario's frame count), so the output is byte-identical whatever the
number of workers. Workers render and write their frames' files; the parent appends the
manifest in frame order and keeps nothing but counters, so memory does not grow with the
number of frames.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import queue
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scenegen.errors import ScenarioWarning, ScenegenError

if TYPE_CHECKING:
    from scenegen.batch.ray_engine import RayOptions
    from scenegen.frame import Frame
    from scenegen.pipeline import StageTimes

ENGINES: tuple[str, ...] = ("process", "ray")


@dataclass(frozen=True)
class FrameTask:
    """One frame to make: dataset index, its scenario and its index within it."""

    index: int
    scenario_path: str
    local_index: int
    scenario_frames: int
    base_seed: int


@dataclass(frozen=True)
class BatchPlan:
    tasks: tuple[FrameTask, ...]

    def shard(self, k: int, n: int) -> BatchPlan:
        """Frames of shard ``k`` (1-based) of ``n``: every n-th frame, so shards are even."""
        if not 1 <= k <= n:
            raise ScenegenError(f"--shard {k}/{n}: expected 1 <= K <= N")
        return BatchPlan(tuple(t for t in self.tasks if t.index % n == k - 1))


def plan_batch(scenario_paths: Sequence[Path], frames: int | None, seed: int | None) -> BatchPlan:
    """Lay out the dataset: each scenario's frames, one after another.

    ``frames`` / ``seed`` override each scenario's own ``frames`` / ``seed`` when given.
    """
    from scenegen.scenario import load_scenario

    tasks: list[FrameTask] = []
    for path in scenario_paths:
        scenario = load_scenario(path)
        n = frames if frames is not None else scenario.default_frames
        base_seed = seed if seed is not None else scenario.default_seed
        offset = len(tasks)
        tasks.extend(FrameTask(offset + i, str(path), i, n, base_seed) for i in range(n))
    return BatchPlan(tuple(tasks))


@dataclass
class FrameResult:
    index: int
    record: dict
    seconds: float
    stage_seconds: dict[str, float]


@dataclass
class BatchSummary:
    frames: int = 0
    skipped_existing: int = 0
    objects_per_class: Counter = field(default_factory=Counter)
    dropped_objects: int = 0
    events: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    stage_seconds: Counter = field(default_factory=Counter)


# -- worker side -------------------------------------------------------------------------

_worker_state: dict = {}


def _worker_init(out_dir: str, formats: tuple[str, ...], lidar: bool) -> None:
    from scenegen.io import DatasetWriter
    from scenegen.pipeline import FrameRenderer

    _worker_state["renderer"] = FrameRenderer(lidar=lidar)
    _worker_state["writer"] = DatasetWriter(Path(out_dir), formats)
    _worker_state["scenarios"] = {}


def _render_task(task: FrameTask) -> FrameResult:
    return _write_frame(*_render_frame(task))


def _render_frame(task: FrameTask) -> tuple[FrameTask, Frame, StageTimes, float]:
    """Render ``task``'s frame (not written yet); returns what :func:`_write_frame` takes."""
    from scenegen.io.dataset import frame_stem
    from scenegen.pipeline import StageTimes
    from scenegen.scenario import load_scenario, sample_scene

    t0 = time.perf_counter()
    scenarios = _worker_state["scenarios"]
    if task.scenario_path not in scenarios:
        with warnings.catch_warnings():  # plan_batch has reported them once already
            warnings.simplefilter("ignore", ScenarioWarning)
            scenarios[task.scenario_path] = load_scenario(task.scenario_path)
    spec = sample_scene(
        scenarios[task.scenario_path], task.local_index, task.base_seed, task.scenario_frames
    )
    times = StageTimes()
    frame = _worker_state["renderer"].render(spec, times)
    frame.frame_id = frame_stem(task.index)
    return task, frame, times, t0


def _write_frame(task: FrameTask, frame: Frame, times: StageTimes, t0: float) -> FrameResult:
    """Encode and write a rendered frame's files; safe to run on a thread beside rendering."""
    t = time.perf_counter()
    record = _worker_state["writer"].write_frame_files(frame, task.index)
    times.add("write", t)
    return FrameResult(task.index, record, time.perf_counter() - t0, times.seconds)


def _pipelined(tasks: Sequence[FrameTask]) -> Iterator[FrameResult]:
    """Render frame i+1 while a background thread encodes and writes frame i.

    PNG encoding (OpenCV), hashing and fsync release the GIL, so the writing overlaps the
    rendering on another core (or the disk). At most one frame waits to be written, so
    memory stays at two frames; results come back in task order.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scenegen-write") as pool:
        pending: deque[Future[FrameResult]] = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(_write_frame, *_render_frame(task)))
                while len(pending) > 1 or (pending and pending[0].done()):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _close_worker() -> None:
    renderer = _worker_state.pop("renderer", None)
    if renderer is not None:
        renderer.close()


# -- parent side -------------------------------------------------------------------------


def _results(
    tasks: Sequence[FrameTask], out_dir: Path, formats: tuple[str, ...], workers: int, lidar: bool
) -> Iterator[FrameResult]:
    if workers <= 1 or len(tasks) <= 1:
        _worker_init(str(out_dir), formats, lidar)
        try:
            yield from _pipelined(tasks)
        finally:
            _close_worker()
        return
    yield from _process_results(tasks, out_dir, formats, workers, lidar)


def _worker_loop(
    out_dir: str, formats: tuple[str, ...], lidar: bool, tasks_q: mp.Queue, results_q: mp.Queue
) -> None:
    """A worker process: render tasks until ``None``; a thread writes each frame and posts
    its result while the next frame renders (one frame in writing at a time)."""

    def write_and_post(rendered: tuple) -> None:
        try:
            results_q.put(("ok", _write_frame(*rendered)))
        except BaseException as exc:
            results_q.put(("error", _picklable(exc)))

    try:
        _worker_init(out_dir, formats, lidar)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scenegen-write") as pool:
            pending: Future[None] | None = None
            while (task := tasks_q.get()) is not None:
                rendered = _render_frame(task)
                if pending is not None:
                    pending.result()
                pending = pool.submit(write_and_post, rendered)
            if pending is not None:
                pending.result()
    except BaseException as exc:
        results_q.put(("error", _picklable(exc)))
    finally:
        _close_worker()


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (to re-raise it in the parent), else its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ScenegenError(f"{type(exc).__name__}: {exc}")
    return exc


def _process_results(
    tasks: Sequence[FrameTask], out_dir: Path, formats: tuple[str, ...], workers: int, lidar: bool
) -> Iterator[FrameResult]:
    """Results of ``tasks`` rendered by ``workers`` processes, yielded in task order.

    Tasks go out through one queue (whichever worker is free takes the next), at most
    ``4 x workers`` ahead of the oldest unfinished one, so the results waiting to be put
    in order stay few whatever the batch size.
    """
    # "spawn": a forked child would inherit the parent's GL and thread state.
    ctx = mp.get_context("spawn")
    tasks_q, results_q = ctx.Queue(), ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker_loop,
            args=(str(out_dir), formats, lidar, tasks_q, results_q),
            daemon=True,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    position = {task.index: pos for pos, task in enumerate(tasks)}
    window = 4 * workers
    waiting: dict[int, FrameResult] = {}
    sent = next_pos = 0
    try:
        while next_pos < len(tasks):
            while sent < len(tasks) and sent < next_pos + window:
                tasks_q.put(tasks[sent])
                sent += 1
            try:
                kind, payload = results_q.get(timeout=1.0)
            except queue.Empty:
                dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise ScenegenError(
                        f"a worker process died (exit code {dead[0]}) while rendering"
                    ) from None
                continue
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
        tasks_q.cancel_join_thread()  # tasks never taken must not hold up this process's exit
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join()


def render_batch(
    plan: BatchPlan,
    out_dir: Path,
    *,
    formats: Sequence[str] = ("kitti", "coco", "yolo"),
    workers: int = 1,
    lidar: bool = True,
    resume: bool = False,
    overwrite: bool = False,
    force: bool = False,
    on_frame: Callable[[FrameResult], None] | None = None,
    engine: str = "process",
    ray_options: RayOptions | None = None,
) -> BatchSummary:
    """Render every frame of ``plan`` into ``out_dir``; return counts and timings.

    ``on_frame`` is called after each frame (in dataset order), e.g. to advance a
    progress bar. With ``resume``, frames already complete on disk (files present and
    hashes matching the manifest) are kept and the rest rendered. ``engine`` is
    ``process`` (``workers`` processes on this machine) or ``ray`` (actors on a Ray
    cluster, see :mod:`scenegen.batch.ray_engine`; ``workers`` is then ignored in favour
    of ``ray_options.actors``); both give the same bytes.
    """
    from scenegen.io import DatasetWriter

    if engine not in ENGINES:
        raise ScenegenError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    formats = tuple(formats)
    writer = DatasetWriter.open(out_dir, formats, resume=resume, overwrite=overwrite, force=force)
    done = writer.completed_indices() if resume else set()
    todo = [t for t in plan.tasks if t.index not in done]
    summary = BatchSummary(skipped_existing=len(plan.tasks) - len(todo))
    t0 = time.perf_counter()
    if engine == "ray":
        from scenegen.batch.ray_engine import RayOptions, ray_frame_results

        results = ray_frame_results(todo, out_dir, formats, lidar, ray_options or RayOptions())
    else:
        results = _results(todo, out_dir, formats, workers, lidar)
    for result in results:
        writer.append_record(result.record)
        summary.frames += 1
        for cls, n in result.record.get("objects_per_class", {}).items():
            summary.objects_per_class[cls] += n
        summary.dropped_objects += int(result.record.get("dropped_objects", 0))
        for event in result.record.get("events", []):
            if event.get("occurs"):
                summary.events[event["type"]] += 1
        summary.stage_seconds.update(result.stage_seconds)
        if on_frame is not None:
            on_frame(result)
    writer.finalize({"frames_planned": len(plan.tasks)})
    summary.seconds = time.perf_counter() - t0
    return summary


def default_workers() -> int:
    """Worker processes to use when none is asked for (see benchmarks/README.md)."""
    return max(1, min(2, os.cpu_count() or 1))
