"""The torch shading backend is the numpy one: same radiance within float32 rounding.

Real G-buffers (rendered by the camera from the project's scenarios) are shaded by both
backends on the CPU; the tests never need a GPU. The scenarios cover every term of the
model: the midday sun with ray-cast shadows (refined at their edges), glossy highlights and
the procedural textures (clear day); street lamps and headlights under fog, rain and a wet
road at night; settled snow on a rural road.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

torch = pytest.importorskip("torch", reason="the torch shading backend needs torch")

CASES = {
    "clear_day_urban.yaml": "midday sun, shadows, highlights, textures",
    "night_jaywalker.yaml": "night: lamps and headlights, fog, rain, wet road",
    "snow_rural_animal.yaml": "settled snow, textures",
}
# Per pixel, relative to the pixel's own level plus the frame's bright (99th percentile)
# level. Reordered float32 sums and the bilinear look-ups differ by ~1e-7..5e-5 of that;
# a missing term, a wrong constant or a half-pixel shift of an upsampled field is 1e-3 or
# more (the mutation tests below check that the tolerance catches such errors).
TOLERANCE = 1e-4


def shows_the_case(name: str, spec, world) -> bool:
    weather = spec.environment.weather
    if name == "night_jaywalker.yaml":
        return bool(
            world.is_night
            and world.lights
            and weather.fog_visibility_m < 1000
            and weather.rain_rate_mm_h > 0
            and world.road_wetness > 0
        )
    if name == "snow_rural_animal.yaml":
        return world.snow_rate_mm_h > 0
    return world.sun_elevation_deg > 20 and world.cloud_cover < 0.5


def relative_error(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    scale = max(float(np.percentile(ref, 99)), 1e-6)
    return np.abs(got - ref) / (np.abs(ref) + scale)


@pytest.fixture(scope="module")
def gbuffers(gl_backend):
    """Per (scenario, frame): (world, calibration, G-buffer, raycaster, grid, spec)."""
    from scenegen.scenario import load_scenario, sample_scene
    from scenegen.sensors.camera import CameraRenderer
    from scenegen.sensors.raycast import WorldRaycaster
    from scenegen.sensors.rig import calibration_from_spec
    from scenegen.sensors.shading import PixelGrid
    from scenegen.world.build import build_world

    out = {}
    with CameraRenderer() as camera:
        for name in CASES:
            scenario = load_scenario(REPO / "scenarios" / name)
            # The first two sampled frames that show what the case is about.
            specs = (sample_scene(scenario, i, 0, 16) for i in range(16))
            worlds = ((spec, build_world(spec)) for spec in specs)
            chosen = [sw for sw in worlds if shows_the_case(name, *sw)][:2]
            assert len(chosen) == 2, f"{name}: fewer than two frames show {CASES[name]}"
            for index, (spec, world) in enumerate(chosen):
                calib = calibration_from_spec(spec.camera, spec.lidar)
                gbuffer = camera.render(world, calib)
                out[(name, index)] = (world, calib, gbuffer, WorldRaycaster(world))
                out[(name, index)] += (PixelGrid.of(calib), spec)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("index", [0, 1])
def test_torch_radiance_equals_numpy_radiance(gbuffers, name, index):
    from scenegen.sensors.shading import shade

    world, calib, gbuffer, raycaster, grid, spec = gbuffers[(name, index)]
    ref, light_ref = shade(gbuffer, world, calib, raycaster, grid)
    got, light = shade(gbuffer, world, calib, raycaster, grid, backend="torch")
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert light.sun_irradiance == light_ref.sun_irradiance
    np.testing.assert_array_equal(light.sky_horizon_rgb, light_ref.sky_horizon_rgb)
    err = relative_error(got, ref)
    assert float(err.max()) < TOLERANCE, (name, index, float(err.max()))
    # The frame shades something, including the case's own terms.
    assert float(ref.std()) > 0
    assert shows_the_case(name, spec, world)
    if name == "clear_day_urban.yaml":
        assert any(gbuffer.nodes.texture)


def test_the_tolerance_catches_a_small_model_error(gbuffers, monkeypatch):
    """A sky term weighted 0.46 instead of 0.45 (one constant, about a 1 % change of the
    sky light on walls) fails the comparison: the tolerance sees a wrong formula, not only
    a missing term."""
    import scenegen.sensors.shading_torch as shading_torch
    from scenegen.sensors.shading import shade

    world, calib, gbuffer, raycaster, grid, _spec = gbuffers[("clear_day_urban.yaml", 0)]
    ref, _ = shade(gbuffer, world, calib, raycaster, grid)
    monkeypatch.setattr(shading_torch, "SKY_TERM_UP_WEIGHT", 0.46)
    got, _ = shade(gbuffer, world, calib, raycaster, grid, backend="torch")
    assert float(relative_error(got, ref).max()) > 10 * TOLERANCE


def test_full_night_frame_with_fog_rain_and_wet_road_is_the_same_image(gbuffers):
    """Through the whole camera (fog, rain streaks, wet-road reflections, lens, sensor
    noise, ISP), the torch backend's 8-bit image equals the numpy one's but for a few
    pixels: a dark pixel's photon count is a Poisson draw (effects/sensor.py) that a mean
    moved by float32 rounding can tip to the next count, which the night gain turns into a
    few grey levels."""
    from scenegen.pipeline import FrameRenderer

    world, *_, spec = gbuffers[("night_jaywalker.yaml", 0)]
    assert shows_the_case("night_jaywalker.yaml", spec, world)
    with FrameRenderer(lidar=False) as numpy_renderer:
        ref = numpy_renderer.render(spec).rgb
    with FrameRenderer(lidar=False, shading_backend="torch") as torch_renderer:
        got = torch_renderer.render(spec).rgb
    diff = np.abs(got.astype(np.int16) - ref.astype(np.int16))
    assert float((diff > 0).mean()) < 1e-3
    assert float((diff > 2).mean()) < 2e-4
    assert float(diff.mean()) < 0.01
    assert float(ref.std()) > 1


def test_unknown_backend_is_refused(gbuffers):
    from scenegen.sensors.shading import shade

    world, calib, gbuffer, raycaster, grid, _spec = gbuffers[("clear_day_urban.yaml", 0)]
    with pytest.raises(ValueError, match="unknown shading backend 'cupy'; expected numpy or torch"):
        shade(gbuffer, world, calib, raycaster, grid, backend="cupy")


def test_torch_backend_shades_on_cuda_when_present_else_the_cpu():
    from scenegen.sensors.shading_torch import shading_device

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert shading_device() == expected


def test_importing_the_numpy_shading_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys; import scenegen.pipeline, scenegen.sensors.shading; "
        "print('torch' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert proc.stdout.strip() == "False"


def test_render_settings_carry_the_shading_backend_to_the_renderer(tmp_path, gl_backend):
    """``render --shading-backend torch`` reaches the frame renderer of every worker, and
    the frames it writes have the labels of the numpy render (shading changes pixels only)."""
    import json

    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch
    from scenegen.batch.settings import parse_render_settings
    from scenegen.batch.worker import FrameWorker, RenderJob

    settings = parse_render_settings(shading_backend="torch")
    assert settings.shading_backend == "torch"
    job = RenderJob(str(tmp_path / "x"), ("kitti",), lidar=False, shading_backend="torch")
    with FrameWorker(job) as worker:
        assert worker._renderer.shading_backend == "torch"
    plan = plan_batch([REPO / "scenarios" / "clear_day_urban.yaml"], 1, 0)
    labels = {}
    for backend in ("numpy", "torch"):
        out = tmp_path / backend
        render_batch(plan, out, formats=("kitti",), lidar=False, shading_backend=backend)
        labels[backend] = (out / "kitti" / "training" / "label_2" / "000000.txt").read_text()
        manifest = [json.loads(line) for line in (out / "manifest.jsonl").open()]
        assert len(manifest) == 1
    assert labels["torch"] == labels["numpy"] and labels["numpy"].strip()


def test_the_tile_look_up_follows_opencvs_remap():
    """The torch look-up of the noise tile equals OpenCV's remap (the numpy path's) on
    random coordinates, whichever interpolation grid the installed OpenCV uses."""
    from scenegen.sensors.textures import _sample, noise_tile
    from scenegen.sensors.textures_torch import _sample as sample_torch

    rng = np.random.default_rng(3)
    u = rng.uniform(-300, 300, 50_000).astype(np.float32)
    v = rng.uniform(-300, 300, 50_000).astype(np.float32)
    ref = _sample(noise_tile(), u, v, 0.3, 1)
    tile = torch.as_tensor(noise_tile().reshape(-1).copy())
    got = sample_torch(torch, tile, torch.as_tensor(u), torch.as_tensor(v), 0.3, 1).numpy()
    # Values are unit-variance noise: float32 rounding of a 4-term sum is ~1e-6.
    assert float(np.abs(got - ref).max()) < 1e-5
    assert float(ref.std()) > 0.5
