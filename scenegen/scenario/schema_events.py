"""The rare events' keys of the scenario key table, with their manoeuvres over time.

Each event type is one variant of the ``events`` union (chosen by ``type``). Keys that
only matter in a ``sequence:`` (when a manoeuvre starts, how long it takes, how fast it
goes) have no default in the table, so files without a sequence keep exactly the values
they always had; :data:`SEQUENCE_EVENT_DEFAULTS` gives them their value in a sequence
(the loader fills them in, so they are drawn, recorded and documented like any key).
"""

from __future__ import annotations

from types import MappingProxyType

from scenegen.scenario.fields import (
    BoolField,
    EnumField,
    Field,
    NumberField,
    ObjectField,
    TextField,
    UnionField,
    object_field,
)

# Value of each sequence-only event key when a sequence file leaves it out.
SEQUENCE_EVENT_DEFAULTS: MappingProxyType[str, MappingProxyType[str, float]] = MappingProxyType(
    {
        event: MappingProxyType(keys)
        for event, keys in {
            "jaywalker": {"step_out_s": 0.5},
            "occluded_pedestrian": {"step_out_s": 1.0, "speed_m_s": 1.4},
            "cut_in": {"start_s": 0.5, "duration_s": 2.0, "relative_speed_m_s": 0.0},
            "wrong_way": {"closing_speed_m_s": 25.0},
            "animal": {"speed_m_s": 3.0},
            "lost_cargo": {"drop_s": 0.5},
            "stalled_vehicle": {"blink_hz": 1.5},
        }.items()
    }
)

_PROBABILITY = NumberField(
    "Probability that the event happens in a frame (drawn per frame; per sequence in a sequence).",
    0.0,
    1.0,
    1.0,
)


def _distance(default: str, what: str) -> NumberField:
    return NumberField(
        f"Distance in metres along the road from the ego vehicle to {what}.", 2.0, 150.0, default
    )


def _timed(event: str, key: str, description: str, minimum: float, maximum: float) -> NumberField:
    """A key that only a sequence uses: no table default, its sequence default named."""
    default = SEQUENCE_EVENT_DEFAULTS[event][key]
    return NumberField(f"{description} Sequences only; default {default}.", minimum, maximum)


def _event(description: str, fields: dict[str, Field]) -> ObjectField:
    all_fields: dict[str, Field] = {
        "type": TextField("Event type."),
        "probability": _PROBABILITY,
    }
    all_fields.update(fields)
    return object_field(description, all_fields, required=("type",))


def event_union() -> UnionField:
    """The ``events`` list item: one variant per event type."""
    return UnionField(
        "A rare event, chosen by `type`.",
        "type",
        MappingProxyType(
            {
                "jaywalker": _event(
                    "A pedestrian crossing the road ahead.",
                    {
                        "distance_m": _distance("uniform(10, 40)", "the crossing pedestrian"),
                        "from_between_parked": BoolField(
                            "Whether the pedestrian steps out between parked cars.", False
                        ),
                        "speed_m_s": NumberField(
                            "Walking speed in m/s.", 0.3, 8.0, "uniform(1.0, 2.0)"
                        ),
                        "step_out_s": _timed(
                            "jaywalker",
                            "step_out_s",
                            "Seconds after the sequence starts at which the pedestrian "
                            "starts crossing (standing still before).",
                            0.0,
                            600.0,
                        ),
                    },
                ),
                "stalled_vehicle": _event(
                    "A vehicle stopped on the road ahead.",
                    {
                        "distance_m": _distance("uniform(20, 80)", "the stalled vehicle"),
                        "hazard_lights": BoolField("Whether its hazard lights flash.", True),
                        "lane": EnumField(
                            "Which lane it blocks: ego or adjacent.", ("ego", "adjacent"), "ego"
                        ),
                        "blink_hz": _timed(
                            "stalled_vehicle",
                            "blink_hz",
                            "Hazard light flash rate in Hz (on for the first half of each "
                            "period; regulations ask for 1-2 Hz).",
                            1.0,
                            2.0,
                        ),
                    },
                ),
                "debris": _event(
                    "Objects lying on the road ahead.",
                    {
                        "distance_m": _distance("uniform(15, 60)", "the debris"),
                        "kind": EnumField(
                            "Debris kind: tyre, box, cones or mixed.",
                            ("tyre", "box", "cones", "mixed"),
                            "mixed",
                        ),
                        "count": NumberField(
                            "Number of debris objects.", 1, 50, "randint(1, 5)", integer=True
                        ),
                    },
                ),
                "cut_in": _event(
                    "A vehicle from the adjacent lane cutting into the ego lane.",
                    {
                        "distance_m": _distance(
                            "uniform(10, 40)",
                            "the cutting-in vehicle (in a sequence: at the start)",
                        ),
                        "gap_m": NumberField(
                            "Lateral distance in metres from the cutting-in vehicle's "
                            "centre to the ego lane's centre line (0 = already in the "
                            "lane); independent frames only (a sequence moves the car from "
                            "its lane's centre to the ego lane's).",
                            0.0,
                            6.0,
                            "uniform(0.5, 3.0)",
                        ),
                        "start_s": _timed(
                            "cut_in",
                            "start_s",
                            "Seconds after the sequence starts at which the lane change begins.",
                            0.0,
                            600.0,
                        ),
                        "duration_s": _timed(
                            "cut_in",
                            "duration_s",
                            "Seconds the lane change takes, from the adjacent lane's centre "
                            "to the ego lane's.",
                            0.2,
                            20.0,
                        ),
                        "relative_speed_m_s": _timed(
                            "cut_in",
                            "relative_speed_m_s",
                            "Speed of the cutting-in car minus the ego's, m/s (negative: "
                            "the gap closes).",
                            -30.0,
                            30.0,
                        ),
                    },
                ),
                "wrong_way": _event(
                    "A vehicle driving against the traffic in the ego lane.",
                    {
                        "distance_m": _distance("uniform(30, 100)", "the wrong-way vehicle"),
                        "closing_speed_m_s": _timed(
                            "wrong_way",
                            "closing_speed_m_s",
                            "Speed at which the gap to the ego closes, m/s (the ego's speed "
                            "plus the wrong-way vehicle's).",
                            0.0,
                            120.0,
                        ),
                    },
                ),
                "animal": _event(
                    "An animal on the road ahead.",
                    {
                        "distance_m": _distance("uniform(15, 60)", "the animal"),
                        "species": EnumField(
                            "Species: deer, dog or boar.", ("deer", "dog", "boar"), "deer"
                        ),
                        "speed_m_s": _timed(
                            "animal",
                            "speed_m_s",
                            "Speed at which the animal crosses the road, m/s.",
                            0.0,
                            20.0,
                        ),
                    },
                ),
                "lost_cargo": _event(
                    "Cargo fallen from a vehicle ahead, lying in the ego lane (in a "
                    "sequence: falling from a truck ahead).",
                    {
                        "distance_m": _distance("uniform(15, 60)", "the cargo"),
                        "count": NumberField(
                            "Number of cargo items.", 1, 50, "randint(1, 6)", integer=True
                        ),
                        "drop_s": _timed(
                            "lost_cargo",
                            "drop_s",
                            "Seconds after the sequence starts at which the cargo falls off "
                            "the truck (which drives ahead at the ego's speed).",
                            0.0,
                            600.0,
                        ),
                    },
                ),
                "construction_zone": _event(
                    "Cones, barriers and signs narrowing the road.",
                    {
                        "distance_m": _distance("uniform(20, 80)", "the start of the zone"),
                        "length_m": NumberField(
                            "Length of the zone in metres.", 5.0, 150.0, "uniform(20, 60)"
                        ),
                    },
                ),
                "occluded_pedestrian": _event(
                    "A pedestrian hidden behind a parked vehicle, about to step out.",
                    {
                        "distance_m": _distance("uniform(8, 30)", "the pedestrian"),
                        "step_out_s": _timed(
                            "occluded_pedestrian",
                            "step_out_s",
                            "Seconds after the sequence starts at which the pedestrian "
                            "steps out towards the road.",
                            0.0,
                            600.0,
                        ),
                        "speed_m_s": _timed(
                            "occluded_pedestrian",
                            "speed_m_s",
                            "Walking speed once it steps out, m/s.",
                            0.3,
                            8.0,
                        ),
                    },
                ),
            }
        ),
    )
