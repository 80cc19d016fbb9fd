"""Render a batch of frames from one or more scenario files into one dataset.

:class:`BatchRun` checks the output folder (writing nothing), finds the frames left to
render, then has an :class:`~scenegen.batch.engine.Engine` render them. Workers write their
frames' files; this process appends the manifest in frame order and keeps nothing but
counters, so memory does not grow with the number of frames.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scenegen.batch.engine import Engine, InProcessEngine
from scenegen.batch.plan import BatchPlan, FrameTask
from scenegen.batch.worker import FrameResult, RenderJob
from scenegen.io import DatasetWriter
from scenegen.io.dataset import FORMATS, check_output_folder, completed_frame_indices
from scenegen.io.splits import SplitSpec


@dataclass
class BatchSummary:
    frames: int = 0
    skipped_existing: int = 0
    objects_per_class: Counter = field(default_factory=Counter)
    dropped_objects: int = 0
    events: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    stage_seconds: Counter = field(default_factory=Counter)

    def add(self, result: FrameResult) -> None:
        record = result.record
        self.frames += 1
        for cls, n in record.get("objects_per_class", {}).items():
            self.objects_per_class[cls] += n
        self.dropped_objects += int(record.get("dropped_objects", 0))
        for event in record.get("events", []):
            if event.get("occurs"):
                self.events[event["type"]] += 1
        self.stage_seconds.update(result.stage_seconds)


class BatchRun:
    """One batch against its output folder: checked on creation, rendered by :meth:`run`.

    Creating it reads the folder only (a refused folder raises
    :class:`~scenegen.io.errors.OutputFolderError` before anything is deleted or
    written); with ``resume``, frames already complete on disk (files present, hashes
    matching the manifest) are left out of :attr:`pending`. ``split`` and ``coco_masks``
    go to :meth:`DatasetWriter.finalize`.
    """

    def __init__(
        self,
        plan: BatchPlan,
        job: RenderJob,
        *,
        resume: bool = False,
        overwrite: bool = False,
        force: bool = False,
        split: SplitSpec | None = None,
        coco_masks: str = "rle",
    ) -> None:
        out_dir = Path(job.out_dir)
        check_output_folder(out_dir, resume=resume, overwrite=overwrite, force=force)
        done = completed_frame_indices(out_dir) if resume else set()
        self.plan = plan
        self.job = job
        self.pending: tuple[FrameTask, ...] = tuple(t for t in plan.tasks if t.index not in done)
        self._open = {"resume": resume, "overwrite": overwrite, "force": force}
        self._layout = {"split": split, "coco_masks": coco_masks}

    @property
    def skipped(self) -> int:
        return len(self.plan.tasks) - len(self.pending)

    def run(
        self, engine: Engine, on_frame: Callable[[FrameResult], None] | None = None
    ) -> BatchSummary:
        """Render :attr:`pending` with ``engine`` and finalize the dataset.

        ``on_frame`` is called after each frame (in dataset order), e.g. to advance a
        progress bar.
        """
        writer = DatasetWriter.open(Path(self.job.out_dir), self.job.formats, **self._open)
        summary = BatchSummary(skipped_existing=self.skipped)
        t0 = time.perf_counter()
        try:
            for result in engine.results(self.job, self.pending):
                writer.append_record(result.record)
                summary.add(result)
                if on_frame is not None:
                    on_frame(result)
        except BaseException:
            # The engine has stopped its workers: what they left half-written goes.
            writer.remove_temporaries()
            raise
        writer.finalize(self.plan.creation(), **self._layout)
        summary.seconds = time.perf_counter() - t0
        return summary


def render_batch(
    plan: BatchPlan,
    out_dir: Path,
    *,
    engine: Engine | None = None,
    formats: Sequence[str] = FORMATS,
    lidar: bool = True,
    image_scale: float = 1.0,
    resume: bool = False,
    overwrite: bool = False,
    force: bool = False,
    on_frame: Callable[[FrameResult], None] | None = None,
    split: SplitSpec | None = None,
    coco_masks: str = "rle",
) -> BatchSummary:
    """Render every frame of ``plan`` into ``out_dir`` with ``engine`` (default: this
    process); return counts and timings. Same bytes for any engine and worker count."""
    job = RenderJob(str(out_dir), tuple(formats), lidar, image_scale)
    run = BatchRun(
        plan,
        job,
        resume=resume,
        overwrite=overwrite,
        force=force,
        split=split,
        coco_masks=coco_masks,
    )
    return run.run(engine if engine is not None else InProcessEngine(), on_frame)
