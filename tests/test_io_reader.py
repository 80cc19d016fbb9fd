"""DatasetReader: one reader for scenegen, KITTI, COCO and YOLO datasets, with per-frame errors.

References the reader is held to:

* ``data/reader_kitti_old_paths.json``: what the two readers the reader replaced
  (``harness.dataset.FrameSource`` and ``augment.run._iter_kitti``, commit 7004345) returned
  for the three real KITTI frames of the shared data: frame ids, classes, boxes (3 decimals),
  sha256 of the decoded RGB and of the scan.
* A rendered scenegen dataset: its KITTI files parsed here by KITTI's own rules (label_2
  fields 4-7 are the box), its COCO JSON read as COCO defines ``bbox`` (x, y, w, h), its YOLO
  label lines as Ultralytics defines them (class cx cy w h, normalised), images decoded with
  OpenCV directly.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from conftest import REPO

from scenegen.frame import CLASS_NAMES, KITTI_TYPE
from scenegen.io import DatasetReader, DatasetReadError, FrameError, locate_dataset

OLD_PATHS = REPO / "tests" / "data" / "reader_kitti_old_paths.json"


def _digest(frame) -> dict:
    return {
        "frame_id": frame.frame_id,
        "classes": [o.class_name for o in frame.objects],
        "boxes": [[round(float(v), 3) for v in o.box_2d] for o in frame.objects],
        "rgb_sha256": hashlib.sha256(np.ascontiguousarray(frame.rgb).tobytes()).hexdigest(),
        "points": None
        if frame.points_lidar is None
        else hashlib.sha256(frame.points_lidar.tobytes()).hexdigest(),
    }


@pytest.mark.parametrize("form", ["root", "training", "image_2"])
def test_real_kitti_reads_as_the_old_readers_did(kitti_root, form) -> None:
    path = {"root": kitti_root.parent, "training": kitti_root, "image_2": kitti_root / "image_2"}
    reader = DatasetReader(path[form])
    assert reader.format == "kitti" and reader.location == kitti_root
    assert reader.frame_ids == ("000000", "000001", "000003")
    assert [_digest(frame) for frame in reader] == json.loads(OLD_PATHS.read_text())
    assert reader.index_of("000003") == 2
    assert _digest(reader.frame("000003")) == _digest(reader.frame(2))
    assert reader.source_file("000001") == kitti_root / "image_2" / "000001.png"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, gl_backend) -> Path:
    from scenegen.batch.runner import plan_batch, render_batch

    out = tmp_path_factory.mktemp("reader") / "rendered"
    plan = plan_batch([REPO / "scenarios" / "night_jaywalker.yaml"], 2, None)
    render_batch(plan, out, formats=("kitti", "coco", "yolo"), workers=1)
    return out


def _kitti_reference(training: Path, frame_id: str) -> tuple[list[str], np.ndarray]:
    """Classes and boxes of a label_2 file by KITTI's format (type, ..., x1 y1 x2 y2, ...),
    the scenegen class from the sidecar where "Misc" is ambiguous."""
    sidecar = json.loads((training / "label_scenegen" / f"{frame_id}.json").read_text())
    lines = [
        line.split()
        for line in (training / "label_2" / f"{frame_id}.txt").read_text().splitlines()
        if line.split() and line.split()[0] != "DontCare"
    ]
    classes = [o["class_name"] for o in sidecar["objects"]]
    assert [KITTI_TYPE[c] for c in classes] == [fields[0] for fields in lines]
    return classes, np.array([[float(v) for v in f[4:8]] for f in lines]).reshape(-1, 4)


def _coco_reference(annotation_json: Path) -> dict[str, tuple[list[str], np.ndarray, Path]]:
    data = json.loads(annotation_json.read_text())
    names = {c["id"]: c["name"] for c in data["categories"]}
    out = {}
    for image in data["images"]:
        anns = [a for a in data["annotations"] if a["image_id"] == image["id"]]
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)])
        out[image["frame_id"]] = (
            [names[a["category_id"]] for a in anns],
            boxes.reshape(-1, 4),
            annotation_json.parent / image["file_name"],
        )
    return out


def _yolo_reference(root: Path, frame_id: str, width: int, height: int):
    names = yaml.safe_load((root / "data.yaml").read_text())["names"]
    rows = [line.split() for line in (root / "labels" / f"{frame_id}.txt").read_text().splitlines()]
    boxes = [
        [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height]
        for cx, cy, w, h in ([float(v) for v in row[1:]] for row in rows)
    ]
    return [names[int(row[0])] for row in rows], np.array(boxes).reshape(-1, 4)


def _decoded(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_every_format_of_a_rendered_dataset_reads_like_its_files(rendered) -> None:
    training = rendered / "kitti" / "training"
    coco = _coco_reference(rendered / "coco" / "annotations.json")
    readers = {fmt: DatasetReader(rendered, fmt) for fmt in ("scenegen", "kitti", "coco", "yolo")}
    assert DatasetReader(rendered).format == "scenegen"
    assert all(r.frame_ids == ("000000", "000001") for r in readers.values())
    assert readers["scenegen"].record(1)["frame_id"] == "000001"
    total_objects = 0
    for frame_id in ("000000", "000001"):
        classes, boxes = _kitti_reference(training, frame_id)
        image = _decoded(training / "image_2" / f"{frame_id}.png")
        total_objects += len(classes)
        for fmt, reader in readers.items():
            frame = reader.frame(frame_id)
            np.testing.assert_array_equal(frame.rgb, image)
            got = np.array([o.box_2d for o in frame.objects]).reshape(-1, 4)
            if fmt in ("scenegen", "kitti"):
                assert [o.class_name for o in frame.objects] == classes
                np.testing.assert_allclose(got, boxes, atol=1e-4)  # 2 decimals, exactly
                assert frame.points_lidar is not None
            elif fmt == "coco":
                coco_classes, coco_boxes, image_path = coco[frame_id]
                assert [o.class_name for o in frame.objects] == coco_classes == classes
                np.testing.assert_allclose(got, coco_boxes, atol=1e-4)
                np.testing.assert_allclose(got, boxes, atol=0.006)
                assert reader.source_file(frame_id).resolve() == image_path.resolve()
            else:
                yolo_classes, yolo_boxes = _yolo_reference(
                    rendered / "yolo", frame_id, frame.width, frame.height
                )
                assert [o.class_name for o in frame.objects] == yolo_classes
                np.testing.assert_allclose(got, yolo_boxes, atol=1e-3)
    assert total_objects > 0


def test_one_corrupt_image_fails_only_its_frame_in_every_format(rendered, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(rendered, copy, copy_function=shutil.copy)  # no shared hard links
    bad = {
        "kitti": copy / "kitti/training/image_2/000001.png",
        "coco": copy / "kitti/training/image_2/000001.png",  # COCO points at the KITTI PNGs
        "yolo": copy / "yolo/images/000001.png",
    }
    for path in set(bad.values()):
        path.write_bytes(path.read_bytes()[:500])  # truncated
    for fmt, path in bad.items():
        reader = DatasetReader(copy, fmt)
        good, failed = reader.read(0), reader.read("000001")
        assert isinstance(failed, FrameError), fmt
        assert failed.path.resolve() == path.resolve() and failed.part == "image"
        assert failed.frame_id == "000001" and failed.index == 1
        assert "corrupt" in failed.reason and str(path.name) in str(failed)
        reference = DatasetReader(rendered, fmt).frame(0)
        np.testing.assert_array_equal(good.rgb, reference.rgb)
        assert [o.class_name for o in good.objects] == [o.class_name for o in reference.objects]
        with pytest.raises(DatasetReadError, match="corrupt"):
            reader.frame(1)
        assert [type(item).__name__ for item in reader] == ["Frame", "FrameError"]


def test_a_broken_label_file_names_its_part(rendered, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(rendered, copy, copy_function=shutil.copy)
    (copy / "yolo/labels/000000.txt").write_text("0 0.5 0.5 0.1\n")
    (copy / "kitti/training/velodyne/000000.bin").write_bytes(b"\0" * 17)
    yolo_error = DatasetReader(copy, "yolo").read(0)
    assert yolo_error.part == "labels" and "expected 5 fields" in yolo_error.reason
    kitti_error = DatasetReader(copy, "kitti").read(0)
    assert kitti_error.part == "LiDAR scan" and "multiple of 16" in kitti_error.reason


def _yolo_folder(root: Path, names: list[str], label: str) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    cv2.imwrite(str(root / "images" / "a.png"), np.zeros((10, 20, 3), np.uint8))
    (root / "labels" / "a.txt").write_text(label)
    (root / "data.yaml").write_text(yaml.safe_dump({"names": names}))
    return root


def test_one_class_policy_for_coco_and_yolo(rendered, tmp_path) -> None:
    # YOLO: COCO's own names map as in COCO files; unknown names fail on opening, listed.
    root = _yolo_folder(tmp_path / "y", ["person", "zeppelin", "car"], "0 0.5 0.5 0.5 0.5\n")
    with pytest.raises(DatasetReadError, match=r"\['zeppelin'\].*class_map") as caught:
        DatasetReader(root)
    assert caught.value.path == root / "data.yaml"
    assert DatasetReader(root, unknown_classes="skip").frame(0).objects[0].class_name == (
        "pedestrian"
    )
    mapped = DatasetReader(root, class_map={"zeppelin": "truck", "person": None})
    assert mapped.frame(0).objects == []
    (root / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    assert mapped.frame(0).objects[0].class_name == "truck"
    # COCO: the same rules on category names.
    annotations = tmp_path / "annotations.json"
    data = json.loads((rendered / "coco/annotations.json").read_text())
    for image in data["images"]:
        image["file_name"] = str((rendered / "coco" / image["file_name"]).resolve())
    data["categories"][CLASS_NAMES.index("pedestrian")]["name"] = "person"
    data["categories"][CLASS_NAMES.index("debris")]["name"] = "zeppelin"
    annotations.write_text(json.dumps(data))
    with pytest.raises(DatasetReadError, match=r"\['zeppelin'\]"):
        DatasetReader(annotations)
    original = DatasetReader(rendered, "coco").frame(0)
    frame = DatasetReader(annotations, unknown_classes="skip").frame(0)
    expected = [o.class_name for o in original.objects if o.class_name != "debris"]
    assert [o.class_name for o in frame.objects] == expected
    with pytest.raises(ValueError, match="targets must be scenegen classes"):
        DatasetReader(annotations, class_map={"zeppelin": "blimp"})


def test_locating_and_naming_the_wrong_format(rendered, tmp_path) -> None:
    assert locate_dataset(rendered / "yolo" / "images") == ("yolo", rendered / "yolo")
    assert locate_dataset(rendered / "coco") == ("coco", rendered / "coco" / "annotations.json")
    assert locate_dataset(rendered, "kitti") == ("kitti", rendered / "kitti" / "training")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetReadError, match="not a kitti dataset: expected a KITTI folder"):
        DatasetReader(tmp_path / "empty", "kitti")
    with pytest.raises(DatasetReadError, match="not a dataset"):
        DatasetReader(tmp_path / "empty")
    with pytest.raises(DatasetReadError, match="no such file"):
        DatasetReader(tmp_path / "missing")
    reader = DatasetReader(rendered)
    with pytest.raises(KeyError, match="not found"):
        reader.read("999999")
    with pytest.raises(IndexError):
        reader.read(2)
