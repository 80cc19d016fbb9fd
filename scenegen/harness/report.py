"""The robustness report: ``report.md``, ``report.html``, ``metrics.json`` and PNG plots.

Robustness follows Michaelis et al. 2019: ``P`` is clean AP50, ``mPC`` the mean AP50
over every corruption and severity, ``rPC = mPC / P``. Every AP comes with its bootstrap
interval over the test frames (``[low, high]``, :mod:`scenegen.harness.evaluate`); a
corrupted AP whose difference to the clean AP lies within the noise is marked ``~``, one
significantly above clean ``(+)``.

``metrics.json`` is strict JSON: numbers that are not finite (an AP without ground truth,
an rPC with P = 0) are written as ``null``, never as ``NaN`` or ``Infinity``, which
standard JSON parsers reject.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from scenegen.harness.sim2real_report import sim2real_lines, sim2real_plot
from scenegen.io.atomic import atomic_write_bytes
from scenegen.io.jsonable import to_jsonable


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _fmt_ci(value: Any, ci: list[float] | None) -> str:
    """``0.646 [0.580, 0.712]``: a value and its bootstrap interval."""
    if ci is None:
        return _fmt(value)
    return f"{_fmt(value)} [{ci[0]:.3f}, {ci[1]:.3f}]"


def _fmt_vs_clean(entry: dict[str, Any]) -> str:
    """A corrupted AP50 with its interval, ``~`` when it is within the noise of clean."""
    text = _fmt_ci(entry["AP50"], entry.get("AP50_ci"))
    if entry.get("within_noise"):
        return text + " ~"
    if entry.get("within_noise") is False and (entry.get("AP50_diff") or 0.0) > 0:
        return text + " (+)"  # better than clean, and not by chance
    return text


def metrics_json(metrics: dict[str, Any]) -> str:
    """``metrics`` as strict JSON (non-finite numbers become ``null``)."""
    return json.dumps(to_jsonable(metrics), indent=1, allow_nan=False) + "\n"


def _error_bars(values: list[float], intervals: list[list[float] | None]) -> np.ndarray:
    """``(2, N)`` distances below and above each value to its interval (0 without one)."""
    bars = np.zeros((2, len(values)))
    for k, (value, ci) in enumerate(zip(values, intervals, strict=True)):
        if ci is not None and value is not None and np.isfinite(value):
            bars[:, k] = (max(0.0, value - ci[0]), max(0.0, ci[1] - value))
    return bars


def _plots(out_dir: Path, metrics: dict[str, Any]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    made = []
    corruptions = metrics["corruptions"]
    if corruptions:
        fig, ax = plt.subplots(figsize=(6, 4))
        clean = metrics["clean"]["AP50"]
        entries = [metrics["clean"]]
        for name, per_severity in corruptions.items():
            severities = [int(s) for s in per_severity]
            points = [*entries, *(per_severity[str(s)] for s in severities)]
            values = [clean] + [per_severity[str(s)]["AP50"] for s in severities]
            ax.errorbar(
                [0, *severities],
                values,
                yerr=_error_bars(values, [p.get("AP50_ci") for p in points]),
                marker="o",
                capsize=2,
                label=name,
            )
        ax.set_xlabel("severity (0 = clean)")
        ax.set_ylabel("AP50")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7)
        ax.set_title("AP50 vs corruption severity (bootstrap intervals)")
        fig.tight_layout()
        fig.savefig(out_dir / "ap_vs_severity.png", dpi=110)
        plt.close(fig)
        made.append(("ap_vs_severity.png", "AP50 vs severity per corruption"))
    cases = metrics["edge_cases"]
    if cases:
        fig, ax = plt.subplots(figsize=(7, 0.35 * len(cases) + 1.2))
        names = [c["name"] for c in cases]
        ax.barh(names, [np.nan_to_num(c["AP50"]) for c in cases], color="tab:blue")
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.set_xlabel("clean AP50")
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title("AP50 per edge case")
        fig.tight_layout()
        fig.savefig(out_dir / "ap_per_edge_case.png", dpi=110)
        plt.close(fig)
        made.append(("ap_per_edge_case.png", "AP50 per edge case"))
    distance = metrics["distance"]
    if distance:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        labels = [f"{a:g}-{b:g}" for a, b in (d["bin_m"] for d in distance)]
        ax.bar(labels, [np.nan_to_num(d["AP50"]) for d in distance], color="tab:green")
        ax.set_ylim(0, 1)
        ax.set_xlabel("distance (m)")
        ax.set_ylabel("AP50")
        ax.set_title("AP50 vs distance")
        fig.tight_layout()
        fig.savefig(out_dir / "ap_vs_distance.png", dpi=110)
        plt.close(fig)
        made.append(("ap_vs_distance.png", "AP50 vs distance"))
    return made


def draw_detections(
    image_u8: np.ndarray,
    target: dict,
    prediction: dict,
    classes: list[str],
    score_threshold: float = 0.3,
) -> np.ndarray:
    """Ground truth in green, detections (score >= threshold) in red with class and score."""
    canvas = np.ascontiguousarray(image_u8.copy())
    for box in target["boxes"].numpy():
        x1, y1, x2, y2 = (round(v) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), (0, 220, 0), 1)
    for box, score, label in zip(
        prediction["boxes"].numpy(),
        prediction["scores"].numpy(),
        prediction["labels"].numpy(),
        strict=True,
    ):
        if score < score_threshold:
            continue
        x1, y1, x2, y2 = (round(v) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), (230, 30, 30), 1)
        name = classes[int(label) - 1] if 0 < int(label) <= len(classes) else str(int(label))
        cv2.putText(
            canvas,
            f"{name} {score:.2f}",
            (x1, max(8, y1 - 2)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.3,
            (255, 60, 60),
            1,
        )
    return canvas


def _contact_sheet(
    out_dir: Path, metrics: dict, splits: list, detector: Any, classes: list[str]
) -> str | None:
    from scenegen.harness.evaluate import predict

    worst = metrics.get("worst_frames", [])
    if not worst:
        return None
    by_name = {s.name: s for s in splits}
    tiles = []
    for entry in worst:
        split = by_name[entry["split"]]
        image = split.images[entry["index"]]
        pred = predict(detector, [image])[0]
        tile = draw_detections(image, split.targets[entry["index"]], pred, classes)
        label = (
            f"{entry['split']} #{entry['frame_id']}: missed {entry['missed']}/{entry['objects']}"
        )
        cv2.putText(tile, label, (3, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 0), 1)
        tiles.append(tile)
    height = max(t.shape[0] for t in tiles)
    width = max(t.shape[1] for t in tiles)
    columns = 2
    rows = math.ceil(len(tiles) / columns)
    sheet = np.zeros((rows * height, columns * width, 3), np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        sheet[r * height : r * height + tile.shape[0], c * width : c * width + tile.shape[1]] = tile
    ok, data = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if ok:
        atomic_write_bytes(out_dir / "worst_frames.png", data.tobytes())
        return "worst_frames.png"
    return None


def real_kitti_sentence(real: dict | None, clean_ap50: float, real_share: float = 0.0) -> str:
    """A plain sentence on how the detector does on the real KITTI frames of
    ``test.real_kitti``; ``real_share``: share of real frames in its training batches."""
    if real is None:
        return "No real frames were configured (test.real_kitti)."
    if "skipped" in real:
        return f"Real KITTI frames were not evaluated: {real['skipped']}."
    return (
        (
            "Trained only on scenegen frames"
            if not real_share
            else "Trained on scenegen and real frames"
        )
        + f", the detector reaches AP50 {_fmt(real['AP50'])} on "
        f"{real['frames']} real KITTI frames ({real['num_gt']} labelled objects of the "
        f"benchmark's classes), against {_fmt(clean_ap50)} on held-out synthetic frames"
        + (
            ": the gap between rendered and real images is large, and so few real frames make "
            "the number a rough indication only."
            if (real["AP50"] or 0) < 0.5 * (clean_ap50 or 1)
            else "; with so few real frames the number is a rough indication only."
        )
    )


def _task_lines(task: dict[str, Any] | None) -> list[str]:
    """What counts as an object to find; the rest are ignore regions (neither hit nor miss)."""
    if not task:
        return []
    renamed = ", ".join(f"{k} -> {v}" for k, v in task.get("class_map", {}).items())
    return [
        f"Scored objects: boxes at least {task['min_box_height_px']:g} px tall in the "
        f"evaluated image, hidden at most {100 * task['max_occlusion']:.0f} %"
        + (f" (renamed: {renamed})" if renamed else "")
        + "; smaller, more hidden and other classes' objects are ignore regions.",
        "",
    ]


def _noise_lines(metrics: dict[str, Any]) -> list[str]:
    """How the intervals were made, and which severities' drops are outside the noise."""
    boot = metrics.get("bootstrap")
    if not boot:
        return []
    r = metrics["robustness"]
    drops = r.get("drop_by_severity", {})
    lines = [
        f"Intervals: {100 * boot['confidence']:g} % bootstrap ({boot['resamples']} resamples of "
        "the test frames). `~` marks a corrupted AP50 whose difference to the clean AP50 "
        "(paired, same resamples) is within the noise; `(+)` one significantly above clean.",
    ]
    for s, d in drops.items():
        if d.get("AP50_diff_ci") is None:
            continue
        low, high = d["AP50_diff_ci"]
        verdict = "within the noise" if d["within_noise"] else "outside the noise"
        lines.append(
            f"- severity {s}: mean AP50 {_fmt(r['mean_by_severity'][s])}, "
            f"{d['AP50_diff']:+.3f} vs clean [{low:+.3f}, {high:+.3f}], {verdict}."
        )
    return [*lines, ""]


def build_markdown(metrics: dict[str, Any], plots: list[tuple[str, str]], sheet: str | None) -> str:
    r = metrics["robustness"]
    lines = [
        f"# Robustness report: {metrics['config']['name']}",
        "",
        f"Classes: {', '.join(metrics['classes'])}. Metric: COCO AP50 (101-point), held-out synthetic test frames.",
        "",
        *_task_lines(metrics.get("task")),
        "## Summary (Michaelis et al. 2019)",
        "",
        "| P (clean AP50) | mPC | rPC | clean AP (0.50:0.95) |",
        "|---|---|---|---|",
        f"| {_fmt_ci(r['P'], r.get('P_ci'))} | {_fmt_ci(r['mPC'], r.get('mPC_ci'))} "
        f"| {_fmt_ci(r['rPC'], r.get('rPC_ci'))} "
        f"| {_fmt_ci(metrics['clean']['AP'], metrics['clean'].get('AP_ci'))} |",
        "",
        *_noise_lines(metrics),
        "## Real frames",
        "",
        *(
            []
            if metrics.get("real_kitti") is None and metrics.get("real")
            else [
                real_kitti_sentence(
                    metrics.get("real_kitti"),
                    metrics["clean"]["AP50"],
                    metrics.get("training", {}).get("real_share", 0.0),
                ),
                "",
            ]
        ),
        *sim2real_lines(metrics),
        "## Edge cases (clean)",
        "",
        "| edge case | frames | objects | AP50 | AP |",
        "|---|---|---|---|---|",
    ]
    for case in metrics["edge_cases"]:
        lines.append(
            f"| {case['name']} | {case['frames']} | {case['num_gt']} "
            f"| {_fmt_ci(case['AP50'], case.get('AP50_ci'))} | {_fmt_ci(case['AP'], case.get('AP_ci'))} |"
        )
    lines += ["", "## Corruptions (AP50 per severity)", ""]
    if metrics["corruptions"]:
        severities = list(next(iter(metrics["corruptions"].values())))
        lines.append("| corruption | " + " | ".join(f"s{s}" for s in severities) + " | mean |")
        lines.append("|---|" + "---|" * (len(severities) + 1))
        for name, per in metrics["corruptions"].items():
            values = [per[s]["AP50"] for s in severities]
            mean = float(np.nanmean(values)) if not np.isnan(values).all() else float("nan")
            lines.append(
                f"| {name} | "
                + " | ".join(_fmt_vs_clean(per[s]) for s in severities)
                + f" | {_fmt(mean)} |"
            )
        drops = r.get("drop_by_severity", {})
        lines.append(
            "| **mean** | "
            + " | ".join(
                _fmt_vs_clean(
                    {
                        "AP50": r["mean_by_severity"][s],
                        "AP50_ci": r.get("mean_by_severity_ci", {}).get(s),
                        "within_noise": drops.get(s, {}).get("within_noise"),
                    }
                )
                for s in severities
            )
            + f" | {_fmt_ci(r['mPC'], r.get('mPC_ci'))} |"
        )
    else:
        lines.append("No corruptions configured.")
    lines += ["", "## By distance", "", "| distance (m) | objects | AP50 |", "|---|---|---|"]
    for d in metrics["distance"]:
        lines.append(
            f"| {d['bin_m'][0]:g}-{d['bin_m'][1]:g} | {d['num_gt']} "
            f"| {_fmt_ci(d['AP50'], d.get('AP50_ci'))} |"
        )
    lines += ["", "## By occlusion", "", "| occlusion | objects | AP50 |", "|---|---|---|"]
    for o in metrics["occlusion"]:
        lines.append(
            f"| {o['level']} ({o['name']}) | {o['num_gt']} "
            f"| {_fmt_ci(o['AP50'], o.get('AP50_ci'))} |"
        )
    lines += [
        "",
        "## KITTI-style AP (R40) by difficulty",
        "",
        "| class | easy | moderate | hard |",
        "|---|---|---|---|",
    ]
    for name, per in metrics["kitti_ap"].items():
        lines.append(
            f"| {name} | {_fmt(per['easy'])} | {_fmt(per['moderate'])} | {_fmt(per['hard'])} |"
        )
    training = metrics.get("training", {})
    if training:
        lines += [
            "",
            "## Training",
            "",
            f"{training['frames']} frames at {training['image_size'][1]}x{training['image_size'][0]} px, "
            f"{training['epochs']} epochs in {training['seconds']:.0f} s "
            f"({training['images_per_second']:.1f} images/s), {training['parameters']:,} parameters.",
        ]
    detector = metrics.get("detector")
    if detector:
        lines += [
            "",
            "## Detector",
            "",
            f"{detector['name']} ({detector['kind']}, {detector['source']}), not trained here; "
            f"it detects {', '.join(detector['class_names'])}.",
        ]
    lines += ["", "## Plots", ""]
    lines += [f"![{title}]({name})" for name, title in plots]
    if sheet:
        lines += [
            "",
            "## Worst frames",
            "",
            "Green: ground truth; red: detections (score >= 0.3).",
            "",
            f"![worst frames]({sheet})",
        ]
    return "\n".join(lines) + "\n"


def markdown_to_html(markdown: str, title: str) -> str:
    """A small, dependency-free rendering of the report's markdown (tables, headings, images)."""
    body, table = [], []

    def flush_table() -> None:
        if not table:
            return
        rows = [r for r in table if not set(r.replace("|", "").strip()) <= {"-"}]
        out = ["<table>"]
        for k, row in enumerate(rows):
            cells = [c.strip() for c in row.strip().strip("|").split("|")]
            tag = "th" if k == 0 else "td"
            out.append(
                "<tr>"
                + "".join(f"<{tag}>{html.escape(c).replace('**', '')}</{tag}>" for c in cells)
                + "</tr>"
            )
        out.append("</table>")
        body.append("\n".join(out))
        table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("![") and "](" in line:
            alt = line[2 : line.index("]")]
            src = line[line.index("](") + 2 : -1]
            body.append(f'<p><img src="{html.escape(src)}" alt="{html.escape(alt)}"></p>')
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    flush_table()
    style = "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_report(
    out_dir: Path, metrics: dict[str, Any], splits: list, detector: Any, config: Any
) -> None:
    """Write metrics.json, plots, the worst-frame contact sheet, report.md and report.html."""
    out_dir = Path(out_dir)
    plots = _plots(out_dir, metrics)
    sim2real_plot(out_dir, metrics)  # the sim-to-real section shows it
    sheet = _contact_sheet(out_dir, metrics, splits, detector, list(config.classes))
    markdown = build_markdown(metrics, plots, sheet)
    atomic_write_bytes(out_dir / "metrics.json", metrics_json(metrics).encode("utf-8"))
    atomic_write_bytes(out_dir / "report.md", markdown.encode("utf-8"))
    atomic_write_bytes(
        out_dir / "report.html",
        markdown_to_html(markdown, metrics["config"]["name"]).encode("utf-8"),
    )
