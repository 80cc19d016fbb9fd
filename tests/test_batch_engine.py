"""The batch engine interface: engines are interchangeable, settings are checked in one
place, an interrupted run leaves no scratch files, the bench renders through an engine."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import pytest

from scenegen.batch.engine import Engine, InProcessEngine, ProcessEngine
from scenegen.batch.plan import FrameTask, plan_batch
from scenegen.batch.ray_engine import RayEngine
from scenegen.batch.runner import render_batch
from scenegen.batch.settings import parse_render_settings
from scenegen.batch.worker import FrameResult, RenderJob
from scenegen.errors import InvalidInputError

TINY = """\
version: 1
name: tiny
sensors:
  camera: {width: 160, height: 64, fov_deg: 90}
  lidar: false
actors:
  - {class: car, count: 2}
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_every_engine_satisfies_the_protocol():
    for engine in (InProcessEngine(), ProcessEngine(2), RayEngine()):
        assert isinstance(engine, Engine)
    assert ProcessEngine(3).describe() == "3 worker processes"


def test_workers_are_honoured_by_the_ray_engine_not_ignored():
    settings = parse_render_settings(engine="ray", workers=3, ray_gpus_per_task=0.5)
    engine = settings.make_engine("egl")
    assert isinstance(engine, RayEngine)
    assert engine.options.actors == 3 and engine.options.gpus_per_task == 0.5
    assert engine.options.gl_backend == "egl"
    assert engine.describe().startswith("3 Ray worker(s)")
    process = parse_render_settings(workers=3).make_engine()
    assert process == ProcessEngine(3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"engine": "dask"}, "--engine 'dask'"),
        ({"gl_backend": "vulkan"}, "--gl 'vulkan'"),
        ({"formats": "kitti,voc"}, "--formats 'kitti,voc'"),
        ({"pointcloud": "las"}, "--pointcloud 'las'"),
        ({"shard": "3/2"}, "--shard '3/2'"),
        ({"workers": 0}, "--workers 0"),
        ({"address": "auto"}, "--address needs --engine ray"),
        ({"engine": "ray", "ray_gpus_per_task": 1.5}, "whole number"),
        ({"shading_backend": "cupy"}, "--shading-backend 'cupy': expected numpy or torch"),
    ],
)
def test_render_settings_refuse_bad_options_naming_them(options, message):
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(")):
        parse_render_settings(**options)


class _FailsAfterOneFrame:
    """An engine that writes one frame, leaves a half-written file behind (as a worker
    killed mid-write does), then is interrupted."""

    def __init__(self) -> None:
        self.inner = InProcessEngine()

    def describe(self) -> str:
        return "a failing engine"

    def results(self, job: RenderJob, tasks: Sequence[FrameTask]) -> Iterator[FrameResult]:
        yield from self.inner.results(job, tasks[:1])
        torn = Path(job.out_dir) / "kitti/training/image_2/.000001.png.tmp-99999"
        torn.write_bytes(b"half a png")
        raise KeyboardInterrupt


def test_an_interrupted_run_leaves_no_temporaries_and_resumes(scenario, tmp_path, gl_backend):
    plan = plan_batch([scenario], 2, 5)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        render_batch(plan, out, engine=_FailsAfterOneFrame(), lidar=False)
    assert not list(out.rglob("*.tmp-*"))
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 1
    summary = render_batch(plan, out, lidar=False, resume=True)
    assert (summary.frames, summary.skipped_existing) == (1, 1)
    whole = tmp_path / "whole"
    render_batch(plan, whole, engine=ProcessEngine(2), lidar=False)
    for name in ("coco/annotations.json", "kitti/training/image_2/000001.png"):
        assert (out / name).read_bytes() == (whole / name).read_bytes()


def test_the_bench_renders_through_an_engine_with_an_atomic_cache_key(
    scenario, tmp_path, gl_backend
):
    from scenegen.harness.bench import render_scenarios

    out = tmp_path / "bench"
    calls: list[tuple[int, int]] = []

    def render() -> Path:
        return render_scenarios(
            [scenario], 2, 9, out, image_scale=0.5, lidar=False, on_frame=lambda *a: calls.append(a)
        )

    render()
    assert calls == [(1, 2), (2, 2)]
    image = cv2.imread(str(out / "kitti/training/image_2/000001.png"))
    assert image.shape[:2] == (32, 80)  # the camera scaled by 0.5
    key = json.loads((out / "bench_render.json").read_text())
    assert key["image_scale"] == 0.5 and key["frames_per_scenario"] == 2
    assert not list(out.glob(".*"))  # the key went through a temporary that is gone
    render()  # a finished render with the same settings is reused
    assert len(calls) == 2
