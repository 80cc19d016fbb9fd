"""Augmentation of real (and synthetic) frames with physical weather and sensor faults.

* :mod:`~scenegen.augment.catalogue`: the corruption catalogue (name -> kind, per-severity
  physical parameters, the one function that applies it); everything else reads it.
* :mod:`~scenegen.augment.camera`: albumentations transforms (Fog, Rain, Snow, Night,
  SunGlare, WetRoad, SensorFault, ImageNetC) built on :mod:`scenegen.effects`.
* :mod:`~scenegen.augment.imagenet_c`: the 15 ImageNet-C corruptions, seeded and fast.
* :mod:`~scenegen.augment.lidar`: LiDAR corruptions (Robo3D / Dong et al. severities).
* :mod:`~scenegen.augment.depth`: metric depth for real images (LiDAR + ground plane).
* :mod:`~scenegen.augment.run`: corrupt whole datasets, KITTI-C style.
"""

from scenegen.augment.camera import (
    Fog,
    ImageNetC,
    Night,
    Rain,
    SensorFault,
    Snow,
    SunGlare,
    WetRoad,
    corruption_transform,
    invisible_boxes,
)
from scenegen.augment.catalogue import (
    ALIASES,
    ALL_CORRUPTIONS,
    CATALOGUE,
    CatalogueEntry,
    apply_camera,
    corruption_rng,
)
from scenegen.augment.depth import RecoveredDepth, check_metric_depth, frame_depth, recover_depth
from scenegen.augment.lidar import LIDAR_CORRUPTIONS, corrupt_points
from scenegen.augment.run import (
    AugmentSummary,
    augment_dataset,
    contact_sheet,
    corrupt_frame,
)

__all__ = [
    "ALIASES",
    "ALL_CORRUPTIONS",
    "CATALOGUE",
    "LIDAR_CORRUPTIONS",
    "AugmentSummary",
    "CatalogueEntry",
    "Fog",
    "ImageNetC",
    "Night",
    "Rain",
    "RecoveredDepth",
    "SensorFault",
    "Snow",
    "SunGlare",
    "WetRoad",
    "apply_camera",
    "augment_dataset",
    "check_metric_depth",
    "contact_sheet",
    "corrupt_frame",
    "corrupt_points",
    "corruption_rng",
    "corruption_transform",
    "frame_depth",
    "invisible_boxes",
    "recover_depth",
]
