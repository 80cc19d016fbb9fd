"""Worker processes kept across many small batches: a parameter search's evaluations.

A search asks for a few points at a time and cannot know the next ones before the last
are scored, so it cannot hand an engine all its tasks at once; starting processes (a GL
context and a detector each) per batch of points would cost more than the renders.
:class:`WorkerSession` starts ``workers`` processes running the batch engine's own worker
loop (:func:`scenegen.batch.engine._worker_loop`: whichever worker is free takes the next
task; each process makes its worker with ``job.worker()``) once, and :meth:`map` hands them
one batch after another, returning the results in task order.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from typing import Any

from scenegen.batch.engine import _worker_loop, next_result
from scenegen.errors import InvalidInputError


class WorkerSession:
    """``workers`` spawned processes for ``job``; tasks need an ``index`` (unique in a
    :meth:`map` call), results the same ``index``."""

    def __init__(self, workers: int, job: Any) -> None:
        if workers < 2:
            raise InvalidInputError(f"--workers {workers}: a session needs at least 2")
        self.workers = workers
        # "spawn": a forked child would inherit the parent's GL and thread state.
        ctx = mp.get_context("spawn")
        self._tasks, self._results = ctx.Queue(), ctx.Queue()
        self._procs = [
            # egl_device None: each process renders on the platform's default device
            ctx.Process(
                target=_worker_loop, args=(job, self._tasks, self._results, None), daemon=True
            )
            for _ in range(workers)
        ]
        for proc in self._procs:
            proc.start()

    def describe(self) -> str:
        return f"{self.workers} worker processes"

    def map(self, tasks: Sequence[Any]) -> list[Any]:
        position = {task.index: pos for pos, task in enumerate(tasks)}
        for task in tasks:
            self._tasks.put((task,))  # a unit of one task, as the engine sends them
        found: dict[int, Any] = {}
        while len(found) < len(tasks):
            got = next_result(self._results, self._procs)
            if got is None:
                continue
            kind, payload = got
            if kind == "error":
                self.close()
                raise payload
            found[position[payload.index]] = payload
        return [found[pos] for pos in range(len(tasks))]

    def close(self) -> None:
        for proc in self._procs:
            if proc.is_alive():
                self._tasks.put(None)
        self._tasks.cancel_join_thread()
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join()
