"""The quality gate: every rendered frame scored, with reasons, before it joins a dataset.

:func:`score_frame` runs the checks of :mod:`scenegen.quality.checks` (NaN/Inf, near-black
or blown-out images, the camera inside geometry, objects missing where the scenario asked
for them, boxes against masks, objects under the visible-pixel floor, depth against LiDAR,
near objects without LiDAR points) and, given the batch's :class:`DuplicateIndex`,
duplicates of earlier frames. The batch records each frame's :class:`QualityReport` in the
manifest; ``scenegen render --gate`` replaces rejected frames (:mod:`scenegen.batch.worker`).
"""

from scenegen.quality.checks import REASON_CODES, QualitySettings
from scenegen.quality.duplicates import DuplicateIndex, Fingerprint, fingerprint
from scenegen.quality.score import QualityReport, score_frame

__all__ = [
    "REASON_CODES",
    "DuplicateIndex",
    "Fingerprint",
    "QualityReport",
    "QualitySettings",
    "fingerprint",
    "score_frame",
]
