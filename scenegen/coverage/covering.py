"""Covering arrays: rows of axis levels in which every t-tuple of levels appears.

:func:`covering_array` is the IPOG strategy of Lei, Kacker, Kuhn, Okun and Lawrence
("IPOG: A General Strategy for T-Way Software Testing", ECBS 2007), followed as
published: the first t axes (largest first) start as their full product; each further
axis is added by *horizontal growth* (each row gets the level that covers the most
still-uncovered t-tuples) then *vertical growth* (each tuple still uncovered goes into
the first row whose cells are free or agree, else into a new row); free cells are
filled at the end. Ties are broken by a seeded generator and the best of a few seeded
runs is kept, then rows whose every t-tuple another row also covers are dropped, so the
result is a deterministic function of (sizes, t, seed).

:func:`missing_tuples` is the exhaustive check: every t-subset of columns, every level
combination, is it in some row.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

Row = tuple[int, ...]
TTuple = tuple[tuple[int, ...], tuple[int, ...]]  # (columns, levels)
_FREE = -1


def covering_array(sizes: Sequence[int], strength: int, seed: int, tries: int = 8) -> list[Row]:
    """Rows over axes with ``sizes[j]`` levels each (levels ``0..sizes[j]-1``) in which
    every ``strength``-tuple of levels appears at least once."""
    sizes = [int(s) for s in sizes]
    if strength < 1 or strength > len(sizes):
        raise ValueError(f"strength {strength} needs 1..{len(sizes)} axes, got {len(sizes)}")
    if min(sizes, default=1) < 1:
        raise ValueError(f"every axis needs at least one level, got sizes {sizes}")
    if tries < 1:
        raise ValueError(f"tries is {tries}, expected at least 1")
    # Largest axes first: the start is then as large as any t-way array must be.
    order = sorted(range(len(sizes)), key=lambda j: (-sizes[j], j))
    sorted_sizes = [sizes[j] for j in order]
    best: list[Row] | None = None
    for attempt in range(tries):
        rng = np.random.default_rng(np.random.SeedSequence([seed, attempt]))
        rows = _drop_redundant(_ipog(sorted_sizes, strength, rng), strength)
        if best is None or len(rows) < len(best):
            best = rows
    assert best is not None
    inverse = [order.index(j) for j in range(len(sizes))]
    return [tuple(row[inverse[j]] for j in range(len(sizes))) for row in best]


def _ipog(sizes: list[int], t: int, rng: np.random.Generator) -> list[Row]:
    rows: list[list[int]] = [list(r) for r in itertools.product(*(range(s) for s in sizes[:t]))]
    for i in range(t, len(sizes)):
        for row in rows:
            row.append(_FREE)
        column_sets = [(*c, i) for c in itertools.combinations(range(i), t - 1)]
        uncovered: set[TTuple] = {
            (cols, levels)
            for cols in column_sets
            for levels in itertools.product(*(range(sizes[c]) for c in cols))
        }
        # Horizontal growth.
        for row in rows:
            gains = np.zeros(sizes[i])
            for level in range(sizes[i]):
                row[i] = level
                gains[level] = sum(_tuple_of(row, cols) in uncovered for cols in column_sets)
            best = np.flatnonzero(gains == gains.max())
            row[i] = int(best[rng.integers(len(best))]) if gains.max() > 0 else _FREE
            if row[i] != _FREE:
                uncovered -= {_tuple_of(row, cols) for cols in column_sets}
        # Vertical growth.
        for cols, levels in sorted(uncovered):
            for row in rows:
                if all(row[c] in (_FREE, v) for c, v in zip(cols, levels, strict=True)):
                    break
            else:
                row = [_FREE] * (i + 1)
                rows.append(row)
            for c, v in zip(cols, levels, strict=True):
                row[c] = v
    for row in rows:  # free cells: any level keeps coverage
        for j, value in enumerate(row):
            if value == _FREE:
                row[j] = int(rng.integers(sizes[j]))
    return [tuple(row) for row in rows]


def _tuple_of(row: Sequence[int], cols: tuple[int, ...]) -> TTuple:
    return cols, tuple(row[c] for c in cols)


def _drop_redundant(rows: list[Row], t: int) -> list[Row]:
    """Rows without a t-tuple of their own removed, last rows first."""
    column_sets = list(itertools.combinations(range(len(rows[0])), t)) if rows else []
    counts: dict[TTuple, int] = {}
    for row in rows:
        for cols in column_sets:
            key = _tuple_of(row, cols)
            counts[key] = counts.get(key, 0) + 1
    kept = list(rows)
    for row in reversed(rows):
        keys = [_tuple_of(row, cols) for cols in column_sets]
        if all(counts[k] > 1 for k in keys):
            kept.remove(row)
            for k in keys:
                counts[k] -= 1
    return kept


def missing_tuples(rows: Sequence[Sequence[int]], sizes: Sequence[int], t: int) -> list[TTuple]:
    """Every t-tuple (columns, levels) over axes of ``sizes`` that no row holds."""
    covered = {
        _tuple_of(row, cols)
        for row in rows
        for cols in itertools.combinations(range(len(sizes)), t)
    }
    return [
        (cols, levels)
        for cols in itertools.combinations(range(len(sizes)), t)
        for levels in itertools.product(*(range(sizes[c]) for c in cols))
        if (cols, levels) not in covered
    ]
