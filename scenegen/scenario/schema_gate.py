"""The key-table row of ``gate:``: the quality gate's settings for the file's frames, the
same as ``render --gate --gate-attempts N`` (part of the one key table of
:mod:`scenegen.scenario.schema`; :mod:`scenegen.scenario.gate_block` resolves it).
The threshold keys are :class:`scenegen.quality.QualitySettings`' fields but
``duplicate_hash_bits`` (duplicates are looked for across a whole batch); a test keeps the
two lists equal."""

from __future__ import annotations

from scenegen.scenario.fields import BoolField, Field, NumberField, object_field

MAX_GATE_ATTEMPTS = 100
DEFAULT_GATE_ATTEMPTS = 3  # as render --gate-attempts


def _threshold(description: str, low: float, high: float, integer: bool = False) -> NumberField:
    # No default: a threshold not written keeps the gate's own (QualitySettings).
    return NumberField(description, low, high, None, integer=integer, random=False)


GATE_THRESHOLDS: dict[str, Field] = {
    "black_p99_luma": _threshold("Near-black below this 99th-percentile luma (0-255).", 0, 255),
    "blown_p5_luma": _threshold("Blown out above this 5th-percentile luma (0-255).", 0, 255),
    "min_box_mask_iou": _threshold("Least IoU of a box with its mask's tight box.", 0, 1),
    "near_field_m": _threshold("Camera-inside check: depth nearer than this, metres.", 0, 10),
    "near_field_fraction": _threshold("Camera-inside check: share of the view that near.", 0, 1),
    "max_depth_lidar_error": _threshold("Largest median relative depth-LiDAR error.", 0, 10),
    "lidar_check_range_m": _threshold("Objects nearer than this need LiDAR points, m.", 0, 1000),
    "min_lidar_points": _threshold("LiDAR points such an object needs.", 0, 10_000_000, True),
    "max_lidar_occlusion": _threshold("Only objects at most this hidden (0-1) need them.", 0, 1),
}


def gate_fields() -> dict[str, Field]:
    return {
        "gate": object_field(
            "The quality gate for this file's frames, as `render --gate`: rejected frames "
            "are replaced with derived seeds; `gate: true` for the defaults, `false` to "
            "score only. Overrides --gate / --gate-attempts for this file.",
            {
                "enabled": BoolField("Replace rejected frames.", True, random=False),
                "attempts": NumberField(
                    "Replacements tried per rejected frame.",
                    1,
                    MAX_GATE_ATTEMPTS,
                    DEFAULT_GATE_ATTEMPTS,
                    integer=True,
                    random=False,
                ),
                "thresholds": object_field(
                    "The checks' thresholds (those not written keep their defaults).",
                    GATE_THRESHOLDS,
                    optional=True,
                ),
            },
            optional=True,
            accepts_bool=True,
        )
    }
