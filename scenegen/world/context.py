"""State shared while a world is being populated: the road, what is already placed,
the camera (to keep events in view), user meshes, and the labelled objects made so far."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scenegen.errors import ScenegenError
from scenegen.scenario.spec import CameraSpec
from scenegen.world import lights as lamps
from scenegen.world.actors import ActorModel, build_actor, with_lamps_off
from scenegen.world.assets import OrientedMesh
from scenegen.world.placement import Footprint, Occupancy
from scenegen.world.road import RoadLayout
from scenegen.world.types import Light, WorldObject

VIEW_MARGIN_PX = 20.0  # events must sit this far inside the image


class WorldSpecError(ScenegenError):
    """A scene spec asks for something the world builder cannot make (class, placement, event)."""


@dataclass
class PlacedActor:
    obj: WorldObject
    model: ActorModel


@dataclass
class BuildContext:
    layout: RoadLayout
    camera: CameraSpec
    is_night: bool
    user_meshes: dict[str, OrientedMesh] = field(default_factory=dict)
    occupancy: Occupancy = field(default_factory=Occupancy)
    placed: list[PlacedActor] = field(default_factory=list)
    lights: list[Light] = field(default_factory=list)
    scenery: list[WorldObject] = field(default_factory=list)  # unlabelled event props
    lit: set[int] = field(default_factory=set)  # instance ids whose lamps light the scene
    # Far end (road s, m) of the last vehicle parked on each kerb side (-1 right, +1 left).
    parked_row_end_s: dict[int, float] = field(default_factory=dict)

    def make_actor(self, class_name: str, rng: np.random.Generator, **options) -> ActorModel:
        """A procedural actor, or the user's mesh for its class scaled to a sampled size.

        A user mesh keeps its own proportions: the class's defining size (height for
        pedestrians, length otherwise) is drawn as for procedural actors.
        """
        model = build_actor(class_name, rng, **options)
        user = self.user_meshes.get(class_name)
        if user is None:
            return model
        key_axis = 2 if class_name == "pedestrian" else 0
        scale = model.dimensions_m[key_axis] / float(user.extents[key_axis])
        dims = tuple(float(e * scale) for e in user.extents)
        ratio = np.asarray(dims) / np.asarray(model.dimensions_m)
        return ActorModel(
            class_name,
            "user_mesh",
            user.fit(*dims),
            dims,
            model.headlights_obj * ratio,
            model.taillights_obj * ratio,
        )

    def footprint_at(
        self, model: ActorModel, s_m: float, t_m: float, yaw_offset_rad: float
    ) -> tuple[np.ndarray, Footprint]:
        z = self.layout.surface_z_m(t_m)
        pose = self.layout.pose(s_m, t_m, z, yaw_offset_rad)
        length, width, _ = model.dimensions_m
        return pose, Footprint.of_pose(pose, length, width)

    def is_free(self, footprint: Footprint, margin_m: float, gap_m: float = 0.0) -> bool:
        """Free of everything placed (the ego included), with ``gap_m`` extra ahead and behind."""
        grown = Footprint(
            footprint.x_m,
            footprint.y_m,
            footprint.yaw_rad,
            footprint.half_length_m + gap_m,
            footprint.half_width_m,
        )
        return self.occupancy.is_free(grown, margin_m)

    def in_view(self, model: ActorModel, pose: np.ndarray) -> bool:
        """True when the box centre projects inside the image, at least 1 m ahead.

        The pinhole model mirrors the sensor rig's mounting (camera at
        ``(0, 0, height_m)`` looking along +x, pitched down by ``pitch_deg``); it is
        restated here because the world must not depend on the sensors package.
        """
        centre = pose[:3, :3] @ np.array([0.0, 0.0, model.dimensions_m[2] / 2]) + pose[:3, 3]
        cam = self.camera
        pitch = np.deg2rad(cam.pitch_deg)
        forward = np.array([np.cos(pitch), 0.0, -np.sin(pitch)])
        down = np.array([-np.sin(pitch), 0.0, -np.cos(pitch)])
        rel = centre - np.array([0.0, 0.0, cam.height_m])
        depth = float(rel @ forward)
        if depth < 1.0:
            return False
        u = cam.fx * float(-rel[1]) / depth + cam.cx
        v = cam.fy * float(rel @ down) / depth + cam.cy
        return bool(
            VIEW_MARGIN_PX <= u <= cam.width - VIEW_MARGIN_PX
            and VIEW_MARGIN_PX <= v <= cam.height - VIEW_MARGIN_PX
        )

    def add(
        self,
        model: ActorModel,
        pose: np.ndarray,
        footprint: Footprint,
        *,
        moving: bool,
        event: str | None = None,
        headlights_always: bool = False,
    ) -> WorldObject:
        """Register a placed actor: a labelled object with the next instance id."""
        instance_id = len(self.placed) + 1
        lamps_on = moving or headlights_always
        obj = WorldObject(
            name=f"{model.class_name}_{instance_id}",
            semantic=model.class_name,
            parts=model.parts if lamps_on else with_lamps_off(model.parts),
            pose_world=pose,
            instance_id=instance_id,
            class_name=model.class_name,
            dimensions_m=model.dimensions_m,
            event=event,
            moving=moving,
        )
        self.occupancy.add(footprint)
        self.placed.append(PlacedActor(obj, model))
        if (lamps_on and self.is_night) or headlights_always:
            self.lit.add(instance_id)
            self.lights.extend(
                lamps.vehicle_lights(pose, model.headlights_obj, model.taillights_obj)
            )
        return obj

    def parking_t(self, side: int, width_m: float) -> float:
        """Lateral centre for a vehicle parked on ``side`` (-1 right, +1 left)."""
        layout = self.layout
        shoulder = layout.left_shoulder_m if side > 0 else layout.right_shoulder_m
        lanes_edge = side * layout.lanes_width_m / 2
        if shoulder >= width_m + 0.1:
            return lanes_edge + side * (shoulder / 2 + 0.05)
        # Narrow shoulder: park half on the verge, clear of the lane.
        return lanes_edge + side * (0.15 + width_m / 2)
