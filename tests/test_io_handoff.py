"""Rendered datasets drop into other tools unchanged: read with their client libraries
(faster-coco-eval for COCO), a strict parser written from the KITTI devkit's readme and a
parser written from Ultralytics' documented YOLO format; relocatable, split, convertible.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from conftest import REPO

from scenegen.frame import CLASS_NAMES
from scenegen.io.coco import rle_decode, rle_encode, rle_to_polygons
from scenegen.io.manifest import read_manifest
from scenegen.io.splits import SplitSpec, SplitSpecError, assign_splits, parse_split
from scenegen.labels.objects import MIN_BOX_SIDE_PX

faster_coco_eval = pytest.importorskip("faster_coco_eval", reason="faster-coco-eval not installed")
from faster_coco_eval import COCO, COCOeval_faster  # noqa: E402
from faster_coco_eval.core import mask as coco_mask  # noqa: E402

SCENES = [REPO / "scenarios" / "night_jaywalker.yaml", REPO / "scenarios" / "clear_day_urban.yaml"]
FRAMES_PER_SCENE = 3
SPLIT = parse_split("train=0.67,val=0.33")


def _render(out: Path, formats=("kitti", "coco", "yolo"), split=SPLIT, masks="polygon") -> Path:
    from scenegen.batch.engine import ProcessEngine
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch

    plan = plan_batch(SCENES, FRAMES_PER_SCENE, 5)
    render_batch(plan, out, formats=formats, engine=ProcessEngine(2), split=split, coco_masks=masks)
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, gl_backend) -> Path:
    return _render(tmp_path_factory.mktemp("handoff") / "first")


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- relocation


def test_two_folders_byte_identical_and_no_absolute_path(dataset, tmp_path):
    second = _render(tmp_path / "elsewhere" / "second")
    assert _tree(dataset) == _tree(second)
    for path in dataset.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".yaml", ".txt"):
            text = path.read_text(encoding="utf-8")
            # Neither the output folder nor the scenario files' folder is named anywhere.
            assert str(dataset.parent) not in text and str(REPO) not in text, path


def ultralytics_image_files(data_yaml: Path, key: str) -> list[Path]:
    """Image files of split ``key`` as Ultralytics documents data.yaml: ``path`` is the
    dataset root (the yaml's folder when absent); ``train``/``val`` are folders or .txt
    lists relative to it; list lines starting with ``./`` are relative to the list."""
    data = yaml.safe_load(data_yaml.read_text())
    root = Path(data["path"]) if data.get("path") else data_yaml.parent
    entry = root / data[key]
    if entry.is_dir():
        return sorted(p for p in entry.rglob("*") if p.suffix == ".png")
    lines = entry.read_text().splitlines()
    return [entry.parent / line[2:] if line.startswith("./") else Path(line) for line in lines]


def parse_yolo_label(path: Path) -> list[tuple[int, float, float, float, float]]:
    """Ultralytics' documented label format: one 'class x_center y_center width height' row
    per object, class 0-indexed, coordinates normalised to 0..1."""
    rows = []
    for line in path.read_text().splitlines():
        fields = line.split()
        assert len(fields) == 5, line
        cls, *xywh = int(fields[0]), *(float(v) for v in fields[1:])
        assert 0 <= cls < len(CLASS_NAMES)
        assert all(0.0 <= v <= 1.0 for v in xywh), line
        rows.append((cls, *xywh))
    return rows


def test_copied_dataset_loads_after_the_original_is_deleted(dataset, tmp_path):
    original = tmp_path / "original"
    shutil.copytree(dataset, original)
    moved = tmp_path / "moved"
    shutil.copytree(original, moved)
    shutil.rmtree(original)
    for key in ("train", "val"):
        images = ultralytics_image_files(moved / "yolo" / "data.yaml", key)
        assert images and all(p.is_file() and p.is_relative_to(moved) for p in images)
        for image in images:
            label = Path(str(image).replace("/images/", "/labels/")).with_suffix(".txt")
            parse_yolo_label(label)
    coco = COCO(str(moved / "coco" / "annotations.json"))
    for image in coco.loadImgs(coco.getImgIds()):
        png = cv2.imread(str(moved / "coco" / image["file_name"]))
        assert png is not None and png.shape[:2] == (image["height"], image["width"])
    from scenegen.io import read_coco, read_kitti_frame, read_yolo

    assert len(list(read_coco(moved / "coco" / "annotations.json"))) == 2 * FRAMES_PER_SCENE
    assert len(list(read_yolo(moved / "yolo"))) == 2 * FRAMES_PER_SCENE
    assert read_kitti_frame(moved / "kitti" / "training", "000000").objects


# --------------------------------------------------------------------------- splits


def test_splits_are_written_in_each_formats_convention(dataset):
    records = read_manifest(dataset)
    splits = assign_splits(records, SPLIT)
    assert [len(splits["train"]), len(splits["val"])] == [4, 2]  # 0.67 of 6, by count
    sets = dataset / "kitti" / "ImageSets"
    for name in ("train", "val"):
        assert (sets / f"{name}.txt").read_text().split() == splits[name]
        coco = json.loads((dataset / "coco" / f"annotations_{name}.json").read_text())
        assert [image["frame_id"] for image in coco["images"]] == splits[name]
        ids = {image["id"] for image in coco["images"]}
        assert coco["annotations"] and all(a["image_id"] in ids for a in coco["annotations"])
        images = ultralytics_image_files(dataset / "yolo" / "data.yaml", name)
        assert [p.stem for p in images] == splits[name]
    assert (sets / "trainval.txt").read_text().split() == sorted(splits["train"] + splits["val"])
    assert (dataset / "kitti/training/image_2").is_dir()  # ImageSets beside training/
    summary = json.loads((dataset / "dataset.json").read_text())
    assert summary["split"] == {"fractions": {"train": 0.67, "val": 0.33}, "by": "frame"}


def _records(n_scenarios: int, frames: int, cells: int = 1) -> list[dict]:
    return [
        {
            "frame_id": f"{s * frames + i:06d}",
            "frame_index": s * frames + i,
            "seed": 1000 + 7 * (s * frames + i),
            "scenario_name": f"scene{s}",
            "sweep_cell": {"visibility_m": 10 * (i % cells)},
        }
        for s in range(n_scenarios)
        for i in range(frames)
    ]


def test_split_by_seed_is_exact_and_independent_of_record_order():
    records = _records(4, 25)
    spec = parse_split("train=0.7,val=0.2,test=0.1")
    splits = assign_splits(records, spec)
    assert [len(splits[n]) for n in ("train", "val", "test")] == [70, 20, 10]
    assert sorted(f for stems in splits.values() for f in stems) == [r["frame_id"] for r in records]
    assert assign_splits(list(reversed(records)), spec) == splits
    # A frame's split follows its seed, not its place: renumbering keeps the assignment.
    shifted = [{**r, "frame_id": f"x{r['frame_id']}"} for r in records]
    assert assign_splits(shifted, spec)["val"] == [f"x{s}" for s in splits["val"]]


def test_split_by_scenario_or_cell_keeps_groups_whole():
    records = _records(10, 6, cells=3)
    scenario_of = {r["frame_id"]: r["scenario_name"] for r in records}
    by_scenario = assign_splits(records, SplitSpec((("train", 0.8), ("val", 0.2)), "scenario"))
    assert len(by_scenario["train"]) == 48 and len(by_scenario["val"]) == 12
    train_scenes = {scenario_of[f] for f in by_scenario["train"]}
    assert train_scenes.isdisjoint(scenario_of[f] for f in by_scenario["val"])
    cell_of = {
        r["frame_id"]: (r["scenario_name"], r["sweep_cell"]["visibility_m"]) for r in records
    }
    by_cell = assign_splits(records, SplitSpec((("train", 0.5), ("val", 0.5)), "cell"))
    assert {cell_of[f] for f in by_cell["train"]}.isdisjoint(cell_of[f] for f in by_cell["val"])
    assert len(by_cell["train"]) == 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train=0.8", "at least train and val"),
        ("train=0.8,val=0.3", "sum to 1"),
        ("train=0.8,dev=0.2", "split names"),
        ("train=0.8,val", "NAME=FRACTION"),
        ("train=1.2,val=-0.2", r"\(0, 1\]"),
    ],
)
def test_bad_splits_say_what_was_expected(text, message):
    with pytest.raises(SplitSpecError, match=message):
        parse_split(text)


# --------------------------------------------------------------------------- COCO


def test_coco_evaluates_ground_truth_to_one_with_crowd_regions_ignored(dataset, tmp_path):
    gt_path = dataset / "coco" / "annotations.json"
    coco = COCO(str(gt_path))
    anns = coco.loadAnns(coco.getAnnIds())
    labelled = [a for a in anns if not a["iscrowd"]]
    crowd = [a for a in anns if a["iscrowd"]]
    assert labelled and crowd, "the render should have labelled objects and ignore regions"
    assert all(a["ignore"] == 1 for a in crowd)
    # Detections: every labelled object, plus one on each ignore region (not a false positive).
    detections = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 1.0,
        }
        for a in labelled + crowd
    ]
    results = coco.loadRes(detections)
    evaluator = COCOeval_faster(coco, results, "bbox", print_function=lambda *a: None)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[1] == pytest.approx(1.0)  # AP50
    assert evaluator.stats[0] == pytest.approx(1.0)  # AP50:95


def test_coco_polygons_rasterise_back_to_the_instance_masks(dataset):
    data = json.loads((dataset / "coco" / "annotations.json").read_text())
    images = {image["id"]: image for image in data["images"]}
    checked = 0
    for ann in data["annotations"]:
        image = images[ann["image_id"]]
        ids = cv2.imread(
            str(dataset / "kitti/training/instance" / f"{image['frame_id']}.png"),
            cv2.IMREAD_UNCHANGED,
        )
        want = ids == ann["instance_id"]
        segmentation = ann["segmentation"]
        if ann["iscrowd"]:
            assert isinstance(segmentation, dict)  # crowd regions stay RLE, as in COCO
            continue
        assert isinstance(segmentation, list) and all(len(p) >= 6 for p in segmentation)
        rles = coco_mask.frPyObjects(segmentation, image["height"], image["width"])
        got = coco_mask.decode(coco_mask.merge(rles)).astype(bool)
        # Exactly the mask with its holes filled (a COCO polygon has none).
        filled = np.zeros_like(want, np.uint8)
        cv2.drawContours(
            filled,
            cv2.findContours(want.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0],
            -1,
            1,
            cv2.FILLED,
        )
        np.testing.assert_array_equal(got, filled.astype(bool))
        checked += 1
    assert checked > 5


def test_read_coco_rebuilds_instances_from_polygons(dataset):
    from scenegen.io import read_coco, read_kitti_frame

    for frame in read_coco(dataset / "coco" / "annotations.json"):
        kitti = read_kitti_frame(dataset / "kitti" / "training", frame.frame_id)
        assert [o.instance_id for o in frame.objects] == [o.instance_id for o in kitti.objects]
        assert [o.instance_id for o in frame.ignored_objects] == [
            o.instance_id for o in kitti.ignored_objects
        ]
        for obj in frame.objects + frame.ignored_objects:
            x1, y1, x2, y2 = obj.box_2d.astype(int)
            got = frame.instance_ids[y1:y2, x1:x2] == obj.instance_id
            want = kitti.instance_ids[y1:y2, x1:x2] == obj.instance_id
            # Painted in file order, a mask with a hole filled may cover a pixel of another.
            assert (got ^ want).sum() <= 0.02 * want.sum() + 2


def test_polygons_of_random_masks_and_one_pixel_lines_decode_exactly():
    rng = np.random.default_rng(4)
    for trial in range(40):
        mask = np.zeros((40, 50), bool)
        for _ in range(int(rng.integers(1, 4))):
            x, y = rng.integers(0, 45), rng.integers(0, 35)
            w, h = rng.integers(1, 12, 2)
            mask[y : y + h, x : x + w] = True
        polygons = rle_to_polygons(rle_encode(mask))
        got = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(polygons, 40, 50)))
        filled = np.zeros((40, 50), np.uint8)
        contours = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(filled, contours[0], -1, 1, cv2.FILLED)
        np.testing.assert_array_equal(got.astype(bool), filled.astype(bool), err_msg=str(trial))
    line = np.zeros((10, 10), bool)
    line[3, 2:8] = True
    got = coco_mask.decode(
        coco_mask.merge(coco_mask.frPyObjects(rle_to_polygons(rle_encode(line)), 10, 10))
    )
    np.testing.assert_array_equal(got.astype(bool), line)
    assert rle_decode(rle_encode(line)).sum() == 6


def test_yolo_boxes_respect_the_minimum_size(dataset):
    for label in (dataset / "yolo" / "labels").glob("*.txt"):
        image = cv2.imread(str(dataset / "yolo" / "images" / f"{label.stem}.png"))
        height, width = image.shape[:2]
        for _, _, _, w, h in parse_yolo_label(label):
            assert w * width >= MIN_BOX_SIDE_PX - 1e-3 and h * height >= MIN_BOX_SIDE_PX - 1e-3


def test_pycocotools_reads_the_polygons_and_scores_ground_truth_one(dataset):
    pycocotools = pytest.importorskip("pycocotools.coco", reason="pycocotools not installed")
    from pycocotools.cocoeval import COCOeval

    coco = pycocotools.COCO(str(dataset / "coco" / "annotations_train.json"))
    anns = coco.loadAnns(coco.getAnnIds())
    for ann in anns:  # the reference rasteriser agrees with faster-coco-eval's
        mask = coco.annToMask(ann).astype(bool)
        rle = coco_mask.frPyObjects(ann["segmentation"], *mask.shape)
        theirs = coco_mask.decode(rle if isinstance(rle, dict) else coco_mask.merge(rle))
        np.testing.assert_array_equal(mask, theirs.astype(bool))
    detections = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "score": 1.0,
         "segmentation": coco.annToRLE(a)}
        for a in anns
    ]  # fmt: skip
    evaluator = COCOeval(coco, coco.loadRes(detections), "segm")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)


# --------------------------------------------------------------------------- KITTI

KITTI_TYPES = {"Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc"}


def parse_kitti_label_strict(path: Path, width: int, height: int) -> list[dict]:
    """Label lines as the KITTI object devkit's readme defines them: 15 values (type,
    truncated 0..1, occluded 0..3, alpha -pi..pi, bbox left top right bottom in pixels,
    dimensions h w l in metres, location x y z in camera coordinates, rotation_y -pi..pi);
    DontCare lines carry -1 / -10 / -1000 for everything but their box."""
    objects = []
    for line in path.read_text().splitlines():
        fields = line.split(" ")
        assert len(fields) == 15, line
        kind, values = fields[0], [float(v) for v in fields[1:]]
        truncated, occluded, alpha = values[0], values[1], values[2]
        x1, y1, x2, y2 = values[3:7]
        assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height, line
        if kind == "DontCare":
            assert values[:3] == [-1, -1, -10] and values[7:] == [
                -1,
                -1,
                -1,
                -1000,
                -1000,
                -1000,
                -10,
            ]
        else:
            assert kind in KITTI_TYPES, kind
            assert 0.0 <= truncated <= 1.0 and occluded in (0, 1, 2, 3), line
            assert -math.pi - 0.01 <= alpha <= math.pi + 0.01
            h, w, l = values[7:10]
            assert min(h, w, l) > 0, line
            assert -math.pi - 0.01 <= values[13] <= math.pi + 0.01
        objects.append({"type": kind, "box": (x1, y1, x2, y2), "occluded": occluded})
    return objects


def parse_kitti_calib_strict(path: Path) -> dict[str, np.ndarray]:
    """P0-P3 (3x4), R0_rect (3x3), Tr_velo_to_cam and Tr_imu_to_velo (3x4), as the devkit's
    readme and its ``readCalibration`` expect."""
    sizes = {"P0": 12, "P1": 12, "P2": 12, "P3": 12, "R0_rect": 9}
    sizes |= {"Tr_velo_to_cam": 12, "Tr_imu_to_velo": 12}
    matrices = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        key, values = line.split(":", 1)
        numbers = np.array(values.split(), dtype=np.float64)
        assert len(numbers) == sizes[key], key
        matrices[key] = numbers.reshape(3, -1)
    assert set(matrices) == set(sizes)
    return matrices


def test_kitti_files_pass_a_strict_devkit_parser(dataset, kitti_root):
    # The parser itself accepts real KITTI (it is as strict as real files allow).
    for label in sorted((kitti_root / "label_2").glob("*.txt")):
        image = cv2.imread(str(kitti_root / "image_2" / f"{label.stem}.png"))
        parse_kitti_label_strict(label, image.shape[1], image.shape[0])
        parse_kitti_calib_strict(kitti_root / "calib" / label.name)
    root = dataset / "kitti" / "training"
    dont_care = 0
    for label in sorted((root / "label_2").glob("*.txt")):
        objects = parse_kitti_label_strict(label, 1242, 375)
        dont_care += sum(o["type"] == "DontCare" for o in objects)
        parse_kitti_calib_strict(root / "calib" / label.name)
    assert dont_care > 0


def test_lidar_sits_behind_the_camera_as_in_real_kitti(dataset, kitti_root):
    real_z = [
        parse_kitti_calib_strict(path)["Tr_velo_to_cam"][2, 3]
        for path in sorted((kitti_root / "calib").glob("*.txt"))
    ]
    rendered = parse_kitti_calib_strict(dataset / "kitti/training/calib/000000.txt")
    tr = rendered["Tr_velo_to_cam"]
    # LiDAR origin in camera coordinates: 0.27 m behind (z), 0.08 m above (y down).
    np.testing.assert_allclose(tr[:, 3], [0.0, -0.08, -0.27], atol=1e-9)
    assert all(abs(z - tr[2, 3]) < 0.08 for z in real_z), real_z


# --------------------------------------------------------------------------- convert


def test_convert_writes_what_a_render_would_without_rendering(dataset, tmp_path, gl_backend):
    from scenegen.io.convert import convert_dataset

    kitti_only = _render(tmp_path / "kitti_only", formats=("kitti",), split=None)
    converted = tmp_path / "converted"
    convert_dataset(kitti_only, converted, ("coco", "yolo"), split=SPLIT, coco_masks="polygon")
    got, want = _tree(converted), _tree(dataset)
    for relative in [n for n in want if n.startswith("yolo/")]:
        assert got[relative] == want[relative], relative
    ours = json.loads((converted / "coco" / "annotations_val.json").read_text())
    theirs = json.loads((dataset / "coco" / "annotations_val.json").read_text())
    keys = ("image_id", "category_id", "bbox", "iscrowd", "segmentation", "instance_id")
    assert [{k: a[k] for k in keys} for a in ours["annotations"]] == [
        {k: a[k] for k in keys} for a in theirs["annotations"]
    ]
    assert [r["seed"] for r in read_manifest(converted)] == [
        r["seed"] for r in read_manifest(dataset)
    ]
    # In place, only the split changes.
    convert_dataset(converted, converted, ("coco", "yolo"), split=parse_split("train=0.5,val=0.5"))
    assert len((converted / "yolo" / "val.txt").read_text().split()) == 3


# --------------------------------------------------------------------------- stereo

STEREO_SCENARIO = """\
version: 1
name: stereo-pair
frames: 1
seed: 3
sensors:
  camera: {stereo_baseline_m: 0.54}
environment: {time_of_day: "12:00"}
actors:
  - {class: car, count: 4}
"""


@pytest.fixture(scope="module")
def stereo_frame(tmp_path_factory, gl_backend):
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch
    from scenegen.io import read_kitti_frame

    folder = tmp_path_factory.mktemp("stereo")
    scenario = folder / "stereo.yaml"
    scenario.write_text(STEREO_SCENARIO)
    render_batch(plan_batch([scenario], 1, None), folder / "out", formats=("kitti",), lidar=False)
    return folder / "out", read_kitti_frame(folder / "out" / "kitti" / "training", "000000")


def test_right_camera_sees_the_left_image_shifted_by_the_disparity(stereo_frame):
    _, frame = stereo_frame
    assert frame.rgb_right is not None and frame.stereo_baseline_m == pytest.approx(0.54)
    fx = frame.calibration.intrinsics.fx
    depth = frame.depth_m
    rows, cols = np.nonzero(np.isfinite(depth) & (depth > 3.0) & (depth < 60.0))
    # A left pixel at depth z is seen by the right camera fx * b / z pixels further left.
    right_cols = np.rint(cols + 0.5 - fx * 0.54 / depth[rows, cols] - 0.5).astype(int)
    inside = right_cols >= 0
    # Each camera has its own sensor noise: compare 5x5 means, which keep the content.
    rgb_left = cv2.blur(frame.rgb, (5, 5))
    rgb_right = cv2.blur(frame.rgb_right, (5, 5))
    left = rgb_left[rows[inside], cols[inside]].astype(np.int16)
    right = rgb_right[rows[inside], right_cols[inside]].astype(np.int16)
    unshifted = rgb_right[rows[inside], cols[inside]].astype(np.int16)
    matched = np.abs(left - right).max(axis=1)
    assert np.median(matched) <= 3  # occlusion edges and highlights aside, the same colour
    assert np.mean(matched <= 8) > 0.8
    assert np.mean(np.abs(left - unshifted).max(axis=1) <= 8) < np.mean(matched <= 8)


def test_p3_carries_kittis_baseline(stereo_frame, kitti_root):
    out, _ = stereo_frame
    calib = parse_kitti_calib_strict(out / "kitti/training/calib/000000.txt")
    P2, P3 = calib["P2"], calib["P3"]
    point = np.array([1.5, 0.8, 12.0, 1.0])  # camera coordinates, metres
    u2, u3 = (P2 @ point)[0] / 12.0, (P3 @ point)[0] / 12.0
    assert u2 - u3 == pytest.approx(P2[0, 0] * 0.54 / 12.0)
    for path in sorted((kitti_root / "calib").glob("*.txt")):
        real = parse_kitti_calib_strict(path)
        real_baseline = (real["P2"][0, 3] - real["P3"][0, 3]) / real["P2"][0, 0]
        assert real_baseline == pytest.approx(0.54, abs=0.01)
