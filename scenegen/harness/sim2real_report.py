"""The report's sim-to-real part: AP50 on real test frames of every training mix.

Tables for ``metrics["real"]`` (the bench's model on each ``test.real`` set),
``metrics["sim2real"]`` (real-only, synthetic-only, fine-tune, mixed) and
``metrics["mix_sweep"]``, and the plot of real-test AP50 against the real share.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from scenegen.harness.metrics import KITTI_DIFFICULTY


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.3f}"


def _with_ci(entry: dict[str, Any]) -> str:
    ci = entry.get("AP50_ci")
    text = _fmt(entry.get("AP50"))
    return text + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and text != "–" else "")


def _difficulty_cells(entry: dict[str, Any]) -> list[str]:
    cells = []
    for name in KITTI_DIFFICULTY:
        d = entry["difficulty"][name]
        cells.append(_with_ci(d) + ("" if d["resolved"] else " *"))
    return cells


def _training_text(pools: list[dict[str, Any]]) -> str:
    parts = []
    for p in pools:
        if "finetune_epochs" in p:
            parts.append(f"then {p['finetune_epochs']} epochs on {p['name']} ({p['frames']})")
        else:
            parts.append(f"{p['name']} ({p['frames']}, {100 * p['share']:.0f} %)")
    return ", ".join(parts)


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference or math.isnan(value) or math.isnan(reference):
        return "–"
    return f"{value / reference:.2f}x"


_PARTIAL = (
    "`*`: at the evaluated resolution some boxes of this KITTI difficulty are lower than "
    "`min_box_height_px` and are ignore regions, so the number covers only its larger objects."
)


def sim2real_lines(metrics: dict[str, Any]) -> list[str]:
    """Markdown lines of the real-test sections (empty when none was configured)."""
    real = metrics.get("real") or []
    rows = metrics.get("sim2real") or []
    sweep = metrics.get("mix_sweep")
    if not real and not rows and not sweep:
        return []
    lines = ["## Sim-to-real: AP50 on real test frames", ""]
    lines.append(
        "AP50 (COCO, 101-point) with 95 % bootstrap intervals over the real test frames; "
        "KITTI difficulties are cumulative (moderate includes easy), from box height, "
        "occlusion and truncation. No model was trained on these frames."
    )
    lines.append("")
    header = "| | frames | objects | AP50 | " + " | ".join(KITTI_DIFFICULTY) + " |"
    rule = "|---|---|---|---|" + "---|" * len(KITTI_DIFFICULTY)
    if real:
        lines += ["This bench's model:", "", header.replace("| |", "| test set |", 1), rule]
        for entry in real:
            lines.append(
                f"| {entry['name']} | {entry['frames']} | {entry['num_gt']} | {_with_ci(entry)} | "
                + " | ".join(_difficulty_cells(entry))
                + " |"
            )
        lines.append("")
    for t, test in enumerate(rows[0]["real"] if rows else []):
        lines += [
            f"### Training data compared on {test['name']} ({test['frames']} frames, "
            f"{test['num_gt']} objects)",
            "",
            "| training data | real share | epochs | AP50 | vs real-only | "
            + " | ".join(KITTI_DIFFICULTY)
            + " |",
            "|---|---|---|---|---|" + "---|" * len(KITTI_DIFFICULTY),
        ]
        reference = next((r["real"][t]["AP50"] for r in rows if r["name"] == "real_only"), None)
        for row in rows:
            entry = row["real"][t]
            lines.append(
                f"| {row['label']}: {_training_text(row['pools'])} | {row['real_share']:.2f} "
                f"| {row['epochs']} | {_with_ci(entry)} | {_ratio(entry['AP50'], reference)} | "
                + " | ".join(_difficulty_cells(entry))
                + " |"
            )
        lines.append("")
    if sweep:
        lines += _sweep_lines(sweep)
    lines += [_PARTIAL, ""]
    return lines


def _sweep_lines(sweep: dict[str, Any]) -> list[str]:
    forced = " (forced below the floor)" if sweep["forced"] else ""
    lines = [
        "### Mix sweep",
        "",
        f"One model per real share of every batch; real floor {sweep['real_floor']:g}{forced}. "
        f"Generations after the first train on the previous model's labels (score >= "
        f"{sweep['pseudo_label_score']:g}): `replace` only on those, `accumulate` keeps the "
        "real frames at their share and adds every generation's labels to the rest.",
        "",
    ]
    tests = [t["name"] for t in sweep["points"][0]["real"]] if sweep["points"] else []
    lines.append(
        "| real share | mode | generation | " + " | ".join(f"AP50 {n}" for n in tests) + " |"
    )
    lines.append("|---|---|---|" + "---|" * len(tests))
    for point in sweep["points"]:
        lines.append(
            f"| {point['real_fraction']:g} | {point['mode'] or '–'} | {point['generation']} | "
            + " | ".join(_with_ci(e) for e in point["real"])
            + " |"
        )
    return [*lines, "", "![AP50 vs real share](ap_vs_real_share.png)", ""]


def sim2real_plot(out_dir: Path, metrics: dict[str, Any]) -> str | None:
    """``ap_vs_real_share.png``: real-test AP50 against the real share, per generation."""
    sweep = metrics.get("mix_sweep")
    if not sweep or not sweep["points"]:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    series: dict[tuple[str, int], list[dict]] = {}
    for point in sweep["points"]:
        series.setdefault((point["mode"], point["generation"]), []).append(point)
    for (mode, generation), points in sorted(series.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        xs = [p["real_fraction"] for p in points]
        ys = [p["real"][0]["AP50"] for p in points]
        cis = [p["real"][0]["AP50_ci"] for p in points]
        low = [y - c[0] if c and y is not None else 0 for y, c in zip(ys, cis, strict=True)]
        high = [c[1] - y if c and y is not None else 0 for y, c in zip(ys, cis, strict=True)]
        label = "generation 0" if generation == 0 else f"{mode}, generation {generation}"
        ax.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=2, label=label)
    ax.axvline(sweep["real_floor"], color="grey", linestyle=":", label="real floor")
    ax.set_xlabel("real share of every batch")
    ax.set_ylabel(f"AP50 on {sweep['points'][0]['real'][0]['name']}")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("Real-test AP50 vs training mix (bootstrap intervals)")
    fig.tight_layout()
    fig.savefig(out_dir / "ap_vs_real_share.png", dpi=110)
    plt.close(fig)
    return "ap_vs_real_share.png"
