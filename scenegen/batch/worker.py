"""A frame worker: owns one renderer and one dataset writer, turns tasks into files.

Every engine (in-process, process pool, Ray) runs :class:`FrameWorker` objects; a worker
is all the state a worker process or actor keeps between frames, so none lives at module
level.
"""

from __future__ import annotations

import pickle
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scenegen.batch.gate import gate_choice, render_gated
from scenegen.batch.plan import FrameTask
from scenegen.coverage.cover import cover_scenario
from scenegen.errors import ScenarioWarning, ScenegenError
from scenegen.frame import Frame
from scenegen.io import DatasetWriter
from scenegen.io.dataset import frame_stem
from scenegen.labels.visibility import event_view_quantities
from scenegen.pipeline import FrameRenderer, StageTimes
from scenegen.quality import Fingerprint, QualitySettings, score_frame
from scenegen.scenario import Scenario, load_scenario, sample_scene
from scenegen.scenario.model import CoverRequest
from scenegen.sensors.motion import sequence_meta
from scenegen.sensors.shading_model import SHADING_BACKENDS
from scenegen.world.sequence import SequenceWorld, build_sequence_world


@dataclass(frozen=True)
class RenderJob:
    """What every worker of one batch shares: where and in which formats to write, and
    how to render (LiDAR on or off, camera resolution scaled by ``image_scale``, the
    ray-casting backend of the LiDAR and shadows, see ``sensors.raycast``, and the shading
    backend: ``numpy`` or ``torch``))."""

    out_dir: str
    formats: tuple[str, ...]
    lidar: bool = True
    image_scale: float = 1.0
    lidar_backend: str = "open3d"
    gate: bool = False  # replace frames the quality gate rejects (scenegen.batch.gate)
    gate_attempts: int = 3
    quality: QualitySettings = field(default_factory=QualitySettings)  # the gate's thresholds
    cover: CoverRequest | None = None  # render --cover (else the file's cover: block)
    shading_backend: str = "numpy"

    def worker(self, egl_device: int | None = None) -> FrameWorker:
        """The worker an engine's process renders this job's frames with."""
        return FrameWorker(self, egl_device)

    def __post_init__(self) -> None:
        if not self.image_scale > 0:
            raise ScenegenError(f"image_scale must be > 0, got {self.image_scale}")
        if self.gate_attempts < 1:
            raise ScenegenError(f"gate_attempts must be >= 1, got {self.gate_attempts}")
        if self.shading_backend not in SHADING_BACKENDS:
            raise ScenegenError(
                f"shading backend {self.shading_backend!r}: expected "
                f"{' or '.join(SHADING_BACKENDS)}"
            )


@dataclass
class FrameResult:
    index: int
    record: dict
    seconds: float
    stage_seconds: dict[str, float]
    fingerprint: Fingerprint | None = None  # for the duplicate check, in dataset order


@dataclass
class RenderedFrame:
    """A frame rendered but not written yet (what :meth:`FrameWorker.write` takes)."""

    task: FrameTask
    frame: Frame
    times: StageTimes
    started: float
    fingerprint: Fingerprint | None = None


class FrameWorker:
    """Renders and writes frames of one :class:`RenderJob`; one per process or actor.

    ``egl_device``: the EGL device (GPU) this worker renders on, ``None`` for the default.
    """

    def __init__(self, job: RenderJob, egl_device: int | None = None) -> None:
        self.job = job
        self._renderer = FrameRenderer(
            lidar=job.lidar,
            lidar_backend=job.lidar_backend,
            shading_backend=job.shading_backend,
            egl_device=egl_device,
        )
        self._writer = DatasetWriter(Path(job.out_dir), job.formats)
        self._scenarios: dict[str, Scenario] = {}
        # The world of the sequence being rendered (frames of one sequence come together).
        self._sequence: tuple[tuple, SequenceWorld] | None = None

    def _scenario(self, path: str) -> Scenario:
        scenario = self._scenarios.get(path)
        if scenario is None:
            with warnings.catch_warnings():  # plan_batch has reported them once already
                warnings.simplefilter("ignore", ScenarioWarning)
                scenario = load_scenario(path)
            scenario = cover_scenario(scenario, self.job.cover)
            if self.job.image_scale != 1.0:
                scenario = replace(
                    scenario, camera=scaled_camera(scenario.camera, self.job.image_scale)
                )
            self._scenarios[path] = scenario
        return scenario

    def render(self, task: FrameTask) -> RenderedFrame:
        """Render ``task``'s frame (its files are not written yet)."""
        started = time.perf_counter()
        times = StageTimes()
        scenario = self._scenario(task.scenario_path)
        if task.sequence_id >= 0 and scenario.sequence is not None:
            frame = self._render_sequence_frame(task, scenario, times)
            # Scored, never replaced: a replaced frame would break the sequence's continuity,
            # and consecutive frames of a slow scene are alike, not duplicates.
            fingerprint = None
        else:
            gate = gate_choice(scenario, self.job.gate, self.job.gate_attempts, self.job.quality)
            gated = render_gated(
                self._renderer,
                scenario,
                task.local_index,
                task.base_seed,
                task.scenario_frames,
                times,
                gate=gate.enabled,
                attempts=gate.attempts,
                settings=gate.settings,
            )
            frame, fingerprint = gated.frame, gated.fingerprint
        frame.frame_id = frame_stem(task.index)
        return RenderedFrame(task, frame, times, started, fingerprint)

    def _render_sequence_frame(
        self, task: FrameTask, scenario: Scenario, times: StageTimes
    ) -> Frame:
        spec = sample_scene(
            scenario,
            task.local_index,
            task.base_seed,
            task.scenario_frames,
            world_quantities=event_view_quantities,
        )
        assert spec.sequence is not None
        key = (task.scenario_path, task.local_index, task.base_seed, task.scenario_frames)
        if self._sequence is None or self._sequence[0] != key:
            t = time.perf_counter()
            self._sequence = (key, build_sequence_world(spec))
            times.add("world", t)
        world, motion = self._sequence[1].at(spec.sequence.time_s(task.sequence_frame))
        frame = self._renderer.render_world(spec, world, times, motion)
        t = time.perf_counter()
        report = score_frame(frame, spec, world=world, settings=self.job.quality)
        frame.meta["quality"] = report.as_record()
        times.add("quality", t)
        frame.meta["sequence"] = sequence_meta(
            spec.sequence, task.sequence_id, task.sequence_frame, motion
        )
        return frame

    def write(self, rendered: RenderedFrame) -> FrameResult:
        """Encode and write a rendered frame's files; safe on a thread beside :meth:`render`."""
        t = time.perf_counter()
        record = self._writer.write_frame_files(rendered.frame, rendered.task.index)
        rendered.times.add("write", t)
        seconds = time.perf_counter() - rendered.started
        return FrameResult(
            rendered.task.index, record, seconds, rendered.times.seconds, rendered.fingerprint
        )

    def run(self, task: FrameTask) -> FrameResult:
        return self.write(self.render(task))

    def close(self) -> None:
        self._renderer.close()

    def __enter__(self) -> FrameWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def scaled_camera(camera: Any, scale: float) -> Any:
    """``camera`` with its resolution and intrinsics scaled by ``scale`` (at least 16 px)."""
    if scale == 1.0:
        return camera
    return replace(
        camera,
        width=max(16, round(camera.width * scale)),
        height=max(16, round(camera.height * scale)),
        fx=camera.fx * scale,
        fy=camera.fy * scale,
        cx=camera.cx * scale,
        cy=camera.cy * scale,
    )


def picklable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (to re-raise it in the parent), else its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ScenegenError(f"{type(exc).__name__}: {exc}")
    return exc
