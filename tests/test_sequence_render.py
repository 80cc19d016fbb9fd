"""Rendering sequences: the KITTI tracking and COCO video layouts, the manifest per
sequence, stable track ids, per-point times, determinism, resume and the GIF preview.

The tracking files are read by a parser written here from the KITTI tracking devkit's
format description (devkit_tracking ``readme.txt`` and ``evaluate_tracking.py``'s
loader): ``frame track_id type truncated occluded alpha x1 y1 x2 y2 h w l x y z
rotation_y [score]``, truncated and occluded integers, DontCare lines with track id -1, one
object per (frame, track id); ``poses/SS.txt`` lines are KITTI odometry's 3x4 row-major
camera poses in the first frame's camera frame.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from scenegen.batch.engine import ProcessEngine
from scenegen.batch.plan import BatchPlan, plan_batch
from scenegen.batch.runner import render_batch

SEQUENCE_FRAMES = 3
SEQUENCES = 2
KITTI_TRACKING_TYPES = {
    "Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc", "DontCare"
}  # fmt: skip

SCENARIO = f"""\
version: 1
name: seq-test
seed: 11
frames: {SEQUENCES}
sequence: {{frames: {SEQUENCE_FRAMES}, rate_hz: 5, exposure_s: 0.02}}
road: {{type: urban, lanes: 2}}
ego: {{speed_m_s: 9}}
sensors:
  camera: {{width: 192, height: 72, fov_deg: 75}}
  lidar: {{preset: vlp16, azimuth_steps: 360}}
actors: [{{class: car, count: 3, parked_fraction: 0.5}}]
events:
  - {{type: jaywalker, distance_m: 14, speed_m_s: 1.5, step_out_s: 0.0}}
"""


def parse_kitti_tracking_labels(path: Path) -> list[dict]:
    """The devkit's reading of a ``label_02`` file, with its checks."""
    rows, seen = [], set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split(" ")
        assert len(fields) in (17, 18), f"{path}:{number}: {len(fields)} fields"
        row = {
            "frame": int(fields[0]),
            "track_id": int(fields[1]),
            "type": fields[2],
            "truncated": int(fields[3]),
            "occluded": int(fields[4]),
            "alpha": float(fields[5]),
            "bbox": [float(v) for v in fields[6:10]],
            "dimensions": [float(v) for v in fields[10:13]],
            "location": [float(v) for v in fields[13:16]],
            "rotation_y": float(fields[16]),
        }
        assert row["type"] in KITTI_TRACKING_TYPES
        if row["type"] == "DontCare":
            assert row["track_id"] == -1
        else:
            assert row["track_id"] >= 0 and row["truncated"] in (0, 1, 2)
            assert row["occluded"] in (0, 1, 2, 3)
            key = (row["frame"], row["track_id"])
            assert key not in seen, f"{path}:{number}: track {key[1]} twice in frame {key[0]}"
            seen.add(key)
        x1, y1, x2, y2 = row["bbox"]
        assert x1 <= x2 and y1 <= y2
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "seq.yaml"
    path.write_text(SCENARIO)
    return path


def _digests(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)
    }


@pytest.fixture(scope="module")
def rendered(scenario, tmp_path_factory, gl_backend) -> Path:
    out = tmp_path_factory.mktemp("render") / "out"
    render_batch(plan_batch([scenario], None, None), out, formats=("kitti", "coco"))
    return out


def test_the_plan_lays_out_whole_sequences(scenario):
    plan = plan_batch([scenario], None, None)
    assert len(plan.tasks) == SEQUENCES * SEQUENCE_FRAMES
    assert [(t.sequence_id, t.sequence_frame) for t in plan.tasks] == [
        (s, k) for s in range(SEQUENCES) for k in range(SEQUENCE_FRAMES)
    ]
    shard = plan.shard(2, 2)
    assert {t.sequence_id for t in shard.tasks} == {1} and len(shard.tasks) == SEQUENCE_FRAMES


def test_kitti_tracking_layout_reads_back_with_stable_track_ids(rendered):
    root = rendered / "kitti_tracking" / "training"
    manifest = [json.loads(line) for line in (rendered / "manifest.jsonl").read_text().splitlines()]
    for sequence_id in range(SEQUENCES):
        name = f"{sequence_id:04d}"
        rows = parse_kitti_tracking_labels(root / "label_02" / f"{name}.txt")
        assert sorted(p.name for p in (root / "image_02" / name).iterdir()) == [
            f"{k:06d}.png" for k in range(SEQUENCE_FRAMES)
        ]
        assert len(list((root / "velodyne" / name).iterdir())) == SEQUENCE_FRAMES
        assert (root / "calib" / f"{name}.txt").read_text().startswith("P0: ")
        records = [r for r in manifest if r["sequence"]["sequence_id"] == sequence_id]
        assert [r["sequence"]["frame"] for r in records] == list(range(SEQUENCE_FRAMES))
        # the tracking file holds each frame's objects under their manifest track ids
        for record in records:
            frame = record["sequence"]["frame"]
            in_file = sorted(
                r["track_id"] for r in rows if r["frame"] == frame and r["track_id"] >= 0
            )
            assert in_file == sorted(t["track_id"] for t in record["tracks"])
        # one class per track over the whole sequence; the jaywalker is tracked throughout
        classes: dict[int, set[str]] = {}
        for row in rows:
            if row["track_id"] >= 0:
                classes.setdefault(row["track_id"], set()).add(row["type"])
        assert all(len(types) == 1 for types in classes.values())
        walker = {t["track_id"] for r in records for t in r["tracks"] if t["event"] == "jaywalker"}
        assert len(walker) == 1
        frames_seen = {r["frame"] for r in rows if r["track_id"] in walker}
        assert frames_seen == set(range(SEQUENCE_FRAMES))


def test_poses_and_times_follow_the_ego(rendered):
    root = rendered / "kitti_tracking" / "training"
    poses = np.loadtxt(root / "poses" / "0000.txt").reshape(-1, 3, 4)
    times = np.loadtxt(root / "times" / "0000.txt")
    assert times == pytest.approx([k / 5 for k in range(SEQUENCE_FRAMES)])
    for pose, time_s in zip(poses, times, strict=True):
        assert pose[:, :3] == pytest.approx(np.eye(3), abs=1e-9)
        # camera frame: z forward; the ego drives 9 m/s along its straight lane
        assert pose[:, 3] == pytest.approx([0.0, 0.0, 9.0 * time_s], abs=1e-6)


def test_labels_carry_velocities_and_the_jaywalker_walks_across(rendered):
    records = [json.loads(line) for line in (rendered / "manifest.jsonl").read_text().splitlines()]
    for record in records:
        assert record["sequence"]["ego_velocity_m_s"] == pytest.approx([9.0, 0.0, 0.0], abs=1e-6)
        for track in record["tracks"]:
            velocity = np.array(track["velocity_cam_m_s"])
            if track["event"] == "jaywalker":  # across the road: camera x, at its speed
                assert np.linalg.norm(velocity) == pytest.approx(1.5, abs=1e-6)
                assert abs(velocity[0]) > 1.2 and velocity[1] == pytest.approx(0.0, abs=1e-9)


def test_coco_has_videos_frames_and_tracks(rendered):
    data = json.loads((rendered / "coco" / "annotations.json").read_text())
    assert [v["id"] for v in data["videos"]] == list(range(1, SEQUENCES + 1))
    frames = sorted((i["video_id"], i["frame_id"]) for i in data["images"])
    assert frames == [(s + 1, k) for s in range(SEQUENCES) for k in range(SEQUENCE_FRAMES)]
    video_of = {i["id"]: i["video_id"] for i in data["images"]}
    for annotation in data["annotations"]:
        assert annotation["video_id"] == video_of[annotation["image_id"]]
        assert annotation["track_id"] == annotation["instance_id"]


def test_every_point_has_its_measurement_time(rendered):
    training = rendered / "kitti" / "training"
    for stem in ("000000", "000004"):
        xyzi = np.fromfile(training / "velodyne" / f"{stem}.bin", np.float32).reshape(-1, 4)
        times = np.fromfile(training / "velodyne_time" / f"{stem}.bin", np.float32)
        assert len(times) == len(xyzi) > 0
        expected = -np.arctan2(xyzi[:, 1], xyzi[:, 0]) / (2 * np.pi) * 0.1
        # the skew moves a point by at most |v| dt (< 1 cm here): its azimuth barely changes
        assert times == pytest.approx(expected, abs=2e-3)
        assert times.min() >= -0.05 and times.max() <= 0.05


def test_same_seed_same_bytes_with_workers_and_resume(scenario, rendered, tmp_path):
    reference = _digests(rendered)
    plan = plan_batch([scenario], None, None)
    two = tmp_path / "two"
    render_batch(plan, two, formats=("kitti", "coco"), engine=ProcessEngine(workers=2))
    assert _digests(two) == reference
    # a batch stopped after one and a half sequences, then resumed
    partial = tmp_path / "partial"
    render_batch(BatchPlan(plan.tasks[: SEQUENCE_FRAMES + 1]), partial, formats=("kitti", "coco"))
    summary = render_batch(plan, partial, formats=("kitti", "coco"), resume=True)
    assert summary.skipped_existing == SEQUENCE_FRAMES + 1
    assert _digests(partial) == reference


def test_preview_plays_a_sequence_with_track_ids(rendered, tmp_path):
    import imageio.v3 as iio

    from scenegen.io.preview import TILE_HEIGHT, TILE_WIDTH, save_sequence_gif

    path = save_sequence_gif(rendered, tmp_path / "seq.gif", 1)
    frames = iio.imread(path, index=None)
    assert frames.shape[:3] == (SEQUENCE_FRAMES, TILE_HEIGHT, TILE_WIDTH)
    assert not np.array_equal(frames[0], frames[-1])  # it moves
