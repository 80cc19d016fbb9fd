"""Covering-array sizes and times: scenegen's IPOG against allpairspy and best-known sizes.

    python benchmarks/bench_covering.py

Every array is checked by exhaustive enumeration (``missing_tuples``) before it is counted.
Best-known sizes: C. J. Colbourn's covering array tables; for mixed levels the product of
the t largest axes (a lower bound).
"""

from __future__ import annotations

import math
import time

from scenegen.coverage.covering import covering_array, missing_tuples

CASES = [
    ((2,) * 4, 2, 5),
    ((2,) * 10, 2, 6),
    ((3,) * 4, 2, 9),
    ((3,) * 5, 2, 11),
    ((3,) * 6, 2, 12),
    ((4,) * 5, 2, 16),
    ((2,) * 5, 3, 10),
    ((2,) * 6, 3, 12),
    ((3,) * 4, 3, 27),
    ((9, 4, 2, 4), 2, None),
    ((9, 4, 9, 4, 8), 2, None),
    ((9, 4, 2, 4), 3, None),
]


def main() -> None:
    try:
        from allpairspy import AllPairs
    except ImportError:
        AllPairs = None
    print("| levels | t | IPOG rows | s | allpairspy rows (complete?) | best known / bound |")
    print("|---|---|---|---|---|---|")
    for sizes, t, best in CASES:
        start = time.perf_counter()
        rows = covering_array(sizes, t, seed=0)
        seconds = time.perf_counter() - start
        assert missing_tuples(rows, sizes, t) == []
        theirs = "-"
        if AllPairs is not None:
            other = [list(r) for r in AllPairs([list(range(s)) for s in sizes], n=t)]
            complete = not missing_tuples(other, sizes, t)
            theirs = f"{len(other)} ({'yes' if complete else 'no'})"
        bound = best if best is not None else math.prod(sorted(sizes)[-t:])
        label = "x".join(map(str, sizes))
        print(f"| {label} | {t} | {len(rows)} | {seconds:.2f} | {theirs} | {bound} |")


if __name__ == "__main__":
    main()
