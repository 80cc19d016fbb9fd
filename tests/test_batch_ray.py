"""The Ray engine renders the same bytes as the process pool (local Ray instance)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from scenegen.batch.engine import ProcessEngine
from scenegen.batch.plan import plan_batch
from scenegen.batch.ray_engine import RayEngine, RayOptions
from scenegen.batch.runner import render_batch
from scenegen.errors import ScenegenError

TINY = """\
version: 1
name: tiny-ray
seed: 4
sensors:
  camera: {width: 320, height: 96, fov_deg: 90}
  lidar: {preset: vlp16, azimuth_steps: 360}
actors:
  - {class: car, count: "randint(1, 4)"}
  - {class: pedestrian, count: "randint(0, 2)", placement: sidewalk}
"""


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """One small local Ray instance for the module: 2 CPUs, a 100 MB object store, its
    session files in a temporary folder removed afterwards."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    temp_dir = tmp_path_factory.mktemp("ray")
    # Ray >= 2.5x otherwise writes an authentication token into the home folder.
    saved_auth_mode = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(
        num_cpus=2,
        object_store_memory=100 * 1024 * 1024,
        include_dashboard=False,
        _temp_dir=str(temp_dir),
        log_to_driver=False,
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)
        if saved_auth_mode is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved_auth_mode


def test_ray_engine_output_is_byte_identical_to_the_process_pool(tmp_path, gl_backend, local_ray):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    # A relative scenario path: Ray workers start elsewhere, the engine must resolve it.
    plan = plan_batch([Path(os.path.relpath(scenario))], 5, 11)
    render_batch(plan, tmp_path / "pool", engine=ProcessEngine(2))
    summary = render_batch(
        plan,
        tmp_path / "ray",
        engine=RayEngine(RayOptions(actors=2, gl_backend=gl_backend.name)),
    )
    assert summary.frames == 5
    pool, ray_files = _files(tmp_path / "pool"), _files(tmp_path / "ray")
    assert any(name.endswith(".bin") for name in pool)  # LiDAR included
    assert pool.keys() == ray_files.keys()
    assert [name for name in pool if pool[name] != ray_files[name]] == []
    # The connection the caller opened is left open for the caller.
    assert local_ray.is_initialized()


def test_ray_worker_errors_reach_the_caller_without_a_remote_traceback(
    tmp_path, gl_backend, local_ray
):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    plan = plan_batch([scenario], 2, 1)
    scenario.write_text("version: 1\nname: changed\nroad: {lanes: 99}\n")  # broken after planning
    with pytest.raises(ScenegenError) as caught:
        render_batch(
            plan,
            tmp_path / "ray",
            engine=RayEngine(RayOptions(actors=1, gl_backend=gl_backend.name)),
        )
    message = str(caught.value)
    assert message.startswith(f"{scenario}:") and "road.lanes" in message
    assert "Traceback" not in message


def test_ray_options_are_checked_before_anything_starts():
    with pytest.raises(ScenegenError, match="whole number"):
        RayOptions(gpus_per_task=1.5)
    with pytest.raises(ScenegenError, match=">= 0"):
        RayOptions(cpus_per_task=-1)
    with pytest.raises(ScenegenError, match="GL backend"):
        RayOptions(gl_backend="vulkan")
