"""``scenegen bench``: render, train, measure robustness, write a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from scenegen.cli.app import EXIT_INVALID_INPUT, app, err, out
from scenegen.cli.app import fail as _fail
from scenegen.errors import InvalidInputError, MissingDependencyError, ScenegenError


@app.command()
def bench(
    config: Annotated[
        Path, typer.Argument(help="Bench config (YAML): scenarios, corruptions, model, budget.")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Report folder (rendered data is cached here).")
    ] = Path("reports/run1"),
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Train from scratch instead of resuming OUT/model."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Train mix-sweep mixes whose real share is below mix_sweep.real_floor.",
        ),
    ] = False,
    gl_backend: Annotated[
        str, typer.Option("--gl", help="Headless GL backend: auto, egl or osmesa.")
    ] = "auto",
    detector_path: Annotated[
        Path | None,
        typer.Option(
            "--detector",
            help="Evaluate this detector instead of training one: a detector YAML "
            "(torchscript / onnx / harness) or a bench checkpoint (.pt).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Render, train a detector (or take yours, --detector), measure it on every edge case
    and corruption; write a report.

    Needs torch (pip install 'scenegen[harness]'); ONNX detectors need onnxruntime
    (pip install 'scenegen[onnx]').
    """
    from scenegen.sensors.gl import configure_backend

    try:
        from scenegen.harness.bench import BenchConfigError, load_bench_config, run_bench
    except MissingDependencyError as exc:
        _fail(str(exc))

    try:
        bench_config = load_bench_config(config, force=force)
    except BenchConfigError as exc:
        _fail(str(exc), EXIT_INVALID_INPUT)
    detector = None
    if detector_path is not None:
        from scenegen.harness.adapters import load_detector

        try:
            detector = load_detector(detector_path)
            detector.for_classes(bench_config.classes)  # the classes it must detect
        except MissingDependencyError as exc:
            _fail(str(exc))
        except InvalidInputError as exc:
            _fail(str(exc), EXIT_INVALID_INPUT)
    try:
        configure_backend(gl_backend)
    except ScenegenError as exc:
        _fail(str(exc))
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err,
    )
    bars: dict[str, object] = {}

    def advance(p: object) -> None:
        stage = p.stage  # type: ignore[attr-defined]
        if stage not in bars:
            bars[stage] = progress.add_task(stage, total=p.total, detail="")  # type: ignore[attr-defined]
        progress.update(bars[stage], completed=p.done, total=p.total, detail=p.detail)  # type: ignore[attr-defined]

    try:
        with progress:
            metrics = run_bench(
                bench_config, out_dir, on_progress=advance, resume=not fresh, detector=detector
            )
    except ScenegenError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; rendered data and the last epoch's checkpoint are kept", 130)
    r = metrics["robustness"]

    def with_ci(key: str) -> str:
        ci = r.get(f"{key}_ci")
        return f"{r[key]:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")

    for entry in metrics.get("real", []):
        out.print(f"real {entry['name']}: AP50 {_ap_ci(entry)}", highlight=False, soft_wrap=True)
    for row in metrics.get("sim2real", []):
        scores = ", ".join(f"{e['name']} {_ap_ci(e)}" for e in row["real"])
        out.print(f"sim2real {row['name']}: AP50 {scores}", highlight=False, soft_wrap=True)
    for point in metrics.get("mix_sweep", {}).get("points", []):
        scores = ", ".join(f"{e['name']} {_ap_ci(e)}" for e in point["real"])
        mode = f" {point['mode']}" if point["mode"] else ""
        out.print(
            f"mix real share {point['real_fraction']:g}{mode} generation {point['generation']}: "
            f"AP50 {scores}",
            highlight=False,
            soft_wrap=True,
        )
    out.print(
        f"clean AP50 (P) {with_ci('P')}, mPC {with_ci('mPC')}, rPC {with_ci('rPC')}; "
        f"report: {out_dir / 'report.md'}",
        highlight=False,
    )


def _ap_ci(entry: dict) -> str:
    ap, ci = entry.get("AP50"), entry.get("AP50_ci")
    if ap is None:
        return "–"
    return f"{ap:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
