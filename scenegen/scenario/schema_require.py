"""The key-table rows of ``require:``, ``require_budget`` and ``cover:`` (part of the one
key table of :mod:`scenegen.scenario.schema`, kept here so that module stays short)."""

from __future__ import annotations

from scenegen.scenario.fields import ConditionListField, CoverField, Field, NumberField

MAX_CONSTRAINTS = 64
MAX_REQUIRE_BUDGET = 100_000
DEFAULT_REQUIRE_BUDGET = 100

# The taxonomy axes a covering array may span; their bands live in scenegen.coverage.
COVER_AXES = ("weather", "light", "event", "actor", "distance")
COVER_STRENGTHS = (2, 3)


def require_fields() -> dict[str, Field]:
    """``require``, ``require_budget`` and ``cover``, in key-table order."""
    return {
        "require": ConditionListField(
            "Constraints every frame must meet, each a condition over sampled values and "
            'derived quantities (e.g. "events[0].ttc_s > 1.5 and events[0].in_view"); '
            "enforced by rejection sampling.",
            MAX_CONSTRAINTS,
        ),
        "require_budget": NumberField(
            "Draws per frame that rejection sampling may make to meet `require`.",
            1,
            MAX_REQUIRE_BUDGET,
            DEFAULT_REQUIRE_BUDGET,
            integer=True,
            random=False,
        ),
        "cover": CoverField(
            "Render the rows of a covering array over taxonomy axes instead of free "
            "draws: {axes: [weather, light, event, distance], strength: 2}.",
            COVER_STRENGTHS,
        ),
    }
