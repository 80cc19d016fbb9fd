"""Dataset readers and writers: KITTI, COCO, YOLO, the manifest, atomic writes, previews.

Writers take :class:`scenegen.frame.Frame` objects; :class:`DatasetReader` gives them back,
frame by frame with per-frame errors, for synthetic datasets written here and for real KITTI /
COCO / YOLO folders alike.
"""

from scenegen.io.coco import rle_decode, rle_encode
from scenegen.io.dataset import FORMATS, DatasetWriter, merge_datasets
from scenegen.io.errors import DatasetReadError, DatasetWriteError
from scenegen.io.kitti import list_kitti_frames, read_kitti_frame
from scenegen.io.manifest import read_manifest, verify_manifest
from scenegen.io.preview import make_contact_sheet, save_contact_sheet
from scenegen.io.reader import (
    READ_FORMATS,
    DatasetReader,
    FrameError,
    locate_dataset,
    read_coco,
    read_yolo,
)

__all__ = [
    "FORMATS",
    "READ_FORMATS",
    "DatasetReadError",
    "DatasetReader",
    "DatasetWriteError",
    "DatasetWriter",
    "FrameError",
    "list_kitti_frames",
    "locate_dataset",
    "make_contact_sheet",
    "merge_datasets",
    "read_coco",
    "read_kitti_frame",
    "read_manifest",
    "read_yolo",
    "rle_decode",
    "rle_encode",
    "save_contact_sheet",
    "verify_manifest",
]
