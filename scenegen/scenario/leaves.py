"""One leaf key's value: a scalar node -> a checked :class:`Distribution`.

A constant or an expression (:mod:`scenegen.scenario.expr`), typed as its key declares,
whose every possible draw lies in the key's range or options (with "did you mean" for a
value outside the options). Float keys hold floats even when written as integers.
"""

from __future__ import annotations

import math
import re
import warnings

from yaml.nodes import Node, ScalarNode

from scenegen.errors import ScenarioWarning
from scenegen.scenario.context import (
    ValidationContext,
    clip,
    describe_field,
    did_you_mean,
    format_number,
    node_kind,
)
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
from scenegen.scenario.fields import BoolField, EnumField, LeafField, NumberField, TextField
from scenegen.scenario.yaml_reader import BOOL, FLOAT, INT, NULL, STR, has_standard_tag

CALL_LIKE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*\(")


def default_value(spec: LeafField) -> Distribution:
    """A key's default from the table; a bad default in the table is a programming error."""
    default = spec.default
    if isinstance(default, str) and CALL_LIKE.match(default):
        return as_float_field(_distribution_from_call(default), spec)
    return as_float_field(Constant(default), spec)  # type: ignore[arg-type]


def _distribution_from_call(text: str) -> Distribution:
    syntax = parse_expression(text, FUNCTION_PARAMETERS)
    assert isinstance(syntax, Call), text
    return build_distribution(syntax)


def constant_number(ctx: ValidationContext, node: Node, path: str) -> int | float | None:
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


def walk_leaf(
    ctx: ValidationContext, node: Node, spec: LeafField, path: str
) -> Distribution | None:
    expected = describe_field(spec)
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
    return as_float_field(value, spec)


def _scalar_value(
    ctx: ValidationContext, node: ScalarNode, spec: LeafField, path: str, expected: str
) -> Distribution | None:
    """The constant or distribution a scalar holds, before range checks."""
    if isinstance(spec, NumberField):
        if node.tag in (INT, FLOAT):
            number = constant_number(ctx, node, path)
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
    expected = describe_field(spec)
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
            range_text = f"[{format_number(spec.minimum)}, {format_number(spec.maximum)}]"
            if isinstance(value, Constant):
                message = f"{shown} is out of range, expected {expected}"
            elif math.isinf(low) or math.isinf(high):  # type: ignore[arg-type]
                message = (
                    f"{shown!r} is unbounded, expected a distribution within "
                    f"{range_text} such as truncnormal(mean, std, low, high)"
                )
            else:
                message = (
                    f"{shown!r} can give values in [{format_number(low)}, {format_number(high)}], "  # type: ignore[arg-type]
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


def as_float_field(value: Distribution, spec: LeafField) -> Distribution:
    """Float keys hold floats, even when written as integers (``lane_width_m: 3``)."""
    if not isinstance(spec, NumberField) or spec.integer:
        return value
    if isinstance(value, Constant):
        return Constant(float(value.value))
    if isinstance(value, Choice):
        return Choice(tuple(float(o) for o in value.options), value.weights)
    return value
