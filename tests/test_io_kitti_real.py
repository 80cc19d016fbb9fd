"""Reading real KITTI frames: sizes, labels, and a calibration that projects like KITTI's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scenegen.frame import Box3D
from scenegen.io import DatasetWriter, list_kitti_frames, make_contact_sheet, read_kitti_frame
from scenegen.io.preview import TILE_HEIGHT, TILE_WIDTH

KITTI_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "kitti" / "training"
pytestmark = pytest.mark.skipif(
    not KITTI_ROOT.is_dir(), reason=f"real KITTI sample frames not found at {KITTI_ROOT}"
)

# frame -> (height, width, labelled objects (classes), DontCare lines), from the files.
EXPECTED = {
    "000000": (370, 1224, ["pedestrian"], 0),
    "000001": (375, 1242, ["truck", "car", "cyclist"], 4),
    "000003": (375, 1242, ["car"], 2),
}


def raw_calib(frame_id: str) -> dict[str, np.ndarray]:
    """The calib file's matrices as flat float arrays, parsed independently of scenegen."""
    values = {}
    for line in (KITTI_ROOT / "calib" / f"{frame_id}.txt").read_text().splitlines():
        if ":" in line:
            key, numbers = line.split(":", 1)
            values[key] = np.array(numbers.split(), dtype=np.float64)
    return values


def raw_kitti_projection(frame_id: str, points_xyz: np.ndarray) -> np.ndarray:
    """KITTI's documented formula ``P2 R0_rect Tr_velo_to_cam x``."""
    values = raw_calib(frame_id)
    R0 = np.eye(4)
    R0[:3, :3] = values["R0_rect"].reshape(3, 3)
    Tr = np.vstack([values["Tr_velo_to_cam"].reshape(3, 4), [0, 0, 0, 1]])
    homogeneous = np.hstack([points_xyz, np.ones((len(points_xyz), 1))])
    projected = (values["P2"].reshape(3, 4) @ R0 @ Tr @ homogeneous.T).T
    return projected[:, :2] / projected[:, 2:3]


def lidar_to_cam(frame, points_xyz: np.ndarray) -> np.ndarray:
    T = frame.calibration.T_cam_from_lidar
    return points_xyz.astype(np.float64) @ T[:3, :3].T + T[:3, 3]


def test_real_frames_have_their_sizes_and_labels():
    assert list_kitti_frames(KITTI_ROOT) == sorted(EXPECTED)
    for frame_id, (height, width, classes, dont_care) in EXPECTED.items():
        frame = read_kitti_frame(KITTI_ROOT, frame_id)
        assert frame.rgb.shape == (height, width, 3) and frame.rgb.dtype == np.uint8
        assert (frame.calibration.intrinsics.width, frame.calibration.intrinsics.height) == (
            width,
            height,
        )
        assert [o.class_name for o in frame.objects] == classes
        assert frame.meta["kitti_dont_care_boxes"].shape == (dont_care, 4)
        assert frame.points.xyz.dtype == frame.points.intensity.dtype == np.float32
    assert len({EXPECTED[f][:2] for f in EXPECTED}) == 2


def test_calibration_projects_like_kitti_formula_and_lands_in_the_image():
    for frame_id in EXPECTED:
        frame = read_kitti_frame(KITTI_ROOT, frame_id)
        xyz = frame.points.xyz
        points_cam = lidar_to_cam(frame, xyz)
        ahead = points_cam[:, 2] > 1.0
        ours = frame.calibration.project(points_cam[ahead])
        np.testing.assert_allclose(ours, raw_kitti_projection(frame_id, xyz[ahead]), atol=1e-6)
        # Points well inside the camera's field of view (azimuth within +-30 deg, elevation
        # -10..+2 deg, beyond 5 m) must land inside the image.
        x, y, z = xyz[:, 0].astype(np.float64), xyz[:, 1], xyz[:, 2]
        azimuth = np.degrees(np.arctan2(y, x))
        elevation = np.degrees(np.arctan2(z, np.hypot(x, y)))
        in_view = (x > 5) & (np.abs(azimuth) < 30) & (elevation > -10) & (elevation < 2)
        uv = frame.calibration.project(points_cam[in_view])
        inside = (
            (uv[:, 0] >= 0) & (uv[:, 0] < frame.width) & (uv[:, 1] >= 0) & (uv[:, 1] < frame.height)
        )
        assert in_view.sum() > 1000
        assert inside.mean() > 0.98
        # Points behind the car never project into the image.
        behind = frame.calibration.project(lidar_to_cam(frame, xyz[x < -2]))
        assert np.isnan(behind).all()


def test_3d_boxes_stay_consistent_with_kitti_geometry():
    frame = read_kitti_frame(KITTI_ROOT, "000003")
    car = frame.objects[0]
    # KITTI's own projection of the label's 3D box corners (camera-0 rectified frame).
    fields = (KITTI_ROOT / "label_2" / "000003.txt").read_text().split()
    h, w, l, x, y, z, ry = (float(v) for v in fields[8:15])
    values = raw_calib("000003")
    corners_rect = Box3D(h, w, l, x, y, z, ry).corners_cam()
    projected = (values["P2"].reshape(3, 4) @ np.hstack([corners_rect, np.ones((8, 1))]).T).T
    kitti_uv = projected[:, :2] / projected[:, 2:3]
    np.testing.assert_allclose(
        frame.calibration.project(car.box_3d.corners_cam()), kitti_uv, atol=1e-6
    )
    # The LiDAR points inside the car's 3D box project inside its 2D box.
    points_cam = lidar_to_cam(frame, frame.points.xyz)
    in_box = car.box_3d.contains_cam(points_cam)
    assert in_box.sum() == car.lidar_points > 100
    uv = frame.calibration.project(points_cam[in_box])
    x1, y1, x2, y2 = car.box_2d
    within = (uv[:, 0] > x1 - 3) & (uv[:, 0] < x2 + 3) & (uv[:, 1] > y1 - 3) & (uv[:, 1] < y2 + 3)
    assert within.mean() > 0.95
    assert car.distance_m == pytest.approx(np.hypot(x, z), rel=0.05)
    assert car.difficulty == "easy"  # 103 px tall, not occluded, not truncated


def test_round_trip_keeps_labels_and_projection(tmp_path):
    writer = DatasetWriter(tmp_path, formats=("kitti",))
    originals = [read_kitti_frame(KITTI_ROOT, frame_id) for frame_id in EXPECTED]
    for index, frame in enumerate(originals):
        writer.write_frame(frame, index)
    writer.finalize()
    root = tmp_path / "kitti" / "training"
    for index, original in enumerate(originals):
        back = read_kitti_frame(root, f"{index:06d}")
        np.testing.assert_array_equal(back.rgb, original.rgb)
        assert [o.class_name for o in back.objects] == [o.class_name for o in original.objects]
        for got, want in zip(back.objects, original.objects, strict=True):
            np.testing.assert_allclose(got.box_2d, want.box_2d, atol=1e-4)
            assert (got.occlusion_level, got.truncation, got.alpha) == (
                want.occlusion_level,
                want.truncation,
                want.alpha,
            )
            np.testing.assert_allclose(
                got.box_3d.corners_cam(), want.box_3d.corners_cam(), atol=0.01
            )
        np.testing.assert_allclose(
            back.meta["kitti_dont_care_boxes"], original.meta["kitti_dont_care_boxes"], atol=1e-4
        )
        xyz = original.points.xyz
        ahead = lidar_to_cam(original, xyz)[:, 2] > 1.0
        np.testing.assert_allclose(
            back.calibration.project(lidar_to_cam(back, xyz[ahead])),
            original.calibration.project(lidar_to_cam(original, xyz[ahead])),
            atol=1e-3,
        )
        np.testing.assert_array_equal(back.points.xyzi(), original.points.xyzi())


def test_contact_sheet_of_real_frames_of_two_sizes():
    sheet = make_contact_sheet(KITTI_ROOT.parent, max_frames=2, columns=3)
    assert sheet.shape == (TILE_HEIGHT, 3 * TILE_WIDTH, 3) and sheet.dtype == np.uint8
    assert sheet[:, : 2 * TILE_WIDTH].any()
    assert not sheet[:, 2 * TILE_WIDTH :].any()  # third cell is empty
