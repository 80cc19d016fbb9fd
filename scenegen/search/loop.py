"""The search loop: ask a method for points, evaluate them, tell it their objective.

The loop knows nothing of rendering: ``evaluate`` maps a batch of points to their margins
(negative = the detector failed there), so the tests drive it with analytic functions and
``scenegen search`` with renders. What the method minimises is

    objective = margin + repeat_penalty * (failures already found in the point's cell)

(``margin`` is capped at ``NO_OBJECTS_MARGIN`` when a frame holds nothing to detect):
once a cell of the parameter grid has failed, failing there again is worth less, which
pushes CMA-ES and TPE along the failure region instead of into one minimum. Cells are
:meth:`SearchSpace.cell_of` with ``cell_bins`` bins per real key.

With ``expand`` the loop also grows every failure into its neighbouring cells: a point that
fails queues, per key and direction, the same point moved one cell width (a probe), unless
that cell has been evaluated or queued already; a failing probe queues its own neighbours
(a breadth-first flood fill of the failure region). Failures come in connected regions of
the space, so a probe next to a failure fails far more often than a fresh point, and each
failing probe is a new cell. Probe batches alternate with the method's batches (at most
half the budget goes to probes while the method has more to ask), and probes are not told
to the method: its own ask / tell sequence stays what it would be. Everything is a function
of the evaluated outcomes, so a resumed run asks the same points.
"""

from __future__ import annotations

from collections import Counter, deque
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
    origin: str = "method"  # "method", or "expand" for a neighbour probe of a failure


Evaluate = Callable[[Sequence[tuple[int, Point]]], list[PointResult]]


def search_loop(
    method: Method,
    space: SearchSpace,
    evaluate: Evaluate,
    n_points: int,
    *,
    cell_bins: int = 4,
    repeat_penalty: float = 0.5,
    expand: bool = False,
    probe_batch: int = 4,
    on_step: Callable[[Step], None] | None = None,
) -> list[Step]:
    """Run ``method`` for ``n_points`` points (the last batch is cut to fit); ``expand``
    adds neighbour probes of failures (see the module docstring), ``probe_batch`` at once."""
    if n_points < 1:
        raise ValueError(f"n_points {n_points}, expected >= 1")
    if probe_batch < 1:
        raise ValueError(f"probe_batch {probe_batch}, expected >= 1")
    steps: list[Step] = []
    failures_per_cell: Counter[tuple[int, ...]] = Counter()
    seen_cells: set[tuple[int, ...]] = set()  # evaluated or queued
    evaluated_cells: set[tuple[int, ...]] = set()
    probes: deque[tuple[float, ...]] = deque()
    probe_turn = False

    def run_batch(units: Sequence[Sequence[float]], origin: str) -> tuple[int, list[float]]:
        batch = [(len(steps) + i, space.point_at(u)) for i, u in enumerate(units)]
        wanted = batch[: n_points - len(steps)]
        results = evaluate(wanted)
        objectives = []
        for (index, point), unit, result in zip(wanted, units, results, strict=False):
            cell = space.cell_of(point, cell_bins)
            seen_cells.add(cell)
            evaluated_cells.add(cell)
            margin = NO_OBJECTS_MARGIN if result.margin is None else result.margin
            objective = min(margin, NO_OBJECTS_MARGIN) + repeat_penalty * failures_per_cell[cell]
            if result.failure:
                failures_per_cell[cell] += 1
                if expand:
                    _queue_neighbours(space, unit, cell_bins, seen_cells, probes)
            step = Step(index, tuple(unit), point, cell, result, objective, origin)
            steps.append(step)
            objectives.append(objective)
            if on_step is not None:
                on_step(step)
        return len(wanted), objectives

    while len(steps) < n_points:
        if probes and probe_turn:
            chosen: list[tuple[float, ...]] = []
            while probes and len(chosen) < probe_batch:
                unit = probes.popleft()  # the method may have evaluated its cell since
                if space.cell_of(space.point_at(unit), cell_bins) not in evaluated_cells:
                    chosen.append(unit)
            probe_turn = False
            if chosen:
                run_batch(chosen, "expand")
            continue
        units = method.ask()
        done, objectives = run_batch(units, "method")
        if done == len(units):
            method.tell(units, objectives)
        probe_turn = True
    return steps


def _queue_neighbours(
    space: SearchSpace,
    unit: Sequence[float],
    cell_bins: int,
    seen_cells: set[tuple[int, ...]],
    probes: deque[tuple[float, ...]],
) -> None:
    """Queue ``unit`` moved one cell width along each key, both ways, into cells not yet
    evaluated or queued."""
    for i, d in enumerate(space.dimensions):
        width = 1.0 / (cell_bins if d.kind == "real" else min(cell_bins, d.bins))
        for step in (-width, width):
            moved = list(unit)
            moved[i] = float(unit[i]) + step
            if not 0.0 <= moved[i] <= 1.0:
                continue
            cell = space.cell_of(space.point_at(moved), cell_bins)
            if cell not in seen_cells:
                seen_cells.add(cell)
                probes.append(tuple(moved))


def first_failure(steps: Sequence[Step]) -> int | None:
    """1-based number of the first failing point, ``None`` without a failure."""
    return next((s.index + 1 for s in steps if s.result.failure), None)


def failure_cells(steps: Sequence[Step]) -> set[tuple[int, ...]]:
    return {s.cell for s in steps if s.result.failure}
