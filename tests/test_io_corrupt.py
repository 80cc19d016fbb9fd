"""Corrupt or incomplete inputs raise DatasetReadError naming the file and the reason."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from scenegen.errors import ScenegenError
from scenegen.frame import Box3D, Calibration, CameraIntrinsics, Frame, ObjectLabel
from scenegen.io import DatasetReadError, DatasetWriter, read_coco, read_kitti_frame, read_yolo
from scenegen.io.png import encode_png
from scenegen.io.preview import (
    CLASS_COLOURS_RGB,
    TILE_HEIGHT,
    TILE_WIDTH,
    make_contact_sheet,
    render_tile,
)
from scenegen.points import PointCloud


def sensor_frame() -> Frame:
    rng = np.random.default_rng(11)
    intrinsics = CameraIntrinsics(40, 30, 40.0, 40.0, 20.0, 15.0)
    T_cam_from_lidar = np.array(
        [[0, -1, 0, 0], [0, 0, -1, -0.08], [1, 0, 0, -0.27], [0, 0, 0, 1]], dtype=np.float64
    )
    calibration = Calibration(intrinsics, np.eye(4), T_cam_from_lidar)
    instance_ids = np.zeros((30, 40), dtype=np.int32)
    instance_ids[10:20, 5:15] = 3
    depth_m = np.full((30, 40), np.inf, dtype=np.float32)
    depth_m[15:] = 12.0
    points = np.concatenate([rng.uniform(2, 30, (50, 3)), rng.uniform(0, 1, (50, 1))], axis=1)
    car = ObjectLabel(
        "car",
        3,
        np.array([5, 10, 15, 20], dtype=np.float32),
        Box3D(1.5, 1.6, 4.0, -1.0, 1.6, 12.0, 0.3),
        event="cut_in",
    )
    return Frame(
        "sensor",
        rng.integers(0, 256, (30, 40, 3), dtype=np.uint8),
        calibration,
        depth_m=depth_m,
        instance_ids=instance_ids,
        objects=[car],
        points=PointCloud.from_xyzi(
            points, class_ids=np.ones(50, np.int32), instance_ids=np.full(50, 3, np.int32)
        ),
    )


@pytest.fixture(scope="module")
def clean_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("clean")
    writer = DatasetWriter(out_dir)
    writer.write_frame(sensor_frame(), 0)
    writer.finalize()
    return out_dir


@pytest.fixture
def dataset(clean_dataset: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ds"
    shutil.copytree(clean_dataset, copy)
    return copy


def _replace(relative: str, edit: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    def corrupt(root: Path) -> Path:
        path = root / "kitti/training" / relative
        data = path.read_bytes()
        path.unlink()  # break the hard link so the YOLO copy stays intact
        path.write_bytes(edit(data))
        return path

    return corrupt


def _remove(relative: str) -> Callable[[Path], Path]:
    def corrupt(root: Path) -> Path:
        path = root / "kitti/training" / relative
        path.unlink()
        return path

    return corrupt


def _nan_point(data: bytes) -> bytes:
    points = np.frombuffer(data, dtype="<f4").copy()
    points[5] = np.nan
    return points.tobytes()


KITTI_CORRUPTIONS = {
    "truncated png": (_replace("image_2/000000.png", lambda d: d[: len(d) // 2]), "corrupt"),
    "not a png": (_replace("image_2/000000.png", lambda d: b"GIF89a" + d[6:]), "not a PNG"),
    "missing image": (_remove("image_2/000000.png"), "not found"),
    "truncated velodyne": (_replace("velodyne/000000.bin", lambda d: d[:-6]), "multiple of 16"),
    "nan points": (_replace("velodyne/000000.bin", _nan_point), "NaN"),
    "short point labels": (_replace("labels/000000.label", lambda d: d[:-4]), "bytes"),
    "label fields": (
        _replace("label_2/000000.txt", lambda d: d.rsplit(b" ", 1)[0]),
        "expected 15 fields",
    ),
    "label number": (
        _replace("label_2/000000.txt", lambda d: d.replace(b" ", b" x", 1)),
        "is not a number",
    ),
    "label type": (
        _replace("label_2/000000.txt", lambda d: b"Spaceship" + d[3:]),
        "unknown object type",
    ),
    "missing calib": (_remove("calib/000000.txt"), "missing calibration"),
    "calib key": (_replace("calib/000000.txt", lambda d: d.replace(b"P2:", b"PX:")), "'P2'"),
    "calib count": (
        _replace("calib/000000.txt", lambda d: d.replace(b"R0_rect: ", b"R0_rect: 1 ")),
        "needs 9 numbers",
    ),
    "depth size": (_replace("depth/000000.png", lambda d: _other_size_png()), "differs"),
    "sidecar json": (_replace("label_scenegen/000000.json", lambda d: d[:20]), "invalid JSON"),
}


def _other_size_png() -> bytes:
    return encode_png(np.zeros((5, 5), dtype=np.uint16))


@pytest.mark.parametrize("name", list(KITTI_CORRUPTIONS))
def test_corrupt_kitti_input_names_the_file(dataset, name):
    corrupt, reason = KITTI_CORRUPTIONS[name]
    bad_path = corrupt(dataset)
    with pytest.raises(DatasetReadError) as caught:
        read_kitti_frame(dataset / "kitti/training", "000000")
    assert caught.value.path == bad_path
    assert str(bad_path) in str(caught.value) and reason in str(caught.value)
    assert isinstance(caught.value, ScenegenError)


def test_clean_copy_reads_back(dataset):
    frame = read_kitti_frame(dataset / "kitti/training", "000000")
    assert frame.objects[0].event == "cut_in" and len(frame.points) == 50


def test_corrupt_coco_and_yolo_inputs_name_the_file(dataset):
    annotations = dataset / "coco/annotations.json"
    annotations.write_text(annotations.read_text()[:-10])
    with pytest.raises(DatasetReadError, match=r"annotations\.json.*not a readable JSON"):
        list(read_coco(annotations))
    label = dataset / "yolo/labels/000000.txt"
    for text, reason in (
        ("2 0.5 0.5 0.1\n", "expected 5 fields"),
        ("2 0.5 1.5 0.1 0.1\n", "must be in \\[0, 1\\]"),
        ("9 0.5 0.5 0.1 0.1\n", "class 9 outside"),
        ("car 0.5 0.5 0.1 0.1\n", "must be numbers"),
    ):
        label.write_text(text)
        with pytest.raises(DatasetReadError, match=f"000000.txt: line 1: .*{reason}"):
            list(read_yolo(dataset / "yolo"))


def test_coco_unknown_category_must_be_mapped(dataset):
    annotations = dataset / "coco/annotations.json"
    data = json.loads(annotations.read_text())
    data["categories"][0]["name"] = "zeppelin"  # the car category
    annotations.write_text(json.dumps(data))
    with pytest.raises(DatasetReadError, match="class_map"):
        list(read_coco(annotations))
    frames = list(read_coco(annotations, class_map={"zeppelin": None}))
    assert frames[0].objects == []
    frames = list(read_coco(annotations, class_map={"zeppelin": "truck"}))
    assert [o.class_name for o in frames[0].objects] == ["truck"]


def test_contact_sheet_layout_and_box_colours(dataset):
    writer = DatasetWriter(dataset)
    for index in range(1, 4):
        writer.write_frame(sensor_frame(), index)
    sheet = make_contact_sheet(dataset, max_frames=24, columns=3)
    assert sheet.shape == (2 * TILE_HEIGHT, 3 * TILE_WIDTH, 3) and sheet.dtype == np.uint8
    assert not sheet[TILE_HEIGHT:, TILE_WIDTH:].any()  # cells 5 and 6 are empty
    for cell in range(4):
        row, col = divmod(cell, 3)
        assert sheet[
            row * TILE_HEIGHT : (row + 1) * TILE_HEIGHT, col * TILE_WIDTH : (col + 1) * TILE_WIDTH
        ].any()
    # The car box's left edge, scaled like the image (40x30 fits 640x200 at 200/30), is drawn
    # in the car colour.
    tile = render_tile(sensor_frame())
    scale = TILE_HEIGHT / 30
    left_edge_x, mid_y = round(5 * scale), round(15 * scale)
    assert tuple(tile[mid_y, left_edge_x]) == CLASS_COLOURS_RGB[0]
    single = make_contact_sheet(dataset, max_frames=1, columns=3)
    assert single.shape == (TILE_HEIGHT, 3 * TILE_WIDTH, 3)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_jpeg_in_a_yolo_folder_names_the_file(dataset, damage):
    import cv2

    png = dataset / "yolo/images/000000.png"
    ok, encoded = cv2.imencode(".jpg", cv2.imread(str(png)))
    assert ok
    png.unlink()
    jpeg = png.with_suffix(".jpg")
    data = encoded.tobytes()
    jpeg.write_bytes(data[: len(data) // 2] if damage == "truncated" else data[:20] + b"\0" * 500)
    with pytest.raises(DatasetReadError, match="corrupt") as caught:
        list(read_yolo(dataset / "yolo"))
    assert caught.value.path == jpeg


def _state(root: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_readers_leave_their_inputs_unchanged_even_when_they_fail(dataset):
    for name, (corrupt, _) in KITTI_CORRUPTIONS.items():
        if name in ("nan points", "label number"):
            corrupt(dataset)
    for path in dataset.rglob("*"):  # read-only inputs must be enough
        path.chmod(0o444 if path.is_file() else 0o555)
    try:
        before = _state(dataset)
        with pytest.raises(DatasetReadError):
            read_kitti_frame(dataset / "kitti/training", "000000")
        assert len(list(read_yolo(dataset / "yolo"))) == 1
        assert len(list(read_coco(dataset / "coco/annotations.json"))) == 1
        assert _state(dataset) == before
    finally:
        for path in dataset.rglob("*"):
            path.chmod(0o644 if path.is_file() else 0o755)
