"""Where an event's object is, seen from the camera, without rendering: the world
quantities ``require:`` constraints may read (:data:`scenegen.scenario.require.WORLD_QUANTITIES`).

A cheap geometric check: the world is built, each event's object projected with the
same projection the labels use (:func:`~scenegen.labels.objects.project_object`), and
the share of its projected outline (bounding box of its triangles) that falls inside
the image is its ``in_view_fraction`` (1 minus the KITTI truncation). Occlusion by other
objects is not counted: that needs the render.
"""

from __future__ import annotations

import math

import numpy as np

from scenegen.frame import Calibration
from scenegen.labels.objects import box3d_in_camera, inside_share, project_object
from scenegen.scenario.condition import Value
from scenegen.scenario.spec import SceneSpec
from scenegen.sensors.rig import calibration_from_spec
from scenegen.world.build import build_world
from scenegen.world.types import WorldObject

# Events that also tag their props (the parked cars a jaywalker steps out between, the
# occluding vehicle): the object the event is about is of these classes.
_SUBJECT_CLASSES = {"jaywalker": ("pedestrian",), "occluded_pedestrian": ("pedestrian",)}


def event_view_quantities(spec: SceneSpec) -> dict[str, Value]:
    """``events[i].object_distance_m``, ``in_view_fraction`` and ``in_view`` for every
    event of ``spec`` (an event that did not occur has no object: inf, 0, false)."""
    world = build_world(spec)
    calibration = calibration_from_spec(spec.camera, spec.lidar)
    width, height = spec.camera.width, spec.camera.height
    values: dict[str, Value] = {}
    for i, event in enumerate(spec.events):
        subjects = [
            o
            for o in world.labelled()
            if event.occurs
            and o.event == event.type
            and o.class_name in _SUBJECT_CLASSES.get(event.type, (o.class_name,))
        ]
        fraction, distance = 0.0, math.inf
        for obj in subjects:
            fraction = max(fraction, _in_view_fraction(obj, calibration, width, height))
            box = box3d_in_camera(obj, calibration)
            centre = np.array([box.x, box.y - box.h / 2, box.z])
            distance = min(distance, float(np.linalg.norm(centre)))
        values[f"events[{i}].in_view_fraction"] = fraction
        values[f"events[{i}].in_view"] = fraction > 0.0
        values[f"events[{i}].object_distance_m"] = distance
    return values


def _in_view_fraction(obj: WorldObject, calibration: Calibration, width: int, height: int) -> float:
    projection = project_object(obj, calibration)
    return 0.0 if projection is None else inside_share(projection, width, height)
