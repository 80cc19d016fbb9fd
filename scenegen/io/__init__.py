"""Dataset readers and writers: KITTI, COCO, YOLO, the manifest, atomic writes, previews.

Writers take :class:`scenegen.frame.Frame` objects; readers give them back, for synthetic
datasets written here and for real KITTI / COCO / YOLO folders alike.
"""

from scenegen.io.coco import read_coco, rle_decode, rle_encode
from scenegen.io.dataset import FORMATS, DatasetWriter, merge_datasets
from scenegen.io.errors import DatasetReadError, DatasetWriteError
from scenegen.io.kitti import list_kitti_frames, read_kitti_frame
from scenegen.io.manifest import read_manifest, verify_manifest
from scenegen.io.preview import make_contact_sheet, save_contact_sheet
from scenegen.io.yolo import read_yolo

__all__ = [
    "FORMATS",
    "DatasetReadError",
    "DatasetWriteError",
    "DatasetWriter",
    "list_kitti_frames",
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
