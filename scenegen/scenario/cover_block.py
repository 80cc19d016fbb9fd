"""The ``cover:`` block of a scenario file: taxonomy axes and strength, checked here;
the covering array itself is built by ``scenegen.coverage`` (which owns the bands)."""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scenegen.scenario.context import ValidationContext, clip, node_kind, unknown_key_message
from scenegen.scenario.model import CoverRequest
from scenegen.scenario.schema_require import COVER_AXES, COVER_STRENGTHS


def resolve_cover(ctx: ValidationContext, node: Node | None) -> CoverRequest | None:
    """``cover: {axes: [...], strength: 2}``: known axes, each once, at least two."""
    if node is None:
        return None
    if not isinstance(node, MappingNode):
        ctx.error(node, "cover", f"found {node_kind(node)}, expected a mapping with 'axes'")
        return None
    given = {k.value: v for k, v in node.value if isinstance(k, ScalarNode)}
    for key in given:
        if key not in ("axes", "strength"):
            ctx.error(node, f"cover.{clip(key)}", unknown_key_message(key, ["axes", "strength"]))
    strength: int | None = COVER_STRENGTHS[0]
    if "strength" in given:
        strength_node = given["strength"]
        text = strength_node.value if isinstance(strength_node, ScalarNode) else None
        strength = int(text) if text in [str(s) for s in COVER_STRENGTHS] else None
        if strength is None:
            found = repr(clip(text)) if text is not None else node_kind(strength_node)
            ctx.error(
                strength_node,
                "cover.strength",
                f"found {found}, expected one of " + ", ".join(map(str, COVER_STRENGTHS)),
            )
    axes_node = given.get("axes")
    axes = (
        [a.value for a in axes_node.value if isinstance(a, ScalarNode)]
        if isinstance(axes_node, SequenceNode)
        else []
    )
    unknown = [a for a in axes if a not in COVER_AXES]
    if axes_node is None or unknown or len(set(axes)) != len(axes) or len(axes) < 2:
        found = f"{unknown[0]!r}" if unknown else "a list of " + str(len(axes))
        ctx.error(
            axes_node or node,
            "cover.axes",
            f"found {clip(found)}, expected at least two different axes of "
            + ", ".join(COVER_AXES),
        )
        return None
    if strength is None:
        return None
    if len(axes) < strength:
        ctx.error(axes_node, "cover.axes", f"has {len(axes)} axes, expected at least {strength}")
        return None
    return CoverRequest(tuple(axes), strength)
