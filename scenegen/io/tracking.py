"""Sequences in the KITTI tracking layout, beside the KITTI object layout.

Frames of a sequence (``Frame.meta["sequence"]``) are also written as KITTI's tracking
benchmark lays them out (devkit_tracking ``readme.txt``), sequence ``SSSS`` = the dataset's
``sequence_id`` (four digits), frame ``FFFFFF`` = the frame within the sequence::

    kitti_tracking/training/image_02/SSSS/FFFFFF.png   (hard links to kitti/training/image_2)
    kitti_tracking/training/velodyne/SSSS/FFFFFF.bin   (hard links, with LiDAR)
    kitti_tracking/training/calib/SSSS.txt             P0-P3, R_rect, Tr_velo_cam, Tr_imu_velo
    kitti_tracking/training/label_02/SSSS.txt          one line per object and frame
    kitti_tracking/training/poses/SSSS.txt             camera pose per frame (KITTI odometry)
    kitti_tracking/training/times/SSSS.txt             time of each frame, seconds

A ``label_02`` line is ``frame track_id type truncated occluded alpha x1 y1 x2 y2 h w l
x y z rotation_y``: the track id is the object's instance id (stable over the sequence;
-1 on DontCare lines) and ``truncated`` KITTI tracking's level 0 (not truncated), 1
(partly, under half) or 2 (half or more). A ``poses`` line is the 3x4 row-major pose of
the left camera at that frame in the camera frame of the sequence's first frame (KITTI
odometry's ``poses/XX.txt``). Image, LiDAR and calibration files are per-frame files of
the manifest; the label, pose and time files are assembled by :func:`write_sequences`
when the dataset is finalized.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.frame import Frame
from scenegen.io.atomic import atomic_write_bytes
from scenegen.io.kitti.writer import label_text

TRACKING_DIR = "kitti_tracking/training"
HALF_OUT = 0.5  # truncation share from which KITTI tracking's level is 2


def sequence_stem(sequence_id: int) -> str:
    return f"{int(sequence_id):04d}"


def frame_links(frame: Frame, stem: str) -> dict[str, str]:
    """Tracking paths (relative to the dataset) -> the KITTI object files they link to."""
    sequence = frame.meta["sequence"]
    folder, name = sequence_stem(sequence["sequence_id"]), f"{int(sequence['frame']):06d}"
    links = {f"{TRACKING_DIR}/image_02/{folder}/{name}.png": f"image_2/{stem}.png"}
    if frame.points is not None:
        links[f"{TRACKING_DIR}/velodyne/{folder}/{name}.bin"] = f"velodyne/{stem}.bin"
    return links


def frame_files(frame: Frame) -> dict[str, bytes]:
    """The sequence's ``calib`` file, written with its first frame."""
    sequence = frame.meta["sequence"]
    if int(sequence["frame"]) != 0:
        return {}
    cal = frame.calibration
    p2 = cal.P2
    p3 = p2.copy()
    if frame.stereo_baseline_m > 0:
        p3[0, 3] = -cal.intrinsics.fx * frame.stereo_baseline_m
    rows = {
        "P0:": p2,
        "P1:": p2,
        "P2:": p2,
        "P3:": p3,
        "R_rect": np.eye(3),
        "Tr_velo_cam": np.asarray(cal.T_cam_from_lidar)[:3, :4],
        "Tr_imu_velo": np.eye(4)[:3, :4],
    }
    text = "".join(f"{key} {_numbers(m)}\n" for key, m in rows.items())
    name = f"{TRACKING_DIR}/calib/{sequence_stem(sequence['sequence_id'])}.txt"
    return {name: text.encode("ascii")}


def record_part(frame: Frame) -> dict[str, Any]:
    """What the manifest keeps of a sequence frame for :func:`write_sequences`: its
    ``label_02`` lines without the frame number, and the camera's pose."""
    sequence = frame.meta["sequence"]
    lines = label_text(frame).splitlines()
    track_ids = [int(o.instance_id) for o in frame.objects]
    track_ids += [-1] * (len(lines) - len(track_ids))
    labels = []
    for track_id, line in zip(track_ids, lines, strict=True):
        fields = line.split(" ")
        if track_id >= 0:
            fields[1] = str(_truncation_level(float(fields[1])))
        else:
            fields[1] = "-1"
        labels.append(f"{track_id} {' '.join(fields)}")
    T_cam_from_ego = np.asarray(frame.calibration.T_cam_from_world, np.float64)
    ego = np.asarray(sequence["ego_pose_start"], np.float64)
    camera_pose = T_cam_from_ego @ ego @ np.linalg.inv(T_cam_from_ego)
    return {
        "sequence_id": int(sequence["sequence_id"]),
        "frame": int(sequence["frame"]),
        "time_s": float(sequence["time_s"]),
        "labels": labels,
        "camera_pose": _numbers(camera_pose[:3, :4]),
    }


def _truncation_level(truncation: float) -> int:
    """KITTI tracking's truncated level: 0 inside the image, 1 under half out, 2 more."""
    if truncation <= 0.0:
        return 0
    return 1 if truncation < HALF_OUT else 2


def _numbers(matrix: np.ndarray) -> str:
    return " ".join(f"{float(v):.12e}" for v in np.asarray(matrix, np.float64).reshape(-1))


def write_sequences(out_dir: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write ``label_02``, ``poses`` and ``times`` of every sequence in ``records`` (the
    latest manifest record of each frame); returns the number of sequences."""
    frames: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    for record in records:
        part = record.get("kitti_tracking")
        if isinstance(part, dict):
            frames[int(part["sequence_id"])][int(part["frame"])] = part
    root = Path(out_dir) / TRACKING_DIR
    for sequence_id, by_frame in sorted(frames.items()):
        ordered = [by_frame[k] for k in sorted(by_frame)]
        name = f"{sequence_stem(sequence_id)}.txt"
        labels = "".join(f"{p['frame']} {line}\n" for p in ordered for line in p["labels"])
        for folder, text in (
            ("label_02", labels),
            ("poses", "".join(p["camera_pose"] + "\n" for p in ordered)),
            ("times", "".join(f"{p['time_s']:.6e}\n" for p in ordered)),
        ):
            (root / folder).mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(root / folder / name, text.encode("ascii"))
    return len(frames)
