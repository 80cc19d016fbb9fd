"""Writing a fidelity comparison: ``fidelity.json``, ``report.md``, ``report.html``, plots.

The JSON holds only finite numbers (a value that cannot be computed is ``null``), so any
strict JSON reader loads it. Plots are drawn with matplotlib's Agg backend (no display).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.fidelity.catalogue import STATISTICS
from scenegen.fidelity.collect import DatasetStatistics
from scenegen.fidelity.compare import CONFIDENCE, Comparison
from scenegen.fidelity.lidar import BEV_CELL_M, BEV_HALF_SIZE_M
from scenegen.fidelity.run import FidelityResult

JSON_NAME = "fidelity.json"
MARKDOWN_NAME = "report.md"
HTML_NAME = "report.html"
PLOT_DIR = "plots"
_PLOTTED_GROUPS = ("camera", "lidar", "labels")


def write_report(result: FidelityResult, out_dir: Path) -> dict[str, Path]:
    """Write every report file into ``out_dir`` (created); returns them by kind."""
    out_dir = Path(out_dir)
    (out_dir / PLOT_DIR).mkdir(parents=True, exist_ok=True)
    plots = _write_plots(result, out_dir / PLOT_DIR)
    document = report_json(result, {k: str(p.relative_to(out_dir)) for k, p in plots.items()})
    paths = {"json": out_dir / JSON_NAME, "markdown": out_dir / MARKDOWN_NAME}
    paths["html"] = out_dir / HTML_NAME
    paths["json"].write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
    paths["markdown"].write_text(_markdown(document))
    paths["html"].write_text(_html(document))
    return paths | {f"plot_{k}": p for k, p in plots.items()}


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (recursively)."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    return value


def _row_json(row: Comparison, synthetic: DatasetStatistics, real: DatasetStatistics) -> dict:
    info = row.info
    entry: dict[str, Any] = {
        "name": info.name,
        "group": info.group,
        "kind": info.kind,
        "unit": info.unit,
        "meaning": info.meaning,
        "synthetic": row.synthetic,
        "real": row.real,
        "distance": row.distance,
        "distance_ci": list(row.distance_ci),
        "distance_plugin": row.distance_plugin,
        "baseline": row.baseline,
        "baseline_ci": list(row.baseline_ci),
        "baseline_plugin": row.baseline_plugin,
        "baseline_spread": row.baseline_spread,
        "score": row.score,
        "synthetic_frames": row.synthetic_frames,
        "real_frames": row.real_frames,
    }
    # Mean counts per frame, bin by bin (not for the occupancy map: thousands of cells).
    if info.kind == "histogram" and info.name != "lidar.bev_occupancy":
        entry["bins"] = list(info.bin_labels) or None
        entry["synthetic_per_frame"] = synthetic.histograms[info.name].mean(axis=0)
        entry["real_per_frame"] = real.histograms[info.name].mean(axis=0)
    return entry


def _dataset_json(stats: DatasetStatistics) -> dict[str, Any]:
    return {
        "path": stats.path,
        "format": stats.format,
        "frames": stats.frames,
        "frames_with_lidar": stats.frames_with_lidar,
        "unreadable": [
            {"frame_id": e.frame_id, "part": e.part, "path": str(e.path), "reason": e.reason}
            for e in stats.errors
        ],
    }


def report_json(result: FidelityResult, plots: dict[str, str]) -> dict[str, Any]:
    """The whole comparison as a JSON-ready dict (finite numbers or ``None`` only)."""
    s = result.settings
    rows = [_row_json(r, result.synthetic, result.real) for r in result.rows]
    missing = [name for name in STATISTICS if name not in {r.info.name for r in result.rows}]
    document = {
        "synthetic": _dataset_json(result.synthetic),
        "real": _dataset_json(result.real),
        "settings": {
            "seed": s.seed,
            "bootstrap_replicates": s.replicates,
            "confidence": CONFIDENCE,
            "analysis_width_px": s.width_px,
            "lidar_beams": s.lidar_beams,
        },
        "furthest": [
            {"name": r.info.name, "score": r.score, "meaning": r.info.meaning} for r in result.top
        ],
        "rows": rows,
        # No real-vs-real spread (the real set is constant) yet the synthetic set differs:
        # off by any measure, but without a score to rank it by.
        "unranked_different": [
            r.info.name
            for r in result.rows
            if r.score is None and abs(r.distance_plugin) > abs(r.baseline_plugin)
        ],
        "not_compared": missing,
        "plots": plots,
    }
    return _finite(document)


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "0"
    return f"{value:.3g}" if 1e-3 <= abs(value) < 1e5 else f"{value:.2e}"


def _interval(ci: list[float | None]) -> str:
    return f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"


_EXPLAIN = (
    "Each distance is synthetic vs real (difference of means, Jensen–Shannon divergence in "
    "bits, or MMD²), bias-corrected, with a {conf:.0%} bootstrap interval over frames. "
    "*real-vs-real* is the same distance between two random halves of the real set: what "
    "the distance is when nothing but the frames differ. *score* = (|distance| − "
    "|real-vs-real|) / spread of real-vs-real; above ~3 the synthetic data is measurably off."
)
_HEADER = (
    "statistic",
    "synthetic",
    "real",
    "distance [CI]",
    "real-vs-real [CI]",
    "score",
    "meaning",
)


def _table_rows(document: dict[str, Any]) -> list[tuple[str, ...]]:
    return [
        (
            row["name"],
            _fmt(row["synthetic"]),
            _fmt(row["real"]),
            f"{_fmt(row['distance'])} {_interval(row['distance_ci'])}",
            f"{_fmt(row['baseline'])} {_interval(row['baseline_ci'])}",
            _fmt(row["score"]),
            row["meaning"],
        )
        for row in document["rows"]
    ]


def _dataset_line(label: str, d: dict[str, Any]) -> str:
    line = f"{label}: `{d['path']}` ({d['format']}, {d['frames']} frames, {d['frames_with_lidar']} with LiDAR"
    if d["unreadable"]:
        line += f", {len(d['unreadable'])} unreadable"
    return line + ")"


def _markdown(document: dict[str, Any]) -> str:
    s = document["settings"]
    lines = [
        "# Fidelity report",
        "",
        "- " + _dataset_line("synthetic", document["synthetic"]),
        "- " + _dataset_line("real", document["real"]),
        f"- seed {s['seed']}, {s['bootstrap_replicates']} bootstrap replicates, images "
        f"analysed at {s['analysis_width_px']} px width, rings from the {s['lidar_beams']} beams",
        "",
        "## Furthest from real (what realism work should attack)",
        "",
    ]
    for number, top in enumerate(document["furthest"], start=1):
        lines.append(f"{number}. `{top['name']}`: score {_fmt(top['score'])} ({top['meaning']})")
    if document["unranked_different"]:
        lines += [
            "",
            "Constant in the real set but not in the synthetic one (no spread to score by): "
            + ", ".join(f"`{name}`" for name in document["unranked_different"]),
        ]
    lines += ["", "## All statistics", "", _EXPLAIN.format(conf=s["confidence"]), ""]
    lines.append("| " + " | ".join(_HEADER) + " |")
    lines.append("|" + "---|" * len(_HEADER))
    for cells in _table_rows(document):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if document["not_compared"]:
        lines += ["", "Not compared (a dataset lacks them): " + ", ".join(document["not_compared"])]
    lines += ["", "## Plots", ""]
    lines += [f"![{name}]({path})" for name, path in document["plots"].items()]
    return "\n".join(lines) + "\n"


def _html(document: dict[str, Any]) -> str:
    e = html.escape
    s = document["settings"]
    top = "".join(
        f"<li><code>{e(t['name'])}</code>: score {e(_fmt(t['score']))} ({e(t['meaning'])})</li>"
        for t in document["furthest"]
    )
    head = "".join(f"<th>{e(h)}</th>" for h in _HEADER)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>"
        for cells in _table_rows(document)
    )
    plots = "".join(
        f'<figure><img src="{e(path)}" alt="{e(name)}"><figcaption>{e(name)}</figcaption></figure>'
        for name, path in document["plots"].items()
    )
    explain = e(_EXPLAIN.format(conf=s["confidence"])).replace("*", "")
    unranked = ""
    if document["unranked_different"]:
        names = ", ".join(f"<code>{e(n)}</code>" for n in document["unranked_different"])
        unranked = (
            "<p>Constant in the real set but not in the synthetic one (no spread to score "
            f"by): {names}</p>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Fidelity report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1400px}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px}}
td:nth-child(2),td:nth-child(3),td:nth-child(6){{text-align:right}}img{{max-width:100%}}</style>
</head><body>
<h1>Fidelity report</h1>
<ul><li>{e(_dataset_line("synthetic", document["synthetic"]))}</li>
<li>{e(_dataset_line("real", document["real"]))}</li>
<li>seed {s["seed"]}, {s["bootstrap_replicates"]} bootstrap replicates, images analysed at
{s["analysis_width_px"]} px width, rings from the {e(s["lidar_beams"])} beams</li></ul>
<h2>Furthest from real (what realism work should attack)</h2><ol>{top}</ol>{unranked}
<h2>All statistics</h2><p>{explain}</p>
<table><tr>{head}</tr>{body}</table>
<h2>Plots</h2>{plots}
</body></html>
"""


def _write_plots(result: FidelityResult, plot_dir: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: dict[str, Path] = {}
    scored = sorted((r for r in result.rows if r.score is not None), key=lambda r: -float(r.score))[
        :20
    ]
    if scored:
        fig, ax = plt.subplots(figsize=(8, 0.3 * len(scored) + 1))
        ax.barh([r.info.name for r in scored][::-1], [r.score for r in scored][::-1])
        ax.axvline(3.0, color="k", linestyle=":", linewidth=1)
        ax.set_xscale("symlog")
        ax.set_xlabel("score: beyond real-vs-real, in its spread")
        paths["scores"] = _save(fig, plot_dir / "scores.png")
    for group in _PLOTTED_GROUPS:
        rows = [
            r
            for r in result.rows
            if r.info.group == group
            and r.info.kind == "histogram"
            and r.info.name != "lidar.bev_occupancy"
        ]
        if not rows:
            continue
        columns = min(3, len(rows))
        lines = math.ceil(len(rows) / columns)
        fig, axes = plt.subplots(
            lines, columns, figsize=(4.5 * columns, 3.0 * lines), squeeze=False
        )
        for ax, row in zip(axes.ravel(), rows, strict=False):
            for stats, label in ((result.synthetic, "synthetic"), (result.real, "real")):
                pooled = stats.histograms[row.info.name].sum(axis=0)
                share = pooled / max(pooled.sum(), 1.0)
                ax.step(np.arange(len(share)), share, where="mid", label=label)
            labels = row.info.bin_labels
            if labels and len(labels) <= 12:
                ax.set_xticks(range(len(labels)), labels, rotation=45, fontsize=7, ha="right")
            ax.set_title(f"{row.info.name}\nJSD {_fmt(row.distance)}", fontsize=9)
            ax.legend(fontsize=7)
        for ax in axes.ravel()[len(rows) :]:
            ax.axis("off")
        paths[group] = _save(fig, plot_dir / f"{group}_histograms.png")
    if (
        "lidar.bev_occupancy" in result.synthetic.histograms
        and "lidar.bev_occupancy" in result.real.histograms
    ):
        fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
        extent = (-BEV_HALF_SIZE_M, BEV_HALF_SIZE_M, -BEV_HALF_SIZE_M, BEV_HALF_SIZE_M)
        cells = int(2 * BEV_HALF_SIZE_M / BEV_CELL_M)
        for ax, stats, label in zip(
            axes, (result.synthetic, result.real), ("synthetic", "real"), strict=True
        ):
            occupancy = stats.histograms["lidar.bev_occupancy"].mean(axis=0).reshape(cells, cells)
            ax.imshow(occupancy, origin="lower", extent=extent, vmin=0, vmax=1, cmap="viridis")
            ax.set_title(f"{label}: share of scans with a point per cell")
            ax.set_xlabel("x forward (m)")
            ax.set_ylabel("y left (m)")
        paths["bev"] = _save(fig, plot_dir / "bev_occupancy.png")
    return paths


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
