"""Where validation problems go, and how values and keys are worded in them.

:class:`ValidationContext` collects every problem of a file as a
:class:`~scenegen.errors.ScenarioError` at the node's FILE:LINE:COL; the helpers word what
was found (:func:`node_kind`), what was expected (:func:`describe_field`) and the closest
valid name (:func:`did_you_mean`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scenegen.errors import ScenarioError
from scenegen.scenario.fields import (
    BoolField,
    EnumField,
    Field,
    ListField,
    NumberField,
    NumberListField,
    ObjectField,
    TextField,
    UnionField,
)
from scenegen.scenario.yaml_reader import BOOL, FLOAT, INT, NULL, scalar_constructor


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


def describe_field(spec: Field) -> str:
    if isinstance(spec, NumberField):
        kind = "an integer" if spec.integer else "a number"
        if spec.minimum == spec.maximum:
            return f"{kind} equal to {format_number(spec.minimum)}"
        return f"{kind} in [{format_number(spec.minimum)}, {format_number(spec.maximum)}]"
    if isinstance(spec, BoolField):
        return "true or false"
    if isinstance(spec, EnumField):
        return "one of " + ", ".join(spec.options)
    if isinstance(spec, TextField):
        return spec.pattern_hint or "text"
    if isinstance(spec, ObjectField | UnionField):
        return "a mapping"
    return "a list" if isinstance(spec, ListField | NumberListField) else "a file path"


def format_number(value: float) -> str:
    if isinstance(value, int) or (
        math.isfinite(value) and value.is_integer() and abs(value) < 1e15
    ):
        return str(int(value))
    return repr(value)
