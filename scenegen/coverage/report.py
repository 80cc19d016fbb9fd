"""A coverage measurement written out: ``coverage.json``, ``coverage.md``,
``coverage.html`` and ``histograms.png`` (one bar chart per axis)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from scenegen.coverage.measure import CoverageResult
from scenegen.io.atomic import atomic_write_bytes

MAX_LISTED_MISSING = 200  # per strength in the Markdown/HTML; coverage.json has them all


def write_report(result: CoverageResult, out_dir: Path) -> dict[str, Path]:
    """Write the four files into ``out_dir``; returns them by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "coverage.json",
        "markdown": out_dir / "coverage.md",
        "html": out_dir / "coverage.html",
        "histograms": out_dir / "histograms.png",
    }
    text = json.dumps(result.to_json(), indent=2, sort_keys=True, allow_nan=False)
    atomic_write_bytes(paths["json"], (text + "\n").encode())
    atomic_write_bytes(paths["markdown"], markdown(result).encode())
    atomic_write_bytes(paths["html"], _html(result).encode())
    atomic_write_bytes(paths["histograms"], _histogram_png(result))
    return paths


def markdown(result: CoverageResult) -> str:
    lines = [
        "# Taxonomy coverage",
        "",
        f"{result.frames} frames"
        + (f" ({result.unreadable} unreadable, left out)" if result.unreadable else "")
        + f"; axes: {', '.join(result.axes)}.",
        "",
        "| strength | covered |",
        "|---|---|",
        *(f"| {t}-way | {p:.1f} % |" for t, p in result.strength_percent.items()),
        "",
    ]
    for axis, counts in result.histograms.items():
        unit = "objects" if axis in ("actor", "distance") else "frames"
        lines += [f"## {axis} ({unit})", "", "| level | count |", "|---|---|"]
        lines += [f"| {level} | {n} |" for level, n in counts.items()] + [""]
    disc = result.discrepancy
    lines += ["## Discrepancy of the continuous axes (L2-star, lower is more even)", ""]
    lines += [f"- {axis}: {value:.4f}" for axis, value in disc["per_axis"].items()]
    if "joint" in disc:
        joint = disc["joint"]
        lines.append(
            f"- joint ({', '.join(joint['axes'])}): {joint['frames']:.4f} "
            f"(as many i.i.d. uniform points: {joint['iid_uniform']:.4f}, Sobol: "
            f"{joint['sobol']:.4f})"
        )
    lines.append("")
    for t, missing in result.missing.items():
        lines += [f"## Missing {t}-way combinations ({len(missing)})", ""]
        lines += [
            "- " + ", ".join(f"{a}={v}" for a, v in combo.items())
            for combo in missing[:MAX_LISTED_MISSING]
        ]
        if len(missing) > MAX_LISTED_MISSING:
            lines.append(f"- ... {len(missing) - MAX_LISTED_MISSING} more in coverage.json")
        lines.append("")
    return "\n".join(lines)


def _html(result: CoverageResult) -> str:
    """The Markdown's content as a plain HTML page (tables and lists, no scripts)."""
    body: list[str] = []
    in_table = in_list = False
    for line in markdown(result).splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= {"-"}:
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append(
                "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"
            )
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{html.escape(line[2:])}</li>")
            continue
        if in_list:
            body.append("</ul>")
            in_list = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    body += ["</table>"] if in_table else []
    body += ["</ul>"] if in_list else []
    body.append('<img src="histograms.png" alt="per-axis histograms">')
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>Taxonomy coverage</title>'
        "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
        "</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _histogram_png(result: CoverageResult) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    axes = list(result.histograms)
    figure, panels = plt.subplots(1, len(axes), figsize=(3.2 * len(axes), 3.0), squeeze=False)
    for panel, axis in zip(panels[0], axes, strict=True):
        counts = result.histograms[axis]
        panel.bar(np.arange(len(counts)), list(counts.values()), color="#4477aa")
        panel.set_xticks(np.arange(len(counts)), list(counts), rotation=60, ha="right")
        panel.set_title(axis)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
