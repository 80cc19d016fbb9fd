"""One evaluation: a point and a seed -> a rendered frame, the detector's output, a margin.

:class:`Evaluator` keeps a :class:`~scenegen.pipeline.FrameRenderer` (one GL context per
process) and the detector. :class:`InProcessPool` evaluates a batch here;
:class:`ProcessPool` spreads it over the batch engine's worker processes
(:class:`~scenegen.batch.session.WorkerSession`: spawned once for the whole search, each with
its own renderer and the detector loaded from its file, exactly as ``render --workers``
renders) and hands results back in batch order, so the table does not depend on the number
of workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scenegen.batch.session import WorkerSession
from scenegen.frame import Frame
from scenegen.harness.dataset import image_tensor
from scenegen.io.dataset import frame_stem
from scenegen.pipeline import FrameRenderer
from scenegen.scenario import Scenario, load_scenario
from scenegen.scenario.sampling import sample_spec_at
from scenegen.search.margin import FrameScore, MarginSettings, score_frame
from scenegen.search.space import Point


@dataclass(frozen=True)
class Job:
    evaluation: int  # render number in the run: names the frame and its row
    point: Point
    seed: int

    @property
    def index(self) -> int:  # what the batch engine's worker loop orders results by
        return self.evaluation


@dataclass
class Evaluated:
    job: Job
    score: FrameScore
    frame: Frame | None  # kept for failures only (they are written as a dataset)

    @property
    def index(self) -> int:
        return self.job.evaluation


class Evaluator:
    """Renders and scores jobs of one scenario with one detector; owns a GL context."""

    def __init__(
        self,
        scenario: Scenario,
        detector: object,
        class_names: Sequence[str],
        margin: MarginSettings,
        *,
        lidar: bool = False,
        egl_device: int | None = None,
    ) -> None:
        self.scenario = scenario
        self._detector = detector
        self._class_names = list(class_names)
        self.margin = margin
        self._renderer = FrameRenderer(lidar=lidar, egl_device=egl_device)

    def render(self, job: Job) -> Frame:
        """The frame of ``job`` (frame id: its evaluation number); a pure function of it."""
        frame = self._renderer.render(sample_spec_at(self.scenario, job.point, job.seed))
        frame.frame_id = frame_stem(job.evaluation)
        return frame

    def score(self, frame: Frame) -> FrameScore:
        (result,) = self._detector([image_tensor(frame.rgb)])  # type: ignore[operator]
        labels = result["labels"].cpu().numpy().astype(np.int64)
        names = [
            self._class_names[k - 1] if 0 < k <= len(self._class_names) else "" for k in labels
        ]
        return score_frame(
            frame.objects,
            frame.height,
            result["boxes"].cpu().numpy(),
            result["scores"].cpu().numpy(),
            names,
            self.margin,
        )

    def evaluate(self, job: Job) -> Evaluated:
        frame = self.render(job)
        score = self.score(frame)
        return Evaluated(job, score, frame if score.failure else None)

    def close(self) -> None:
        self._renderer.close()


class InProcessPool:
    def __init__(self, evaluator: Evaluator) -> None:
        self._evaluator = evaluator

    def describe(self) -> str:
        return "this process"

    def map(self, jobs: Sequence[Job]) -> list[Evaluated]:
        return [self._evaluator.evaluate(job) for job in jobs]

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class EvaluationJob:
    """What every worker process of a search shares (pickled to each): it makes the
    process's :class:`EvaluationWorker`."""

    scenario_path: str
    detector_path: str
    margin: MarginSettings
    loader: Callable  # path -> LoadedDetector, a module-level function (picklable)
    lidar: bool = False

    def worker(self, egl_device: int | None = None) -> EvaluationWorker:
        return EvaluationWorker(self, egl_device)


class EvaluationWorker:
    """The batch worker loop's interface (``render`` then ``write``) over an
    :class:`Evaluator`: ``render`` evaluates a :class:`Job`, ``write`` hands it back."""

    def __init__(self, job: EvaluationJob, egl_device: int | None = None) -> None:
        detector = job.loader(Path(job.detector_path))
        self._evaluator = Evaluator(
            load_scenario(job.scenario_path),
            detector.detector,
            detector.class_names,
            job.margin,
            lidar=job.lidar,
            egl_device=egl_device,
        )

    def render(self, job: Job) -> Evaluated:
        return self._evaluator.evaluate(job)

    def write(self, evaluated: Evaluated) -> Evaluated:
        return evaluated  # the search writes failures itself, in evaluation order

    def __enter__(self) -> EvaluationWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self._evaluator.close()


class ProcessPool:
    """``workers`` batch worker processes; the detector is loaded in each from its file."""

    def __init__(
        self,
        workers: int,
        scenario_path: Path,
        detector_path: Path,
        margin: MarginSettings,
        loader: Callable,
        lidar: bool = False,
    ) -> None:
        job = EvaluationJob(str(scenario_path), str(detector_path), margin, loader, lidar)
        self._session = WorkerSession(workers, job)

    def describe(self) -> str:
        return self._session.describe()

    def map(self, jobs: Sequence[Job]) -> list[Evaluated]:
        return self._session.map(jobs)

    def close(self) -> None:
        self._session.close()
