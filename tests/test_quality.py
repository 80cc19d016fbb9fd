"""The quality gate on real rendered frames: clean frames of every shipped scenario pass,
degenerate frames planted from them are caught with the right reason, and
``render --gate`` replaces rejected frames deterministically."""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import trimesh
from conftest import REPO, SCENARIOS

from scenegen.batch.engine import InProcessEngine, ProcessEngine
from scenegen.batch.gate import replacement_base_seed
from scenegen.batch.plan import plan_batch
from scenegen.batch.runner import render_batch
from scenegen.batch.worker import scaled_camera
from scenegen.io.manifest import read_manifest, verify_manifest
from scenegen.points import PointCloud
from scenegen.quality import (
    DuplicateIndex,
    QualityReport,
    QualitySettings,
    fingerprint,
    score_frame,
)
from scenegen.scenario import load_scenario, sample_scene
from scenegen.world.build import build_world
from scenegen.world.types import MeshPart, WorldObject

FRAMES_PER_SCENARIO = 2
SCALE = 0.5  # 621 x 188 camera: every check runs as at full size, four times faster


@pytest.fixture(scope="module")
def clean(gl_backend) -> list[tuple]:
    """(spec, world, frame) of 2 frames of each shipped scenario, LiDAR on."""
    from scenegen.pipeline import FrameRenderer, StageTimes

    rendered = []
    with FrameRenderer() as renderer:
        for path in SCENARIOS:
            scenario = load_scenario(path)
            scenario = replace(scenario, camera=scaled_camera(scenario.camera, SCALE))
            for i in range(FRAMES_PER_SCENARIO):
                spec = sample_scene(scenario, i, 11, FRAMES_PER_SCENARIO)
                world = build_world(spec)
                rendered.append((spec, world, renderer.render_world(spec, world, StageTimes())))
    assert len(rendered) == len(SCENARIOS) * FRAMES_PER_SCENARIO >= 24
    return rendered


def test_clean_frames_of_every_shipped_scenario_pass(clean):
    seen = DuplicateIndex(QualitySettings().duplicate_hash_bits)
    rejected = []
    for spec, world, frame in clean:
        report = score_frame(frame, spec, world=world, earlier=seen)
        seen.add(f"{spec.scenario_name}/{spec.frame_index}", fingerprint(frame))
        if not report.passed:
            rejected.append((spec.scenario_name, report.reasons))
        assert report.score == (1.0 if report.passed else report.score)
    # At most 1 % false rejections: with 24 frames, none.
    assert len(rejected) <= 0.01 * len(clean), rejected


# -------------------------------------------------------------------- planted defects


def black_out(frame):
    frame.rgb[:] = (frame.rgb * 0.01).astype(np.uint8)


def blow_out(frame):
    frame.rgb[:] = np.maximum(frame.rgb, 253)


def nan_depth(frame):
    frame.depth_m[10:20, 10:20] = np.nan


def nan_points(frame):
    xyz = frame.points.xyz.copy()
    xyz[::1000] = np.nan
    frame.points = replace_points(frame.points, xyz=xyz)


def shift_masks(frame):
    # Masks 25 px to the right of their boxes (a writer off by a crop, say).
    frame.instance_ids[:] = np.roll(frame.instance_ids, 25, axis=1)


def delete_boxes(frame):
    frame.objects, frame.ignored_objects = [], []


def shrink_below_floor(frame):
    obj = frame.objects[0]
    mask = frame.instance_ids == obj.instance_id
    keep = np.argwhere(mask)[:5]  # 5 pixels left of the object, under any floor
    frame.instance_ids[mask] = 0
    frame.instance_ids[keep[:, 0], keep[:, 1]] = obj.instance_id


def drop_object_points(frame):
    on_objects = frame.points.instance_ids > 0
    frame.points = frame.points.take(np.flatnonzero(~on_objects))


def wrong_depth(frame):
    frame.depth_m[:] = frame.depth_m * 1.3  # a depth map in the wrong unit or scale


def replace_points(cloud: PointCloud, **columns) -> PointCloud:
    return replace(cloud, **columns)


PLANTS = {
    "near_black": black_out,
    "blown_out": blow_out,
    "non_finite": nan_depth,
    "non_finite ": nan_points,  # a second way to the same code
    "box_mask_mismatch": shift_masks,
    "missing_objects": delete_boxes,
    "below_visible_floor": shrink_below_floor,
    "few_lidar_points": drop_object_points,
    "depth_lidar_mismatch": wrong_depth,
}


def applies(code: str, frame) -> bool:
    """Whether a defect can be planted in ``frame`` (e.g. no LiDAR defect without a near
    object, no mask defect without a labelled object)."""
    if code in ("box_mask_mismatch", "below_visible_floor"):
        return bool(frame.objects)
    if code == "few_lidar_points":
        return any(o.distance_m < 20 and o.occlusion <= 0.5 for o in frame.objects)
    return True


def test_planted_defects_are_caught_with_their_reason(clean):
    caught, planted = 0, 0
    missed = []
    for spec, world, frame in clean:
        for name, plant in PLANTS.items():
            code = name.strip()
            if not applies(code, frame):
                continue
            bad = copy.deepcopy(frame)
            plant(bad)
            report = score_frame(bad, spec, world=world)
            planted += 1
            if code in report.codes:
                caught += 1
            else:
                missed.append((spec.scenario_name, code, report.reasons))
            assert report.score < 1.0 or code not in report.codes
    assert planted >= 150
    assert caught >= 0.99 * planted, missed


def test_duplicates_of_earlier_frames_are_caught(clean):
    seen = DuplicateIndex(QualitySettings().duplicate_hash_bits)
    for spec, _, frame in clean:
        seen.add(f"{spec.scenario_name}/{spec.frame_index}", fingerprint(frame))
    for spec, world, frame in clean:
        again = copy.deepcopy(frame)
        # Identical up to sensor noise: one grey level of noise on every pixel.
        noise = np.random.default_rng(0).integers(-1, 2, frame.rgb.shape)
        again.rgb[:] = np.clip(frame.rgb.astype(int) + noise, 0, 255).astype(np.uint8)
        report = score_frame(again, spec, world=world, earlier=seen)
        original = f"{spec.scenario_name}/{spec.frame_index}"
        assert report.reasons == [
            f"duplicate: near-identical to frame {original}, expected a new frame"
        ]


def test_a_camera_inside_a_vehicle_is_caught(clean, gl_backend):
    from scenegen.pipeline import FrameRenderer, StageTimes

    spec, world, _ = clean[0]
    world = copy.deepcopy(world)
    camera_world = np.linalg.inv(clean[0][2].calibration.T_cam_from_world)[:3, 3]
    # A van-sized box standing on the road around the camera.
    length, width, height = 5.0, 2.0, 2.5
    mesh = trimesh.creation.box(extents=(length, width, height))
    mesh.apply_translation((0, 0, height / 2))
    pose = np.eye(4)
    pose[:2, 3] = camera_world[:2]
    world.objects.append(
        WorldObject("van_around_camera", "van", [MeshPart(mesh, "car_paint", (0.5, 0.5, 0.5))],
                    pose, instance_id=900, class_name="van", dimensions_m=(length, width, height))
    )  # fmt: skip
    with FrameRenderer() as renderer:
        frame = renderer.render_world(spec, world, StageTimes())
    assert "camera_inside_geometry" in score_frame(frame, spec, world=world).codes


def test_a_report_scores_the_share_of_checks_passed():
    assert QualityReport(1.0).with_reasons([]).score == 1.0
    two = QualityReport(1.0).with_reasons(["near_black: x", "blown_out: y", "duplicate: z"])
    # The two exposure codes are one check: 2 of the 9 checks failed.
    assert two.score == pytest.approx(1 - 2 / 9, abs=1e-4) and not two.passed
    assert two.codes == ["blown_out", "duplicate", "near_black"]


# -------------------------------------------------------------------- the gate in a batch


def records(folder: Path) -> list[dict]:
    """The dataset's frames as readers see them (the last record of each frame)."""
    return read_manifest(folder)


def test_render_gate_replaces_rejected_frames_deterministically(tmp_path, gl_backend):
    # A demanding user's gate: every object within 40 m needs 150 LiDAR points. Some
    # frames of the scenario meet it, others do not.
    plan = plan_batch([REPO / "scenarios" / "clear_day_urban.yaml"], 6, 3)
    strict = QualitySettings(lidar_check_range_m=40.0, min_lidar_points=150)
    common = {"formats": ("kitti",), "image_scale": 0.25, "quality": strict}
    ungated = render_batch(plan, tmp_path / "plain", engine=InProcessEngine(), **common)
    flagged = [r for r in records(tmp_path / "plain") if not r["quality"]["passed"]]
    assert flagged and ungated.failed_frames == len(flagged)
    assert all("gate" not in r for r in records(tmp_path / "plain"))  # scored, not replaced

    gated = render_batch(plan, tmp_path / "gated", engine=InProcessEngine(), gate=True, **common)
    by_index = {r["frame_index"]: r for r in records(tmp_path / "gated")}
    assert gated.replaced_frames >= 1
    # Each flagged frame was replaced by a passing one or, after every attempt, kept at its best.
    assert gated.replaced_frames + gated.failed_frames >= len(flagged)
    for original in flagged:
        record = by_index[original["frame_index"]]
        gate = record["gate"]
        assert gate["original_seed"] == original["seed"]
        assert gate["rejected"][0]["reasons"] == original["quality"]["reasons"]
        if gate["passed"]:
            assert record["quality"]["passed"] and record["seed"] == gate["replacement_seed"]
            # The replacement replays from the scenario and its recorded base seed.
            base = replacement_base_seed(3, original["frame_index"], gate["attempts"])
            assert gate["replacement_base_seed"] == base
    # Two worker processes give the same replacements, byte for byte.
    render_batch(plan, tmp_path / "gated2", engine=ProcessEngine(workers=2), gate=True, **common)
    assert (tmp_path / "gated" / "manifest.jsonl").read_bytes() == (
        tmp_path / "gated2" / "manifest.jsonl"
    ).read_bytes()


def test_duplicate_frames_of_a_batch_are_flagged_and_replaced_with_the_gate(tmp_path, gl_backend):
    # The same scenario twice with the same seed: frames 2 and 3 repeat frames 0 and 1.
    path = REPO / "scenarios" / "clear_day_urban.yaml"
    plan = plan_batch([path, path], 2, 5)
    common = {"formats": ("kitti",), "image_scale": 0.25, "lidar": False}
    render_batch(plan, tmp_path / "plain", engine=InProcessEngine(), **common)
    plain = records(tmp_path / "plain")
    assert [r["quality"]["passed"] for r in plain] == [True, True, False, False]
    assert plain[2]["quality"]["reasons"] == [
        "duplicate: near-identical to frame 000000, expected a new frame"
    ]
    summary = render_batch(plan, tmp_path / "gated", engine=InProcessEngine(), gate=True, **common)
    gated = records(tmp_path / "gated")
    assert summary.replaced_frames == 2 and summary.replaced_reasons == {"duplicate": 2}
    assert all(r["quality"]["passed"] for r in gated)
    assert not any(verify_manifest(tmp_path / "gated").values())  # files match the records
    assert gated[2]["gate"]["original_seed"] == plain[2]["seed"] != gated[2]["seed"]


def test_a_gate_block_in_the_scenario_gates_its_frames_as_render_gate_does(tmp_path, gl_backend):
    source = REPO / "scenarios" / "clear_day_urban.yaml"
    block = "gate:\n  attempts: 2\n  thresholds: {lidar_check_range_m: 40, min_lidar_points: 150}\n"
    in_file = tmp_path / "clear_day_urban.yaml"  # the same scenario, its gate in the file
    in_file.write_text(source.read_text() + "\n" + block)
    strict = QualitySettings(lidar_check_range_m=40.0, min_lidar_points=150)
    common = {"formats": ("kitti",), "image_scale": 0.25, "engine": InProcessEngine()}
    by_flag = render_batch(
        plan_batch([source], 6, 3),
        tmp_path / "flag",
        gate=True,
        gate_attempts=2,
        quality=strict,
        **common,
    )
    by_block = render_batch(plan_batch([in_file], 6, 3), tmp_path / "block", **common)
    assert by_flag.replaced_frames >= 1
    assert by_block.replaced_frames == by_flag.replaced_frames
    assert by_block.replaced_reasons == by_flag.replaced_reasons

    def outcome(folder: Path) -> list[dict]:
        return [{k: r.get(k) for k in ("seed", "gate", "quality")} for r in records(folder)]

    assert outcome(tmp_path / "block") == outcome(tmp_path / "flag")
    images = sorted(p.relative_to(tmp_path / "flag") for p in (tmp_path / "flag").rglob("*.png"))
    assert images
    for image in images:
        assert (tmp_path / "block" / image).read_bytes() == (tmp_path / "flag" / image).read_bytes()
    # `gate: false` keeps a file's frames as drawn even when the batch asks for the gate.
    off = tmp_path / "off.yaml"
    off.write_text(source.read_text() + "\ngate: false\n")
    summary = render_batch(
        plan_batch([off], 6, 3), tmp_path / "off", gate=True, quality=strict, **common
    )
    assert summary.replaced_frames == 0 and summary.failed_frames >= 1
    assert all("gate" not in r for r in records(tmp_path / "off"))


def test_the_gate_blocks_thresholds_are_the_quality_settings():
    from dataclasses import fields

    from scenegen.scenario.schema_gate import GATE_THRESHOLDS

    # Duplicates are looked for across the whole batch, with the batch's threshold.
    settings = {f.name for f in fields(QualitySettings)} - {"duplicate_hash_bits"}
    assert set(GATE_THRESHOLDS) == settings


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "gate: {attempts: 0}",
            "f.yaml:3:18: gate.attempts: 0 is out of range, expected an integer in [1, 100]",
        ),
        (
            "gate: {thresholds: {min_lidar_point: 3}}",
            "f.yaml:3:21: gate.thresholds.min_lidar_point: unknown key",
        ),
        (
            'gate: {attempts: "uniform(1, 3)"}',
            "gate.attempts: found the distribution 'uniform(1, 3)', expected a constant",
        ),
        ("gate: 3", "f.yaml:3:7: gate: found an integer, expected a mapping (or true/false)"),
    ],
)
def test_gate_block_errors_name_file_line_key_and_expectation(block, message):
    from scenegen.errors import ScenarioError
    from scenegen.scenario import load_scenario_text

    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario_text(f"version: 1\nname: x\n{block}\n", "f.yaml")
    gate = load_scenario_text(
        "version: 1\nname: x\ngate: {thresholds: {min_lidar_points: 9}}\n"
    ).gate
    assert gate is not None and gate.enabled and gate.attempts == 3
    assert gate.thresholds == (("min_lidar_points", 9),)
