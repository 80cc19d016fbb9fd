"""The search loop: ask a method for points, evaluate them, tell it their objective.

The loop knows nothing of rendering: ``evaluate`` maps a batch of points to their margins
(negative = the detector failed there), so the tests drive it with analytic functions and
``scenegen search`` with renders. What the method minimises is

    objective = margin + repeat_penalty * (failures already found in the point's cell)

(``margin`` is capped at ``NO_OBJECTS_MARGIN`` when a frame holds nothing to detect):
once a cell of the parameter grid has failed, failing there again is worth less, which
pushes CMA-ES and TPE along the failure region instead of into one minimum. Cells are
:meth:`SearchSpace.cell_of` with ``cell_bins`` bins per real key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scenegen.search.methods import Method
from scenegen.search.space import Point, SearchSpace

NO_OBJECTS_MARGIN = 1.0


@dataclass(frozen=True)
class PointResult:
    """One point's outcome: the mean margin over its seeds, and whether any seed failed."""

    margin: float | None
    failure: bool


@dataclass(frozen=True)
class Step:
    index: int  # point number in the run
    unit: tuple[float, ...]
    point: Point
    cell: tuple[int, ...]
    result: PointResult
    objective: float


Evaluate = Callable[[Sequence[tuple[int, Point]]], list[PointResult]]


def search_loop(
    method: Method,
    space: SearchSpace,
    evaluate: Evaluate,
    n_points: int,
    *,
    cell_bins: int = 4,
    repeat_penalty: float = 0.5,
    on_step: Callable[[Step], None] | None = None,
) -> list[Step]:
    """Run ``method`` for ``n_points`` points (the last batch is cut to fit)."""
    if n_points < 1:
        raise ValueError(f"n_points {n_points}, expected >= 1")
    steps: list[Step] = []
    failures_per_cell: Counter[tuple[int, ...]] = Counter()
    while len(steps) < n_points:
        units = method.ask()
        batch = [(len(steps) + i, space.point_at(u)) for i, u in enumerate(units)]
        wanted = batch[: n_points - len(steps)]
        results = evaluate(wanted)
        objectives = []
        for (index, point), unit, result in zip(wanted, units, results, strict=False):
            cell = space.cell_of(point, cell_bins)
            margin = NO_OBJECTS_MARGIN if result.margin is None else result.margin
            objective = min(margin, NO_OBJECTS_MARGIN) + repeat_penalty * failures_per_cell[cell]
            if result.failure:
                failures_per_cell[cell] += 1
            step = Step(index, tuple(unit), point, cell, result, objective)
            steps.append(step)
            objectives.append(objective)
            if on_step is not None:
                on_step(step)
        if len(wanted) == len(units):
            method.tell(units, objectives)
    return steps


def first_failure(steps: Sequence[Step]) -> int | None:
    """1-based number of the first failing point, ``None`` without a failure."""
    return next((s.index + 1 for s in steps if s.result.failure), None)


def failure_cells(steps: Sequence[Step]) -> set[tuple[int, ...]]:
    return {s.cell for s in steps if s.result.failure}
