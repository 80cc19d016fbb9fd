"""Add a LiDAR sweep, with the scene's weather, to a rendered camera frame.

The scan uses the same ray-casting scene as the camera's shadows and the same weather
values as the camera; each labelled object gains the number of LiDAR points in its box.
"""

from __future__ import annotations

import time

from scenegen.frame import Frame
from scenegen.labels.lidar_counts import boxes_lidar_array, count_points_in_boxes
from scenegen.scenario.spec import SceneSpec
from scenegen.sensors.lidar import LidarScanner, apply_weather_to_scan
from scenegen.sensors.raycast import WorldRaycaster
from scenegen.sensors.rig import T_world_from_lidar
from scenegen.world.types import World


def add_lidar(
    frame: Frame,
    spec: SceneSpec,
    world: World,
    raycaster: WorldRaycaster,
    times: object | None = None,
    ray_cache: dict | None = None,
) -> None:
    """Scan ``world`` with ``spec.lidar`` and store points and per-point labels in ``frame``.

    ``times`` (a ``pipeline.StageTimes``) collects the seconds spent, when given;
    ``ray_cache`` keeps the sensor's rays between frames (see ``LidarScanner``).
    """
    assert spec.lidar is not None
    t = time.perf_counter()
    scanner = LidarScanner(world, raycaster=raycaster, ray_cache=ray_cache)
    scan = scanner.scan(spec.lidar, T_world_from_lidar(spec.camera, spec.lidar), spec.rng("lidar"))
    if times is not None:
        t = times.add("lidar_scan", t)
    vehicles = [
        o.box_3d
        for o in frame.objects
        if o.box_3d is not None and o.class_name in ("car", "van", "truck", "bus")
    ]
    vehicle_boxes = (
        boxes_lidar_array(vehicles, frame.calibration.T_cam_from_lidar) if vehicles else None
    )
    scan = apply_weather_to_scan(
        scan,
        spec.environment.weather,
        spec.rng("lidar_effects"),
        min_range_m=spec.lidar.min_range_m,
        vehicle_boxes_lidar=vehicle_boxes,
    )
    if times is not None:
        t = times.add("lidar_weather", t)
    frame.points = scan.points
    boxes = [o.box_3d for o in frame.objects if o.box_3d is not None]
    if boxes:
        counts = count_points_in_boxes(scan.points.xyz, frame.calibration.T_cam_from_lidar, boxes)
        for obj, n in zip((o for o in frame.objects if o.box_3d is not None), counts, strict=True):
            obj.lidar_points = int(n)
    if times is not None:
        times.add("lidar_labels", t)
