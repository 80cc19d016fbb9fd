"""The failure region as scenario values: what ``failure_region.yaml`` samples.

Per searched key, over every failing point of the run:

* real: ``uniform(lo, hi)`` with ``lo`` / ``hi`` the smallest / largest failing value,
  widened to the bisected boundaries of the failures that were bisected (a boundary that
  reaches a range end widens to that end);
* integer: ``randint(lo, hi)`` over the failing values (and bisection's failing ones);
* choice: ``choice([...])`` of the failing options;

and a constant where the failures hold one value only. The result is a box around the
failures: it holds every failure found, and passing points too where the region is not a
box; the error table says which.
"""

from __future__ import annotations

from collections.abc import Sequence

from scenegen.scenario.distributions import Scalar
from scenegen.search.boundary import Boundary
from scenegen.search.space import Point, SearchSpace


def region_values(
    space: SearchSpace, failures: Sequence[Point], boundaries: Sequence[Sequence[Boundary]] = ()
) -> dict[str, Scalar]:
    """Key path -> constant or expression text (see the module docstring)."""
    if not failures:
        raise ValueError("no failures: there is no failure region to write")
    values: dict[str, Scalar] = {}
    for index, dim in enumerate(space.dimensions):
        found = [p[dim.path] for p in failures]
        bisected = [b[index] for b in boundaries]
        if dim.kind == "real":
            lows = [float(v) for v in found] + [b.failing_range(dim)[0] for b in bisected]  # type: ignore[arg-type]
            highs = [float(v) for v in found] + [b.failing_range(dim)[1] for b in bisected]  # type: ignore[arg-type]
            lo, hi = max(min(lows), dim.low), min(max(highs), dim.high)
            values[dim.path] = lo if lo == hi else f"uniform({lo!r}, {hi!r})"
            continue
        options = list(dict.fromkeys(found + [v for b in bisected for v in b.failing_values]))
        if dim.kind == "int":
            lo_i, hi_i = min(int(v) for v in options), max(int(v) for v in options)  # type: ignore[arg-type]
            values[dim.path] = lo_i if lo_i == hi_i else f"randint({lo_i}, {hi_i})"
            continue
        ordered = [o for o in dim.options if o in options]
        values[dim.path] = ordered[0] if len(ordered) == 1 else _choice_text(ordered)
    return values


def _choice_text(options: Sequence[Scalar]) -> str:
    def text(v: Scalar) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return repr(v)

    return "choice([" + ", ".join(text(v) for v in options) + "])"
