"""The search space: which scenario keys a search varies, and the unit cube it moves in.

Every method works in the unit cube ``[0, 1]^d``, one coordinate per :class:`Dimension`;
:meth:`Dimension.value_at` turns a coordinate into the key's value:

* ``real`` (from ``uniform``, ``truncnormal``, ``normal``): ``low + u * (high - low)``;
  a ``normal`` spans its mean +- 3 std;
* ``int`` (``randint(low, high)``): ``n = high - low + 1`` equal bins, bin ``floor(u * n)``;
* ``choice``: the options as categories, option ``floor(u * n)`` of ``n`` (CMA-ES rounds
  its continuous coordinate this way; quasi-random points fall into equal bins; TPE
  samples the category itself through :meth:`Dimension.unit_of`).

The space is the scenario's ``search:`` block when it has one (validated by the scenario
loader against the key table: key path, type and range), else every key of the scenario
that is not a constant, plus each sweep axis of constants as a choice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scenegen.errors import InvalidInputError
from scenegen.scenario import Choice, Constant, Normal, RandInt, Scenario, TruncNormal, Uniform
from scenegen.scenario.distributions import Distribution, Scalar

Point = dict[str, Scalar]


@dataclass(frozen=True)
class Dimension:
    """One searched key: ``kind`` is ``real``, ``int`` or ``choice``."""

    path: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    options: tuple[Scalar, ...] = ()

    @property
    def bins(self) -> int:
        """Categories of a choice or integer key; 0 for a real one."""
        if self.kind == "choice":
            return len(self.options)
        if self.kind == "int":
            return int(self.high - self.low) + 1
        return 0

    def value_at(self, u: float) -> Scalar:
        """The key's value at unit coordinate ``u`` (clipped to [0, 1])."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "real":
            return float(self.low + u * (self.high - self.low))
        index = min(math.floor(u * self.bins), self.bins - 1)
        if self.kind == "int":
            return int(self.low) + index
        return self.options[index]

    def unit_of(self, value: Scalar) -> float:
        """The unit coordinate of ``value``: a real's position, a category's bin centre."""
        if self.kind == "real":
            span = self.high - self.low
            return 0.0 if span == 0 else (float(value) - self.low) / span  # type: ignore[arg-type]
        index = (
            int(value) - int(self.low) if self.kind == "int" else self.options.index(value)  # type: ignore[arg-type]
        )
        return (index + 0.5) / self.bins

    def describe(self) -> str:
        if self.kind == "choice":
            return f"{self.path}: one of {list(self.options)}"
        if self.kind == "int":
            return f"{self.path}: integer in [{int(self.low)}, {int(self.high)}]"
        return f"{self.path}: in [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class SearchSpace:
    dimensions: tuple[Dimension, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(d.path for d in self.dimensions)

    def point_at(self, unit: Sequence[float]) -> Point:
        """The scenario values at a unit-cube point (one coordinate per dimension)."""
        if len(unit) != len(self.dimensions):
            raise ValueError(f"expected {len(self.dimensions)} coordinates, got {len(unit)}")
        return {d.path: d.value_at(u) for d, u in zip(self.dimensions, unit, strict=True)}

    def unit_of(self, point: Mapping[str, Scalar]) -> list[float]:
        return [d.unit_of(point[d.path]) for d in self.dimensions]

    def cell_of(self, point: Mapping[str, Scalar], bins: int) -> tuple[int, ...]:
        """The grid cell of ``point``: a real key's range cut into ``bins`` equal bins, an
        integer or choice key's own categories (at most ``bins`` groups of them)."""
        cell = []
        for d in self.dimensions:
            u = d.unit_of(point[d.path])
            n = bins if d.kind == "real" else min(bins, d.bins)
            cell.append(min(math.floor(u * n), n - 1))
        return tuple(cell)


def dimension_of(path: str, value: Distribution) -> Dimension | None:
    """The dimension that searches ``value``'s range; ``None`` for a constant."""
    if isinstance(value, Uniform | TruncNormal):
        if value.low == value.high:
            return None
        return Dimension(path, "real", float(value.low), float(value.high))
    if isinstance(value, Normal):
        if value.std == 0:
            return None
        return Dimension(path, "real", value.mean - 3 * value.std, value.mean + 3 * value.std)
    if isinstance(value, RandInt):
        if value.low == value.high:
            return None
        return Dimension(path, "int", float(value.low), float(value.high))
    if isinstance(value, Choice):
        options = tuple(dict.fromkeys(value.options))  # repeated options are one category
        return Dimension(path, "choice", options=options) if len(options) > 1 else None
    return None


def search_space(scenario: Scenario, keys: Sequence[str] | None = None) -> SearchSpace:
    """The space of ``scenario`` (see the module docstring), optionally only ``keys``."""
    where = scenario.path or scenario.name
    if scenario.search_space:
        found = dict(scenario.search_space)
    else:
        found = {path: value for path, value in scenario.values.items()}
        for axis in scenario.sweep_axes:
            if all(isinstance(v, Constant) for v in axis.values):
                found[axis.path] = Choice(tuple(v.value for v in axis.values))  # type: ignore[attr-defined]
    dimensions = {path: dim for path, v in found.items() if (dim := dimension_of(path, v))}
    if keys:
        unknown = [k for k in keys if k not in dimensions]
        if unknown:
            raise InvalidInputError(
                f"{where}: --keys {', '.join(unknown)}: not a searchable key of this scenario; "
                f"expected some of: {', '.join(dimensions) or '(none)'}"
            )
        dimensions = {k: dimensions[k] for k in keys}
    if not dimensions:
        raise InvalidInputError(
            f"{where}: nothing to search: every value is a constant; write a search: block "
            '(e.g. search: {environment.weather.fog.visibility_m: "uniform(20, 300)"}) or '
            "give keys a distribution"
        )
    return SearchSpace(tuple(dimensions.values()))
