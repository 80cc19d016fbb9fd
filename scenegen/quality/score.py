"""``score_frame``: every check of the gate on one frame -> a :class:`QualityReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scenegen.frame import Frame
from scenegen.quality import checks
from scenegen.quality.checks import REASON_CODES, QualitySettings
from scenegen.quality.duplicates import DuplicateIndex, fingerprint
from scenegen.scenario.spec import SceneSpec
from scenegen.world.types import World

# The score counts failed checks; the two exposure codes are one check.
_CHECK_OF = {"near_black": "exposure", "blown_out": "exposure"}
CHECKS = sorted({_CHECK_OF.get(code, code) for code in REASON_CODES})


@dataclass(frozen=True)
class QualityReport:
    """``score`` in [0, 1]: the share of the gate's checks a frame passes; ``reasons`` say
    which failed and why (``"code: ..."``); ``passed`` when none did."""

    score: float
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def codes(self) -> list[str]:
        return sorted({reason.split(":", 1)[0] for reason in self.reasons})

    def with_reasons(self, extra: list[str]) -> QualityReport:
        return _report([*self.reasons, *extra])

    def as_record(self) -> dict[str, Any]:
        """What the manifest keeps."""
        return {"score": self.score, "passed": self.passed, "reasons": list(self.reasons)}


def score_frame(
    frame: Frame,
    spec: SceneSpec | None,
    *,
    world: World | None = None,
    earlier: DuplicateIndex | None = None,
    settings: QualitySettings | None = None,
) -> QualityReport:
    """Score one frame: NaN/Inf, exposure, camera inside geometry (exactly with ``world``,
    from the depth map without), objects missing where ``spec`` asked for them, boxes vs
    masks and the visible-pixel floor, depth vs LiDAR and LiDAR points on near objects,
    and, with ``earlier``, duplicates of earlier frames (the frame is not added to it)."""
    settings = settings or QualitySettings()
    reasons = [
        *checks.non_finite(frame),
        *checks.exposure(frame, settings),
        *checks.camera_inside(frame, world, settings),
        *checks.missing_objects(frame, spec),
        *checks.labels_against_mask(frame, spec, settings),
        *checks.lidar_against_camera(frame, settings),
    ]
    if earlier is not None:
        reasons += duplicate_reasons(earlier, fingerprint(frame))
    return _report(reasons)


def duplicate_reasons(earlier: DuplicateIndex, print_: Any) -> list[str]:
    original = earlier.find(print_)
    if original is None:
        return []
    return [f"duplicate: near-identical to frame {original}, expected a new frame"]


def _report(reasons: list[str]) -> QualityReport:
    failed = {_CHECK_OF.get(reason.split(":", 1)[0], reason.split(":", 1)[0]) for reason in reasons}
    return QualityReport(round(1.0 - len(failed) / len(CHECKS), 4), reasons)
