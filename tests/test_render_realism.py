"""Night and settled snow of rendered frames against their physical levels.

Night: relative unit 1.0 is about 10^4 lux (the lamp model's candela x 1e-4 / d^2); a
moonless urban night sky gives 0.1-1 lux, so an unlit night sky must stay near black while
a street lamp (3000 cd at 8 m: ~47 lux) leaves a bright pool on the road.
Snow: open ground under snow in the share that the snowfall rate gives.
"""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from conftest import ground_object, simple_world

from scenegen.effects import (
    linear_to_srgb_u8,
    settled_cover_for_rate,
    snow_patch_field,
    snow_patch_level,
)
from scenegen.effects.snow import SNOW_ALBEDO
from scenegen.scenario.spec import CameraSpec
from scenegen.sensors.camera_effects import auto_exposure_gain
from scenegen.sensors.rig import calibration_from_spec
from scenegen.sensors.shading import sky_light
from scenegen.world.types import MATERIALS, Light, MeshPart, WorldObject


@pytest.fixture(scope="module")
def renderer(gl_backend):
    from scenegen.sensors.camera import CameraRenderer

    with CameraRenderer() as r:
        yield r


def pixel_of(calib, point_world) -> tuple[int, int]:
    p = (calib.T_cam_from_world @ np.array([*point_world, 1.0]))[None, :3]
    u, v = calib.project(p)[0]
    return int(v), int(u)


def snow_share(snowy: np.ndarray, bare: np.ndarray, irradiance: np.ndarray) -> float:
    """Mean share of the surface under snow, from how much brighter it got: under the same
    light E, radiance goes from the bare (textured) surface's to SNOW_ALBEDO x E."""
    share = (snowy[:, 1] - bare[:, 1]) / (SNOW_ALBEDO * irradiance[:, 1] - bare[:, 1])
    return float(share.mean())


def irradiance_of(renderer, world, calib, obj_index: int) -> np.ndarray:
    """Per-pixel irradiance (rgb) on a world's object, read off a white reference: the same
    geometry shaded with the untextured ``reflective_white`` material (a grey card)."""
    from scenegen.sensors.shading import shade

    parts = world.objects[obj_index].parts
    original = [p.material for p in parts]
    for p in parts:
        p.material = "reflective_white"
    white, _ = shade(renderer.render(world, calib), world, calib, None)
    for p, m in zip(parts, original, strict=True):
        p.material = m
    return white / np.float32(MATERIALS["reflective_white"].albedo_rgb[1])


def test_sky_levels_follow_day_skyglow_and_twilight():
    clear_night, cloudy_night = sky_light(-30.0, 0.0), sky_light(-30.0, 1.0)
    assert clear_night.sky_irradiance == pytest.approx(2e-5)  # ~0.2 lux
    assert cloudy_night.sky_irradiance == pytest.approx(3 * 2e-5)  # clouds amplify skyglow
    assert sky_light(-6.0, 0.0).sky_irradiance == pytest.approx(3e-4 + 2e-5)  # ~3 lux
    # Clear sky, sun at 45 deg: diffuse light is 12-20 % of the global horizontal
    # irradiance (Erbs, Klein & Duffie, Solar Energy 28(4), 1982: diffuse fraction about
    # 0.16 at a clearness index of 0.75), so shadows are properly dark.
    clear = sky_light(45.0, 0.0)
    global_horizontal = clear.sky_irradiance + clear.sun_irradiance * np.sin(np.radians(45.0))
    assert 0.12 <= clear.sky_irradiance / global_horizontal <= 0.20
    # Full overcast keeps the daylight level it had (0.554): the sky is all the light.
    assert sky_light(30.0, 1.0).sky_irradiance == pytest.approx(0.555, abs=0.002)
    levels = [sky_light(e, 0.3).sky_irradiance for e in range(-20, 20)]
    assert levels == sorted(levels)  # brighter as the sun rises, never a step back
    # Overcast city nights glow warm (sodium / LED light reflected by the clouds).
    r, _, b = cloudy_night.sky_horizon_rgb
    assert r > b


def test_night_sky_stays_dark_and_a_street_lamp_pools_on_the_road(renderer):
    from scenegen.sensors.shading import shade

    calib = calibration_from_spec(CameraSpec(), None)
    world = simple_world([], sun_elevation_deg=-30.0)
    world.is_night, world.cloud_cover = True, 1.0
    world.lights = [Light((20.0, 0.0, 8.0), (1.0, 0.85, 0.65), 3000.0, (0.0, 0.0, -1.0), 50.0)]
    g = renderer.render(world, calib)
    radiance, _ = shade(g, world, calib, None)
    srgb = linear_to_srgb_u8(radiance, exposure=auto_exposure_gain(radiance), tone_map="filmic")
    under_lamp, far_road = pixel_of(calib, (20.0, 0.0, 0.0)), pixel_of(calib, (60.0, 6.0, 0.0))
    assert radiance[under_lamp].mean() > 20 * radiance[far_road].mean()
    assert srgb[under_lamp].mean() > 90
    sky = ~np.isfinite(g.depth_m)
    assert sky.mean() > 0.3
    # Even with nothing but a lamp to meter on, the sky stays well below the lit road.
    assert np.median(srgb[sky]) < 0.6 * srgb[under_lamp].mean()


def test_settled_cover_follows_snow_depth():
    assert settled_cover_for_rate(0.0) == 0.0
    # 10 x rate mm of snow after an hour, 20 mm hide the ground: 1 - exp(-depth / 20).
    for rate, expected in ((0.2, 0.0952), (1.5625, 0.5422), (7.29, 0.9739)):
        assert settled_cover_for_rate(rate) == pytest.approx(expected, abs=1e-3)
    rates = np.linspace(0, 20, 50)
    covers = [settled_cover_for_rate(r) for r in rates]
    assert covers == sorted(covers) and covers[-1] < 1.0
    with pytest.raises(ValueError, match="rate_mm_h"):
        settled_cover_for_rate(-1.0)


def test_snow_patch_field_is_fixed_to_the_world_and_evenly_spread():
    x, y = np.meshgrid(
        np.linspace(150, 350, 600, dtype=np.float32), np.linspace(-140, -60, 300, dtype=np.float32)
    )
    field = snow_patch_field(x, y)
    assert np.array_equal(field, snow_patch_field(x.copy(), y.copy()))
    assert field.min() >= -1.0 and field.max() <= 1.0
    # The shading covers a surface where the field lies below snow_patch_level(c): that
    # must be c of the ground's area, here on another stretch of ground than its sample.
    for cover in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert (field < snow_patch_level(cover)).mean() == pytest.approx(cover, abs=0.03)


def test_settled_snow_covers_open_ground_in_its_share(renderer):
    from scenegen.sensors.shading import shade

    calib = calibration_from_spec(CameraSpec(), None)
    grass = trimesh.creation.box(extents=(200.0, 120.0, 0.02))
    grass.apply_translation((80.0, 0.0, -0.01))
    terrain = WorldObject("grass", "terrain", [MeshPart(grass, "grass")], np.eye(4))
    world = simple_world([], sun_elevation_deg=40.0)
    world.objects = [terrain]
    g = renderer.render(world, calib)
    bare, _ = shade(g, world, calib, None)
    irradiance = irradiance_of(renderer, world, calib, 0)
    for rate in (0.5, 3.0):
        world.snow_rate_mm_h = rate
        snowy, _ = shade(g, world, calib, None)
        ground = np.isfinite(g.depth_m) & (g.depth_m < 60)
        covered = snow_share(snowy[ground], bare[ground], irradiance[ground])
        assert covered == pytest.approx(settled_cover_for_rate(rate), abs=0.06)
    world.snow_rate_mm_h = 0.0
    assert np.array_equal(shade(g, world, calib, None)[0], bare)


def test_road_keeps_most_of_its_surface_clear_of_snow(renderer):
    from scenegen.sensors.shading import shade

    calib = calibration_from_spec(CameraSpec(), None)
    world = simple_world([], sun_elevation_deg=40.0)
    world.objects = [ground_object()]  # asphalt, semantic road
    g = renderer.render(world, calib)
    bare, _ = shade(g, world, calib, None)
    irradiance = irradiance_of(renderer, world, calib, 0)
    world.snow_rate_mm_h = 3.0
    snowy, _ = shade(g, world, calib, None)
    road = np.isfinite(g.depth_m) & (g.depth_m < 60)
    covered = snow_share(snowy[road], bare[road], irradiance[road])
    assert covered == pytest.approx(0.35 * settled_cover_for_rate(3.0), abs=0.06)
