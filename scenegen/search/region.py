"""The failure region as scenario values: what ``failure_region.yaml`` samples.

A region is a :class:`Box`: per searched key a real range ``[low, high]`` or the set of
failing options of an integer or choice key. :meth:`Box.values` writes it as scenario
values: ``uniform(low, high)``, ``randint(lo, hi)``, ``choice([...])``, or a constant where
the box holds one value only.

:func:`region_values` is the envelope of a whole run, over every failing point:

* real: the smallest / largest failing value, widened to the bisected boundaries of the
  failures that were bisected (a boundary that reaches a range end widens to that end);
* integer: ``randint(lo, hi)`` over the failing values (and bisection's failing ones);
* choice: ``choice([...])`` of the failing options.

It holds every failure found, and passing points too where the failures are not one box;
:mod:`scenegen.search.clusters` cuts the failures into clusters with one tight box each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scenegen.scenario.distributions import Scalar
from scenegen.search.boundary import Boundary
from scenegen.search.space import Point, SearchSpace


@dataclass(frozen=True)
class Box:
    """Real keys: ``ranges[path] = (low, high)``; integer and choice keys:
    ``options[path]``, the values the box holds."""

    ranges: Mapping[str, tuple[float, float]]
    options: Mapping[str, tuple[Scalar, ...]]

    def contains(self, point: Mapping[str, Scalar]) -> bool:
        for path, (low, high) in self.ranges.items():
            if not low <= float(point[path]) <= high:  # type: ignore[arg-type]
                return False
        return all(point[path] in held for path, held in self.options.items())

    def values(self, space: SearchSpace) -> dict[str, Scalar]:
        """Key path -> constant or expression text, in the space's key order."""
        values: dict[str, Scalar] = {}
        for dim in space.dimensions:
            if dim.kind == "real":
                lo, hi = self.ranges[dim.path]
                values[dim.path] = lo if lo == hi else f"uniform({lo!r}, {hi!r})"
            elif dim.kind == "int":
                held = [int(v) for v in self.options[dim.path]]  # type: ignore[arg-type]
                lo_i, hi_i = min(held), max(held)
                values[dim.path] = lo_i if lo_i == hi_i else f"randint({lo_i}, {hi_i})"
            else:
                ordered = [o for o in dim.options if o in self.options[dim.path]]
                values[dim.path] = ordered[0] if len(ordered) == 1 else _choice_text(ordered)
        return values

    def to_json(self) -> dict[str, list]:
        return {
            **{path: [low, high] for path, (low, high) in self.ranges.items()},
            **{path: list(held) for path, held in self.options.items()},
        }


def envelope(
    space: SearchSpace, failures: Sequence[Point], boundaries: Sequence[Sequence[Boundary]] = ()
) -> Box:
    """The box around ``failures``, widened to their bisected ``boundaries``."""
    if not failures:
        raise ValueError("no failures: there is no failure region to write")
    ranges: dict[str, tuple[float, float]] = {}
    options: dict[str, tuple[Scalar, ...]] = {}
    for index, dim in enumerate(space.dimensions):
        found = [p[dim.path] for p in failures]
        bisected = [b[index] for b in boundaries]
        if dim.kind == "real":
            lows = [float(v) for v in found] + [b.failing_range(dim)[0] for b in bisected]  # type: ignore[arg-type]
            highs = [float(v) for v in found] + [b.failing_range(dim)[1] for b in bisected]  # type: ignore[arg-type]
            ranges[dim.path] = (max(min(lows), dim.low), min(max(highs), dim.high))
        else:
            held = found + [v for b in bisected for v in b.failing_values]
            options[dim.path] = tuple(dict.fromkeys(held))
    return Box(ranges, options)


def region_values(
    space: SearchSpace, failures: Sequence[Point], boundaries: Sequence[Sequence[Boundary]] = ()
) -> dict[str, Scalar]:
    """Key path -> constant or expression text of the envelope (see the module docstring)."""
    return envelope(space, failures, boundaries).values(space)


def _choice_text(options: Sequence[Scalar]) -> str:
    def text(v: Scalar) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return repr(v)

    return "choice([" + ", ".join(text(v) for v in options) + "])"
