"""Validating a YAML node tree against the key table, with FILE:LINE:COL errors.

Gate 4 of reading a scenario (gates 1-3 are in :mod:`scenegen.scenario.yaml_reader`):
:func:`walk_object` checks a node against an :class:`~scenegen.scenario.fields.ObjectField`
of :mod:`scenegen.scenario.schema` (unknown, duplicate or missing keys with "did you mean",
types, ranges, expressions (:mod:`scenegen.scenario.expr`), distributions whose support
leaves a key's range, values outside a key's options with "did you mean") and returns the
tree of values: every leaf a :class:`~scenegen.scenario.distributions.Distribution`,
defaults filled in, keys in table order. It knows nothing about scenarios beyond the table;
:mod:`scenegen.scenario.loader` assembles the :class:`~scenegen.scenario.model.Scenario`.

Every problem is collected in :attr:`~scenegen.scenario.context.ValidationContext.errors`,
none raised, so a file's problems are reported together. Leaf values are checked in
:mod:`scenegen.scenario.leaves`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scenegen.scenario.context import (
    ValidationContext,
    clip,
    describe_field,
    did_you_mean,
    format_number,
    join_path,
    node_kind,
    unknown_key_message,
)
from scenegen.scenario.distributions import Constant
from scenegen.scenario.fields import (
    BoolField,
    ConditionListField,
    CoverField,
    EnumField,
    Field,
    ListField,
    NumberField,
    NumberListField,
    ObjectField,
    PathField,
    SearchField,
    SweepField,
    TextField,
    UnionField,
)
from scenegen.scenario.leaves import constant_number, default_value, walk_leaf
from scenegen.scenario.yaml_reader import BOOL, STR, has_standard_tag


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
    if isinstance(spec, SweepField | SearchField | ConditionListField | CoverField):
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
                f"missing required key {name!r}, expected {describe_field(spec.fields[name])}",
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
        number = constant_number(ctx, item, item_path)
        if number is None:
            continue
        if not spec.minimum <= number <= spec.maximum:
            ctx.error(
                item,
                item_path,
                f"found {number}, expected a number in "
                f"[{format_number(spec.minimum)}, {format_number(spec.maximum)}]",
            )
            continue
        numbers.append(float(number))
    return tuple(numbers) if len(numbers) == len(node.value) else None


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
