"""The ``gate:`` block of a scenario file resolved to a :class:`GateSpec` (its key-table
row is :mod:`scenegen.scenario.schema_gate`)."""

from __future__ import annotations

from scenegen.scenario.distributions import Constant, Distribution
from scenegen.scenario.model import GateSpec
from scenegen.scenario.schema_gate import DEFAULT_GATE_ATTEMPTS


def resolve_gate(tree: dict, values: dict[str, Distribution]) -> GateSpec | None:
    """The file's ``gate:`` (its keys leave ``values``: they describe the batch, not a
    frame); ``None`` without one."""
    for key in [k for k in values if k.startswith("gate.")]:
        del values[key]
    given = tree.get("gate")
    if given is None:
        return None

    def constant(value: Distribution) -> object:
        assert isinstance(value, Constant)  # random=False: the validator allows no other
        return value.value

    attempts = given.get("attempts", Constant(DEFAULT_GATE_ATTEMPTS))
    return GateSpec(
        enabled=bool(constant(given["enabled"])),
        attempts=int(constant(attempts)),  # type: ignore[call-overload]
        thresholds=tuple(
            (k, constant(v))  # an integer key stays an int (it appears in reasons)
            for k, v in (given.get("thresholds") or {}).items()
        ),
    )
