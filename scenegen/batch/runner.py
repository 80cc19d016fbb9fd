"""Render a batch of frames from one or more scenario files into one dataset.

:class:`BatchRun` checks the output folder (writing nothing), finds the frames left to
render, then has an :class:`~scenegen.batch.engine.Engine` render them. Workers write their
frames' files; this process appends the manifest in frame order and keeps nothing but
counters, so memory does not grow with the number of frames.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from scenegen.batch.engine import Engine, InProcessEngine
from scenegen.batch.gate import GateChoice, gate_choice, replacement_base_seed
from scenegen.batch.plan import BatchPlan, FrameTask
from scenegen.batch.worker import FrameResult, RenderJob
from scenegen.errors import ScenarioWarning
from scenegen.io import DatasetWriter
from scenegen.io.dataset import FORMATS, check_output_folder, completed_frame_indices
from scenegen.io.splits import SplitSpec
from scenegen.quality import DuplicateIndex, QualityReport, QualitySettings
from scenegen.quality.score import duplicate_reasons
from scenegen.scenario import load_scenario


@dataclass
class BatchSummary:
    frames: int = 0
    skipped_existing: int = 0
    objects_per_class: Counter = field(default_factory=Counter)
    dropped_objects: int = 0
    events: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    stage_seconds: Counter = field(default_factory=Counter)
    # The quality gate: frames whose final report failed (by reason code), frames replaced
    # (by the codes of the rejected original) and replaced frames that never passed.
    quality_failed: Counter = field(default_factory=Counter)
    failed_frames: int = 0
    replaced_frames: int = 0
    replaced_reasons: Counter = field(default_factory=Counter)

    def add(self, result: FrameResult) -> None:
        record = result.record
        self.frames += 1
        quality = record.get("quality")
        if quality is not None and not quality["passed"]:
            self.failed_frames += 1
            self.quality_failed.update(reason_codes(quality["reasons"]))
        gate = record.get("gate")
        if gate is not None and gate.get("replacement_seed") is not None:
            self.replaced_frames += 1
            self.replaced_reasons.update(reason_codes(gate["rejected"][0]["reasons"]))
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
        self._gates: dict[str, GateChoice] = {}

    def _gate(self, task: FrameTask) -> GateChoice:
        """The gate of ``task``'s scenario (its ``gate:`` block, else the job's)."""
        choice = self._gates.get(task.scenario_path)
        if choice is None:
            with warnings.catch_warnings():  # plan_batch has reported them once already
                warnings.simplefilter("ignore", ScenarioWarning)
                scenario = load_scenario(task.scenario_path)
            job = self.job
            choice = gate_choice(scenario, job.gate, job.gate_attempts, job.quality)
            self._gates[task.scenario_path] = choice
        return choice

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
        seen = DuplicateIndex(self.job.quality.duplicate_hash_bits)
        tasks = {task.index: task for task in self.pending}
        repeated: list[FrameResult] = []  # duplicates the gate renders again
        try:
            for result in engine.results(self.job, self.pending):
                if _flag_duplicate(result, seen) and self._gate(tasks[result.index]).enabled:
                    repeated.append(result)
                else:
                    summary.add(result)
                writer.append_record(result.record)
                if on_frame is not None:
                    on_frame(result)
            # After the batch, not inside it: one renderer (GL context) per process.
            for result in self._render_again(engine, tasks, repeated, seen):
                writer.append_record(result.record)  # the last record of a frame wins
                summary.add(result)
        except BaseException:
            # The engine has stopped its workers: what they left half-written goes.
            writer.remove_temporaries()
            raise
        writer.finalize(self.plan.creation(), **self._layout)
        summary.seconds = time.perf_counter() - t0
        return summary

    def _render_again(
        self,
        engine: Engine,
        tasks: dict[int, FrameTask],
        repeated: list[FrameResult],
        seen: DuplicateIndex,
    ) -> list[FrameResult]:
        """Frames that duplicated an earlier one, rendered again from derived base seeds
        (their files are overwritten) until new or ``gate_attempts`` are spent. Frames come
        in dataset order, so which frame is the duplicate does not depend on the workers."""
        done: list[FrameResult] = []
        originals = {r.index: r for r in repeated}
        limit = {r.index: self._gate(tasks[r.index]).attempts for r in repeated}
        for attempt in range(1, max(limit.values(), default=0) + 1):
            if not repeated:
                break
            retries = [
                replace(
                    tasks[r.index],
                    base_seed=replacement_base_seed(
                        tasks[r.index].base_seed, tasks[r.index].local_index, attempt
                    ),
                )
                for r in repeated
            ]
            still: list[FrameResult] = []
            for result in engine.results(self.job, retries):
                duplicate = _flag_duplicate(result, seen)
                _note_replacement(result.record, originals[result.index].record, attempt)
                if duplicate and attempt < limit[result.index]:
                    still.append(result)
                else:
                    done.append(result)
            repeated = still
        return done


def _flag_duplicate(result: FrameResult, seen: DuplicateIndex) -> bool:
    """Add a duplicate of an earlier frame to ``result``'s quality report (or add the frame
    to ``seen`` when it is new); whether it was one."""
    if result.fingerprint is None:
        return False
    reasons = duplicate_reasons(seen, result.fingerprint)
    if reasons:
        _add_reasons(result.record, reasons)
        return True
    seen.add(result.record["frame_id"], result.fingerprint)
    return False


def reason_codes(reasons: list[str]) -> set[str]:
    return {reason.split(":", 1)[0] for reason in reasons}


def _add_reasons(record: dict, reasons: list[str]) -> None:
    if not reasons:
        return
    quality = record.setdefault("quality", {"score": 1.0, "passed": True, "reasons": []})
    report = QualityReport(float(quality["score"]), list(quality["reasons"])).with_reasons(reasons)
    record["quality"] = report.as_record()


def _note_replacement(record: dict, original: dict, attempt: int) -> None:
    """The gate entry of a frame re-rendered because ``original`` duplicated an earlier one."""
    first = original.get("gate", {})
    rejected = [
        *first.get("rejected", []),
        {"seed": original["seed"], "reasons": original["quality"]["reasons"]},
    ]
    record["gate"] = {
        "original_seed": first.get("original_seed", original["seed"]),
        "replacement_seed": record["seed"],
        "replacement_base_seed": None,
        "attempts": attempt,
        "passed": record.get("quality", {}).get("passed", True),
        "rejected": rejected,
    }


def render_batch(
    plan: BatchPlan,
    out_dir: Path,
    *,
    engine: Engine | None = None,
    formats: Sequence[str] = FORMATS,
    lidar: bool = True,
    image_scale: float = 1.0,
    shading_backend: str = "numpy",
    resume: bool = False,
    overwrite: bool = False,
    force: bool = False,
    on_frame: Callable[[FrameResult], None] | None = None,
    split: SplitSpec | None = None,
    coco_masks: str = "rle",
    gate: bool = False,
    gate_attempts: int = 3,
    quality: QualitySettings | None = None,
) -> BatchSummary:
    """Render every frame of ``plan`` into ``out_dir`` with ``engine`` (default: this
    process); return counts and timings. Same bytes for any engine and worker count.
    With ``gate``, frames the quality gate rejects (by ``quality``'s thresholds, default
    :class:`~scenegen.quality.QualitySettings`) are replaced (:mod:`scenegen.batch.gate`)."""
    job = RenderJob(
        str(out_dir),
        tuple(formats),
        lidar,
        image_scale,
        shading_backend=shading_backend,
        gate=gate,
        gate_attempts=gate_attempts,
        quality=quality if quality is not None else QualitySettings(),
    )
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
