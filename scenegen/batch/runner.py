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
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scenegen.errors import ScenegenError


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
    from scenegen.pipeline import StageTimes
    from scenegen.scenario import load_scenario, sample_scene

    t0 = time.perf_counter()
    scenarios = _worker_state["scenarios"]
    if task.scenario_path not in scenarios:
        scenarios[task.scenario_path] = load_scenario(task.scenario_path)
    spec = sample_scene(
        scenarios[task.scenario_path], task.local_index, task.base_seed, task.scenario_frames
    )
    times = StageTimes()
    frame = _worker_state["renderer"].render(spec, times)
    frame.frame_id = f"{task.index:06d}"
    t = time.perf_counter()
    record = _worker_state["writer"].write_frame_files(frame, task.index)
    times.add("write", t)
    return FrameResult(task.index, record, time.perf_counter() - t0, times.seconds)


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
            for task in tasks:
                yield _render_task(task)
        finally:
            _close_worker()
        return
    # "spawn": a forked child would inherit the parent's GL and thread state.
    ctx = mp.get_context("spawn")
    with ctx.Pool(
        workers, initializer=_worker_init, initargs=(str(out_dir), formats, lidar)
    ) as pool:
        yield from pool.imap(_render_task, tasks, chunksize=1)


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
) -> BatchSummary:
    """Render every frame of ``plan`` into ``out_dir``; return counts and timings.

    ``on_frame`` is called after each frame (in dataset order), e.g. to advance a
    progress bar. With ``resume``, frames already complete on disk (files present and
    hashes matching the manifest) are kept and the rest rendered.
    """
    from scenegen.io import DatasetWriter

    formats = tuple(formats)
    writer = DatasetWriter.open(out_dir, formats, resume=resume, overwrite=overwrite, force=force)
    done = writer.completed_indices() if resume else set()
    todo = [t for t in plan.tasks if t.index not in done]
    summary = BatchSummary(skipped_existing=len(plan.tasks) - len(todo))
    t0 = time.perf_counter()
    for result in _results(todo, out_dir, formats, workers, lidar):
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
