"""The quality gate in a batch: score every frame, replace rejected ones deterministically.

Every frame's :class:`~scenegen.quality.QualityReport` goes into its manifest record
(``quality``). With the gate on, a rejected frame is sampled again from the same scenario
and frame index with a derived base seed (:func:`replacement_base_seed`: a pure function of
the batch's base seed, the frame index and the attempt number), up to ``attempts`` times;
the first frame that passes is kept, else the best-scoring one. The record's ``gate`` says
what happened: the original seed, the replacement's seed and base seed, the reasons each
rejected attempt had. Same scenario + seed => the same replacements, whatever the workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from scenegen.frame import Frame
from scenegen.labels.visibility import event_view_quantities
from scenegen.pipeline import FrameRenderer, StageTimes
from scenegen.quality import (
    Fingerprint,
    QualityReport,
    QualitySettings,
    fingerprint,
    score_frame,
)
from scenegen.scenario import Scenario, sample_scene
from scenegen.scenario.spec import SceneSpec
from scenegen.world.build import build_world

_GATE_STREAM = 0x6A7E  # keeps replacement seeds apart from every other derived seed


def replacement_base_seed(base_seed: int, frame_index: int, attempt: int) -> int:
    """The base seed of replacement ``attempt`` (1, 2, ...) of a scenario's frame."""
    sequence = np.random.SeedSequence([base_seed, frame_index, attempt, _GATE_STREAM])
    return int(sequence.generate_state(1, np.uint32)[0])


@dataclass(frozen=True)
class GateChoice:
    """Whether a scenario's frames are gated, with how many attempts and which thresholds."""

    enabled: bool
    attempts: int
    settings: QualitySettings


def gate_choice(
    scenario: Scenario, enabled: bool, attempts: int, settings: QualitySettings
) -> GateChoice:
    """The file's ``gate:`` block where it has one, else the batch's (``render --gate``)."""
    block = scenario.gate
    if block is None:
        return GateChoice(enabled, attempts, settings)
    return GateChoice(block.enabled, block.attempts, replace(settings, **dict(block.thresholds)))


@dataclass
class GatedFrame:
    frame: Frame
    fingerprint: Fingerprint


def render_scored(
    renderer: FrameRenderer, spec: SceneSpec, times: StageTimes, settings: QualitySettings
) -> tuple[Frame, QualityReport]:
    """Render ``spec`` and score the frame (with its world, for the camera check)."""
    t = time.perf_counter()
    world = build_world(spec)
    times.add("world", t)
    frame = renderer.render_world(spec, world, times)
    t = time.perf_counter()
    report = score_frame(frame, spec, world=world, settings=settings)
    times.add("quality", t)
    return frame, report


def render_gated(
    renderer: FrameRenderer,
    scenario: Scenario,
    local_index: int,
    base_seed: int,
    scenario_frames: int,
    times: StageTimes,
    *,
    gate: bool,
    attempts: int,
    settings: QualitySettings,
) -> GatedFrame:
    """Frame ``local_index`` of ``scenario``, scored; with ``gate``, replaced while rejected
    (at most ``attempts`` replacements). The report is in ``frame.meta["quality"]``, what
    the gate did in ``frame.meta["gate"]``."""
    spec = sample_scene(
        scenario, local_index, base_seed, scenario_frames, world_quantities=event_view_quantities
    )
    frame, report = render_scored(renderer, spec, times, settings)
    best = (frame, report, base_seed)
    rejected: list[dict[str, Any]] = []
    attempt = 0
    while gate and not report.passed and attempt < attempts:
        rejected.append(_rejection(frame, report))
        attempt += 1
        seed = replacement_base_seed(base_seed, local_index, attempt)
        spec = sample_scene(
            scenario, local_index, seed, scenario_frames, world_quantities=event_view_quantities
        )
        frame, report = render_scored(renderer, spec, times, settings)
        if report.score > best[1].score:  # a passing frame scores 1, above any rejected one
            best = (frame, report, seed)
    if attempt and not report.passed:
        rejected.append(_rejection(frame, report))
    frame, report, kept_seed = best
    if attempt:
        original_seed = rejected[0]["seed"]
        frame.meta["gate"] = {
            "original_seed": original_seed,
            "replacement_seed": frame.meta.get("seed") if kept_seed != base_seed else None,
            "replacement_base_seed": kept_seed if kept_seed != base_seed else None,
            "attempts": attempt,
            "passed": report.passed,
            "rejected": rejected,
        }
    frame.meta["quality"] = report.as_record()
    return GatedFrame(frame, fingerprint(frame))


def _rejection(frame: Frame, report: QualityReport) -> dict[str, Any]:
    return {"seed": frame.meta.get("seed"), "reasons": list(report.reasons)}
