"""EGL device choice: which GPU each worker renders on, decided by pure functions of the
worker index, the machine's EGL devices and the environment, tested without a GPU; and a
real render on an explicitly chosen EGL device of this machine."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

from scenegen.batch.engine import ProcessEngine, default_workers
from scenegen.batch.settings import parse_render_settings
from scenegen.sensors.gl import (
    EGLDevice,
    GLBackend,
    GLBackendError,
    egl_device_for_worker,
    worker_environment,
)

# Extension strings as drivers report them (eglQueryDeviceStringEXT(dev, EGL_EXTENSIONS)).
NVIDIA = "EGL_NV_device_cuda EGL_EXT_device_drm EGL_EXT_device_drm_render_node"
MESA_SOFTWARE = "EGL_MESA_device_software EGL_EXT_device_drm_render_node"


def backend_with(*extensions: str, name: str = "egl") -> GLBackend:
    devices = tuple(EGLDevice(i, ext) for i, ext in enumerate(extensions))
    return GLBackend(name, "NVIDIA H100/PCIe/SSE2", "NVIDIA Corporation", "4.6", devices)


def test_gpus_are_the_devices_that_are_not_mesa_software():
    four_gpus_and_llvmpipe = backend_with(NVIDIA, NVIDIA, NVIDIA, NVIDIA, MESA_SOFTWARE)
    assert four_gpus_and_llvmpipe.gpu_devices == (0, 1, 2, 3)
    # The software device may come first: the GPUs keep their EGL indices.
    assert backend_with(MESA_SOFTWARE, NVIDIA, NVIDIA).gpu_devices == (1, 2)
    assert backend_with(MESA_SOFTWARE).gpu_devices == ()
    # A device whose query failed (empty string) is not taken for a GPU.
    assert backend_with("", NVIDIA).gpu_devices == (1,)
    # OSMesa renders in software whatever devices EGL would list.
    assert backend_with(NVIDIA, name="osmesa").gpu_devices == ()


@pytest.mark.parametrize(
    ("gpus", "expected"),
    [
        ((0, 1, 2, 3), (0, 1, 2, 3, 0, 1, 2, 3)),  # worker k on device k % 4
        ((1, 2), (1, 2, 1, 2, 1, 2, 1, 2)),  # indices of the GPUs, not 0..N-1
        ((0,), (0,) * 8),
        ((), (None,) * 8),  # no GPU: the platform's default device
    ],
)
def test_worker_k_renders_on_gpu_k_mod_n(gpus, expected):
    assert tuple(egl_device_for_worker(k, gpus, {}) for k in range(8)) == expected


def test_egl_device_id_in_the_environment_pins_every_worker():
    env = {"EGL_DEVICE_ID": "2", "HOME": "/root"}
    assert [egl_device_for_worker(k, (0, 1, 2, 3), env) for k in range(4)] == [2, 2, 2, 2]
    # Pinned even where no GPU was detected (the user knows the machine).
    assert egl_device_for_worker(0, (), env) == 2
    # An empty value is no choice.
    assert egl_device_for_worker(1, (0, 1), {"EGL_DEVICE_ID": ""}) == 1


def test_a_bad_device_variable_or_worker_index_is_refused():
    with pytest.raises(GLBackendError, match="EGL_DEVICE_ID='gpu1': expected an EGL device index"):
        egl_device_for_worker(0, (0, 1), {"EGL_DEVICE_ID": "gpu1"})
    with pytest.raises(ValueError, match="worker_index must be >= 0, got -1"):
        egl_device_for_worker(-1, (0, 1), {})
    # The engine refuses it when it is made, before any worker starts.
    with pytest.raises(GLBackendError, match="EGL_DEVICE_ID='gpu1'"):
        ProcessEngine(2, (0, 1), {"EGL_DEVICE_ID": "gpu1"})


def test_the_worker_environment_names_its_device():
    assert worker_environment(3) == {"EGL_DEVICE_ID": "3"}
    assert worker_environment(None) == {}


def test_default_workers_are_one_per_gpu():
    assert default_workers((0, 1, 2, 3, 4, 5, 6, 7)) == 8
    assert default_workers((1,)) == 1
    # Without GPUs: two, the fastest measured on the 2-core machine (or one core's one).
    assert 1 <= default_workers() <= 2


def test_the_engine_deals_the_gpus_to_its_workers():
    settings = parse_render_settings()
    engine = settings.make_engine("egl", (0, 1, 2, 3), {})
    assert engine == ProcessEngine(4, (0, 1, 2, 3), {})
    assert engine.worker_devices() == (0, 1, 2, 3)
    assert engine.describe() == "4 worker processes on EGL devices 0, 1, 2, 3"
    # --workers wins over the GPU count; the GPUs are still dealt in turn.
    six = parse_render_settings(workers=6).make_engine("egl", (0, 1), {})
    assert six.worker_devices() == (0, 1, 0, 1, 0, 1)
    pinned = parse_render_settings(workers=2).make_engine("egl", (0, 1), {"EGL_DEVICE_ID": "1"})
    assert pinned.worker_devices() == (1, 1)
    assert pinned.describe() == "2 worker processes on EGL device 1, 1"
    assert parse_render_settings(workers=2).make_engine("egl").describe() == ("2 worker processes")


@pytest.fixture(scope="module")
def scene(gl_backend):
    if gl_backend.name != "egl":
        pytest.skip("choosing an EGL device needs the EGL backend")
    from scenegen.scenario import load_scenario, sample_scene
    from scenegen.sensors.rig import calibration_from_spec
    from scenegen.world.build import build_world

    spec = sample_scene(load_scenario(REPO / "scenarios" / "clear_day_urban.yaml"), 0, 0, 1)
    return build_world(spec), calibration_from_spec(spec.camera, spec.lidar)


def test_rendering_on_an_explicit_egl_device_gives_the_same_gbuffer(scene, gl_backend):
    from scenegen.sensors.camera import CameraRenderer

    world, calib = scene
    with CameraRenderer() as default:
        ref = default.render(world, calib)
    device = len(gl_backend.egl_devices) - 1  # the last one this machine has
    with CameraRenderer(egl_device=device) as chosen:
        got = chosen.render(world, calib)
    np.testing.assert_array_equal(got.node_ids, ref.node_ids)
    np.testing.assert_array_equal(got.depth_m, ref.depth_m)
    assert np.isfinite(ref.depth_m).mean() > 0.3  # the street is in view


def test_a_device_the_machine_lacks_is_an_error_naming_the_count(scene, gl_backend):
    from scenegen.sensors.camera import CameraRenderer

    world, calib = scene
    count = len(gl_backend.egl_devices)
    message = f"EGL device {count + 3} does not exist"
    with (
        CameraRenderer(egl_device=count + 3) as camera,
        pytest.raises(GLBackendError, match=message),
    ):
        camera.render(world, calib)
