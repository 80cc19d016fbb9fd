"""The key table as a JSON Schema (draft 2020-12), for editors and standard validators.

A scenario file is standard YAML, so a value that may vary per frame is, to any other
YAML tool, a string: a number key is ``oneOf [number, string]``, the string matching
the expression pattern (``"uniform(5, 14)"``); options and flags accept ``"choice([...])"``.
Inside a flow mapping such a string must be quoted (``{count: "randint(6, 14)"}``).
"""

from __future__ import annotations

from typing import Any

from scenegen.scenario.distributions import FUNCTION_PARAMETERS
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
from scenegen.scenario.schema import scenario_fields
from scenegen.scenario.schema_require import COVER_AXES

# Expressions are strings to standard YAML; these patterns tell them from free text. A
# number written as a string ("3.5") is read as that number, so it matches too.
_CALL = r"\s*\(.*\)"
NUMBER_PATTERN = (
    r"^\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
    rf"|({'|'.join(FUNCTION_PARAMETERS)}){_CALL})\s*$"
)
INTEGER_PATTERN = rf"^\s*([-+]?\d+|(randint|choice){_CALL})\s*$"
CHOICE_PATTERN = rf"^\s*choice{_CALL}\s*$"
# A require: condition: names, numbers, strings, arithmetic, comparisons, and/or/not.
CONDITION_PATTERN = r"""^(?:[A-Za-z0-9_.\[\]()<>=!+\-*/, \t]|"[^"\n]*"|'[^'\n]*')+$"""


def scenario_json_schema() -> dict[str, Any]:
    """The scenario format as a JSON Schema (draft 2020-12), for editors and validators."""
    schema = _json(scenario_fields())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://scenegen.dev/schema/scenario-v1.json",
        "title": "scenegen scenario",
        **schema,
    }


def _with_meta(schema: dict[str, Any], description: str, default: Any) -> dict[str, Any]:
    schema = {"description": description, **schema}
    if default is not None:
        schema["default"] = default
    return schema


def _random_string(pattern: str, what: str) -> dict[str, Any]:
    return {"type": "string", "pattern": pattern, "description": what}


def _json(spec: Field) -> dict[str, Any]:
    if isinstance(spec, NumberField):
        base: dict[str, Any] = {
            "type": "integer" if spec.integer else "number",
            "minimum": spec.minimum,
            "maximum": spec.maximum,
        }
        if spec.random:
            pattern = INTEGER_PATTERN if spec.integer else NUMBER_PATTERN
            base = {
                "oneOf": [
                    base,
                    _random_string(
                        pattern,
                        "a distribution expression, e.g. "
                        + ('"randint(1, 4)"' if spec.integer else '"uniform(5, 14)"')
                        + " (quoted in {...})",
                    ),
                ]
            }
        return _with_meta(base, spec.description, spec.default)
    if isinstance(spec, BoolField):
        base = {"type": "boolean"}
        if spec.random:
            base = {"oneOf": [base, _random_string(CHOICE_PATTERN, '"choice([true, false])"')]}
        return _with_meta(base, spec.description, spec.default)
    if isinstance(spec, EnumField):
        base = {"enum": list(spec.options)}
        if spec.random:
            base = {"oneOf": [base, _random_string(CHOICE_PATTERN, '"choice([...])" of options')]}
        return _with_meta(base, spec.description, spec.default)
    if isinstance(spec, TextField):
        base = {"type": "string", "maxLength": spec.max_length}
        if spec.pattern:
            base["pattern"] = spec.pattern
        if spec.random:
            base = {"oneOf": [base, _random_string(CHOICE_PATTERN, '"choice([...])" of values')]}
        return _with_meta(base, spec.description, spec.default)
    if isinstance(spec, PathField):
        return {"description": spec.description, "type": "string", "minLength": 1}
    if isinstance(spec, NumberListField):
        return {
            "description": spec.description,
            "type": "array",
            "items": {"type": "number", "minimum": spec.minimum, "maximum": spec.maximum},
            "minItems": spec.min_items,
            "maxItems": spec.max_items,
        }
    if isinstance(spec, ObjectField):
        base = {
            "type": "object",
            "properties": {key: _json(child) for key, child in spec.fields.items()},
            "additionalProperties": False,
        }
        if spec.required:
            base["required"] = list(spec.required)
        if spec.accepts_bool:
            base = {"oneOf": [{"type": "boolean"}, base]}
        # A mandatory object defaults to {} (all of its keys' defaults).
        return _with_meta(base, spec.description, None if spec.required or spec.optional else {})
    if isinstance(spec, ListField):
        return {
            "description": spec.description,
            "type": "array",
            "default": [],
            "maxItems": spec.max_items,
            "items": _json(spec.item),
        }
    if isinstance(spec, UnionField):
        variants = []
        for name, variant in spec.variants.items():
            variant_schema = _json(variant)
            variant_schema["properties"][spec.tag] = {
                "const": name,
                "description": variant.description,
            }
            variants.append(variant_schema)
        return {"description": spec.description, "oneOf": variants}
    if isinstance(spec, SearchField):
        return {
            "description": spec.description,
            "type": "object",
            "default": {},
            "maxProperties": spec.max_keys,
            "propertyNames": {"pattern": r"^[a-z_]+(\[[0-9]+\])?(\.[a-z_0-9]+(\[[0-9]+\])?)*$"},
            "additionalProperties": {"type": "string"},
        }
    if isinstance(spec, SweepField):
        return {
            "description": spec.description,
            "type": "object",
            "default": {},
            "maxProperties": spec.max_axes,
            "propertyNames": {"pattern": r"^[a-z_]+(\[[0-9]+\])?(\.[a-z_0-9]+(\[[0-9]+\])?)*$"},
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {"type": ["number", "string", "boolean"]},
            },
        }
    if isinstance(spec, ConditionListField):
        return {
            "description": spec.description,
            "type": "array",
            "default": [],
            "maxItems": spec.max_items,
            "items": {"type": "string", "pattern": CONDITION_PATTERN},
        }
    if isinstance(spec, CoverField):
        return {
            "description": spec.description,
            "type": "object",
            "properties": {
                "axes": {
                    "description": "Taxonomy axes the array spans (at least two).",
                    "type": "array",
                    "items": {"enum": list(COVER_AXES)},
                    "minItems": 2,
                    "uniqueItems": True,
                },
                "strength": {
                    "description": "t: every t-tuple of axis levels appears in some row.",
                    "enum": list(spec.strengths),
                    "default": spec.strengths[0],
                },
            },
            "required": ["axes"],
            "additionalProperties": False,
        }
    raise TypeError(f"no JSON Schema for {spec!r}")
