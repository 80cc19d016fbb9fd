"""KITTI, COCO and YOLO writers agree with each other and with the frames they were given."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from scenegen.frame import CLASS_NAMES, Box3D, Calibration, CameraIntrinsics, Frame, ObjectLabel
from scenegen.io import (
    DatasetWriter,
    list_kitti_frames,
    merge_datasets,
    read_coco,
    read_kitti_frame,
    read_manifest,
    read_yolo,
    rle_decode,
    rle_encode,
    verify_manifest,
)
from scenegen.io.errors import DatasetWriteError
from scenegen.points import PointCloud

CAMERA_HEIGHT_M = 1.65
# Level camera: cam x right, y down, z forward from world x forward, y left, z up.
R_CAM_FROM_WORLD = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


def synthetic_calibration(width: int, height: int) -> Calibration:
    T_cam_from_world = np.eye(4)
    T_cam_from_world[:3, :3] = R_CAM_FROM_WORLD
    T_cam_from_world[:3, 3] = -R_CAM_FROM_WORLD @ [0.0, 0.0, CAMERA_HEIGHT_M]
    T_world_from_lidar = np.eye(4)
    T_world_from_lidar[:3, 3] = (0.27, 0.0, CAMERA_HEIGHT_M + 0.08)
    intrinsics = CameraIntrinsics(width, height, 100.0, 100.0, width / 2 - 0.3, height / 2 + 0.7)
    return Calibration(intrinsics, T_cam_from_world, T_cam_from_world @ T_world_from_lidar)


def make_frame(rng: np.random.Generator, width: int = 160, height: int = 96) -> Frame:
    """A small frame whose labels are consistent with its geometry.

    Boxes stand on the ground in front of the camera; each 2D box is the bounds of its 3D
    box's projection; the instance image paints boxes far to near; depth is each painted
    box's distance with sky above the horizon; LiDAR points sit inside the boxes.
    """
    calibration = synthetic_calibration(width, height)
    objects: list[ObjectLabel] = []
    candidates = []
    for i in range(int(rng.integers(3, 7))):
        box = Box3D(
            h=float(rng.uniform(0.8, 3.0)),
            w=float(rng.uniform(0.5, 2.5)),
            l=float(rng.uniform(0.5, 5.0)),
            x=float(rng.uniform(-4, 4)),
            y=CAMERA_HEIGHT_M,
            z=float(rng.uniform(8, 30)),
            rotation_y=float(rng.uniform(-np.pi, np.pi)),
        )
        uv = calibration.project(box.corners_cam())
        x1, y1 = np.clip(uv.min(axis=0), 0, [width, height])
        x2, y2 = np.clip(uv.max(axis=0), 0, [width, height])
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        class_name = CLASS_NAMES[int(rng.integers(len(CLASS_NAMES)))]
        candidates.append(
            ObjectLabel(
                class_name=class_name,
                instance_id=10 + i,
                box_2d=np.array([x1, y1, x2, y2], dtype=np.float32),
                box_3d=box,
                alpha=float(box.rotation_y - np.arctan2(box.x, box.z)),
                truncation=float(rng.uniform(0, 0.3)),
                occlusion=float(rng.uniform(0, 1)),
                occlusion_level=int(rng.integers(0, 3)),
                distance_m=float(np.hypot(box.x, box.z)),
                difficulty=str(rng.choice(["easy", "moderate", "hard"])),
                event="jaywalker" if class_name == "pedestrian" else None,
                visible_pixels=int(rng.integers(30, 500)),
                lidar_points=int(rng.integers(0, 50)),
            )
        )
    objects = sorted(candidates, key=lambda o: -o.box_3d.z)  # far to near
    instance_ids = np.zeros((height, width), dtype=np.int32)
    depth_m = np.full((height, width), np.inf, dtype=np.float32)
    depth_m[height // 2 :] = 20.0  # ground below the horizon
    for obj in objects:
        x1, y1, x2, y2 = np.asarray(obj.box_2d).round().astype(int)
        instance_ids[y1:y2, x1:x2] = obj.instance_id
        depth_m[y1:y2, x1:x2] = obj.box_3d.z
    points_cam = []
    for obj in objects:
        b = obj.box_3d
        local = rng.uniform(-0.4, 0.4, size=(30, 3)) * [b.l, b.h, b.w]
        points_cam.append(
            np.stack([local[:, 0] + b.x, b.y - b.h / 2 + local[:, 1], local[:, 2] + b.z], axis=1)
        )
    points_cam = np.concatenate(points_cam) if points_cam else np.zeros((0, 3))
    T_lidar_from_cam = np.linalg.inv(calibration.T_cam_from_lidar)
    points_xyz = points_cam @ T_lidar_from_cam[:3, :3].T + T_lidar_from_cam[:3, 3]
    points = np.concatenate([points_xyz, rng.uniform(0, 1, (len(points_xyz), 1))], axis=1)
    rgb = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Frame(
        frame_id=f"synthetic-{width}x{height}",
        rgb=rgb,
        calibration=calibration,
        depth_m=depth_m,
        instance_ids=instance_ids,
        objects=objects,
        points=PointCloud.from_xyzi(
            points,
            class_ids=rng.integers(0, 9, len(points)),
            instance_ids=rng.integers(0, 20, len(points)),
        ),
        dropped_objects=int(rng.integers(0, 3)),
        meta={
            "scenario_name": "fog_night",
            "seed": 1234,
            "params": {"environment.weather.fog.visibility_m": 55.5, "actors[0].count": 4},
            "events": [{"type": "jaywalker", "occurs": True, "params": {"distance_m": 12.0}}],
            "sweep_cell": {"visibility_m": 50},
        },
    )


def frames_for_test(count: int = 3) -> list[Frame]:
    rng = np.random.default_rng(7)
    sizes = [(160, 96), (150, 90), (160, 96), (120, 80)]
    return [make_frame(rng, *sizes[i % len(sizes)]) for i in range(count)]


def write_dataset(out_dir: Path, frames: list[Frame], indices: list[int] | None = None) -> None:
    writer = DatasetWriter(out_dir)
    for frame, index in zip(frames, indices or range(len(frames)), strict=True):
        writer.write_frame(frame, index)
    writer.finalize({"purpose": "test"})


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Frame]]:
    out_dir = tmp_path_factory.mktemp("dataset")
    frames = frames_for_test()
    write_dataset(out_dir, frames)
    return out_dir, frames


def test_kitti_round_trip_keeps_labels_geometry_and_sensors(written):
    out_dir, frames = written
    root = out_dir / "kitti" / "training"
    assert list_kitti_frames(root) == ["000000", "000001", "000002"]
    for index, original in enumerate(frames):
        back = read_kitti_frame(root, f"{index:06d}")
        assert back.rgb.shape == original.rgb.shape
        np.testing.assert_array_equal(back.rgb, original.rgb)
        assert [o.class_name for o in back.objects] == [o.class_name for o in original.objects]
        for got, want in zip(back.objects, original.objects, strict=True):
            np.testing.assert_allclose(got.box_2d, want.box_2d, atol=0.005 + 1e-4)
            b, w = got.box_3d, want.box_3d
            np.testing.assert_allclose(
                [b.h, b.w, b.l, b.x, b.y, b.z, b.rotation_y],
                [w.h, w.w, w.l, w.x, w.y, w.z, w.rotation_y],
                atol=0.005 + 1e-9,
            )
            assert got.instance_id == want.instance_id
            assert got.event == want.event and got.occlusion_level == want.occlusion_level
            assert got.occlusion == pytest.approx(want.occlusion)
            # The 2D box is the bounds of the 3D box's projection through the read calibration.
            uv = back.calibration.project(got.box_3d.corners_cam())
            lo = np.clip(uv.min(axis=0), 0, [back.width, back.height])
            hi = np.clip(uv.max(axis=0), 0, [back.width, back.height])
            np.testing.assert_allclose(np.concatenate([lo, hi]), got.box_2d, atol=0.2)
        np.testing.assert_allclose(back.calibration.P2, original.calibration.P2, atol=1e-9)
        np.testing.assert_allclose(
            back.calibration.T_cam_from_lidar, original.calibration.T_cam_from_lidar, atol=1e-11
        )
        np.testing.assert_allclose(
            back.calibration.T_cam_from_world, original.calibration.T_cam_from_world
        )
        np.testing.assert_array_equal(back.points.xyzi(), original.points.xyzi())
        np.testing.assert_array_equal(back.points.class_ids, original.points.class_ids)
        np.testing.assert_array_equal(back.points.instance_ids, original.points.instance_ids)
        np.testing.assert_array_equal(back.instance_ids, original.instance_ids)
        sky = np.isinf(original.depth_m)
        assert np.isinf(back.depth_m[sky]).all()
        np.testing.assert_allclose(back.depth_m[~sky], original.depth_m[~sky], atol=1 / 512)
        assert back.dropped_objects == original.dropped_objects


def test_kitti_label_lines_are_standard_15_fields(written):
    out_dir, frames = written
    lines = (out_dir / "kitti/training/label_2/000000.txt").read_text().splitlines()
    assert len(lines) == len(frames[0].objects)
    for line in lines:
        fields = line.split()
        assert len(fields) == 15
        assert all(len(f.split(".")[1]) == 2 for f in fields[1:2] + fields[3:])
    calib = (out_dir / "kitti/training/calib/000000.txt").read_text().splitlines()
    assert [line.split(":")[0] for line in calib] == [
        "P0",
        "P1",
        "P2",
        "P3",
        "R0_rect",
        "Tr_velo_to_cam",
        "Tr_imu_to_velo",
    ]
    assert [len(line.split()) - 1 for line in calib] == [12, 12, 12, 12, 9, 12, 12]


def test_coco_agrees_with_kitti_and_the_frames(written):
    out_dir, frames = written
    annotation_json = out_dir / "coco" / "annotations.json"
    data = json.loads(annotation_json.read_text())
    assert [c["id"] for c in data["categories"]] == list(range(1, len(CLASS_NAMES) + 1))
    assert [c["name"] for c in data["categories"]] == list(CLASS_NAMES)
    ids = [a["id"] for a in data["annotations"]]
    assert ids == list(range(1, len(ids) + 1))
    assert sum(len(f.objects) for f in frames) == len(ids)
    for image in data["images"]:
        path = annotation_json.parent / image["file_name"]
        assert path.is_file() and not image["file_name"].startswith("/")
        assert path.resolve() == (out_dir / f"kitti/training/image_2/{image['frame_id']}.png")
    coco_frames = list(read_coco(annotation_json))
    assert len(coco_frames) == len(frames)
    for index, (coco_frame, original) in enumerate(zip(coco_frames, frames, strict=True)):
        kitti_frame = read_kitti_frame(out_dir / "kitti/training", f"{index:06d}")
        assert [o.class_name for o in coco_frame.objects] == [
            o.class_name for o in kitti_frame.objects
        ]
        for c, k, o in zip(coco_frame.objects, kitti_frame.objects, original.objects, strict=True):
            np.testing.assert_allclose(c.box_2d, o.box_2d, atol=1e-3)
            np.testing.assert_allclose(c.box_2d, k.box_2d, atol=0.006)
            assert (c.event, c.difficulty, c.instance_id) == (o.event, o.difficulty, o.instance_id)
            assert c.occlusion == pytest.approx(o.occlusion, abs=1e-4)
        # The RLE masks rebuild the instance image exactly (boxes were painted far to near).
        np.testing.assert_array_equal(coco_frame.instance_ids, original.instance_ids)
        np.testing.assert_allclose(coco_frame.calibration.P2, original.calibration.P2)
    areas = [a["area"] for a in data["annotations"] if a["image_id"] == 0]
    assert areas == [
        float((frames[0].instance_ids == o.instance_id).sum()) for o in frames[0].objects
    ]


def test_yolo_agrees_with_kitti_and_the_frames(written):
    out_dir, frames = written
    data = yaml.safe_load((out_dir / "yolo" / "data.yaml").read_text())
    assert data["names"] == dict(enumerate(CLASS_NAMES)) and data["nc"] == len(CLASS_NAMES)
    assert Path(data["path"]).is_absolute()
    assert (Path(data["path"]) / data["train"]).is_dir()
    yolo_frames = list(read_yolo(out_dir / "yolo"))
    assert len(yolo_frames) == len(frames)
    for index, (yolo_frame, original) in enumerate(zip(yolo_frames, frames, strict=True)):
        kitti_frame = read_kitti_frame(out_dir / "kitti/training", f"{index:06d}")
        assert [o.class_id for o in yolo_frame.objects] == [o.class_id for o in kitti_frame.objects]
        tolerance = 1e-6 * max(original.width, original.height) + 1e-4
        for y, k, o in zip(yolo_frame.objects, kitti_frame.objects, original.objects, strict=True):
            np.testing.assert_allclose(y.box_2d, o.box_2d, atol=tolerance)
            np.testing.assert_allclose(y.box_2d, k.box_2d, atol=tolerance + 0.005)
        np.testing.assert_array_equal(yolo_frame.rgb, original.rgb)
        for line in (out_dir / f"yolo/labels/{index:06d}.txt").read_text().splitlines():
            assert all(len(v.split(".")[1]) == 6 for v in line.split()[1:])
    kitti_png = out_dir / "kitti/training/image_2/000000.png"
    assert (out_dir / "yolo/images/000000.png").stat().st_ino == kitti_png.stat().st_ino


def test_rle_matches_column_major_run_lengths():
    mask = np.zeros((3, 4), dtype=bool)
    mask[0, 0] = mask[1, 0] = mask[2, 2] = True
    rle = rle_encode(mask)
    # Column-major: column 0 is [1,1,0], column 1 [0,0,0], column 2 [0,0,1], column 3 [0,0,0].
    assert rle == {"counts": [0, 2, 6, 1, 3], "size": [3, 4]}
    np.testing.assert_array_equal(rle_decode(rle), mask)
    rng = np.random.default_rng(3)
    random_mask = rng.uniform(size=(17, 23)) > 0.6
    np.testing.assert_array_equal(rle_decode(rle_encode(random_mask)), random_mask)


def _all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_frames_give_byte_identical_files_and_manifest_hashes(tmp_path):
    frames = frames_for_test(2)
    write_dataset(tmp_path / "a", frames)
    write_dataset(tmp_path / "b", frames_for_test(2))
    files_a, files_b = _all_files(tmp_path / "a"), _all_files(tmp_path / "b")
    assert files_a.keys() == files_b.keys()
    differing = [name for name in files_a if files_a[name] != files_b[name]]
    assert differing == ["yolo/data.yaml"]  # holds its own absolute path, as Ultralytics needs
    manifest = read_manifest(tmp_path / "a")
    assert manifest == read_manifest(tmp_path / "b")
    for record in manifest:
        for relative, digest in record["files"].items():
            assert hashlib.sha256(files_a[relative]).hexdigest() == digest
    hashed = {relative for record in manifest for relative in record["files"]}
    per_frame = {n for n in files_a if n.split("/")[0] in ("kitti", "yolo", ".coco_parts")}
    assert per_frame - {"yolo/data.yaml"} == hashed
    record = manifest[1]
    assert record["scenario_name"] == "fog_night" and record["seed"] == 1234
    assert record["params"]["environment.weather.fog.visibility_m"] == 55.5
    assert record["sweep_cell"] == {"visibility_m": 50}
    assert record["dropped_objects"] == frames[1].dropped_objects
    assert sum(record["objects_per_class"].values()) == len(frames[1].objects)


def test_resume_detects_damaged_frames(tmp_path):
    frames = frames_for_test(2)
    write_dataset(tmp_path, frames)
    writer = DatasetWriter.open(tmp_path, resume=True)
    assert writer.completed_indices() == {0, 1}
    (tmp_path / "kitti/training/label_2/000001.txt").write_text("damaged\n")
    assert list(verify_manifest(tmp_path)) == ["000001"]
    assert writer.completed_indices() == {0}
    writer.write_frame(frames[1], 1)  # rewriting wins over the older record
    assert writer.completed_indices() == {0, 1}
    assert len(read_manifest(tmp_path)) == 2
    with pytest.raises(DatasetWriteError, match="already holds a dataset"):
        DatasetWriter.open(tmp_path)
    replaced = DatasetWriter.open(tmp_path, overwrite=True)
    replaced.write_frame(frames[0], 5)
    assert [r["frame_id"] for r in read_manifest(tmp_path)] == ["000005"]
    assert not (tmp_path / "kitti/training/image_2/000000.png").exists()
    foreign = tmp_path / "real_data"
    (foreign / "kitti" / "training").mkdir(parents=True)
    with pytest.raises(DatasetWriteError, match="refusing to delete"):
        DatasetWriter.open(foreign, overwrite=True)
    assert (foreign / "kitti" / "training").is_dir()


def test_merged_shards_equal_one_folder(tmp_path):
    frames = frames_for_test(4)
    write_dataset(tmp_path / "whole", frames)
    write_dataset(tmp_path / "shard1", frames[0::2], [0, 2])
    write_dataset(tmp_path / "shard2", frames[1::2], [1, 3])
    records = merge_datasets(
        [tmp_path / "shard1", tmp_path / "shard2"], tmp_path / "merged", {"purpose": "test"}
    )
    assert [r["frame_index"] for r in records] == [0, 1, 2, 3]
    assert records == read_manifest(tmp_path / "whole")
    assert verify_manifest(tmp_path / "merged") == {}
    whole, merged = _all_files(tmp_path / "whole"), _all_files(tmp_path / "merged")
    assert whole.keys() == merged.keys()
    for name in whole:
        if name not in ("yolo/data.yaml", "manifest.jsonl"):
            assert whole[name] == merged[name], name
    # Merging again changes nothing; a different frame under a taken id is a collision.
    merge_datasets([tmp_path / "shard2"], tmp_path / "merged")
    assert len(read_manifest(tmp_path / "merged")) == 4
    write_dataset(tmp_path / "other", frames[2:3], [1])
    with pytest.raises(DatasetWriteError, match="collides"):
        merge_datasets([tmp_path / "other"], tmp_path / "merged")
