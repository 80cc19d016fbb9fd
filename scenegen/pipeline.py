"""One frame, start to finish: ``SceneSpec -> World -> Frame``.

Plain functions so that a batch runner, a parameter search or a notebook can drive
them. A :class:`FrameRenderer` keeps the expensive per-process state (the GL context,
per-camera pixel grids) between frames; everything it returns is a deterministic
function of the spec.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from scenegen.frame import Calibration, Frame
from scenegen.io.dataset import frame_stem
from scenegen.labels.objects import compute_labels
from scenegen.scenario.spec import SceneSpec
from scenegen.sensors import motion as motion_sensors
from scenegen.sensors.camera import CameraRenderer
from scenegen.sensors.raycast import WorldRaycaster
from scenegen.sensors.rig import calibration_from_spec, right_camera_calibration
from scenegen.sensors.shading import PixelGrid, shade
from scenegen.sensors.shading_model import check_shading_backend
from scenegen.world.build import build_world
from scenegen.world.sequence import MotionState
from scenegen.world.types import World

# Pixel grids kept per camera; a scenario with randomized intrinsics has a new camera
# every frame, so only the most recent few are kept.
MAX_CACHED_GRIDS = 4


@dataclass
class StageTimes:
    """Seconds spent per stage for one frame (for profiling and benchmarks)."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, t0: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - t0
        return now


class FrameRenderer:
    """Renders scene specs to frames; owns a GL context, so one per process."""

    def __init__(
        self,
        *,
        lidar: bool = True,
        effects: bool = True,
        lidar_backend: str = "open3d",
        shading_backend: str = "numpy",
        egl_device: int | None = None,
    ) -> None:
        """``shading_backend``: ``numpy`` or ``torch`` (see :func:`shade`); ``egl_device``:
        the EGL device index to render on (one GPU per worker), ``None`` for the default."""
        self.shading_backend = check_shading_backend(shading_backend)
        if shading_backend == "torch":
            from scenegen.sensors.shading_torch import select_cuda_device

            select_cuda_device(egl_device)
        self._camera = CameraRenderer(egl_device)
        # Ray casting for the LiDAR and the sun's shadows: open3d or warp (raycast.py).
        self.lidar_backend = lidar_backend
        self._grids: dict[tuple, PixelGrid] = {}
        self._lidar_rays: dict = {}
        self.lidar_enabled = lidar
        self.effects_enabled = effects

    def close(self) -> None:
        self._camera.close()

    def __enter__(self) -> FrameRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, spec: SceneSpec, times: StageTimes | None = None) -> Frame:
        """Render one labelled frame for ``spec``."""
        times = times if times is not None else StageTimes()
        t = time.perf_counter()
        world = build_world(spec)
        t = times.add("world", t)
        return self.render_world(spec, world, times)

    def render_world(
        self,
        spec: SceneSpec,
        world: World,
        times: StageTimes,
        motion: MotionState | None = None,
    ) -> Frame:
        """Render an already built world (lets callers edit a world before rendering).

        ``motion`` (a sequence frame: ``world`` posed by ``SequenceWorld.at``) adds motion
        blur over ``spec.sequence.exposure_s``, the LiDAR's rolling shutter over
        ``lidar_sweep_s`` and the objects' velocities."""
        t = time.perf_counter()
        calibration = calibration_from_spec(spec.camera, spec.lidar)
        key = (calibration.intrinsics,)
        grid = self._grids.get(key)
        if grid is None:
            if len(self._grids) >= MAX_CACHED_GRIDS:  # jittered intrinsics: one per frame
                self._grids.pop(next(iter(self._grids)))
            grid = self._grids[key] = PixelGrid.of(calibration)
        gbuffer = self._camera.render(world, calibration)
        t = times.add("camera_raster", t)
        raycaster = WorldRaycaster(world, self.lidar_backend)
        t = times.add("raycast_scene", t)
        radiance, sky = shade(gbuffer, world, calibration, raycaster, grid, self.shading_backend)
        t = times.add("shading", t)
        instance_ids = gbuffer.instance_ids
        objects, ignored = compute_labels(world, instance_ids, calibration, spec.min_visible_pixels)
        t = times.add("labels", t)
        sequence = spec.sequence if motion is not None else None
        if sequence is not None and motion is not None:
            radiance = motion_sensors.blur_radiance(
                radiance, gbuffer.depth_m, instance_ids, calibration, motion, sequence.exposure_s
            )
            motion_sensors.label_velocities(objects, calibration, motion)
            t = times.add("motion_blur", t)

        from scenegen.sensors.camera_effects import apply_camera_effects

        rgb = apply_camera_effects(
            radiance,
            gbuffer,
            spec,
            world,
            calibration,
            sky,
            spec.rng("camera_effects"),
            enabled=self.effects_enabled,
        )
        t = times.add("camera_effects", t)

        rgb_right = None
        baseline_m = float(spec.camera.stereo_baseline_m)
        if baseline_m > 0:
            rgb_right = self._render_right(spec, world, calibration, raycaster, grid, baseline_m)
            t = times.add("stereo_right", t)

        frame = Frame(
            frame_id=frame_stem(spec.frame_index),
            rgb=rgb,
            calibration=calibration,
            depth_m=gbuffer.depth_m,
            instance_ids=instance_ids,
            objects=objects,
            dropped_objects=len(ignored),
            ignored_objects=ignored,
            meta=scene_meta(spec),
            rgb_right=rgb_right,
            stereo_baseline_m=baseline_m if rgb_right is not None else 0.0,
        )
        if self.lidar_enabled and spec.lidar is not None and spec.lidar.enabled:
            from scenegen.sensors.lidar_frame import add_lidar

            add_lidar(frame, spec, world, raycaster, times, self._lidar_rays)
            if sequence is not None and motion is not None and frame.points is not None:
                frame.points = motion_sensors.rolling_shutter(
                    frame.points, calibration, motion, sequence.lidar_sweep_s
                )
        return frame

    def _render_right(
        self,
        spec: SceneSpec,
        world: World,
        calibration: Calibration,
        raycaster: WorldRaycaster,
        grid: PixelGrid,
        baseline_m: float,
    ) -> np.ndarray:
        """The right stereo camera's image: same world, intrinsics and camera effects (drawn
        from the same random stream, so sensor noise and particles match the left image's
        pixel for pixel rather than in 3D)."""
        from scenegen.sensors.camera_effects import apply_camera_effects

        right = right_camera_calibration(calibration, baseline_m)
        gbuffer = self._camera.render(world, right)
        radiance, sky = shade(gbuffer, world, right, raycaster, grid, self.shading_backend)
        return apply_camera_effects(
            radiance,
            gbuffer,
            spec,
            world,
            right,
            sky,
            spec.rng("camera_effects"),
            enabled=self.effects_enabled,
        )


def scene_meta(spec: SceneSpec) -> dict:
    """What the manifest records about how a frame was made."""
    env = spec.environment
    return {
        "scenario_name": spec.scenario_name,
        "frame_index": spec.frame_index,
        "seed": spec.seed,
        "params": dict(spec.params),
        "sweep_cell": dict(spec.sweep_cell),
        "events": [
            {"type": e.type, "occurs": e.occurs, "params": dict(e.params)} for e in spec.events
        ],
        "environment": {
            "sun_elevation_deg": env.sun_elevation_deg,
            "sun_azimuth_deg": env.sun_azimuth_deg,
            "cloud_cover": env.cloud_cover,
            "is_night": env.is_night,
            "fog_visibility_m": _finite_or_none(env.weather.fog_visibility_m),
            "rain_rate_mm_h": env.weather.rain_rate_mm_h,
            "snow_rate_mm_h": env.weather.snow_rate_mm_h,
            "road_wetness": env.weather.road_wetness,
        },
    }


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
