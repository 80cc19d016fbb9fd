"""End to end: scenario files -> rendered, labelled camera + LiDAR frames -> datasets on disk.

Everything is checked on real rendered frames read back from the written files.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, SCENARIOS

from scenegen.io import read_kitti_frame, read_manifest
from scenegen.io.coco import rle_decode

DEMO = [REPO / "scenarios" / "night_jaywalker.yaml", REPO / "scenarios" / "clear_day_urban.yaml"]


def _render(out: Path, workers: int, frames: int = 2) -> None:
    from scenegen.batch.engine import ProcessEngine
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch

    render_batch(plan_batch(DEMO, frames, 7), out, engine=ProcessEngine(workers))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, gl_backend) -> Path:
    out = tmp_path_factory.mktemp("ds") / "one_worker"
    _render(out, workers=1)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_frames_are_numbered_in_order(dataset):
    records = read_manifest(dataset)
    assert [r["frame_index"] for r in records] == [0, 1, 2, 3]
    assert [r["scenario_name"] for r in records] == ["night-jaywalker"] * 2 + [
        "clear-day-urban"
    ] * 2


def test_same_seed_same_bytes_for_any_worker_count(dataset, tmp_path):
    _render(tmp_path / "two_workers", workers=2)
    a, b = _files(dataset), _files(tmp_path / "two_workers")
    assert a.keys() == b.keys()
    different = [k for k in a if a[k] != b[k]]
    assert different == []


def test_masks_inside_boxes_and_3d_boxes_project_onto_2d_boxes(dataset):
    root = dataset / "kitti" / "training"
    checked_iou = 0
    for record in read_manifest(dataset):
        frame = read_kitti_frame(root, record["frame_id"])
        ids = cv2.imread(str(root / "instance" / f"{record['frame_id']}.png"), cv2.IMREAD_UNCHANGED)
        assert frame.objects, "every demo frame has labelled objects"
        for obj in frame.objects:
            rows, cols = np.nonzero(ids == obj.instance_id)
            x1, y1, x2, y2 = obj.box_2d
            # KITTI writes 2 decimals; the mask touches all four sides of its box.
            assert cols.min() == pytest.approx(x1, abs=0.01) and cols.max() + 1 == pytest.approx(
                x2, abs=0.01
            )
            assert rows.min() == pytest.approx(y1, abs=0.01) and rows.max() + 1 == pytest.approx(
                y2, abs=0.01
            )
            # Unoccluded (under 2 % of its pixels hidden) and untruncated objects.
            if obj.occlusion < 0.02 and obj.truncation == 0 and obj.box_3d is not None:
                # Through the calib as written to disk.
                T = frame.calibration.T_cam_from_lidar  # noqa: F841 - calib read from file
                corners = frame.calibration.project(obj.box_3d.corners_cam())
                proj = np.array([*corners.min(0), *corners.max(0)])
                ix = max(0.0, min(proj[2], x2) - max(proj[0], x1))
                iy = max(0.0, min(proj[3], y2) - max(proj[1], y1))
                inter = ix * iy
                union = (proj[2] - proj[0]) * (proj[3] - proj[1]) + (x2 - x1) * (y2 - y1) - inter
                # The mesh lies inside its 3D box, so the projected box encloses the 2D box
                # (1 px: integer pixel edges, 2 decimals in the file) ...
                assert proj[0] - 1 <= x1 and proj[1] - 1 <= y1, (record["frame_id"], proj)
                assert x2 <= proj[2] + 1 and y2 <= proj[3] + 1, (record["frame_id"], proj)
                # ... and fits it: a vehicle fills its box; a person's box also holds the
                # swing of arms and legs, which a person seen at an angle does not fill.
                tight = 0.8 if obj.class_name in ("car", "van", "truck", "bus") else 0.7
                assert inter / union >= tight, (
                    record["frame_id"],
                    obj.class_name,
                    proj,
                    obj.box_2d,
                )
                checked_iou += 1
    assert checked_iou >= 5


def test_kitti_coco_yolo_agree_box_for_box(dataset):
    coco = json.loads((dataset / "coco" / "annotations.json").read_text())
    by_image: dict[int, list] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    cats = {c["id"]: c["name"] for c in coco["categories"]}
    root = dataset / "kitti" / "training"
    for image in coco["images"]:
        stem = Path(image["file_name"]).stem
        assert (dataset / "coco" / image["file_name"]).resolve().is_file()
        frame = read_kitti_frame(root, stem)
        kitti = sorted((o.class_name, *np.round(o.box_2d, 2)) for o in frame.objects)
        everything = by_image.get(image["id"], [])
        anns = [a for a in everything if not a["iscrowd"]]
        # Ignored objects: COCO crowd regions and KITTI DontCare lines, box for box.
        crowd = sorted(
            (cats[a["category_id"]], *np.round(a["bbox"][:2], 2))
            for a in everything
            if a["iscrowd"]
        )
        assert crowd == sorted(
            (o.class_name, *np.round(o.box_2d[:2], 2)) for o in frame.ignored_objects
        )
        assert all(a["ignore"] == a["iscrowd"] for a in everything)
        coco_boxes = sorted(
            (
                cats[a["category_id"]],
                *np.round(
                    [
                        a["bbox"][0],
                        a["bbox"][1],
                        a["bbox"][0] + a["bbox"][2],
                        a["bbox"][1] + a["bbox"][3],
                    ],
                    2,
                ),
            )
            for a in anns
        )
        assert len(kitti) == len(coco_boxes)
        for k, c in zip(kitti, coco_boxes, strict=True):
            assert k[0] == c[0] and np.allclose(k[1:], c[1:], atol=0.011)
        # COCO masks decode to exactly the instance image's pixels.
        ids = cv2.imread(str(root / "instance" / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
        for a in everything:
            assert (rle_decode(a["segmentation"]) == (ids == a["instance_id"])).all()
        yolo = np.loadtxt(dataset / "yolo" / "labels" / f"{stem}.txt", ndmin=2)
        w, h = image["width"], image["height"]
        yolo_boxes = sorted(
            (
                int(c),
                *np.round(
                    [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h], 2
                ),
            )
            for c, cx, cy, bw, bh in yolo
        )
        from scenegen.frame import CLASS_NAMES

        kitti_ids = sorted((CLASS_NAMES.index(k[0]), *k[1:]) for k in kitti)
        for k, y in zip(kitti_ids, yolo_boxes, strict=True):
            assert k[0] == y[0] and np.allclose(k[1:], y[1:], atol=0.02)


def test_lidar_points_land_on_their_objects_in_the_image(dataset):
    root = dataset / "kitti" / "training"
    on_same, total = 0, 0
    for record in read_manifest(dataset):
        frame = read_kitti_frame(root, record["frame_id"])
        ids = cv2.imread(str(root / "instance" / f"{record['frame_id']}.png"), cv2.IMREAD_UNCHANGED)
        pts = frame.points.xyz
        inst = frame.points.instance_ids
        T = frame.calibration.T_cam_from_lidar
        cam = pts @ T[:3, :3].T + T[:3, 3]
        uv = frame.calibration.project(cam)
        h, w = ids.shape
        ok = (
            np.isfinite(uv).all(1)
            & (uv[:, 0] >= 0)
            & (uv[:, 0] < w)
            & (uv[:, 1] >= 0)
            & (uv[:, 1] < h)
        )
        labelled = ok & (inst > 0) & np.isin(inst, [o.instance_id for o in frame.objects])
        u, v = uv[labelled, 0].astype(int), uv[labelled, 1].astype(int)
        # Edge pixels aside: a point counts when its pixel or a neighbour has its id.
        pad = np.pad(ids, 1)
        hit = np.zeros(len(u), bool)
        for du in (-1, 0, 1):
            for dv in (-1, 0, 1):
                hit |= pad[v + 1 + dv, u + 1 + du] == inst[labelled]
        on_same += int(hit.sum())
        total += len(u)
    assert total > 500
    assert on_same / total >= 0.95


def test_box_point_counts_equal_points_inside_boxes(gl_backend):
    """Each label's LiDAR count equals the points inside its 3D box (containment worked out
    here independently, in the box's own frame), and an object's own points lie in its box."""
    from scenegen.pipeline import FrameRenderer
    from scenegen.scenario import load_scenario, sample_scene

    sc = load_scenario(DEMO[1])
    with FrameRenderer() as renderer:
        frame = renderer.render(sample_scene(sc, 0, 3, 1))
    T = frame.calibration.T_cam_from_lidar
    cam = frame.points.xyz.astype(np.float64) @ T[:3, :3].T + T[:3, 3]
    assert frame.objects
    for obj in frame.objects:
        b = obj.box_3d
        rel = cam - np.array([b.x, b.y, b.z])
        # Rotate into the box frame: x along its length, z along its width, y down.
        c, s = np.cos(b.rotation_y), np.sin(b.rotation_y)
        along_l = c * rel[:, 0] - s * rel[:, 2]
        along_w = s * rel[:, 0] + c * rel[:, 2]
        inside = (
            (np.abs(along_l) <= b.l / 2)
            & (np.abs(along_w) <= b.w / 2)
            & (rel[:, 1] <= 0)
            & (rel[:, 1] >= -b.h)
        )
        assert obj.lidar_points == int(inside.sum())
        # An object's own points lie in its box, give or take the range noise (2 cm std):
        # surface points sit on the box's faces, so noise pushes about half just outside.
        own = frame.points.instance_ids == obj.instance_id
        near = obj.box_3d.contains_cam(cam, margin_m=0.1)
        assert (near & own).sum() >= 0.99 * own.sum()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_example_scenario_renders(scenario, gl_backend):
    from scenegen.pipeline import FrameRenderer
    from scenegen.scenario import load_scenario, sample_scene

    sc = load_scenario(scenario)
    spec = sample_scene(sc, 0, sc.default_seed, sc.default_frames)
    with FrameRenderer() as renderer:
        frame = renderer.render(spec)
    assert frame.rgb.shape == (spec.camera.height, spec.camera.width, 3)
    assert frame.rgb.std() > 3, "not a blank image"
    assert frame.points is not None and len(frame.points) > 10_000
    occurring = {e.type for e in spec.events if e.occurs}
    tagged = {o.event for o in frame.objects if o.event}
    # Every event that occurred is visible in the labels (debris may be too small; allow misses only there).
    assert occurring - tagged <= {"debris", "lost_cargo"}


def test_shards_merged_equal_the_unsharded_run(dataset, tmp_path):
    """Two machines each render half (--shard 1/2, 2/2); merged, they equal one machine's run."""
    from scenegen.batch.plan import plan_batch
    from scenegen.batch.runner import render_batch
    from scenegen.io import merge_datasets

    plan = plan_batch(DEMO, 2, 7)
    for k in (1, 2):
        render_batch(plan.shard(k, 2), tmp_path / f"shard{k}")
    assert len(read_manifest(tmp_path / "shard1")) == 2
    merge_datasets([tmp_path / "shard1", tmp_path / "shard2"], tmp_path / "merged")
    a, b = _files(dataset), _files(tmp_path / "merged")
    # dataset.json records how each dataset was made (merged from shards or rendered whole).
    a.pop("dataset.json")
    b.pop("dataset.json")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
