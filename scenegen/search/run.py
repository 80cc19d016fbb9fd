"""``scenegen search`` as a plain function: :func:`run_search`.

A run of budget ``B`` renders with ``K`` seeds per point evaluates ``B // K`` points. Point
``p``'s seed ``k`` is render ``e = p * K + k``; its base seed is ``frame_seed(seed, k)``
(:func:`scenegen.scenario.frame_seed`): every point sees the same ``K`` scenes (common
random numbers), so margins differ by the searched values only; with ``fresh_seeds`` it is
``frame_seed(seed, e)``, a new scene per render (more varied failures, noisier search). The method is told the point's mean margin over
its seeds (see :mod:`scenegen.search.loop` for the objective), and the point fails when
any of its renders fails. With ``expand`` (the default for ``cma`` and ``bo``) every failure
is also grown into its neighbouring cells by probe points (:mod:`scenegen.search.loop`),
which count against the budget like the method's own. Then the most severe failures of distinct cells are bisected
(:mod:`scenegen.search.boundary`; these renders are counted apart from the budget), and
the output folder gets:

* ``evaluations.jsonl`` / ``evaluations.csv``: the error table (:mod:`scenegen.search.table`);
* ``failures/``: every failing render as a normal scenegen dataset (the chosen formats and
  a manifest; frame ids are evaluation numbers);
* ``replay/eval_NNNNNN.yaml``: per failure, the scenario with the failing values as
  constants: ``scenegen render replay/eval_NNNNNN.yaml --seed SEED --frames 1`` renders
  the same image, byte for byte;
* ``boundaries.json``, ``failure_region.yaml`` (one box around every failure,
  :mod:`scenegen.search.region`), ``failure_regions/region_NN.yaml`` with
  ``failure_regions/index.json`` (one tight box per failure cluster,
  :mod:`scenegen.search.clusters`; each file's ``frames`` is its cluster's failing renders,
  so rendering them all samples the union in proportion), ``failures.png`` (contact
  sheet of the failures) and ``summary.json``;
* ``search.json``: the settings; ``--resume`` continues only a run with the same ones
  (and the same scenario and detector files), from the rows of the table.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scenegen.errors import InvalidInputError, ScenegenError
from scenegen.io import DatasetWriter
from scenegen.io.atomic import atomic_write_bytes
from scenegen.scenario import Scenario, frame_seed, load_scenario, load_scenario_text
from scenegen.scenario.rewrite import rewrite_scenario
from scenegen.search import table
from scenegen.search.boundary import Boundary, bisect_failure
from scenegen.search.clusters import cluster_failures
from scenegen.search.evaluate import Evaluated, Evaluator, InProcessPool, Job, ProcessPool
from scenegen.search.loop import PointResult, Step, failure_cells, search_loop
from scenegen.search.margin import MarginSettings
from scenegen.search.methods import METHODS, make_method
from scenegen.search.region import Box, envelope
from scenegen.search.space import Point, SearchSpace, search_space

SETTINGS_NAME = "search.json"


@dataclass(frozen=True)
class SearchSettings:
    """How to search (see the module docstring); everything but ``budget`` must match for
    ``--resume``."""

    method: str
    budget: int
    seeds_per_point: int = 1
    seed: int = 0
    qmc_sequence: str = "sobol"
    batch: int = 4
    cell_bins: int = 4
    repeat_penalty: float = 0.5
    boundaries: int = 3
    tolerance: float = 0.02
    formats: tuple[str, ...] = ("kitti", "coco", "yolo")
    keys: tuple[str, ...] = ()
    fresh_seeds: bool = False
    lidar: bool = False  # simulate the scenario's LiDAR too (failing frames carry scans)
    # grow failures into neighbouring cells (scenegen.search.loop); None: on for the
    # optimisers (cma, bo), off for the baselines (qmc, random)
    expand: bool | None = None
    # seeds the method alone (None: ``seed``), so a benchmark can repeat a search of the
    # same scenes with other random choices of the method
    method_seed: int | None = None

    @property
    def expands(self) -> bool:
        return self.method in ("cma", "bo") if self.expand is None else self.expand

    def render_seed(self, point: int, repeat: int) -> int:
        """Base seed of repeat ``repeat`` of point ``point`` (see the module docstring)."""
        index = point * self.seeds_per_point + repeat if self.fresh_seeds else repeat
        return frame_seed(self.seed, index)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInputError(f"--method {self.method}: expected one of {', '.join(METHODS)}")
        if self.seeds_per_point < 1 or self.budget < self.seeds_per_point:
            raise InvalidInputError(
                f"--budget {self.budget} --seeds-per-point {self.seeds_per_point}: expected "
                "seeds per point >= 1 and a budget of at least one point's renders"
            )
        if self.batch < 1 or self.cell_bins < 1 or self.boundaries < 0:
            raise InvalidInputError("--batch and --cell-bins must be >= 1, --boundaries >= 0")


@dataclass
class SearchResult:
    rows: list[dict[str, Any]]
    steps: list[Step]
    space: SearchSpace
    boundaries: list[dict[str, Any]] = field(default_factory=list)
    boundary_renders: int = 0
    rendered: int = 0  # renders made by this call (resumed rows are not rendered again)
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["failure"]]


Progress = Callable[[str, int, int, int], None]  # stage, done, total, failures so far


def run_search(
    scenario_path: Path,
    detector: Any,
    detector_path: Path,
    settings: SearchSettings,
    out_dir: Path,
    margin: MarginSettings,
    *,
    workers: int = 1,
    resume: bool = False,
    loader: Callable | None = None,
    on_progress: Progress | None = None,
) -> SearchResult:
    """Search ``scenario_path``'s space for failures of ``detector`` (a LoadedDetector);
    ``workers > 1`` renders in processes that load the detector with ``loader(path)``."""
    started = time.perf_counter()
    scenario = load_scenario(scenario_path)
    if settings.lidar and scenario.lidar is None:
        raise InvalidInputError(
            f"{scenario_path}: --lidar, but the scenario has no LiDAR (sensors.lidar is "
            "disabled); expected sensors.lidar.enabled: true, or leave --lidar off"
        )
    space = search_space(scenario, settings.keys or None)
    out_dir = Path(out_dir)
    identity = _identity(settings, scenario_path, detector_path, margin, space)
    recorded = _prepare_folder(out_dir, identity, resume, settings.seeds_per_point)
    writer = DatasetWriter.open(out_dir / "failures", settings.formats, resume=resume, force=True)
    evaluator = Evaluator(
        scenario, detector.detector, detector.class_names, margin, lidar=settings.lidar
    )
    pool: InProcessPool | ProcessPool = InProcessPool(evaluator)
    if workers > 1:
        if loader is None:
            raise InvalidInputError("workers > 1 needs a detector loader for the worker processes")
        pool = ProcessPool(
            workers, Path(scenario_path), Path(detector_path), margin, loader, settings.lidar
        )
    result = SearchResult([], [], space)
    k = settings.seeds_per_point
    n_points = settings.budget // k
    failures_so_far = 0

    def evaluate(batch: Sequence[tuple[int, Point]]) -> list[PointResult]:
        nonlocal failures_so_far
        todo = [
            Job(p * k + r, point, settings.render_seed(p, r))
            for p, point in batch
            if not _recorded_point(recorded, p, point, k)
            for r in range(k)
        ]
        done = {e.job.evaluation: e for e in pool.map(todo)}
        result.rendered += len(todo)
        outcomes = []
        for p, _point in batch:
            rows = recorded.get(p) or [_row(done[p * k + r], p, r, space) for r in range(k)]
            margins = [row["margin"] for row in rows if row["margin"] is not None]
            outcome = PointResult(
                sum(margins) / len(margins) if margins else None, any(r["failure"] for r in rows)
            )
            outcomes.append(outcome)
            if p not in recorded:
                for r, row in enumerate(rows):
                    evaluated = done[p * k + r]
                    if evaluated.frame is not None:
                        _write_failure(writer, evaluated, row, scenario_path, scenario, out_dir)
            recorded[p] = rows
            failures_so_far += sum(bool(r["failure"]) for r in rows)
        return outcomes

    def on_step(step: Step) -> None:
        for row in recorded[step.index]:
            row["objective"], row["cell"] = step.objective, list(step.cell)
            row["origin"] = step.origin
            if len(result.rows) >= len(_written):
                table.append_row(out_dir, row)
                _written.append(row["evaluation"])
            result.rows.append(row)
        if on_progress is not None:
            on_progress("search", len(result.rows), n_points * k, failures_so_far)

    _written: list[int] = [r["evaluation"] for rows in recorded.values() for r in rows]
    method = make_method(
        settings.method,
        space,
        settings.seed if settings.method_seed is None else settings.method_seed,
        settings.batch,
        settings.qmc_sequence,
    )
    try:
        result.steps = search_loop(
            method,
            space,
            evaluate,
            n_points,
            cell_bins=settings.cell_bins,
            repeat_penalty=settings.repeat_penalty,
            expand=settings.expands,
            probe_batch=settings.batch,
            on_step=on_step,
        )
        _bisect(result, pool, settings, on_progress)
    finally:
        pool.close()
        evaluator.close()
    writer.finalize({"search": identity})
    _write_outputs(result, settings, scenario_path, scenario, out_dir)
    result.seconds = time.perf_counter() - started
    result.summary["seconds"] = round(result.seconds, 3)
    atomic_write_bytes(
        out_dir / "summary.json", (json.dumps(result.summary, indent=2) + "\n").encode()
    )
    return result


def _identity(
    settings: SearchSettings,
    scenario_path: Path,
    detector_path: Path,
    margin: MarginSettings,
    space: SearchSpace,
) -> dict[str, Any]:
    found = {k: v for k, v in asdict(settings).items() if k != "budget"}
    if not settings.lidar:
        del found["lidar"]  # folders of searches made before --lidar existed still resume
    found["expand"] = settings.expands
    if settings.method_seed is None:
        del found["method_seed"]
    found["formats"] = list(settings.formats)
    found["keys"] = list(space.paths)
    found["margin"] = {**asdict(margin), "classes": list(margin.classes)}
    found["margin"]["class_map"] = dict(margin.class_map)
    found["margin"]["iou_thresholds"] = dict(margin.iou_thresholds)
    found["scenario"] = {"path": str(scenario_path), "sha256": _sha256(scenario_path)}
    found["detector"] = {"path": str(detector_path), "sha256": _sha256(detector_path)}
    return found


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _prepare_folder(
    out_dir: Path, identity: dict[str, Any], resume: bool, k: int
) -> dict[int, list[dict[str, Any]]]:
    """Check the folder; on resume, the complete points of its table (point -> rows)."""
    settings_path = out_dir / SETTINGS_NAME
    if resume and settings_path.exists():
        saved = json.loads(settings_path.read_text(encoding="utf-8"))
        if saved != identity:
            changed = sorted(key for key in identity if saved.get(key) != identity[key])
            raise InvalidInputError(
                f"{settings_path}: made with other settings ({', '.join(changed)} differ), "
                "expected the same ones to resume; search into another folder instead"
            )
        rows = table.read_rows(out_dir)
        points: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            points.setdefault(int(row["point"]), []).append(row)
        complete = {}
        for p in range(len(points)):  # a prefix of complete points; the rest is redone
            if len(points.get(p, [])) != k:
                break
            complete[p] = points[p]
        table.rewrite_rows(out_dir, [r for p in sorted(complete) for r in complete[p]])
        return complete
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InvalidInputError(
            f"{out_dir}: not empty, expected a new folder (or --resume to continue a search there)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(settings_path, (json.dumps(identity, indent=2) + "\n").encode())
    return {}


def _recorded_point(recorded: dict, p: int, point: Point, k: int) -> bool:
    rows = recorded.get(p)
    if rows is None:
        return False
    if rows[0]["params"] != point:
        raise InvalidInputError(
            f"evaluations.jsonl: point {p} was {rows[0]['params']}, the method asks {point} "
            "now; the table is not this run's, expected an unchanged search to resume"
        )
    return True


def _row(evaluated: Evaluated, p: int, r: int, space: SearchSpace) -> dict[str, Any]:
    score = evaluated.score
    return {
        "evaluation": evaluated.job.evaluation,
        "point": p,
        "repeat": r,
        "seed": evaluated.job.seed,
        "params": {path: evaluated.job.point[path] for path in space.paths},
        "margin": score.margin,
        "failure": score.failure,
        "relevant_objects": len(score.objects),
        "missed": [
            {
                "class": m.class_name,
                "instance_id": m.instance_id,
                "distance_m": m.distance_m,
                "margin": m.margin,
                "best_iou": m.best_iou,
                "best_score": m.best_score,
            }
            for m in score.missed
        ],
        "objective": None,
        "cell": None,
        "replay": f"replay/eval_{evaluated.job.evaluation:06d}.yaml" if score.failure else None,
    }


def _write_failure(
    writer: DatasetWriter,
    evaluated: Evaluated,
    row: dict[str, Any],
    scenario_path: Path,
    scenario: Scenario,
    out_dir: Path,
) -> None:
    assert evaluated.frame is not None
    writer.write_frame(evaluated.frame, evaluated.job.evaluation)
    text = rewrite_scenario(
        scenario_path,
        evaluated.job.point,
        name=scenario.name,  # the same name: the replay's manifest matches too
        description=f"Failure {row['evaluation']} of scenegen search (margin {row['margin']:.4g}); "
        f"replay: scenegen render THIS --seed {row['seed']} --frames 1",
        frames=1,
        seed=row["seed"],
    )
    path = out_dir / row["replay"]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, text.encode("utf-8"))


def _bisect(
    result: SearchResult,
    pool: InProcessPool | ProcessPool,
    settings: SearchSettings,
    on_progress: Progress | None,
) -> None:
    """Bisect the most severe failures of distinct cells (``settings.boundaries`` of them)."""
    chosen: list[dict[str, Any]] = []
    for row in sorted(result.failures, key=lambda r: (r["margin"], r["evaluation"])):
        if len(chosen) >= settings.boundaries:
            break
        if tuple(row["cell"]) not in {tuple(c["cell"]) for c in chosen}:
            chosen.append(row)
    for n, row in enumerate(chosen):
        seed, evaluation = row["seed"], row["evaluation"]

        def fails(point: Point, seed: int = seed, evaluation: int = evaluation) -> bool:
            (evaluated,) = pool.map([Job(evaluation, point, seed)])
            return evaluated.score.failure

        found = bisect_failure(result.space, dict(row["params"]), fails, settings.tolerance)
        result.boundary_renders += sum(b.renders for b in found)
        result.boundaries.append(
            {
                "evaluation": row["evaluation"],
                "seed": seed,
                "margin": row["margin"],
                "cell": row["cell"],
                "params": row["params"],
                "boundaries": {b.path: b.to_json() for b in found},
                "_found": found,
            }
        )
        if on_progress is not None:
            on_progress("boundaries", n + 1, len(chosen), len(result.failures))


def _write_outputs(
    result: SearchResult,
    settings: SearchSettings,
    scenario_path: Path,
    scenario: Scenario,
    out_dir: Path,
) -> None:
    space = result.space
    table.write_csv(out_dir, result.rows, space.paths)
    found: list[list[Boundary]] = [b.pop("_found") for b in result.boundaries]
    atomic_write_bytes(
        out_dir / "boundaries.json",
        (
            json.dumps({"tolerance": settings.tolerance, "failures": result.boundaries}, indent=2)
            + "\n"
        ).encode(),
    )
    failures = result.failures
    files = ["evaluations.jsonl", "evaluations.csv", "boundaries.json", "failures/"]
    if failures:
        box = envelope(space, [r["params"] for r in failures], found)
        text = rewrite_scenario(
            scenario_path,
            box.values(space),
            name=f"{scenario.name}-failure-region"[:64],
            description=f"Where scenegen search found {len(failures)} failures of the detector.",
            frames=max(len(failures), 1),
        )
        _write_region(out_dir / "failure_region.yaml", text)
        files.append("failure_region.yaml")
        _write_clusters(result, settings, scenario_path, scenario, out_dir, found, box)
        files.append("failure_regions/")
        if "kitti" in settings.formats:
            from scenegen.io.preview import save_contact_sheet

            save_contact_sheet(out_dir / "failures", out_dir / "failures.png", max_frames=24)
            files.append("failures.png")
    first = next((r["evaluation"] + 1 for r in result.rows if r["failure"]), None)
    result.summary = {
        "method": settings.method if settings.method != "qmc" else f"qmc-{settings.qmc_sequence}",
        "budget_renders": settings.budget,
        "renders": len(result.rows),
        "rendered_now": result.rendered,
        "points": len(result.steps),
        "failing_renders": len(failures),
        "failing_points": sum(s.result.failure for s in result.steps),
        "first_failure_render": first,
        "failure_cells": len(failure_cells(result.steps)),
        "cell_bins": settings.cell_bins,
        "expand": settings.expands,
        "probe_renders": sum(r.get("origin") == "expand" for r in result.rows),
        "boundary_renders": result.boundary_renders,
        "keys": [d.describe() for d in space.dimensions],
        "files": [*files, "summary.json"],
    }


def _write_region(path: Path, text: str) -> None:
    try:
        load_scenario_text(text, str(path))
    except ScenegenError as exc:  # a rewrite the loader refuses is a bug here, not input
        raise ScenegenError(f"the generated failure region {path} does not load: {exc}") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, text.encode("utf-8"))


def _write_clusters(
    result: SearchResult,
    settings: SearchSettings,
    scenario_path: Path,
    scenario: Scenario,
    out_dir: Path,
    found: list[list[Boundary]],
    envelope_box: Box,
) -> None:
    """``failure_regions/``: a scenario per failure cluster and ``index.json``; both
    report how many of the search's renders fell in each box, and failed, against the
    same for the envelope (``failure_region.yaml``)."""

    def share(box: Box) -> dict[str, int]:
        # what the search itself saw inside the box (its points are not uniform)
        inside = [r for r in result.rows if box.contains(r["params"])]
        return {
            "renders_inside": len(inside),
            "failing_inside": sum(bool(r["failure"]) for r in inside),
        }

    failures = result.failures
    position = {row["evaluation"]: i for i, row in enumerate(failures)}
    bisected = {
        position[b["evaluation"]]: boundaries
        for b, boundaries in zip(result.boundaries, found, strict=True)
    }
    clusters = cluster_failures(
        result.space, [r["params"] for r in failures], settings.cell_bins, bisected
    )
    entries = []
    for n, cluster in enumerate(clusters, start=1):
        name = f"region_{n:02d}.yaml"
        members = [failures[i] for i in cluster.members]
        text = rewrite_scenario(
            scenario_path,
            cluster.box.values(result.space),
            name=f"{scenario.name}-failure-region-{n:02d}"[:64],
            description=f"Failure cluster {n} of {len(clusters)} of scenegen search: "
            f"{len(members)} failing renders in {len(cluster.cells)} cells.",
            frames=len(members),
        )
        _write_region(out_dir / "failure_regions" / name, text)
        entries.append(
            {
                "file": name,
                "failing_renders": len(members),
                "evaluations": [r["evaluation"] for r in members],
                "cells": [list(c) for c in cluster.cells],
                "box": cluster.box.to_json(),
                **share(cluster.box),
            }
        )
    index = {
        "cell_bins": settings.cell_bins,
        "failing_renders": len(failures),
        "regions": entries,
        "envelope": {"file": "../failure_region.yaml", **share(envelope_box)},
    }
    atomic_write_bytes(
        out_dir / "failure_regions" / "index.json", (json.dumps(index, indent=2) + "\n").encode()
    )
