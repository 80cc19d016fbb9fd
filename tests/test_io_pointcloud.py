"""Optional .ply / .pcd LiDAR point clouds: exact round trip, stable bytes, manifest listing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from test_io_formats import frames_for_test  # the tests folder is on sys.path

from scenegen.io import DatasetWriter, merge_datasets
from scenegen.io.errors import DatasetWriteError
from scenegen.io.pointcloud import POINTCLOUD_FORMATS, pointcloud_bytes, read_pointcloud
from scenegen.points import PointCloud


def _cloud(rng: np.random.Generator, n: int = 2000) -> PointCloud:
    return PointCloud(
        xyz=rng.uniform(-80, 80, (n, 3)),
        intensity=np.round(rng.random(n), 2),
        class_ids=rng.integers(0, 20, n),
        instance_ids=rng.integers(0, 40, n),
        ring=rng.integers(-1, 64, n),
    )


@pytest.mark.parametrize("fmt", POINTCLOUD_FORMATS)
def test_point_cloud_round_trips_exactly_with_labels(tmp_path, fmt):
    cloud = _cloud(np.random.default_rng(0))
    path = tmp_path / f"cloud.{fmt}"
    path.write_bytes(pointcloud_bytes(cloud, fmt))
    back = read_pointcloud(path)
    assert set(back.columns()) == {"class_ids", "instance_ids", "ring"}
    np.testing.assert_array_equal(back.xyz, cloud.xyz)
    np.testing.assert_array_equal(back.intensity, cloud.intensity)
    for key, values in cloud.columns().items():
        np.testing.assert_array_equal(getattr(back, key), values)


@pytest.mark.parametrize("fmt", POINTCLOUD_FORMATS)
def test_identical_clouds_give_identical_binary_bytes(fmt):
    a, b = _cloud(np.random.default_rng(1)), _cloud(np.random.default_rng(1))
    other = _cloud(np.random.default_rng(2))

    def encode(c):
        return pointcloud_bytes(c.replace(instance_ids=None, ring=None), fmt)

    assert encode(a) == encode(b)
    assert encode(a) != encode(other)
    data = encode(a)
    # Binary body: 4 bytes for each of x, y, z, intensity, class_id per point.
    header_end = (
        data.index(b"end_header\n") + 11 if fmt == "ply" else data.index(b"DATA binary\n") + 12
    )
    assert len(data) - header_end == 20 * len(a)
    if fmt == "ply":
        assert b"format binary_little_endian 1.0" in data[:header_end]


@pytest.mark.parametrize("fmt", POINTCLOUD_FORMATS)
def test_empty_cloud_is_a_readable_header(tmp_path, fmt):
    path = tmp_path / f"empty.{fmt}"
    path.write_bytes(pointcloud_bytes(PointCloud.empty(class_ids=True), fmt))
    back = read_pointcloud(path)
    assert len(back) == 0 and back.class_ids.shape == (0,) and back.ring is None


def test_dataset_writer_lists_point_clouds_in_the_manifest(tmp_path):
    frames = frames_for_test(2)
    writer = DatasetWriter(tmp_path / "a", ("kitti", "ply"))
    for index, frame in enumerate(frames):
        writer.write_frame(frame, index)
    writer.finalize()
    records = [json.loads(line) for line in (tmp_path / "a" / "manifest.jsonl").open()]
    for index, (frame, record) in enumerate(zip(frames, records, strict=True)):
        relative = f"pointcloud/{index:06d}.ply"
        path = tmp_path / "a" / relative
        assert record["files"][relative] == hashlib.sha256(path.read_bytes()).hexdigest()
        back = read_pointcloud(path)
        np.testing.assert_array_equal(back.xyzi(), frame.points.xyzi())
        np.testing.assert_array_equal(back.class_ids, frame.points.class_ids)
    # Shards carry their clouds along, and the merged folder still names the format.
    merged = merge_datasets([tmp_path / "a"], tmp_path / "merged")
    assert all(any(f.startswith("pointcloud/") for f in r["files"]) for r in merged)
    summary = json.loads((tmp_path / "merged" / "dataset.json").read_text())
    assert summary["formats"] == ["kitti", "ply"]


def test_dataset_writer_refuses_unclear_point_cloud_choices(tmp_path):
    with pytest.raises(DatasetWriteError, match="one point cloud format"):
        DatasetWriter(tmp_path, ("kitti", "ply", "pcd"))
    with pytest.raises(DatasetWriteError, match="non-empty subset"):
        DatasetWriter(tmp_path, ("ply",))


def test_pointcloud_bytes_checks_format_and_frame():
    cloud = PointCloud(np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(DatasetWriteError, match="ply"):
        pointcloud_bytes(cloud, "las")
    with pytest.raises(DatasetWriteError, match="lidar-frame"):
        pointcloud_bytes(cloud.replace(frame="cam"), "ply")


def test_read_refuses_other_files(tmp_path: Path):
    from scenegen.io.errors import DatasetReadError

    with pytest.raises(DatasetReadError, match=r"\.ply or \.pcd"):
        read_pointcloud(tmp_path / "missing.ply")
