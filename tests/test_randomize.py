"""Domain randomisation (`randomize:`): validated keys, per-frame camera jitter that the
written calibration and the labels follow exactly, recoloured materials, scaled light and
unlabelled distractors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scenegen.errors import ScenarioError
from scenegen.io import read_kitti_frame, read_manifest
from scenegen.scenario import load_scenario_text, sample_scene
from scenegen.scenario.spec import RandomizeSpec
from scenegen.sensors.shading import sky_light
from scenegen.world import build_world, build_world_with_report
from scenegen.world.types import MATERIALS

BASE = """version: 1
name: dr
road: {type: urban, lanes: 2}
actors:
  - {class: car, count: 6, parked_fraction: 0.5}
  - {class: pedestrian, count: 2}
"""
FULL = (
    BASE
    + """randomize:
  colour_jitter: 0.2
  light_intensity_jitter: 0.3
  light_colour_jitter: 0.1
  camera_height_m: 0.1
  camera_pitch_deg: 1.0
  focal_jitter: 0.05
  principal_point_px: 10
  distractors: 8
"""
)


def _spec(text: str, frame: int = 0, seed: int = 0):
    return sample_scene(load_scenario_text(text, "dr.yaml"), frame, seed, 4)


def test_without_the_block_nothing_changes():
    plain, empty = _spec(BASE), _spec(BASE + "randomize: {}\n")
    assert plain.randomize == RandomizeSpec() == empty.randomize
    assert not [k for k in plain.params if k.startswith("randomize")]
    assert empty.camera == plain.camera  # zero amplitudes: the preset's camera exactly
    world, report = build_world_with_report(plain)
    assert world.light_level_scale == 1.0 and world.sun_colour_scale_rgb == (1.0, 1.0, 1.0)
    assert report.distractors_skipped == 0


@pytest.mark.parametrize(
    "line, expected",
    [
        ("  focal_jitter: 0.5\n", r"dr\.yaml:8:\d+: randomize\.focal_jitter: .*0\.2"),
        ("  distractors: 2.5\n", r"dr\.yaml:8:\d+: randomize\.distractors: .*integer"),
        ("  colour_jiter: 0.1\n", r"dr\.yaml:8:\d+: randomize\.colour_jiter: .*colour_jitter"),
        ("  camera_pitch_deg: uniform(-1, 9)\n", r"dr\.yaml:8:\d+: randomize\.camera_pitch_deg"),
    ],
)
def test_bad_keys_name_file_line_key_and_expectation(line, expected):
    with pytest.raises(ScenarioError, match=expected):
        load_scenario_text(BASE + "randomize:\n" + line, "dr.yaml")


def test_camera_jitter_stays_inside_its_amplitudes_and_varies_per_frame():
    nominal = _spec(BASE).camera
    cams = [_spec(FULL, i).camera for i in range(4)]
    for cam in cams:
        assert abs(cam.height_m - nominal.height_m) <= 0.1
        assert abs(cam.pitch_deg - nominal.pitch_deg) <= 1.0
        assert abs(cam.fx / nominal.fx - 1) <= 0.05 and cam.fx == cam.fy  # square pixels
        assert abs(cam.cx - nominal.cx) <= 10 and abs(cam.cy - nominal.cy) <= 10
    assert len({c.fx for c in cams}) == 4 and len({c.cy for c in cams}) == 4
    assert _spec(FULL, 2).camera == cams[2]  # same frame, same camera


def test_colours_are_jittered_per_material_within_the_amplitude():
    plain, jittered = build_world(_spec(BASE)), build_world(_spec(FULL))
    # The world's own draws are untouched, so the labelled actors are the same ones.
    assert [o.pose_world.tolist() for o in plain.labelled()] == [
        o.pose_world.tolist() for o in jittered.labelled()
    ]
    factors: dict[str, set] = {}
    for a, b in zip(plain.labelled(), jittered.labelled(), strict=True):
        for pa, pb in zip(a.parts, b.parts, strict=True):
            assert pa.material == pb.material  # LiDAR reflectivity comes from the material
            base = np.asarray(pa.albedo_rgb or MATERIALS[pa.material].albedo_rgb)
            got = np.asarray(pb.albedo_rgb)
            ok = base > 0.02
            ratio = got[ok] / base[ok]
            unclipped = got[ok] < 1.0
            assert np.all(np.abs(ratio[unclipped] - 1) <= 0.2 + 1e-9)
            if ok.all() and unclipped.all():
                factors.setdefault(pa.material, set()).add(tuple(np.round(ratio, 6)))
    # One factor per material and frame: every car's paint shifts the same way.
    assert len(factors) >= 3 and all(len(f) == 1 for f in factors.values()), factors
    assert any(f != {(1.0, 1.0, 1.0)} for f in factors.values())
    assert build_world(_spec(FULL)).labelled()[0].parts[0].albedo_rgb == (
        jittered.labelled()[0].parts[0].albedo_rgb
    )


def test_light_is_scaled_by_the_drawn_factors():
    world = build_world(_spec(FULL))
    assert abs(world.light_level_scale - 1) <= 0.3
    assert all(abs(c - 1) <= 0.1 for c in world.sun_colour_scale_rgb)
    base = sky_light(45.0, 0.2)
    scaled = base.scaled(world.light_level_scale, world.sun_colour_scale_rgb)
    assert scaled.sun_irradiance == pytest.approx(base.sun_irradiance * world.light_level_scale)
    assert scaled.sky_irradiance == pytest.approx(base.sky_irradiance * world.light_level_scale)
    np.testing.assert_allclose(
        scaled.sun_color, base.sun_color * np.asarray(world.sun_colour_scale_rgb), rtol=1e-6
    )


def test_distractors_are_unlabelled_clutter_off_the_road():
    spec = _spec(FULL)
    world, report = build_world_with_report(spec)
    plain = build_world(replace(spec, randomize=replace(spec.randomize, distractors=0)))
    clutter = [o for o in world.objects if o.name.startswith("distractor_")]
    assert len(clutter) == 8 - report.distractors_skipped >= 6
    assert all(o.instance_id == 0 and o.class_name is None for o in clutter)
    assert len(world.labelled()) == len(plain.labelled())
    lanes_half_width = report.layout.lanes_width_m / 2
    for obj in clutter:
        _, t = report.layout.road_coords(obj.pose_world[0, 3], obj.pose_world[1, 3])
        assert abs(float(t)) > lanes_half_width  # never on the lanes


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, gl_backend) -> Path:
    from scenegen.batch.engine import InProcessEngine
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch

    folder = tmp_path_factory.mktemp("dr")
    scenario = folder / "dr.yaml"
    scenario.write_text(FULL.replace("count: 6", "count: 10"))
    out = folder / "out"
    render_batch(plan_batch([scenario], 3, 5), out, formats=("kitti",), engine=InProcessEngine())
    return out


def test_written_calibration_is_the_jittered_camera(rendered):
    records = read_manifest(rendered)
    fx = set()
    for record in records:
        frame = read_kitti_frame(rendered / "kitti" / "training", str(record["frame_id"]))
        k = frame.calibration.intrinsics
        p = record["params"]
        assert k.fx == pytest.approx(p["randomize.camera.fx"], rel=1e-9)
        assert k.cx == pytest.approx(p["randomize.camera.cx"], rel=1e-9)
        assert k.cy == pytest.approx(p["randomize.camera.cy"], rel=1e-9)
        fx.add(round(k.fx, 6))
    assert len(fx) == len(records) == 3


def test_projected_3d_boxes_enclose_the_2d_boxes(rendered):
    """Read back from disk, each object's 3D box projected with its frame's (jittered)
    calibration encloses its 2D box: the mesh lies inside its 3D box, and the 2D box is the
    mesh's visible pixels (a wrong camera would shift or scale one against the other)."""
    checked = 0
    for record in read_manifest(rendered):
        frame = read_kitti_frame(rendered / "kitti" / "training", str(record["frame_id"]))
        k = frame.calibration.intrinsics
        for obj in frame.objects:
            corners = obj.box_3d.corners_cam()
            if corners[:, 2].min() < 0.5:
                continue  # partly behind the camera: its projection is unbounded
            uv = frame.calibration.project(corners)
            x1, y1 = np.maximum(uv.min(0), 0.0)
            x2, y2 = np.minimum(uv.max(0), [k.width, k.height])
            bx1, by1, bx2, by2 = obj.box_2d
            # 1 px: box corners are integer pixel edges, KITTI files keep 2 decimals.
            assert x1 - 1 <= bx1 and y1 - 1 <= by1 and bx2 <= x2 + 1 and by2 <= y2 + 1
            # ... and is tight: an unoccluded object fills most of its projected box.
            if obj.occlusion_level == 0 and obj.truncation == 0:
                area = (bx2 - bx1) * (by2 - by1)
                assert area >= 0.5 * (x2 - x1) * (y2 - y1)
            checked += 1
    assert checked >= 5
