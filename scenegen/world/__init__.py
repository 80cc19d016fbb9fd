"""The procedural world: road, scenery, actors, rare events and lamps built from a SceneSpec."""

from scenegen.world.assets import AssetError, load_user_mesh, read_user_mesh
from scenegen.world.build import BuildReport, build_world, build_world_with_report
from scenegen.world.context import WorldSpecError
from scenegen.world.road import RoadLayout, road_layout_from_spec

__all__ = [
    "AssetError",
    "BuildReport",
    "RoadLayout",
    "WorldSpecError",
    "build_world",
    "build_world_with_report",
    "load_user_mesh",
    "read_user_mesh",
    "road_layout_from_spec",
]
