"""KITTI object-detection layout: encoding a Frame into files and reading frames back.

Folder ``training/`` holds, per frame ``NNNNNN``:

* ``image_2/NNNNNN.png`` RGB; ``label_2/NNNNNN.txt`` 15 fields per object (16 with a
  detection score); ``calib/NNNNNN.txt`` P0-P3, R0_rect, Tr_velo_to_cam, Tr_imu_to_velo;
* optional ``velodyne/NNNNNN.bin`` float32 ``x, y, z, reflectance`` (lidar frame), for a
  sequence frame ``velodyne_time/NNNNNN.bin`` (float32 per point: when it was measured,
  seconds after the frame's time, same order as the .bin), and
  ``labels/NNNNNN.label`` (SemanticKITTI: uint32, low 16 bits class, high 16 bits instance);
* optional ``depth/NNNNNN.png`` uint16 depth in metres * 256, 0 = no depth (as KITTI depth
  completion) and ``instance/NNNNNN.png`` uint16 instance ids;
* ``label_scenegen/NNNNNN.json``: what KITTI's text format cannot hold (the scenegen class
  of each label line, since "Misc" covers both animal and debris; occlusion share, distance,
  event tag, difficulty, instance id; ``T_cam_from_world``; frame metadata). Real KITTI
  folders have none, and readers work without it.

Calibration conventions are in :mod:`scenegen.io.kitti.calib`; ``velodyne`` and ``labels``
files in :mod:`scenegen.io.kitti.velodyne`.
"""

from scenegen.io.kitti.calib import (
    KITTI_CAMERA_HEIGHT_M,
    calib_text,
    calibration_from_kitti,
    nominal_T_cam_from_world,
    parse_calib_file,
)
from scenegen.io.kitti.common import DEPTH_PNG_SCALE, DONT_CARE, KITTI_TYPE_TO_CLASS
from scenegen.io.kitti.reader import (
    KittiLabelLine,
    list_kitti_frames,
    parse_label_file,
    read_kitti_frame,
)
from scenegen.io.kitti.velodyne import (
    encode_point_labels,
    encode_velodyne,
    read_point_labels,
    read_velodyne,
)
from scenegen.io.kitti.writer import (
    check_frame,
    encode_depth_png,
    encode_instance_png,
    image_sets,
    kitti_frame_files,
    label_line,
    label_text,
    sidecar_record,
)

__all__ = [
    "DEPTH_PNG_SCALE",
    "DONT_CARE",
    "KITTI_CAMERA_HEIGHT_M",
    "KITTI_TYPE_TO_CLASS",
    "KittiLabelLine",
    "calib_text",
    "calibration_from_kitti",
    "check_frame",
    "encode_depth_png",
    "encode_instance_png",
    "encode_point_labels",
    "encode_velodyne",
    "image_sets",
    "kitti_frame_files",
    "label_line",
    "label_text",
    "list_kitti_frames",
    "nominal_T_cam_from_world",
    "parse_calib_file",
    "parse_label_file",
    "read_kitti_frame",
    "read_point_labels",
    "read_velodyne",
    "sidecar_record",
]
