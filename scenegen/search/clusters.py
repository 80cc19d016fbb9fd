"""Failure clusters: one tight box per group of neighbouring failures.

One box around every failure of a run (:func:`scenegen.search.region.envelope`) is nearly
the whole space when failures lie in several places. Here the failures are grouped by
their cells (:meth:`SearchSpace.cell_of`, ``bins`` bins per real key): two failing cells
are neighbours when they differ by one bin in one key, and each connected group of failing
cells is a cluster. A cluster's box is

* real key: the smallest / largest failing value of its members, widened towards the
  bisected boundaries of the members that were bisected, but never past the cluster's
  own cells (a boundary that runs on through passing cells would make the box loose);
* integer or choice key: the members' values, plus bisection's failing values that lie in
  the cluster's cells.

So every failing point lies in its cluster's box, and a box holds passing space only where
its cluster is not itself a box.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scenegen.scenario.distributions import Scalar
from scenegen.search.boundary import Boundary
from scenegen.search.region import Box
from scenegen.search.space import Point, SearchSpace

Cell = tuple[int, ...]


@dataclass(frozen=True)
class FailureCluster:
    members: tuple[int, ...]  # indices into the failures given to cluster_failures
    cells: tuple[Cell, ...]
    box: Box


def cluster_failures(
    space: SearchSpace,
    failures: Sequence[Point],
    bins: int,
    boundaries: Mapping[int, Sequence[Boundary]] | None = None,
) -> list[FailureCluster]:
    """The clusters of ``failures`` (``boundaries``: failure index -> its bisected
    boundaries), largest first; see the module docstring."""
    if bins < 1:
        raise ValueError(f"bins {bins}, expected >= 1")
    cells = [space.cell_of(p, bins) for p in failures]
    groups = _connected(sorted(set(cells)))
    clusters = []
    for group in groups:
        members = tuple(i for i, c in enumerate(cells) if c in group)
        bisected = {i: b for i, b in (boundaries or {}).items() if i in members}
        box = _box(space, [failures[i] for i in members], list(bisected.values()), group, bins)
        clusters.append(FailureCluster(members, tuple(sorted(group)), box))
    return sorted(clusters, key=lambda c: (-len(c.members), c.members[0]))


def _connected(cells: Sequence[Cell]) -> list[set[Cell]]:
    """Groups of cells joined by one-bin steps along one key (depth-first search)."""
    left = set(cells)
    groups = []
    for start in cells:
        if start not in left:
            continue
        left.discard(start)
        group, todo = {start}, [start]
        while todo:
            cell = todo.pop()
            for axis in range(len(cell)):
                for step in (-1, 1):
                    near = (*cell[:axis], cell[axis] + step, *cell[axis + 1 :])
                    if near in left:
                        left.discard(near)
                        group.add(near)
                        todo.append(near)
        groups.append(group)
    return groups


def _box(
    space: SearchSpace,
    members: Sequence[Point],
    found: Sequence[Sequence[Boundary]],
    cells: set[Cell],
    bins: int,
) -> Box:
    ranges: dict[str, tuple[float, float]] = {}
    options: dict[str, tuple[Scalar, ...]] = {}
    for index, dim in enumerate(space.dimensions):
        held = [p[dim.path] for p in members]
        if dim.kind == "real":
            values = [float(v) for v in held]  # type: ignore[arg-type]
            span = (dim.high - dim.low) / bins
            own = [c[index] for c in cells]
            cell_low, cell_high = dim.low + min(own) * span, dim.low + (max(own) + 1) * span
            lows = values + [b[index].failing_range(dim)[0] for b in found]
            highs = values + [b[index].failing_range(dim)[1] for b in found]
            # The min / max with the members' own values guards against rounding at a cell edge.
            ranges[dim.path] = (
                min(max(min(lows), cell_low), min(values)),
                max(min(max(highs), cell_high), max(values)),
            )
            continue
        own_bins = {c[index] for c in cells}
        extra = [
            v
            for b in found
            for v in b[index].failing_values
            if space.cell_of({**members[0], dim.path: v}, bins)[index] in own_bins
        ]
        options[dim.path] = tuple(dict.fromkeys(held + extra))
    return Box(ranges, options)
