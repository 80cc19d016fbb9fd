"""The error table: one row per evaluation (one render), as JSON lines and CSV.

``evaluations.jsonl`` is appended as the search goes (one flushed line per row: a crash
loses at most the row being written, and ``--resume`` continues from the rows there);
``evaluations.csv`` is rewritten from it at the end. Columns:

``evaluation`` render number (frame id of a failure), ``point`` and ``repeat`` (seed ``k`` of
the point), ``seed`` (base seed of the render: ``scenegen render REPLAY --seed SEED`` replays
it), one column per searched key (``environment.weather.fog.visibility_m`` ...), ``margin``
(the frame margin, empty without relevant objects), ``failure`` (0/1), ``relevant_objects``,
``missed`` (``class@distance_m`` of each missed object, ``;``-separated), ``objective`` (what
the method was told for the point), ``cell`` (grid cell, ``-``-joined bins) and ``replay``
(the failure's scenario file, relative to the output folder) and ``origin`` (``method``,
or ``expand`` for a neighbour probe of an earlier failure).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scenegen.io.atomic import atomic_write_bytes

JSONL_NAME = "evaluations.jsonl"
CSV_NAME = "evaluations.csv"


def append_row(out_dir: Path, row: dict[str, Any]) -> None:
    with open(out_dir / JSONL_NAME, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, sort_keys=False) + "\n")
        handle.flush()


def read_rows(out_dir: Path) -> list[dict[str, Any]]:
    """The complete rows of ``evaluations.jsonl`` (a torn last line is dropped)."""
    path = out_dir / JSONL_NAME
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break  # the line a crash cut short, and nothing after it
    return rows


def rewrite_rows(out_dir: Path, rows: Sequence[dict[str, Any]]) -> None:
    text = "".join(json.dumps(row) + "\n" for row in rows)
    atomic_write_bytes(out_dir / JSONL_NAME, text.encode("utf-8"))


def write_csv(out_dir: Path, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "evaluation",
            "point",
            "repeat",
            "seed",
            *keys,
            "margin",
            "failure",
            "relevant_objects",
            "missed",
            "objective",
            "cell",
            "replay",
            "origin",
        ]
    )
    for row in rows:
        writer.writerow(
            [row["evaluation"], row["point"], row["repeat"], row["seed"]]
            + [row["params"][k] for k in keys]
            + ["" if row["margin"] is None else f"{row['margin']:.6g}", int(row["failure"])]
            + [row["relevant_objects"]]
            + [";".join(f"{m['class']}@{m['distance_m']:.1f}" for m in row["missed"])]
            + [f"{row['objective']:.6g}", "-".join(map(str, row["cell"])), row.get("replay") or ""]
            + [row.get("origin", "method")]
        )
    path = out_dir / CSV_NAME
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))
    return path
