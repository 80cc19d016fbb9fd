"""Render a covering array: a scenario whose frames are the rows of a t-way array over
taxonomy axes, each row pinning the keys that decide its levels.

Levels a scenario can be pinned to, and how (draws stay inside the band, from the
frame's own generator, so rows are seeded like every other value):

| axis | levels | pins |
|---|---|---|
| weather | clear and every fog / rain / snow band | fog visibility, rain and snow rates: the row's band drawn uniformly inside it (in its middle 70 %), the others off (fog at 100 km when the file has fog) |
| light | day, low_sun, dusk, night | ``time_of_day``: a choice of the minutes whose sun is in the band; or ``sun.elevation_deg`` drawn in the band |
| event | the scenario's event types | that event's probability 1 (its first entry), every other event's 0 |
| distance | near, mid, far, very_far | the event's ``distance_m`` drawn in the band's middle 70 % (inside the key's range) |
| actor | the scenario's actor classes | that class's groups at least one actor, the other groups none |

The distance pin places the event's object; an ``actor`` x ``distance`` pair is covered
only when an actor of that class happens to stand in that band. The array's seed is the
scenario file's ``seed``: the rows depend on the file, the axes and t only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scenegen.coverage import taxonomy
from scenegen.coverage.covering import covering_array
from scenegen.errors import InvalidInputError
from scenegen.scenario import presets
from scenegen.scenario.distributions import Choice, Constant, Distribution, RandInt, Uniform
from scenegen.scenario.model import CoverRequest, PinnedCell, Scenario

CLEAR_VISIBILITY_M = 100_000.0  # the key's maximum: no fog band, no visible haze
_BAND_CAPS = {"rain rate": (0.0, 50.0), "snow rate (water equivalent)": (0.0, 10.0)}
_INNER = 0.15  # draw in the middle 70 % of a band, clear of its edges
DEFAULT_COVER_AXES = ("weather", "light", "event", "distance")


def parse_cover(strength: int | None, axes: str | None) -> CoverRequest | None:
    """``render --cover T [--cover-axes LIST]`` as a request (``None`` without --cover)."""
    if strength is None:
        if axes is not None:
            raise InvalidInputError("--cover-axes needs --cover 2 or --cover 3")
        return None
    if strength not in (2, 3):
        raise InvalidInputError(f"--cover {strength}: expected 2 or 3")
    names = tuple(a.strip() for a in (axes or ",".join(DEFAULT_COVER_AXES)).split(",") if a)
    unknown = [a for a in names if a not in taxonomy.AXES]
    if unknown or len(set(names)) != len(names) or len(names) < strength:
        raise InvalidInputError(
            f"--cover-axes {axes!r}: expected at least {strength} different axes of "
            + ", ".join(taxonomy.AXES)
        )
    return CoverRequest(names, strength)


def cover_levels(scenario: Scenario, axis: str) -> tuple[str, ...]:
    """The levels of ``axis`` that ``scenario`` can be pinned to."""
    if axis in ("weather", "light", "distance"):
        return taxonomy.axis_levels(axis)
    if axis == "event":
        levels = tuple(dict.fromkeys(scenario.event_types))
    elif axis == "actor":
        levels = tuple(dict.fromkeys(scenario.actor_classes))
    else:
        raise InvalidInputError(
            f"unknown cover axis {axis!r}, expected one of {', '.join(taxonomy.AXES)}"
        )
    if not levels:
        what = "events" if axis == "event" else "actors"
        raise InvalidInputError(
            f"scenario {scenario.name}: the cover axis {axis!r} needs {what} in the file, "
            f"expected at least one entry under '{what}'"
        )
    return levels


def cover_scenario(scenario: Scenario, request: CoverRequest | None = None) -> Scenario:
    """``scenario`` with one pinned cell per covering-array row (``request``, else the
    file's ``cover:`` block; unchanged when neither is given)."""
    request = request or scenario.cover
    if request is None:
        return scenario
    if scenario.sweep_axes:
        raise InvalidInputError(
            f"scenario {scenario.name}: cover and sweep are both given, expected one of them"
        )
    if "distance" in request.axes and not scenario.event_types:
        raise InvalidInputError(
            f"scenario {scenario.name}: the cover axis 'distance' pins an event's distance, "
            "expected at least one entry under 'events'"
        )
    levels = [cover_levels(scenario, axis) for axis in request.axes]
    rows = covering_array([len(v) for v in levels], request.strength, scenario.default_seed)
    cells = []
    for row in rows:
        chosen = {axis: levels[j][row[j]] for j, axis in enumerate(request.axes)}
        cells.append(
            PinnedCell(_overrides(scenario, chosen), {f"cover.{a}": v for a, v in chosen.items()})
        )
    return replace(scenario, pinned_cells=tuple(cells))


def cover_rows(scenario: Scenario, request: CoverRequest | None = None) -> int:
    """How many rows the covering array of ``scenario`` has (0 without one)."""
    return len(cover_scenario(scenario, request).pinned_cells)


def _inside(low: float, high: float) -> Uniform:
    margin = _INNER * (high - low)
    return Uniform(low + margin, high - margin)


def _overrides(scenario: Scenario, chosen: dict[str, str]) -> dict[str, Distribution]:
    pins: dict[str, Distribution] = {}
    values = scenario.values
    if "weather" in chosen:
        pins.update(_weather(chosen["weather"], "environment.weather.fog.visibility_m" in values))
    if "light" in chosen:
        pins.update(_light(chosen["light"], "environment.time_of_day" in values))
    event_index = None
    if "event" in chosen:
        event_index = scenario.event_types.index(chosen["event"])
        for i in range(len(scenario.event_types)):
            pins[f"events[{i}].probability"] = Constant(1.0 if i == event_index else 0.0)
    if "distance" in chosen:
        indices = [event_index] if event_index is not None else range(len(scenario.event_types))
        band = taxonomy.band(chosen["distance"])
        for i in indices:
            key_range = taxonomy.event_distance_range(scenario.event_types[i])
            pins[f"events[{i}].distance_m"] = _inside(*band.sampling_range(key_range))
    if "actor" in chosen:
        for i, cls in enumerate(scenario.actor_classes):
            count = values[f"actors[{i}].count"]
            low, high = count.support()
            if cls != chosen["actor"]:
                pins[f"actors[{i}].count"] = Constant(0)
            elif low < 1:  # type: ignore[operator]
                pins[f"actors[{i}].count"] = RandInt(1, max(1, int(high)))  # type: ignore[arg-type]
    return pins


def _weather(level: str, file_has_fog: bool) -> dict[str, Distribution]:
    pins: dict[str, Distribution] = {
        "environment.weather.rain.rate_mm_h": Constant(0.0),
        "environment.weather.snow.rate_mm_h": Constant(0.0),
    }
    if file_has_fog:
        pins["environment.weather.fog.visibility_m"] = Constant(CLEAR_VISIBILITY_M)
    if level == "clear":
        return pins
    band = taxonomy.band(level)
    if level.startswith("fog"):
        pins["environment.weather.fog.visibility_m"] = _inside(*band.sampling_range((5.0, 1e9)))
    else:
        key = "rain" if level.startswith("rain") else "snow"
        low, high = band.sampling_range(_BAND_CAPS[band.quantity])
        pins[f"environment.weather.{key}.rate_mm_h"] = _inside(max(low, 0.0), high)
    return pins


def _light(level: str, by_clock: bool) -> dict[str, Distribution]:
    band = taxonomy.band(level)
    if not by_clock:
        return {"environment.sun.elevation_deg": _inside(*band.sampling_range((-40.0, 85.0)))}
    times = _clock_times_in(band.low, band.high)
    if not times:
        raise InvalidInputError(
            f"no time of day puts the sun in the {level} band ({band.low:g}..{band.high:g} "
            f"deg) at the sun model's latitude, expected a scenario with sun.elevation_deg"
        )
    return {"environment.time_of_day": Choice(tuple(times))}


def _clock_times_in(low_deg: float, high_deg: float) -> Sequence[str]:
    """Every 10th minute of the day whose sun elevation lies inside the band's middle."""
    margin = _INNER * (min(high_deg, 45.0) - max(low_deg, -45.0))
    found = []
    for minute in range(0, 24 * 60, 10):
        clock = f"{minute // 60:02d}:{minute % 60:02d}"
        elevation, _ = presets.sun_from_clock(presets.parse_clock(clock))
        if low_deg + margin <= elevation < high_deg - margin:
            found.append(clock)
    return found
