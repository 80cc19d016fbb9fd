"""Load and validate scenario files.

Reading goes through four gates, each of which reports problems as
:class:`~scenegen.errors.ScenarioError` (``FILE:LINE:COL: key.path: message``). Gates 1-3
(bytes, YAML syntax and depth, tags) live in :mod:`scenegen.scenario.yaml_reader`; this
module is gate 4, the key table of :mod:`scenegen.scenario.schema`: unknown, duplicate or
missing keys, types, ranges, expressions (:mod:`scenegen.scenario.expr`), distributions
whose support leaves a key's range, and checks that span keys (sensor rig, actors, sun,
sweep). It then assembles the :class:`~scenegen.scenario.model.Scenario`.

Gates 1 and 2 stop at their first problem; gates 3 and 4 collect every problem of the
file and raise them together as :class:`~scenegen.errors.ScenarioErrors`. Nothing in a
file is ever executed or turned into a Python object other than str/int/float/bool.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scenegen.errors import ScenarioError, ScenarioErrors
from scenegen.scenario import presets
from scenegen.scenario.distributions import (
    FUNCTION_PARAMETERS,
    Choice,
    Constant,
    Distribution,
    RandInt,
    Scalar,
    build_distribution,
)
from scenegen.scenario.expr import Call, ExpressionError, ListExpr, Literal, parse_expression
from scenegen.scenario.model import Scenario, SweepAxis
from scenegen.scenario.schema import (
    MAX_LIDAR_RAYS,
    MAX_SWEEP_CELLS,
    VEHICLE_CLASSES,
    BoolField,
    EnumField,
    Field,
    LeafField,
    ListField,
    NumberField,
    NumberListField,
    ObjectField,
    PathField,
    SweepField,
    TextField,
    UnionField,
    scenario_fields,
)
from scenegen.scenario.spec import CameraSpec, LidarSpec
from scenegen.scenario.yaml_reader import (
    BOOL,
    FLOAT,
    INT,
    NULL,
    STR,
    check_scenario_text,
    compose_scenario,
    has_standard_tag,
    read_scenario_file,
    scalar_constructor,
    tag_errors,
)

_CALL_LIKE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*\(")
_PATH_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")
_MAX_REPORTED_ERRORS = 100
_FILE_KEYS = ("version", "name", "description", "seed", "frames", "min_visible_pixels")


# ---------------------------------------------------------------- public entry points


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


# ---------------------------------------------------------------- the validation walk


@dataclass
class _Context:
    filename: str
    base_dir: Path
    errors: list[ScenarioError] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)  # key path -> its value node
    constructor: SafeConstructor = field(default_factory=scalar_constructor)

    def error(self, node: Node | None, path: str, message: str, offset: int | None = None) -> None:
        if node is None:
            line, col = 1, 1
        else:
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            if offset is not None:
                col = _expression_column(node, offset, col)
        self.errors.append(ScenarioError(self.filename, line, col, path or "<root>", message))


def _expression_column(node: Node, offset: int, fallback: int) -> int:
    """Column of character ``offset`` of a scalar's value, when the source shows it verbatim."""
    start, end = node.start_mark, node.end_mark
    buffer = getattr(start, "buffer", None)
    if not isinstance(node, ScalarNode) or buffer is None or start.line != end.line:
        return fallback
    source = buffer[start.index : end.index]
    found = source.find(node.value)
    return fallback + found + offset if found >= 0 else fallback


def _load(text: str, filename: str, base_dir: Path, path: Path | None) -> Scenario:
    root = compose_scenario(text, filename)
    ctx = _Context(filename, base_dir)
    if root is None:
        raise ScenarioError(
            filename,
            1,
            1,
            "<root>",
            "the file is empty, expected a mapping with at least 'version' and 'name'",
        )
    ctx.errors.extend(tag_errors(root, filename))
    tree = None if not has_standard_tag(root) else _walk_object(ctx, root, scenario_fields(), "")
    scenario = None
    if tree is not None:
        scenario = _build_scenario(ctx, root, tree, path)
    if ctx.errors or scenario is None:
        errors = sorted(ctx.errors, key=lambda e: (e.line, e.col))[:_MAX_REPORTED_ERRORS]
        raise errors[0] if len(errors) == 1 else ScenarioErrors(errors)
    return scenario


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _node_kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return {
        NULL: "an empty value (null)",
        BOOL: "a boolean",
        INT: "an integer",
        FLOAT: "a number",
    }.get(node.tag, f"the text {_clip(node.value)!r}")


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _walk(ctx: _Context, node: Node, spec: Field, path: str) -> Any:
    """Validate ``node`` against ``spec``; returns its tree value (None after an error)."""
    if not has_standard_tag(node):
        return None
    ctx.nodes[path] = node
    if isinstance(spec, ObjectField):
        return _walk_object(ctx, node, spec, path)
    if isinstance(spec, ListField):
        return _walk_list(ctx, node, spec, path)
    if isinstance(spec, NumberListField):
        return _walk_number_list(ctx, node, spec, path)
    if isinstance(spec, PathField):
        return _walk_path(ctx, node, spec, path)
    if isinstance(spec, SweepField):
        return node  # resolved after the rest of the file (it refers to it)
    return _walk_leaf(ctx, node, spec, path)


def _walk_object(ctx: _Context, node: Node, spec: ObjectField, path: str) -> dict | None:
    if spec.accepts_bool and isinstance(node, ScalarNode) and node.tag == BOOL:
        enabled = ctx.constructor.construct_yaml_bool(node)
        return (
            {"enabled": Constant(enabled)} if not enabled else _fill_defaults(ctx, {}, spec, path)
        )
    if not isinstance(node, MappingNode):
        expected = "a mapping (or true/false)" if spec.accepts_bool else "a mapping"
        ctx.error(
            node,
            path or "<root>",
            f"found {_node_kind(node)}, expected {expected}"
            + ("" if path else " of scenario keys such as 'version' and 'name'"),
        )
        return None
    result: dict[str, Any] = {}
    first_seen: dict[str, Node] = {}
    for key_node, value_node in node.value:
        if not has_standard_tag(key_node):
            continue
        if not isinstance(key_node, ScalarNode):
            ctx.error(
                key_node,
                path or "<root>",
                f"found {_node_kind(key_node)} as a key, expected a key name",
            )
            continue
        name = key_node.value
        key_path = _join(path, name)
        if name in first_seen:
            ctx.error(
                key_node,
                key_path,
                f"duplicate key {name!r} (first at line "
                f"{first_seen[name].start_mark.line + 1}), "
                "expected each key once",
            )
            continue
        first_seen[name] = key_node
        child = spec.fields.get(name)
        if child is None:
            ctx.error(key_node, key_path, _unknown_key_message(name, list(spec.fields)))
            continue
        value = _walk(ctx, value_node, child, key_path)
        if value is not None:
            result[name] = value
    for name in spec.required:
        if name not in first_seen:
            ctx.error(
                node,
                _join(path, name),
                f"missing required key {name!r}, expected {_describe_field(spec.fields[name])}",
            )
    return _fill_defaults(ctx, result, spec, path, present=set(first_seen))


def _fill_defaults(
    ctx: _Context, result: dict, spec: ObjectField, path: str, present: set[str] | None = None
) -> dict:
    present = present if present is not None else set()
    for name, child in spec.fields.items():
        if name in present or name in result:
            continue
        if isinstance(child, ObjectField) and not child.optional:
            result[name] = _fill_defaults(ctx, {}, child, _join(path, name))
        elif isinstance(child, ListField):
            result[name] = []
        elif (
            isinstance(child, NumberField | BoolField | EnumField | TextField)
            and child.default is not None
        ):
            result[name] = _default_value(child)
    # Table order, not file order: reordering keys in a file must not change the draws.
    return {name: result[name] for name in spec.fields if name in result}


def _default_value(spec: LeafField) -> Distribution:
    """A key's default from the table; a bad default in the table is a programming error."""
    default = spec.default
    if isinstance(default, str) and _CALL_LIKE.match(default):
        return _as_float_field(_distribution_from_call(default), spec)
    return _as_float_field(Constant(default), spec)  # type: ignore[arg-type]


def _distribution_from_call(text: str) -> Distribution:
    syntax = parse_expression(text, FUNCTION_PARAMETERS)
    assert isinstance(syntax, Call), text
    return build_distribution(syntax)


def _unknown_key_message(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {_clip(name)!r}{hint}, expected one of: {', '.join(known)}"


def _describe_field(spec: Field) -> str:
    if isinstance(spec, NumberField):
        kind = "an integer" if spec.integer else "a number"
        if spec.minimum == spec.maximum:
            return f"{kind} equal to {_num(spec.minimum)}"
        return f"{kind} in [{_num(spec.minimum)}, {_num(spec.maximum)}]"
    if isinstance(spec, BoolField):
        return "true or false"
    if isinstance(spec, EnumField):
        return "one of " + ", ".join(spec.options)
    if isinstance(spec, TextField):
        return spec.pattern_hint or "text"
    if isinstance(spec, ObjectField | UnionField):
        return "a mapping"
    return "a list" if isinstance(spec, ListField | NumberListField) else "a file path"


def _num(value: float) -> str:
    if isinstance(value, int) or (
        math.isfinite(value) and value.is_integer() and abs(value) < 1e15
    ):
        return str(int(value))
    return repr(value)


def _walk_list(ctx: _Context, node: Node, spec: ListField, path: str) -> list | None:
    if not isinstance(node, SequenceNode):
        ctx.error(node, path, f"found {_node_kind(node)}, expected a list")
        return None
    if len(node.value) > spec.max_items:
        ctx.error(node, path, f"has {len(node.value)} entries, expected at most {spec.max_items}")
        return None
    items = []
    for index, item_node in enumerate(node.value):
        item_path = f"{path}[{index}]"
        if not has_standard_tag(item_node):
            items.append(None)
            continue
        ctx.nodes[item_path] = item_node
        item_spec = spec.item
        if isinstance(item_spec, UnionField):
            variant = _union_variant(ctx, item_node, item_spec, item_path)
            items.append(
                None if variant is None else _walk_object(ctx, item_node, variant, item_path)
            )
        else:
            items.append(_walk_object(ctx, item_node, item_spec, item_path))
    return items


def _union_variant(ctx: _Context, node: Node, spec: UnionField, path: str) -> ObjectField | None:
    if not isinstance(node, MappingNode):
        ctx.error(
            node, path, f"found {_node_kind(node)}, expected a mapping with a {spec.tag!r} key"
        )
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == spec.tag:
            name = value_node.value if isinstance(value_node, ScalarNode) else None
            if name not in spec.variants:
                shown = repr(_clip(name)) if isinstance(name, str) else _node_kind(value_node)
                ctx.error(
                    value_node,
                    _join(path, spec.tag),
                    f"unknown {spec.tag} {shown}, expected one of: " + ", ".join(spec.variants),
                )
                return None
            return spec.variants[name]
    ctx.error(
        node,
        _join(path, spec.tag),
        f"missing required key {spec.tag!r}, expected one of: " + ", ".join(spec.variants),
    )
    return None


def _walk_number_list(
    ctx: _Context, node: Node, spec: NumberListField, path: str
) -> tuple[float, ...] | None:
    if not isinstance(node, SequenceNode):
        ctx.error(node, path, f"found {_node_kind(node)}, expected a list of numbers")
        return None
    if not spec.min_items <= len(node.value) <= spec.max_items:
        ctx.error(
            node,
            path,
            f"has {len(node.value)} entries, expected {spec.min_items} to {spec.max_items}",
        )
        return None
    numbers: list[float] = []
    for index, item in enumerate(node.value):
        item_path = f"{path}[{index}]"
        number = _constant_number(ctx, item, item_path)
        if number is None:
            continue
        if not spec.minimum <= number <= spec.maximum:
            ctx.error(
                item,
                item_path,
                f"found {number}, expected a number in "
                f"[{_num(spec.minimum)}, {_num(spec.maximum)}]",
            )
            continue
        numbers.append(float(number))
    return tuple(numbers) if len(numbers) == len(node.value) else None


def _constant_number(ctx: _Context, node: Node, path: str) -> int | float | None:
    if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT):
        try:
            value = (
                ctx.constructor.construct_yaml_int(node)
                if node.tag == INT
                else ctx.constructor.construct_yaml_float(node)
            )
        except (ValueError, OverflowError):
            ctx.error(
                node,
                path,
                f"cannot read {_clip(node.value)!r} as a number, expected a "
                "number of reasonable size",
            )
            return None
        if isinstance(value, int) or math.isfinite(value):
            return value
        ctx.error(node, path, f"found {node.value!r}, expected a finite number")
        return None
    if isinstance(node, ScalarNode) and node.tag == STR:
        try:
            syntax = parse_expression(node.value, ())
        except ExpressionError:
            syntax = None
        if (
            isinstance(syntax, Literal)
            and isinstance(syntax.value, int | float)
            and not isinstance(syntax.value, bool)
            and math.isfinite(syntax.value)
        ):
            return syntax.value
    if has_standard_tag(node):
        ctx.error(node, path, f"found {_node_kind(node)}, expected a number")
    return None


def _walk_path(ctx: _Context, node: Node, spec: PathField, path: str) -> str | None:
    if not isinstance(node, ScalarNode) or node.tag != STR or not node.value.strip():
        ctx.error(node, path, f"found {_node_kind(node)}, expected a file path")
        return None
    text = node.value
    if Path(text).suffix.lower() not in spec.suffixes:
        ctx.error(
            node,
            path,
            f"{_clip(text)!r} is not a {' or '.join(spec.suffixes)} file, "
            f"expected a mesh path ending in {' or '.join(spec.suffixes)}",
        )
        return None
    base = ctx.base_dir
    try:
        resolved = (base / text).resolve()  # an absolute text replaces base
    except (OSError, RuntimeError, ValueError) as error:
        ctx.error(
            node,
            path,
            f"cannot resolve {_clip(text)!r} ({error}), expected a path "
            "inside the scenario's folder",
        )
        return None
    if not resolved.is_relative_to(base):
        ctx.error(
            node,
            path,
            f"{_clip(text)!r} leaves the scenario's folder {base}, expected "
            "a path inside that folder (no '..' or outside absolute paths)",
        )
        return None
    if not resolved.is_file():
        ctx.error(
            node,
            path,
            f"mesh file {_clip(text)!r} not found at {resolved}, expected an existing file",
        )
        return None
    return str(resolved)


# ---------------------------------------------------------------- leaves and expressions


def _walk_leaf(ctx: _Context, node: Node, spec: LeafField, path: str) -> Distribution | None:
    expected = _describe_field(spec)
    if spec.random:
        expected += (
            " (or a distribution)" if isinstance(spec, NumberField) else " (or choice([...]))"
        )
    if not isinstance(node, ScalarNode) or node.tag == NULL:
        ctx.error(node, path, f"found {_node_kind(node)}, expected {expected}")
        return None
    value = _scalar_value(ctx, node, spec, path, expected)
    if value is None:
        return None
    if not spec.random and not isinstance(value, Constant):
        ctx.error(
            node,
            path,
            f"found the distribution {_clip(node.value)!r}, expected a constant: {expected}",
        )
        return None
    if not _check_leaf(ctx, node, spec, path, value):
        return None
    return _as_float_field(value, spec)


def _scalar_value(
    ctx: _Context, node: ScalarNode, spec: LeafField, path: str, expected: str
) -> Distribution | None:
    """The constant or distribution a scalar holds, before range checks."""
    if isinstance(spec, NumberField):
        if node.tag in (INT, FLOAT):
            number = _constant_number(ctx, node, path)
            return None if number is None else Constant(number)
        if node.tag == STR:
            return _expression(ctx, node, path, expected)
        ctx.error(node, path, f"found {_node_kind(node)}, expected {expected}")
        return None
    if isinstance(spec, BoolField):
        if node.tag == BOOL:
            return Constant(ctx.constructor.construct_yaml_bool(node))
        if node.tag == STR:
            return _expression(ctx, node, path, expected)
        ctx.error(node, path, f"found {_node_kind(node)}, expected {expected}")
        return None
    # Enum and text keys: a plain scalar's text is taken as written (so 21:30 stays a
    # time, not YAML 1.1's sexagesimal integer); call-like text is an expression.
    if spec.random and _CALL_LIKE.match(node.value):
        return _expression(ctx, node, path, expected)
    return Constant(node.value)


def _expression(ctx: _Context, node: ScalarNode, path: str, expected: str) -> Distribution | None:
    text = node.value
    try:
        syntax = parse_expression(text, FUNCTION_PARAMETERS)
        if isinstance(syntax, Call):
            return build_distribution(syntax)
    except ExpressionError as error:
        ctx.error(node, path, f"bad expression {_clip(text)!r}: {error.message}", error.offset)
        return None
    if isinstance(syntax, Literal):
        if isinstance(syntax.value, float) and not math.isfinite(syntax.value):
            ctx.error(node, path, f"found {_clip(text)!r}, expected a finite number")
            return None
        return Constant(syntax.value)
    assert isinstance(syntax, ListExpr)
    ctx.error(node, path, f"found a list {_clip(text)!r}, expected {expected}", syntax.offset)
    return None


def _check_leaf(ctx: _Context, node: Node, spec: LeafField, path: str, value: Distribution) -> bool:
    """Type of every possible draw, and (for numbers) the support inside the range."""
    shown = _clip(node.value) if isinstance(node, ScalarNode) else str(value)
    options = value.values()
    expected = _describe_field(spec)
    if isinstance(spec, NumberField):
        if spec.integer and not (
            isinstance(value, RandInt) or (options is not None and all(_is_int(o) for o in options))
        ):
            what = (
                "gives non-integer values"
                if not isinstance(value, Constant)
                else "is not an integer"
            )
            ctx.error(
                node,
                path,
                f"{shown!r} {what}, expected {expected} (randint(a, b) or "
                "choice([...]) of integers for a random value)",
            )
            return False
        if options is not None and not all(_is_number(o) for o in options):
            ctx.error(node, path, f"found {shown!r}, expected {expected}")
            return False
        low, high = value.support()
        if low < spec.minimum or high > spec.maximum:  # type: ignore[operator]
            range_text = f"[{_num(spec.minimum)}, {_num(spec.maximum)}]"
            if isinstance(value, Constant):
                message = f"{shown} is out of range, expected {expected}"
            elif math.isinf(low) or math.isinf(high):  # type: ignore[arg-type]
                message = (
                    f"{shown!r} is unbounded, expected a distribution within "
                    f"{range_text} such as truncnormal(mean, std, low, high)"
                )
            else:
                message = (
                    f"{shown!r} can give values in [{_num(low)}, {_num(high)}], "  # type: ignore[arg-type]
                    f"expected a distribution within {range_text}"
                )
            ctx.error(node, path, message)
            return False
        return True
    if isinstance(spec, BoolField):
        if options is None or not all(isinstance(o, bool) for o in options):
            ctx.error(node, path, f"found {shown!r}, expected {expected}")
            return False
        return True
    assert options is not None
    for option in options:
        if not isinstance(option, str):
            ctx.error(node, path, f"found {shown!r}, expected {expected}")
            return False
        if isinstance(spec, EnumField) and option not in spec.options:
            ctx.error(node, path, f"{_clip(option)!r} is not allowed, expected {expected}")
            return False
        if isinstance(spec, TextField):
            if len(option) > spec.max_length:
                ctx.error(
                    node,
                    path,
                    f"text is {len(option)} characters long, expected at most {spec.max_length}",
                )
                return False
            if spec.pattern and not re.match(spec.pattern, option):
                ctx.error(node, path, f"{_clip(option)!r} is not valid, expected {expected}")
                return False
    return True


def _is_int(value: Scalar) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Scalar) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_float_field(value: Distribution, spec: LeafField) -> Distribution:
    """Float keys hold floats, even when written as integers (``lane_width_m: 3``)."""
    if not isinstance(spec, NumberField) or spec.integer:
        return value
    if isinstance(value, Constant):
        return Constant(float(value.value))
    if isinstance(value, Choice):
        return Choice(tuple(float(o) for o in value.options), value.weights)
    return value


# ---------------------------------------------------------------- building the Scenario


def _build_scenario(ctx: _Context, root: Node, tree: dict, path: Path | None) -> Scenario | None:
    values: dict[str, Distribution] = {}
    _flatten(tree, "", values)
    for key in _FILE_KEYS:  # facts about the file, kept as Scenario attributes
        values.pop(key, None)
    camera = _resolve_camera(ctx, tree.get("sensors", {}).get("camera") or {}, values)
    lidar = _resolve_lidar(ctx, tree.get("sensors", {}).get("lidar") or {})
    actors = [a for a in tree.get("actors", []) if a is not None]
    events = [e for e in tree.get("events", []) if e is not None]
    sweep_axes = _resolve_sweep(ctx, tree.get("sweep"), tree)
    meshes = _check_actors(ctx, tree.get("actors", []), values, sweep_axes)
    _resolve_sun(ctx, tree, values, sweep_axes)
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
            _flatten(child, _join(path, key), out)
    elif isinstance(tree, list):
        for index, child in enumerate(tree):
            _flatten(child, f"{path}[{index}]", out)


def _resolve_camera(ctx: _Context, camera: dict, values: dict[str, Distribution]) -> CameraSpec:
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


def _resolve_lidar(ctx: _Context, lidar: dict) -> LidarSpec | None:
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
                ctx.nodes.get(_join(prefix, beam_keys[0])),
                _join(prefix, beam_keys[0]),
                "cannot be combined with vertical_angles_deg, expected either "
                "vertical_angles_deg or channels/fov_up_deg/fov_down_deg",
            )
            return None
        if any(a < b for a, b in itertools.pairwise(angles)):
            key = _join(prefix, "vertical_angles_deg")
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
            key = _join(prefix, "fov_up_deg")
            ctx.error(
                ctx.nodes.get(key) or ctx.nodes.get(_join(prefix, "fov_down_deg")),
                key,
                f"fov_up_deg {fov_up} is not above fov_down_deg {fov_down}, expected "
                "fov_up_deg > fov_down_deg",
            )
            return None
        angles = presets.evenly_spaced_angles(fov_up, fov_down, channels)
    steps = int(given.get("azimuth_steps", preset.azimuth_steps))
    n_channels = len(angles) if angles else preset.channels
    if n_channels * steps > MAX_LIDAR_RAYS:
        key = _join(prefix, "azimuth_steps")
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
        key = _join(prefix, "min_range_m")
        ctx.error(
            ctx.nodes.get(key) or ctx.nodes.get(_join(prefix, "max_range_m")),
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
    ctx: _Context, actors: list, values: dict[str, Distribution], sweep_axes: list[SweepAxis]
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
    ctx: _Context, tree: dict, values: dict[str, Distribution], sweep_axes: list[SweepAxis]
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
        sun_spec = scenario_fields().fields["environment"].fields["sun"]  # type: ignore[union-attr]
        for name, child in sun_spec.fields.items():
            values.setdefault(f"environment.sun.{name}", _default_value(child))
    if not sun_given and not clock_given:
        values[clock_key] = Constant("12:00")


def _resolve_sweep(ctx: _Context, node: Node | None, tree: dict) -> list[SweepAxis]:
    if node is None:
        return []
    spec = scenario_fields().fields["sweep"]
    assert isinstance(spec, SweepField)
    if not isinstance(node, MappingNode):
        ctx.error(
            node,
            "sweep",
            f"found {_node_kind(node)}, expected a mapping of key path to list of values",
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
                f"found {_node_kind(key_node)} as a key, expected a dotted key path",
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


def _sweep_axis(
    ctx: _Context, key_node: ScalarNode, values_node: Node, tree: dict, seen: dict[str, Node]
) -> SweepAxis | None:
    text = key_node.value.strip()
    report_path = f"sweep.{_clip(text)}"
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
            f"found {_node_kind(values_node)}, expected a non-empty list of values",
        )
        return None
    values: list[Distribution] = []
    labels: list[Scalar] = []
    for index, item in enumerate(values_node.value):
        if not has_standard_tag(item):
            continue
        ctx.nodes[f"sweep.{canonical}[{index}]"] = item
        value = _walk_leaf(ctx, item, leaf, f"{report_path}[{index}]")
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
            return None, "", f"{_unknown_key_message(name, known)} (under {where})"
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
