"""Train / val / test splits of a dataset, decided from the manifest.

A split is ``train=0.8,val=0.2`` (optionally ``test=``): fractions of the frames, summing
to 1. Frames are grouped into units (each frame, each scenario, or each sweep cell of a
scenario), the units are ordered by a hash of their key (the frame's scenario and
seed, the scenario name, the scenario name and cell), and cut at the cumulative fractions by frame count. The
assignment is therefore a pure function of the manifest: same frames, same split, whatever
folder, machine or number of workers wrote them. Cutting by count makes ``0.8`` of ten
frames exactly eight (hashing every frame independently would not).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scenegen.errors import ScenegenError

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
SPLIT_UNITS: tuple[str, ...] = ("frame", "scenario", "cell")


class SplitSpecError(ScenegenError, ValueError):
    """A split description that cannot be used; the message says what was expected."""


@dataclass(frozen=True)
class SplitSpec:
    """Split fractions in the order given (``(("train", 0.8), ("val", 0.2))``) and the unit
    that is kept whole: ``frame``, ``scenario`` or ``cell`` (a sweep cell of a scenario)."""

    fractions: tuple[tuple[str, float], ...]
    by: str = "frame"

    def __post_init__(self) -> None:
        names = [name for name, _ in self.fractions]
        unknown = sorted(set(names) - set(SPLIT_NAMES))
        if unknown or len(set(names)) != len(names):
            raise SplitSpecError(
                f"split names must be distinct, from {list(SPLIT_NAMES)}; got {names}"
            )
        if not {"train", "val"} <= set(names):
            raise SplitSpecError(f"a split needs at least train and val; got {names}")
        for name, fraction in self.fractions:
            if not (math.isfinite(fraction) and 0.0 < fraction <= 1.0):
                raise SplitSpecError(f"{name}={fraction}: a fraction must be in (0, 1]")
        total = sum(fraction for _, fraction in self.fractions)
        if abs(total - 1.0) > 1e-6:
            raise SplitSpecError(f"split fractions must sum to 1, got {total:g}")
        if self.by not in SPLIT_UNITS:
            raise SplitSpecError(f"split unit must be one of {list(SPLIT_UNITS)}, got {self.by!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fractions)

    def to_json(self) -> dict[str, Any]:
        return {"fractions": dict(self.fractions), "by": self.by}


def parse_split(text: str, by: str = "frame") -> SplitSpec:
    """``"train=0.8,val=0.2"`` -> :class:`SplitSpec` (raises :class:`SplitSpecError`)."""
    fractions = []
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise SplitSpecError(f"expected NAME=FRACTION items like 'train=0.8', got {item!r}")
        try:
            fractions.append((name.strip(), float(value)))
        except ValueError:
            raise SplitSpecError(f"{item!r}: {value!r} is not a number") from None
    return SplitSpec(tuple(fractions), by)


def _unit_key(record: Mapping[str, Any], by: str) -> str:
    if by == "scenario":
        return f"scenario:{record.get('scenario_name')}"
    if by == "cell":
        cell = json.dumps(record.get("sweep_cell") or {}, sort_keys=True)
        return f"cell:{record.get('scenario_name')}:{cell}"
    seed = record.get("seed")
    # Scenario files rendered with one --seed share frame seeds, hence the name; frames
    # without a seed (converted real data) fall back on their id.
    if seed is None:
        return f"frame:{record['frame_id']}"
    return f"seed:{record.get('scenario_name')}:{seed}"


def _hash(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def assign_splits(records: Iterable[Mapping[str, Any]], spec: SplitSpec) -> dict[str, list[str]]:
    """Split name -> frame ids (in frame order) for manifest ``records``.

    Each unit goes to the split whose share of the cumulative frame count holds the unit's
    midpoint, walking units in hash order; a split can be empty when the units are fewer
    than the splits or much larger than a split's share.
    """
    units: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        units.setdefault(_unit_key(record, spec.by), []).append(record)
    total = sum(len(members) for members in units.values())
    bounds, running = [], 0.0
    for name, fraction in spec.fractions:
        running += fraction
        bounds.append((running, name))
    chosen: dict[str, list[Mapping[str, Any]]] = {name: [] for name in spec.names}
    done = 0
    for key in sorted(units, key=lambda k: (_hash(k), k)):
        members = units[key]
        middle = (done + len(members) / 2) / total
        name = next((n for bound, n in bounds if middle < bound), bounds[-1][1])
        chosen[name].extend(members)
        done += len(members)
    return {name: _frame_order(members) for name, members in chosen.items()}


def _frame_order(records: Sequence[Mapping[str, Any]]) -> list[str]:
    ordered = sorted(records, key=lambda r: (int(r["frame_index"]), str(r["frame_id"])))
    return [str(r["frame_id"]) for r in ordered]


def parse_frame_selection(spec: str | Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``"000004-000029"``, ``"000004-000010,000012"`` or a list of such items -> inclusive
    ``(first, last)`` id ranges (a single id is the range ``(id, id)``)."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    ranges: list[tuple[str, str]] = []
    for raw in items:
        if not isinstance(raw, str) or not raw.strip():
            raise SplitSpecError(f"frame selection {spec!r}: expected ids or FIRST-LAST ranges")
        item = raw.strip()
        first, sep, last = item.partition("-")
        if not sep:
            first = last = item
        first, last = first.strip(), last.strip()
        if not first or not last:
            raise SplitSpecError(f"frame selection {spec!r}: {item!r} is not an id or FIRST-LAST")
        if _id_key(first) > _id_key(last):
            raise SplitSpecError(f"frame selection {spec!r}: {item!r} runs backwards")
        ranges.append((first, last))
    if not ranges:
        raise SplitSpecError(f"frame selection {spec!r}: no ids given")
    return tuple(ranges)


def _id_key(frame_id: str) -> tuple[int, int | str]:
    # Numeric ids compare as numbers (KITTI's 000004 < 000030 < 000100), others as text.
    return (0, int(frame_id)) if frame_id.isdigit() else (1, frame_id)


def select_frames(frame_ids: Sequence[str], ranges: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The ids of ``frame_ids`` (in their order) that lie in one of the inclusive
    ``ranges`` of :func:`parse_frame_selection`; ids missing from a range are skipped."""
    keys = [(_id_key(a), _id_key(b)) for a, b in ranges]
    chosen = []
    for frame_id in frame_ids:
        key = _id_key(frame_id)
        if any(low <= key <= high for low, high in keys):
            chosen.append(frame_id)
    return tuple(chosen)
