"""The key-table rows of ``randomize:``, domain randomisation (part of the one key table of
:mod:`scenegen.scenario.schema`, kept here so that module stays short).

Domain randomisation (Tremblay et al., "Training deep networks with synthetic data:
bridging the reality gap by domain randomization", CVPR workshops 2018) varies what a
detector should not rely on - surface colours, light, the exact camera - so a model
trained on rendered frames meets real ones as one more variation. Structured domain
randomisation (Prakash et al., "Structured domain randomization", ICRA 2019) keeps the
scene's structure (roads, lanes, where cars stand) and randomises within it, which is what
these keys do: each is an amplitude, and every frame draws its own values inside it with
its own generator. Every key defaults to 0, so a file without ``randomize:`` (or with an
empty one) renders exactly as before. Labels stay exact: the jittered camera is the one
rendered, projected and written to the frame's calibration.
"""

from __future__ import annotations

from scenegen.scenario.fields import Field, NumberField, ObjectField
from scenegen.scenario.fields import object_field as _obj

MAX_DISTRACTORS = 50
DISTRACTOR_KINDS = ("cone", "bin", "pole")


def randomize_fields() -> dict[str, Field]:
    """``randomize``, in key-table order."""
    block: ObjectField = _obj(
        "Domain randomisation: per-frame jitter of colours, light and camera, and "
        "unlabelled clutter. Each key is an amplitude (0 = off, the default); each frame "
        "draws its own values inside it.",
        {
            "colour_jitter": NumberField(
                "Relative jitter of every material's albedo, per material and colour "
                "channel: albedo x (1 + u), u uniform in [-a, a] (LiDAR reflectivity is "
                "unchanged).",
                0.0,
                0.5,
                0.0,
            ),
            "light_intensity_jitter": NumberField(
                "Relative jitter of the sun and sky levels: x (1 + u), u uniform in [-a, a].",
                0.0,
                0.9,
                0.0,
            ),
            "light_colour_jitter": NumberField(
                "Relative jitter of the sun's colour per channel: x (1 + u), u uniform in [-a, a].",
                0.0,
                0.3,
                0.0,
            ),
            "camera_height_m": NumberField(
                "Camera height jitter in metres: height + u, u uniform in [-a, a] (the "
                "LiDAR keeps its mount; the calibration follows).",
                0.0,
                0.5,
                0.0,
            ),
            "camera_pitch_deg": NumberField(
                "Camera pitch jitter in degrees: pitch + u, u uniform in [-a, a].",
                0.0,
                5.0,
                0.0,
            ),
            "focal_jitter": NumberField(
                "Relative focal length jitter: fx and fy x (1 + u), u uniform in [-a, a] "
                "(pixels stay square).",
                0.0,
                0.2,
                0.0,
            ),
            "principal_point_px": NumberField(
                "Principal point jitter in pixels: cx + u, cy + v, each uniform in [-a, a].",
                0.0,
                100.0,
                0.0,
            ),
            "distractors": NumberField(
                f"Unlabelled clutter per frame ({', '.join(DISTRACTOR_KINDS)}) on the "
                "sidewalks and verges; never labelled, hides what stands behind it.",
                0,
                MAX_DISTRACTORS,
                0,
                integer=True,
            ),
        },
        optional=True,
    )
    return {"randomize": block}
