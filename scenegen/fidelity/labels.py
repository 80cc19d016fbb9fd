"""Statistics of one frame's labels: classes, box heights, distances, occlusion, truncation.

Every distribution is a per-frame histogram of counts, so frames with many objects weigh
more, as they do when a detector trains on them. Distances are to the 3D box centre (m);
objects without a 3D box are left out of the distance histogram only.
"""

from __future__ import annotations

import numpy as np

from scenegen.frame import CLASS_NAMES, ObjectLabel

BOX_HEIGHT_EDGES_PX = np.array([0, 10, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200, np.inf])
DISTANCE_EDGES_M = np.append(np.arange(0.0, 85.0, 5.0), np.inf)
TRUNCATION_EDGES = np.linspace(0.0, 1.0, 11)
OCCLUSION_LEVELS = 4  # KITTI: 0 fully visible, 1 partly, 2 largely occluded, 3 unknown


def label_statistics(
    objects: list[ObjectLabel],
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Scalar statistics and histograms (counts) of one frame's objects."""
    heights_px = np.array([float(o.box_2d[3] - o.box_2d[1]) for o in objects])
    distances_m = np.array([o.distance_m for o in objects], dtype=np.float64)
    truncation = np.clip(np.array([o.truncation for o in objects], dtype=np.float64), 0.0, 1.0)
    levels = np.clip(np.array([o.occlusion_level for o in objects], dtype=np.int64), 0, 3)
    classes = np.array([CLASS_NAMES.index(o.class_name) for o in objects], dtype=np.int64)
    histograms = {
        "labels.class_histogram": np.bincount(classes, minlength=len(CLASS_NAMES)).astype(
            np.float64
        ),
        "labels.box_height_histogram": np.histogram(heights_px, BOX_HEIGHT_EDGES_PX)[0].astype(
            np.float64
        ),
        "labels.distance_histogram": np.histogram(
            distances_m[np.isfinite(distances_m)], DISTANCE_EDGES_M
        )[0].astype(np.float64),
        "labels.occlusion_histogram": np.bincount(levels, minlength=OCCLUSION_LEVELS).astype(
            np.float64
        ),
        "labels.truncation_histogram": np.histogram(truncation, TRUNCATION_EDGES)[0].astype(
            np.float64
        ),
    }
    scalars = {"labels.objects_per_frame": float(len(objects))}
    return scalars, histograms
