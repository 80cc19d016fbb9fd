"""Procedural surface textures: fixed to the world, faded below a pixel, invisible to
the labels."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import box_object, simple_world

from scenegen.labels.objects import compute_labels
from scenegen.scenario.spec import CameraSpec
from scenegen.sensors.rig import calibration_from_spec
from scenegen.sensors.textures import load_textures, noise_tile, texture_factor
from scenegen.world.types import MATERIALS


@pytest.fixture(scope="module")
def renderer(gl_backend):
    from scenegen.sensors.camera import CameraRenderer

    with CameraRenderer() as r:
        yield r


def test_noise_tile_is_standardised_and_tiles_seamlessly():
    tile = noise_tile().astype(np.float64)
    assert tile.mean() == pytest.approx(0.0, abs=1e-6)
    assert tile.std() == pytest.approx(1.0, rel=1e-6)
    # Across the wrap the tile continues as smoothly as anywhere inside it.
    inside = np.abs(np.diff(tile, axis=1)).mean()
    across = np.abs(tile[:, 0] - tile[:, -1]).mean()
    assert across == pytest.approx(inside, rel=0.15)


def test_textures_vary_up_close_and_fade_to_their_mean_beyond_a_pixel():
    rng = np.random.default_rng(0)
    points = rng.uniform(-50, 50, (3, 20000)).astype(np.float32)
    points[2] = 0.0  # on the ground
    asphalt = load_textures()["asphalt"]
    near = texture_factor(asphalt, points, np.full(20000, 0.005, np.float32))[:, 1]
    far = texture_factor(asphalt, points, np.full(20000, 50.0, np.float32))[:, 1]
    layers = np.sqrt(sum(layer.amplitude**2 for layer in asphalt.layers))
    assert near.std() == pytest.approx(layers, rel=0.35)  # every layer shows up close
    assert far.std() < 0.1 * near.std()  # all finer than the pixel: averaged away
    assert far.mean() == pytest.approx(1.0, abs=0.05)
    # Fixed to the world: the same points give the same factors, whatever the camera.
    again = texture_factor(asphalt, points.copy(), np.full(20000, 0.005, np.float32))[:, 1]
    assert np.array_equal(near, again)


def test_every_material_texture_is_defined():
    textures = load_textures()
    used = {m.texture for m in MATERIALS.values() if m.texture}
    assert used and used <= set(textures)


def test_textures_change_the_image_but_not_masks_or_boxes(renderer):
    from scenegen.sensors.shading import shade

    calib = calibration_from_spec(CameraSpec(), None)
    world = simple_world([box_object(1, 12.0, 1.0), box_object(2, 20.0, -3.0)])
    textured = renderer.render(world, calib)
    radiance_textured, _ = shade(textured, world, calib, None)
    labels_textured, _ = compute_labels(world, textured.instance_ids, calib, 10)
    for obj in world.objects:  # the same geometry in untextured materials
        for part in obj.parts:
            part.material = "reflective_white" if obj.instance_id == 0 else "headlight"
    plain = renderer.render(world, calib)
    radiance_plain, _ = shade(plain, world, calib, None)
    labels_plain, _ = compute_labels(world, plain.instance_ids, calib, 10)
    assert np.array_equal(textured.instance_ids, plain.instance_ids)
    assert np.array_equal(textured.depth_m, plain.depth_m)
    assert len(labels_textured) == 2
    for a, b in zip(labels_textured, labels_plain, strict=True):
        assert a.instance_id == b.instance_id and np.array_equal(a.box_2d, b.box_2d)
    # The textured road is not flat: neighbouring pixels of the near road differ.
    road = radiance_textured[300:370, 100:1100, 1]
    flat_road = radiance_plain[300:370, 100:1100, 1]
    assert np.std(road / road.mean()) > 5 * np.std(flat_road / flat_road.mean())
