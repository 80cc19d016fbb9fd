"""The kinds of key a scenario file may hold, as plain frozen dataclasses.

The key table of :mod:`scenegen.scenario.schema` is built from these; the validator
(:mod:`scenegen.scenario.validator`), the JSON Schema (:mod:`scenegen.scenario.json_schema`)
and sampling (:mod:`scenegen.scenario.sampling`) read them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class NumberField:
    """A number (or integer); ``default`` may be an expression string."""

    description: str
    minimum: float
    maximum: float
    default: float | int | str | None = None
    integer: bool = False
    random: bool = True  # may be a distribution


@dataclass(frozen=True)
class BoolField:
    description: str
    default: bool | None = None
    random: bool = True


@dataclass(frozen=True)
class EnumField:
    """One of ``options``; ``aliases`` maps words users write for an option (``motorway``)
    to it, for the "did you mean" of a value outside the options (never accepted)."""

    description: str
    options: tuple[str, ...]
    default: str | None = None
    random: bool = True
    aliases: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TextField:
    """Free text, or text matching ``pattern`` (explained to users by ``pattern_hint``)."""

    description: str
    default: str | None = None
    pattern: str | None = None
    pattern_hint: str = ""
    max_length: int = 2000
    random: bool = False  # True: may be choice([...]) of such strings


@dataclass(frozen=True)
class PathField:
    """A file path relative to the scenario file's folder, which it must not leave."""

    description: str
    suffixes: tuple[str, ...]


@dataclass(frozen=True)
class NumberListField:
    description: str
    minimum: float
    maximum: float
    min_items: int
    max_items: int


@dataclass(frozen=True)
class ObjectField:
    """A mapping of known keys.

    ``optional``: the object is absent unless written (its keys' defaults then apply
    only when it is present). ``accepts_bool``: ``false`` disables the whole object,
    ``true`` means all defaults.
    """

    description: str
    fields: Mapping[str, Field]
    required: tuple[str, ...] = ()
    optional: bool = False
    accepts_bool: bool = False


@dataclass(frozen=True)
class ListField:
    description: str
    item: ObjectField | UnionField
    max_items: int


@dataclass(frozen=True)
class UnionField:
    """Mappings told apart by their ``tag`` key (events by ``type``)."""

    description: str
    tag: str
    variants: Mapping[str, ObjectField]


@dataclass(frozen=True)
class SweepField:
    description: str
    max_axes: int


@dataclass(frozen=True)
class SearchField:
    """The ``search:`` block: key path -> the distribution whose support a parameter search
    (``scenegen search``) explores; sampling a batch ignores it."""

    description: str = (
        "Optional space for scenegen search: each key is a dotted path as in sweep, each "
        'value the distribution whose range the search explores (e.g. "uniform(20, 300)", '
        '"randint(0, 4)", "choice([a, b])"); rendering a batch ignores it.'
    )
    max_keys: int = 32  # parameters of one search: samplers slow down far beyond this


@dataclass(frozen=True)
class ConditionListField:
    """A list of conditions (``require:``), checked once the file's keys are known."""

    description: str
    max_items: int


@dataclass(frozen=True)
class CoverField:
    """The ``cover:`` block: which taxonomy axes a covering array spans, and its strength;
    axis names are checked where the taxonomy lives (``scenegen.coverage``)."""

    description: str
    strengths: tuple[int, ...]


Field = (
    NumberField
    | BoolField
    | EnumField
    | TextField
    | PathField
    | NumberListField
    | ObjectField
    | ListField
    | UnionField
    | SweepField
    | SearchField
    | ConditionListField
    | CoverField
)
LeafField = NumberField | BoolField | EnumField | TextField


def object_field(description: str, fields: dict[str, Field], **options: object) -> ObjectField:
    """An :class:`ObjectField` whose key mapping is read-only (how the key table builds them)."""
    return ObjectField(description, MappingProxyType(fields), **options)  # type: ignore[arg-type]


def random_leaves(spec: ObjectField, path: str = "") -> Iterator[tuple[str, LeafField]]:
    """Every leaf key below ``spec`` that may vary per frame, as (relative key path, field).

    Lists and unions are not entered: their items are sections of their own.
    """
    for name, child in spec.fields.items():
        child_path = f"{path}.{name}" if path else name
        if isinstance(child, ObjectField):
            yield from random_leaves(child, child_path)
        elif isinstance(child, NumberField | BoolField | EnumField | TextField) and child.random:
            yield child_path, child
