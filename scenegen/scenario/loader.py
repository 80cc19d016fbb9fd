"""Load scenario files: read, validate, assemble the :class:`Scenario`.

Reading goes through four gates, each of which reports problems as
:class:`~scenegen.errors.ScenarioError` (``FILE:LINE:COL: key.path: message``). Gates 1-3
(bytes, YAML syntax and depth, tags) live in :mod:`scenegen.scenario.yaml_reader`; gate 4,
the key table of :mod:`scenegen.scenario.schema`, is :mod:`scenegen.scenario.validator`
(with :mod:`~scenegen.scenario.leaves` for values).
This module adds the checks that span keys (sensor rig, actors, sun, sweep) and assembles
the :class:`~scenegen.scenario.model.Scenario`.

Gates 1 and 2 stop at their first problem; gates 3 and 4 collect every problem of the
file and raise them together as :class:`~scenegen.errors.ScenarioErrors`. Nothing in a
file is ever executed or turned into a Python object other than str/int/float/bool.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scenegen.errors import ScenarioError, ScenarioErrors
from scenegen.scenario import presets
from scenegen.scenario.context import (
    ValidationContext,
    clip,
    join_path,
    node_kind,
    unknown_key_message,
)
from scenegen.scenario.cover_block import resolve_cover
from scenegen.scenario.distributions import Constant, Distribution, Scalar
from scenegen.scenario.fields import (
    BoolField,
    EnumField,
    Field,
    LeafField,
    ListField,
    NumberField,
    ObjectField,
    SearchField,
    SweepField,
    TextField,
    UnionField,
)
from scenegen.scenario.gate_block import resolve_gate
from scenegen.scenario.leaves import default_value, walk_leaf
from scenegen.scenario.model import Scenario, SweepAxis
from scenegen.scenario.require import quantity_types, resolve_require
from scenegen.scenario.schema import (
    MAX_LIDAR_RAYS,
    MAX_SWEEP_CELLS,
    VEHICLE_CLASSES,
    scenario_fields,
    table_section,
)
from scenegen.scenario.schema_events import SEQUENCE_EVENT_DEFAULTS
from scenegen.scenario.spec import CameraSpec, LidarSpec, SequenceSpec
from scenegen.scenario.validator import walk_object
from scenegen.scenario.yaml_reader import (
    check_scenario_text,
    compose_scenario,
    has_standard_tag,
    read_scenario_file,
    tag_errors,
)

_PATH_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")
_MAX_REPORTED_ERRORS = 100
_FILE_KEYS = (
    "version",
    "name",
    "description",
    "seed",
    "frames",
    "min_visible_pixels",
    "require_budget",
)
_LATE_KEYS = ("sweep", "require", "cover")  # YAML nodes, resolved once the rest is known


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate the scenario file at ``path``.

    Raises :class:`ScenarioError` (one problem) or :class:`ScenarioErrors` (several).
    Mesh paths are resolved against the file's folder.
    """
    path = Path(path)
    text = read_scenario_file(path)
    return _load(text, str(path), path.resolve().parent, path)


def load_scenario_text(
    text: str, filename: str = "<string>", base_dir: Path | None = None
) -> Scenario:
    """Load and validate scenario text; ``filename`` is used in error messages.

    Mesh paths are resolved against ``base_dir`` (default: the current directory).
    """
    check_scenario_text(text, filename)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    return _load(text, filename, base.resolve(), None)


def _load(text: str, filename: str, base_dir: Path, path: Path | None) -> Scenario:
    root = compose_scenario(text, filename)
    ctx = ValidationContext(filename, base_dir)
    if root is None:
        raise ScenarioError(
            filename,
            1,
            1,
            "<root>",
            "the file is empty, expected a mapping with at least 'version' and 'name'",
        )
    ctx.errors.extend(tag_errors(root, filename))
    tree = None if not has_standard_tag(root) else walk_object(ctx, root, scenario_fields(), "")
    scenario = None
    if tree is not None:
        scenario = _build_scenario(ctx, root, tree, path)
    if ctx.errors or scenario is None:
        errors = sorted(ctx.errors, key=lambda e: (e.line, e.col))[:_MAX_REPORTED_ERRORS]
        raise errors[0] if len(errors) == 1 else ScenarioErrors(errors)
    return scenario


# ---------------------------------------------------------------- building the Scenario


def _build_scenario(
    ctx: ValidationContext, root: Node, tree: dict, path: Path | None
) -> Scenario | None:
    values: dict[str, Distribution] = {}
    _flatten({k: v for k, v in tree.items() if k not in _LATE_KEYS}, "", values)
    for key in _FILE_KEYS:  # facts about the file, kept as Scenario attributes
        values.pop(key, None)
    camera = _resolve_camera(ctx, tree.get("sensors", {}).get("camera") or {}, values)
    lidar = _resolve_lidar(ctx, tree.get("sensors", {}).get("lidar") or {})
    actors = [a for a in tree.get("actors", []) if a is not None]
    events = [e for e in tree.get("events", []) if e is not None]
    sweep_axes = _resolve_sweep(ctx, tree.get("sweep"), tree)
    search_space = _resolve_search(ctx, tree.get("search"), tree)
    meshes = _check_actors(ctx, tree.get("actors", []), values, sweep_axes)
    _resolve_sun(ctx, tree, values, sweep_axes)
    sequence = _resolve_sequence(tree, values, events)
    swept = {axis.path: axis.values[0] for axis in sweep_axes}
    require = resolve_require(ctx, tree.get("require"), quantity_types(values, swept, len(events)))
    cover = resolve_cover(ctx, tree.get("cover"))
    gate = resolve_gate(tree, values)
    if ctx.errors or "name" not in tree or "version" not in tree:
        return None
    return Scenario(
        name=str(_constant(tree["name"])),
        description=str(_constant(tree["description"])),
        path=path,
        default_seed=int(_constant(tree["seed"])),
        default_frames=int(_constant(tree["frames"])),
        min_visible_pixels=int(_constant(tree["min_visible_pixels"])),
        values=values,
        camera=camera,
        lidar=lidar,
        actor_classes=tuple(str(_constant(a["class"])) for a in actors),
        event_types=tuple(str(_constant(e["type"])) for e in events),
        user_meshes=meshes,
        sweep_axes=tuple(sweep_axes),
        search_space=search_space,
        sequence=sequence,
        require=require,
        require_budget=int(_constant(tree["require_budget"])),
        cover=cover,
        gate=gate,
    )


def _constant(value: Distribution) -> Scalar:
    assert isinstance(value, Constant)
    return value.value


def _flatten(tree: Any, path: str, out: dict[str, Distribution]) -> None:
    """Every Distribution leaf of the tree under its dotted key path, in file-table order."""
    if isinstance(tree, Distribution):
        out[path] = tree
    elif isinstance(tree, dict):
        for key, child in tree.items():
            _flatten(child, join_path(path, key), out)
    elif isinstance(tree, list):
        for index, child in enumerate(tree):
            _flatten(child, f"{path}[{index}]", out)


def _resolve_sequence(
    tree: dict, values: dict[str, Distribution], events: list[dict]
) -> SequenceSpec | None:
    """The file's ``sequence:`` (its keys leave ``values``: they describe the batch, not a
    frame); in a sequence, the events' timing keys the file leaves out get their defaults."""
    given = tree.get("sequence")
    for key in [k for k in values if k.startswith("sequence.")]:
        del values[key]
    keys = ("frames", "rate_hz", "exposure_s", "lidar_sweep_s")
    if given is None or any(key not in given for key in keys):  # absent, or already an error
        return None
    for index, event in enumerate(events):
        defaults = SEQUENCE_EVENT_DEFAULTS.get(str(_constant(event["type"])), {})
        for key, default in defaults.items():
            values.setdefault(f"events[{index}].{key}", Constant(float(default)))
    return SequenceSpec(
        frames=int(_constant(given["frames"])),
        rate_hz=float(_constant(given["rate_hz"])),
        exposure_s=float(_constant(given["exposure_s"])),
        lidar_sweep_s=float(_constant(given["lidar_sweep_s"])),
    )


def _resolve_camera(
    ctx: ValidationContext, camera: dict, values: dict[str, Distribution]
) -> CameraSpec:
    given = {key: value.value for key, value in camera.items() if isinstance(value, Constant)}
    custom_size = any(key in given for key in ("width", "height", "fov_deg"))
    # (stereo_baseline_m adds a camera; it is no reason to leave the preset)
    preset_name = str(given.get("preset", "custom" if custom_size else "kitti"))
    preset = presets.CAMERA_PRESETS[preset_name]
    if custom_size:
        preset = presets.centred_camera(
            int(given.get("width", preset.width)),
            int(given.get("height", preset.height)),
            float(given.get("fov_deg", preset.fov_deg)),
            preset.height_m,
            preset.pitch_deg,
        )
    # Height and pitch may be random: their values (or the preset's) go to ``values``.
    prefix = "sensors.camera."
    values.setdefault(prefix + "height_m", Constant(float(preset.height_m)))
    values.setdefault(prefix + "pitch_deg", Constant(float(preset.pitch_deg)))
    return CameraSpec(
        width=preset.width,
        height=preset.height,
        fx=preset.fx,
        fy=preset.fy,
        cx=preset.cx,
        cy=preset.cy,
        height_m=preset.height_m,
        pitch_deg=preset.pitch_deg,
        preset=None if custom_size else preset_name,
        stereo_baseline_m=float(given.get("stereo_baseline_m", 0.0)),
    )


def _resolve_lidar(ctx: ValidationContext, lidar: dict) -> LidarSpec | None:
    given = {
        key: (value.value if isinstance(value, Constant) else value) for key, value in lidar.items()
    }
    if given.get("enabled") is False:
        return None
    prefix = "sensors.lidar"
    preset_name = str(given.get("preset", "hdl64"))
    preset = presets.LIDAR_PRESETS[preset_name]
    angles: tuple[float, ...] = ()  # empty: the sensor module's beams for the named preset
    beam_keys = [key for key in ("channels", "fov_up_deg", "fov_down_deg") if key in given]
    if "vertical_angles_deg" in given:
        angles = given["vertical_angles_deg"]
        if beam_keys:
            ctx.error(
                ctx.nodes.get(join_path(prefix, beam_keys[0])),
                join_path(prefix, beam_keys[0]),
                "cannot be combined with vertical_angles_deg, expected either "
                "vertical_angles_deg or channels/fov_up_deg/fov_down_deg",
            )
            return None
        if any(a < b for a, b in itertools.pairwise(angles)):
            key = join_path(prefix, "vertical_angles_deg")
            ctx.error(
                ctx.nodes.get(key),
                key,
                "angles are not ordered, expected beam angles from top to bottom (decreasing)",
            )
            return None
    elif beam_keys or preset_name == "custom":
        fov_up = float(given.get("fov_up_deg", preset.fov_up_deg))
        fov_down = float(given.get("fov_down_deg", preset.fov_down_deg))
        channels = int(given.get("channels", preset.channels))
        if fov_up < fov_down or (fov_up == fov_down and channels > 1):
            key = join_path(prefix, "fov_up_deg")
            ctx.error(
                ctx.nodes.get(key) or ctx.nodes.get(join_path(prefix, "fov_down_deg")),
                key,
                f"fov_up_deg {fov_up} is not above fov_down_deg {fov_down}, expected "
                "fov_up_deg > fov_down_deg",
            )
            return None
        angles = presets.evenly_spaced_angles(fov_up, fov_down, channels)
    steps = int(given.get("azimuth_steps", preset.azimuth_steps))
    n_channels = len(angles) if angles else preset.channels
    if n_channels * steps > MAX_LIDAR_RAYS:
        key = join_path(prefix, "azimuth_steps")
        ctx.error(
            ctx.nodes.get(key) or ctx.nodes.get(prefix),
            key,
            f"{n_channels} channels x {steps} azimuth steps = {n_channels * steps} rays, "
            f"expected at most {MAX_LIDAR_RAYS} rays per sweep",
        )
        return None
    min_range = float(given.get("min_range_m", preset.min_range_m))
    max_range = float(given.get("max_range_m", preset.max_range_m))
    if min_range >= max_range:
        key = join_path(prefix, "min_range_m")
        ctx.error(
            ctx.nodes.get(key) or ctx.nodes.get(join_path(prefix, "max_range_m")),
            key,
            f"min_range_m {min_range} is not below max_range_m {max_range}, expected "
            "min_range_m < max_range_m",
        )
        return None
    return LidarSpec(
        preset=None if angles else preset_name,
        vertical_angles_deg=tuple(angles),
        azimuth_steps=steps,
        min_range_m=min_range,
        max_range_m=max_range,
        height_m=float(given.get("height_m", preset.height_m)),
        forward_m=float(given.get("forward_m", preset.forward_m)),
        range_noise_m=float(given.get("range_noise_m", preset.range_noise_m)),
        enabled=True,
    )


def _check_actors(
    ctx: ValidationContext,
    actors: list,
    values: dict[str, Distribution],
    sweep_axes: list[SweepAxis],
) -> dict[str, str]:
    """Class-specific rules, per-class default placement, and the user mesh per class."""
    meshes: dict[str, str] = {}

    def candidates(key: str) -> list[tuple[Distribution, str]]:
        """The file's value of ``key`` and every sweep value for it, with the error path."""
        found = [(values[key], key)]
        for axis in sweep_axes:
            if axis.path == key:
                found += [(v, f"sweep.{key}[{i}]") for i, v in enumerate(axis.values)]
        return found

    for index, actor in enumerate(actors):
        if actor is None or "class" not in actor:
            continue
        path = f"actors[{index}]"
        cls = str(_constant(actor["class"]))
        placement_key = f"{path}.placement"
        if placement_key not in values:
            values[placement_key] = Constant("sidewalk" if cls == "pedestrian" else "road")
        if cls not in VEHICLE_CLASSES:
            for value, where in candidates(f"{path}.parked_fraction"):
                if value.support()[1] > 0:  # type: ignore[operator]
                    ctx.error(
                        ctx.nodes.get(where) or ctx.nodes.get("sweep"),
                        where,
                        f"a {cls} cannot park, expected 0 "
                        f"(parked_fraction applies to {', '.join(VEHICLE_CLASSES)})",
                    )
            for value, where in candidates(placement_key):
                if "parked" in (value.values() or ()):
                    ctx.error(
                        ctx.nodes.get(where) or ctx.nodes.get("sweep"),
                        where,
                        f"a {cls} cannot be parked, expected road, sidewalk or any",
                    )
        mesh = actor.get("mesh")
        if mesh is not None:
            if meshes.get(cls, mesh) != mesh:
                key = f"{path}.mesh"
                ctx.error(
                    ctx.nodes.get(key),
                    key,
                    f"another group already gives class {cls} "
                    f"the mesh {meshes[cls]}, expected one mesh per class",
                )
            meshes[cls] = mesh
    return meshes


def _resolve_sun(
    ctx: ValidationContext, tree: dict, values: dict[str, Distribution], sweep_axes: list[SweepAxis]
) -> None:
    """time_of_day and sun are alternatives; with neither, the sun is at 12:00."""
    environment = tree.get("environment") or {}
    swept = {axis.path for axis in sweep_axes}
    sun_given = "sun" in environment or any(p.startswith("environment.sun.") for p in swept)
    clock_key = "environment.time_of_day"
    clock_given = "time_of_day" in environment or clock_key in swept
    if sun_given and clock_given:
        node = ctx.nodes.get("environment.sun") or ctx.nodes.get("sweep")
        ctx.error(
            node, "environment.sun", "sun and time_of_day are both given, expected one of them"
        )
        return
    if sun_given and "sun" not in environment:  # swept sun: the other angle keeps its default
        for name, child in table_section("environment.sun").fields.items():
            values.setdefault(f"environment.sun.{name}", default_value(child))
    if not sun_given and not clock_given:
        values[clock_key] = Constant("12:00")


def _resolve_sweep(ctx: ValidationContext, node: Node | None, tree: dict) -> list[SweepAxis]:
    if node is None:
        return []
    spec = scenario_fields().fields["sweep"]
    assert isinstance(spec, SweepField)
    if not isinstance(node, MappingNode):
        ctx.error(
            node,
            "sweep",
            f"found {node_kind(node)}, expected a mapping of key path to list of values",
        )
        return []
    if len(node.value) > spec.max_axes:
        ctx.error(node, "sweep", f"has {len(node.value)} axes, expected at most {spec.max_axes}")
        return []
    axes: list[SweepAxis] = []
    seen: dict[str, Node] = {}
    for key_node, values_node in node.value:
        if not has_standard_tag(key_node) or not has_standard_tag(values_node):
            continue
        if not isinstance(key_node, ScalarNode):
            ctx.error(
                key_node,
                "sweep",
                f"found {node_kind(key_node)} as a key, expected a dotted key path",
            )
            continue
        axis = _sweep_axis(ctx, key_node, values_node, tree, seen)
        if axis is not None:
            axes.append(axis)
    cells = 1
    for axis in axes:
        cells *= len(axis.values)
    if cells > MAX_SWEEP_CELLS:
        ctx.error(node, "sweep", f"the grid has {cells} cells, expected at most {MAX_SWEEP_CELLS}")
        return []
    return axes


def _resolve_search(
    ctx: ValidationContext, node: Node | None, tree: dict
) -> dict[str, Distribution]:
    """The ``search:`` block: each key path names a random key (as in ``sweep``), each
    value a distribution of that key's type and range (a constant is no search)."""
    if node is None:
        return {}
    spec = scenario_fields().fields["search"]
    assert isinstance(spec, SearchField)
    if not isinstance(node, MappingNode) or len(node.value) > spec.max_keys:
        found = f"{len(node.value)} keys" if isinstance(node, MappingNode) else node_kind(node)
        ctx.error(
            node,
            "search",
            f"found {found}, expected a mapping of at most {spec.max_keys} "
            "key paths to distributions, e.g. environment.weather.fog.visibility_m: "
            '"uniform(20, 300)"',
        )
        return {}
    space: dict[str, Distribution] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode) or not has_standard_tag(value_node):
            ctx.error(key_node, "search", f"found {node_kind(key_node)}, expected a key path")
            continue
        report_path = f"search.{clip(key_node.value.strip())}"
        leaf, canonical, problem = _sweep_target(key_node.value.strip(), tree)
        if leaf is None:
            ctx.error(
                key_node, report_path, problem.replace("cannot be swept", "cannot be searched")
            )
            continue
        if canonical in space:
            ctx.error(key_node, report_path, f"{canonical} is named twice, expected it once")
            continue
        ctx.nodes[f"search.{canonical}"] = value_node
        value = walk_leaf(ctx, value_node, leaf, report_path)
        if isinstance(value, Constant):
            ctx.error(
                value_node,
                report_path,
                f"found the constant {clip(str(value_node.value))!r}, "
                'expected a distribution whose range to search, e.g. "uniform(20, 300)"',
            )
        elif value is not None:
            space[canonical] = value
    return space


def _sweep_axis(
    ctx: ValidationContext,
    key_node: ScalarNode,
    values_node: Node,
    tree: dict,
    seen: dict[str, Node],
) -> SweepAxis | None:
    text = key_node.value.strip()
    report_path = f"sweep.{clip(text)}"
    leaf, canonical, problem = _sweep_target(text, tree)
    if leaf is None:
        ctx.error(key_node, report_path, problem)
        return None
    if canonical in seen:
        ctx.error(
            key_node,
            report_path,
            f"{canonical} is swept twice (first at line "
            f"{seen[canonical].start_mark.line + 1}), expected "
            "each key path once",
        )
        return None
    seen[canonical] = key_node
    if not isinstance(values_node, SequenceNode) or not values_node.value:
        ctx.error(
            values_node,
            report_path,
            f"found {node_kind(values_node)}, expected a non-empty list of values",
        )
        return None
    values: list[Distribution] = []
    labels: list[Scalar] = []
    for index, item in enumerate(values_node.value):
        if not has_standard_tag(item):
            continue
        ctx.nodes[f"sweep.{canonical}[{index}]"] = item
        value = walk_leaf(ctx, item, leaf, f"{report_path}[{index}]")
        if value is not None:
            values.append(value)
            labels.append(value.value if isinstance(value, Constant) else item.value.strip())
    if len(values) != len(values_node.value):
        return None
    return SweepAxis(canonical, tuple(values), tuple(labels))


def _sweep_target(text: str, tree: dict) -> tuple[LeafField | None, str, str]:
    """The leaf field a sweep path names, its canonical path, or why it names none."""
    spec: Field = scenario_fields()
    cursor: Any = tree
    parts: list[str] = []
    segments = text.split(".")
    for segment in segments:
        match = _PATH_SEGMENT.fullmatch(segment)
        if match is None:
            return (
                None,
                "",
                (
                    f"{segment!r} is not a key path segment, expected keys joined "
                    "by '.', e.g. environment.weather.fog.visibility_m or "
                    "actors[0].count"
                ),
            )
        name, index = match.group(1), match.group(2)
        if not isinstance(spec, ObjectField) or name not in spec.fields:
            known = list(spec.fields) if isinstance(spec, ObjectField) else []
            where = ".".join(parts) or "the top level"
            return None, "", f"{unknown_key_message(name, known)} (under {where})"
        spec = spec.fields[name]
        cursor = cursor.get(name) if isinstance(cursor, dict) else None
        parts.append(name)
        if index is not None:
            if not isinstance(spec, ListField):
                return None, "", f"{name} is not a list, expected no [index] after it"
            items = cursor if isinstance(cursor, list) else []
            position = int(index)
            if position >= len(items) or items[position] is None:
                return (
                    None,
                    "",
                    (
                        f"{name}[{position}] does not exist, expected an index "
                        f"of one of the file's {len(items)} {name} entries"
                    ),
                )
            cursor = items[position]
            item_spec = spec.item
            if isinstance(item_spec, UnionField):
                item_spec = item_spec.variants[str(_constant(cursor[item_spec.tag]))]
            spec = item_spec
            parts[-1] = f"{name}[{position}]"
    if not isinstance(spec, NumberField | BoolField | EnumField | TextField) or not spec.random:
        return (
            None,
            "",
            (
                f"{text} cannot be swept, expected the path of a value that may "
                "vary per frame (a number, flag or option outside 'sensors' "
                "geometry, 'name', 'seed', 'frames', actor class and event type)"
            ),
        )
    return spec, ".".join(parts), ""
