"""Domain randomisation of the camera: one frame's jittered intrinsics and mount.

The file's ``randomize:`` amplitudes (:class:`~scenegen.scenario.spec.RandomizeSpec`) become
concrete per frame here, drawn with the frame's ``randomize_camera`` generator, so the
``SceneSpec`` holds the camera that is rendered, projected and written to the frame's
calibration. The world's share (colours, light, distractors) is drawn by the world
builder (:mod:`scenegen.world.randomize`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from scenegen.scenario.spec import CameraSpec, RandomizeSpec, SceneSpec

MIN_CAMERA_HEIGHT_M = 0.3  # the key table's lowest camera height


def jitter_camera(
    camera: CameraSpec, amplitudes: RandomizeSpec, rng: np.random.Generator
) -> CameraSpec:
    """``camera`` with height, pitch, focal length and principal point jittered.

    Always five draws from ``rng`` (height, pitch, focal, cx, cy), each ``u`` uniform in
    ``[-1, 1]`` times its amplitude, so the stream does not depend on which are on.
    """
    u = rng.uniform(-1.0, 1.0, 5)
    focal_scale = 1.0 + amplitudes.focal_jitter * float(u[2])
    return replace(
        camera,
        height_m=max(
            MIN_CAMERA_HEIGHT_M, camera.height_m + amplitudes.camera_height_m * float(u[0])
        ),
        pitch_deg=camera.pitch_deg + amplitudes.camera_pitch_deg * float(u[1]),
        fx=camera.fx * focal_scale,
        fy=camera.fy * focal_scale,
        cx=camera.cx + amplitudes.principal_point_px * float(u[3]),
        cy=camera.cy + amplitudes.principal_point_px * float(u[4]),
    )


def randomized(spec: SceneSpec, amplitudes: RandomizeSpec) -> SceneSpec:
    """``spec`` with its randomisation amplitudes and jittered camera; the camera the frame
    uses goes into ``params`` (``randomize.camera.*``) for the manifest."""
    camera = jitter_camera(spec.camera, amplitudes, spec.rng("randomize_camera"))
    drawn = {
        f"randomize.camera.{name}": float(getattr(camera, name))
        for name in ("height_m", "pitch_deg", "fx", "fy", "cx", "cy")
    }
    return replace(spec, camera=camera, randomize=amplitudes, params={**spec.params, **drawn})
