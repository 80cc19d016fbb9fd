"""Validating a YAML node tree against the key table, with FILE:LINE:COL errors.

Gate 4 of reading a scenario (gates 1-3 are in :mod:`scenegen.scenario.yaml_reader`):
:func:`walk_object` checks a node against an :class:`~scenegen.scenario.fields.ObjectField`
of :mod:`scenegen.scenario.schema` (unknown, duplicate or missing keys with "did you mean",
types, ranges, expressions (:mod:`scenegen.scenario.expr`), distributions whose support
leaves a key's range, values outside a key's options with "did you mean") and returns the
tree of values: every leaf a :class:`~scenegen.scenario.distributions.Distribution`,
defaults filled in, keys in table order. It knows nothing about scenarios beyond the table;
:mod:`scenegen.scenario.loader` assembles the :class:`~scenegen.scenario.model.Scenario`.

Every problem is collected in :attr:`ValidationContext.errors`, none raised, so a file's
problems are reported together.
"""

from __future__ import annotations

import difflib
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scenegen.errors import ScenarioError, ScenarioWarning
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
from scenegen.scenario.fields import (
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
)
from scenegen.scenario.yaml_reader import (
    BOOL,
    FLOAT,
    INT,
    NULL,
    STR,
    has_standard_tag,
    scalar_constructor,
)

CALL_LIKE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*\(")


@dataclass
class ValidationContext:
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


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def node_kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return {
        NULL: "an empty value (null)",
        BOOL: "a boolean",
        INT: "an integer",
        FLOAT: "a number",
    }.get(node.tag, f"the text {clip(node.value)!r}")


def clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _walk(ctx: ValidationContext, node: Node, spec: Field, path: str) -> Any:
    """Validate ``node`` against ``spec``; returns its tree value (None after an error)."""
    if not has_standard_tag(node):
        return None
    ctx.nodes[path] = node
    if isinstance(spec, ObjectField):
        return walk_object(ctx, node, spec, path)
    if isinstance(spec, ListField):
        return _walk_list(ctx, node, spec, path)
    if isinstance(spec, NumberListField):
        return _walk_number_list(ctx, node, spec, path)
    if isinstance(spec, PathField):
        return _walk_path(ctx, node, spec, path)
    if isinstance(spec, SweepField):
        return node  # resolved after the rest of the file (it refers to it)
    return walk_leaf(ctx, node, spec, path)


def walk_object(ctx: ValidationContext, node: Node, spec: ObjectField, path: str) -> dict | None:
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
            f"found {node_kind(node)}, expected {expected}"
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
                f"found {node_kind(key_node)} as a key, expected a key name",
            )
            continue
        name = key_node.value
        key_path = join_path(path, name)
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
            ctx.error(key_node, key_path, unknown_key_message(name, list(spec.fields)))
            continue
        value = _walk(ctx, value_node, child, key_path)
        if value is not None:
            result[name] = value
    for name in spec.required:
        if name not in first_seen:
            ctx.error(
                node,
                join_path(path, name),
                f"missing required key {name!r}, expected {_describe_field(spec.fields[name])}",
            )
    return _fill_defaults(ctx, result, spec, path, present=set(first_seen))


def _fill_defaults(
    ctx: ValidationContext,
    result: dict,
    spec: ObjectField,
    path: str,
    present: set[str] | None = None,
) -> dict:
    present = present if present is not None else set()
    for name, child in spec.fields.items():
        if name in present or name in result:
            continue
        if isinstance(child, ObjectField) and not child.optional:
            result[name] = _fill_defaults(ctx, {}, child, join_path(path, name))
        elif isinstance(child, ListField):
            result[name] = []
        elif (
            isinstance(child, NumberField | BoolField | EnumField | TextField)
            and child.default is not None
        ):
            result[name] = default_value(child)
    # Table order, not file order: reordering keys in a file must not change the draws.
    return {name: result[name] for name in spec.fields if name in result}


def default_value(spec: LeafField) -> Distribution:
    """A key's default from the table; a bad default in the table is a programming error."""
    default = spec.default
    if isinstance(default, str) and CALL_LIKE.match(default):
        return _as_float_field(_distribution_from_call(default), spec)
    return _as_float_field(Constant(default), spec)  # type: ignore[arg-type]


def _distribution_from_call(text: str) -> Distribution:
    syntax = parse_expression(text, FUNCTION_PARAMETERS)
    assert isinstance(syntax, Call), text
    return build_distribution(syntax)


def unknown_key_message(name: str, known: list[str]) -> str:
    return f"unknown key {clip(name)!r}{did_you_mean(name, known)}, expected one of: " + ", ".join(
        known
    )


def did_you_mean(name: str, known: Sequence[str], aliases: Mapping[str, str] | None = None) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` (or of the words in ``aliases``,
    suggesting the option they stand for), or ``""`` when none is close."""
    aliases = aliases or {}
    close = difflib.get_close_matches(name.strip().lower(), [*known, *aliases], n=1)
    return f" (did you mean {aliases.get(close[0], close[0])!r}?)" if close else ""


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


def _walk_list(ctx: ValidationContext, node: Node, spec: ListField, path: str) -> list | None:
    if not isinstance(node, SequenceNode):
        ctx.error(node, path, f"found {node_kind(node)}, expected a list")
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
                None if variant is None else walk_object(ctx, item_node, variant, item_path)
            )
        else:
            items.append(walk_object(ctx, item_node, item_spec, item_path))
    return items


def _union_variant(
    ctx: ValidationContext, node: Node, spec: UnionField, path: str
) -> ObjectField | None:
    if not isinstance(node, MappingNode):
        ctx.error(
            node, path, f"found {node_kind(node)}, expected a mapping with a {spec.tag!r} key"
        )
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == spec.tag:
            name = value_node.value if isinstance(value_node, ScalarNode) else None
            if name not in spec.variants:
                shown = repr(clip(name)) if isinstance(name, str) else node_kind(value_node)
                ctx.error(
                    value_node,
                    join_path(path, spec.tag),
                    f"unknown {spec.tag} {shown}"
                    + (did_you_mean(name, tuple(spec.variants)) if isinstance(name, str) else "")
                    + ", expected one of: "
                    + ", ".join(spec.variants),
                )
                return None
            return spec.variants[name]
    ctx.error(
        node,
        join_path(path, spec.tag),
        f"missing required key {spec.tag!r}, expected one of: " + ", ".join(spec.variants),
    )
    return None


def _walk_number_list(
    ctx: ValidationContext, node: Node, spec: NumberListField, path: str
) -> tuple[float, ...] | None:
    if not isinstance(node, SequenceNode):
        ctx.error(node, path, f"found {node_kind(node)}, expected a list of numbers")
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


def _constant_number(ctx: ValidationContext, node: Node, path: str) -> int | float | None:
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
                f"cannot read {clip(node.value)!r} as a number, expected a "
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
        ctx.error(node, path, f"found {node_kind(node)}, expected a number")
    return None


def _walk_path(ctx: ValidationContext, node: Node, spec: PathField, path: str) -> str | None:
    if not isinstance(node, ScalarNode) or node.tag != STR or not node.value.strip():
        ctx.error(node, path, f"found {node_kind(node)}, expected a file path")
        return None
    text = node.value
    if Path(text).suffix.lower() not in spec.suffixes:
        ctx.error(
            node,
            path,
            f"{clip(text)!r} is not a {' or '.join(spec.suffixes)} file, "
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
            f"cannot resolve {clip(text)!r} ({error}), expected a path "
            "inside the scenario's folder",
        )
        return None
    if not resolved.is_relative_to(base):
        ctx.error(
            node,
            path,
            f"{clip(text)!r} leaves the scenario's folder {base}, expected "
            "a path inside that folder (no '..' or outside absolute paths)",
        )
        return None
    if not resolved.is_file():
        ctx.error(
            node,
            path,
            f"mesh file {clip(text)!r} not found at {resolved}, expected an existing file",
        )
        return None
    return str(resolved)


# ---------------------------------------------------------------- leaves and expressions


def walk_leaf(
    ctx: ValidationContext, node: Node, spec: LeafField, path: str
) -> Distribution | None:
    expected = _describe_field(spec)
    if spec.random:
        expected += (
            " (or a distribution)" if isinstance(spec, NumberField) else " (or choice([...]))"
        )
    if not isinstance(node, ScalarNode) or node.tag == NULL:
        ctx.error(node, path, f"found {node_kind(node)}, expected {expected}")
        return None
    value = _scalar_value(ctx, node, spec, path, expected)
    if value is None:
        return None
    if not spec.random and not isinstance(value, Constant):
        ctx.error(
            node,
            path,
            f"found the distribution {clip(node.value)!r}, expected a constant: {expected}",
        )
        return None
    if not _check_leaf(ctx, node, spec, path, value):
        return None
    return _as_float_field(value, spec)


def _scalar_value(
    ctx: ValidationContext, node: ScalarNode, spec: LeafField, path: str, expected: str
) -> Distribution | None:
    """The constant or distribution a scalar holds, before range checks."""
    if isinstance(spec, NumberField):
        if node.tag in (INT, FLOAT):
            number = _constant_number(ctx, node, path)
            return None if number is None else Constant(number)
        if node.tag == STR:
            return _expression(ctx, node, path, expected)
        ctx.error(node, path, f"found {node_kind(node)}, expected {expected}")
        return None
    if isinstance(spec, BoolField):
        if node.tag == BOOL:
            return Constant(ctx.constructor.construct_yaml_bool(node))
        if node.tag == STR:
            return _expression(ctx, node, path, expected)
        ctx.error(node, path, f"found {node_kind(node)}, expected {expected}")
        return None
    # Enum and text keys: a plain scalar's text is taken as written (so 21:30 stays a
    # time, not YAML 1.1's sexagesimal integer); call-like text is an expression.
    if spec.random and CALL_LIKE.match(node.value):
        return _expression(ctx, node, path, expected)
    if node.tag in (INT, FLOAT) and node.style is None:
        mark = node.start_mark
        warnings.warn(
            ScenarioWarning(
                ctx.filename,
                mark.line + 1,
                mark.column + 1,
                path,
                f"unquoted {node.value!r} is a number to standard YAML tools, expected "
                f'it quoted: "{node.value}"',
            ),
            stacklevel=2,
        )
    return Constant(node.value)


def _expression(
    ctx: ValidationContext, node: ScalarNode, path: str, expected: str
) -> Distribution | None:
    text = node.value
    try:
        syntax = parse_expression(text, FUNCTION_PARAMETERS)
        if isinstance(syntax, Call):
            return build_distribution(syntax)
    except ExpressionError as error:
        ctx.error(node, path, f"bad expression {clip(text)!r}: {error.message}", error.offset)
        return None
    if isinstance(syntax, Literal):
        if isinstance(syntax.value, float) and not math.isfinite(syntax.value):
            ctx.error(node, path, f"found {clip(text)!r}, expected a finite number")
            return None
        return Constant(syntax.value)
    assert isinstance(syntax, ListExpr)
    ctx.error(node, path, f"found a list {clip(text)!r}, expected {expected}", syntax.offset)
    return None


def _check_leaf(
    ctx: ValidationContext, node: Node, spec: LeafField, path: str, value: Distribution
) -> bool:
    """Type of every possible draw, and (for numbers) the support inside the range."""
    shown = clip(node.value) if isinstance(node, ScalarNode) else str(value)
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
            hint = did_you_mean(option, spec.options, spec.aliases)
            ctx.error(node, path, f"{clip(option)!r} is not allowed{hint}, expected {expected}")
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
                ctx.error(node, path, f"{clip(option)!r} is not valid, expected {expected}")
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
