"""Lamps of the world: the sun's direction, street lamps and vehicle lights."""

from __future__ import annotations

import numpy as np

from scenegen.world.types import Light

STREET_LAMP_CD = 3000.0  # a 100 W LED road luminaire peaks around a few thousand candela
STREET_LAMP_RGB = (1.0, 0.85, 0.65)
HEADLIGHT_CD = 15000.0  # low beam, on axis
HEADLIGHT_RGB = (1.0, 0.97, 0.9)
TAILLIGHT_CD = 30.0
TAILLIGHT_RGB = (1.0, 0.08, 0.04)
HEADLIGHT_DIP_RAD = np.deg2rad(3.0)  # low beams aim slightly down


def sun_direction_world(elevation_deg: float, azimuth_deg: float) -> tuple[float, float, float]:
    """Unit vector from the scene towards the sun (world frame, azimuth ccw from +x)."""
    el, az = np.deg2rad(elevation_deg), np.deg2rad(azimuth_deg)
    return (float(np.cos(el) * np.cos(az)), float(np.cos(el) * np.sin(az)), float(np.sin(el)))


def street_lamp_lights(heads_world: np.ndarray) -> list[Light]:
    """One downward spot light under each street-lamp head (``(K, 3)`` world metres)."""
    return [
        Light(
            position_world=tuple(float(c) for c in p),
            color_rgb=STREET_LAMP_RGB,
            intensity_cd=STREET_LAMP_CD,
            direction_world=(0.0, 0.0, -1.0),
            cone_half_angle_deg=50.0,  # full cut-off optics: little light above 50-60 deg
        )
        for p in np.asarray(heads_world).reshape(-1, 3)
    ]


def vehicle_lights(
    pose_world: np.ndarray, headlights_obj: np.ndarray, taillights_obj: np.ndarray
) -> list[Light]:
    """Headlights as forward spot lights and one red point light for the tail lamps.

    Lamp positions are ``(K, 3)`` in the object frame; ``pose_world`` maps them to world.
    """
    rotation, origin = pose_world[:3, :3], pose_world[:3, 3]
    forward = rotation @ np.array([np.cos(HEADLIGHT_DIP_RAD), 0.0, -np.sin(HEADLIGHT_DIP_RAD)])
    lights = [
        Light(
            position_world=tuple(float(c) for c in rotation @ p + origin),
            color_rgb=HEADLIGHT_RGB,
            intensity_cd=HEADLIGHT_CD,
            direction_world=tuple(float(c) for c in forward),
            cone_half_angle_deg=25.0,
        )
        for p in np.asarray(headlights_obj).reshape(-1, 3)
    ]
    tails = np.asarray(taillights_obj).reshape(-1, 3)
    if len(tails):
        centre = rotation @ tails.mean(axis=0) + origin
        lights.append(
            Light(
                position_world=tuple(float(c) for c in centre),
                color_rgb=TAILLIGHT_RGB,
                intensity_cd=TAILLIGHT_CD,
            )
        )
    return lights


# The ego vehicle's low beams, relative to the camera's ground point (world frame): the
# bonnet ends about 1.9 m ahead of a windscreen-mounted camera, lamps 0.65 m up.
EGO_HEADLIGHTS_WORLD = np.array([[1.9, 0.75, 0.65], [1.9, -0.75, 0.65]])


def ego_headlights() -> list[Light]:
    """The ego vehicle's own low beams: what lights the road ahead at night."""
    return vehicle_lights(np.eye(4), EGO_HEADLIGHTS_WORLD, np.zeros((0, 3)))
