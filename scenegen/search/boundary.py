"""Where a failure stops: bisection along each parameter, the others held fixed.

For a failing point ``x`` (and its seed) and each searched key:

* a real key: the range end below ``x`` is tried; if the detector passes there, the
  interval between that end (pass) and ``x`` (fail) is halved until it is shorter than
  ``tolerance`` (a share of the key's range), and the boundary is the interval's middle;
  if it fails there too the failure reaches the range end (``low`` is ``None``, with
  ``fails_to_low_end``). Then the same upwards.
* an integer or choice key: every other value is tried (at most ``max_categories``); the
  failing ones are listed.

Bisection assumes one crossing between the end and ``x``; when the margin crosses zero
more than once it finds one of the crossings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scenegen.scenario.distributions import Scalar
from scenegen.search.space import Dimension, Point, SearchSpace

Fails = Callable[[Point], bool]


@dataclass
class Boundary:
    """One key's boundary around one failure (see the module docstring)."""

    path: str
    kind: str
    value: Scalar
    low: float | None = None
    high: float | None = None
    fails_to_low_end: bool = False
    fails_to_high_end: bool = False
    failing_values: list[Scalar] = field(default_factory=list)
    passing_values: list[Scalar] = field(default_factory=list)
    renders: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "value": self.value, "renders": self.renders}
        if self.kind == "real":
            out.update(
                low=self.low,
                high=self.high,
                fails_to_low_end=self.fails_to_low_end,
                fails_to_high_end=self.fails_to_high_end,
            )
        else:
            out.update(failing_values=self.failing_values, passing_values=self.passing_values)
        return out

    def failing_range(self, dim: Dimension) -> tuple[float, float]:
        """The range of a real key over which this failure holds (range ends included)."""
        low = dim.low if self.fails_to_low_end else self.low
        high = dim.high if self.fails_to_high_end else self.high
        return (
            float(low if low is not None else self.value),
            float(high if high is not None else self.value),
        )  # type: ignore[arg-type]


def bisect_failure(
    space: SearchSpace,
    point: Point,
    fails: Fails,
    tolerance: float = 0.02,
    max_categories: int = 8,
) -> list[Boundary]:
    """The boundary of the failure at ``point`` along every key of ``space``."""
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance {tolerance}, expected a share of the range in (0, 1)")
    return [_along(dim, point, fails, tolerance, max_categories) for dim in space.dimensions]


def _along(
    dim: Dimension, point: Point, fails: Fails, tolerance: float, max_categories: int
) -> Boundary:
    boundary = Boundary(dim.path, dim.kind, point[dim.path])

    def fails_at(value: Scalar) -> bool:
        boundary.renders += 1
        return fails({**point, dim.path: value})

    if dim.kind != "real":
        others = [dim.value_at((i + 0.5) / dim.bins) for i in range(dim.bins)]
        boundary.failing_values.append(point[dim.path])
        for value in [v for v in others if v != point[dim.path]][:max_categories]:
            (boundary.failing_values if fails_at(value) else boundary.passing_values).append(value)
        return boundary
    x = float(point[dim.path])  # type: ignore[arg-type]
    step = tolerance * (dim.high - dim.low)
    for end, side in ((dim.low, "low"), (dim.high, "high")):
        if abs(x - end) <= step:
            setattr(boundary, f"fails_to_{side}_end", True)
            continue
        if fails_at(end):
            setattr(boundary, f"fails_to_{side}_end", True)
            continue
        passing, failing = end, x
        while abs(failing - passing) > step:
            middle = 0.5 * (passing + failing)
            if fails_at(middle):
                failing = middle
            else:
                passing = middle
        setattr(boundary, side, 0.5 * (passing + failing))
    return boundary
