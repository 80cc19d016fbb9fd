"""The taxonomy of driving conditions: axes, their levels, and the bands in physical units.

One place for every band (the measurement of a dataset and the covering-array render
both read it):

| axis | levels | measured from |
|---|---|---|
| weather | clear, fog_light/moderate/dense, rain_light/moderate/heavy, snow_light/heavy | fog visibility m (MOR), rain and snow rate mm/h; a frame with fog and rain holds both levels |
| light | day, low_sun, dusk, night | sun elevation deg |
| event | each event type, none | the events that occurred in the frame |
| actor | each object class | each labelled object's class |
| distance | near, mid, far, very_far | each labelled object's camera distance m |

Bands are half-open ``[low, high)``. Fog is visibility below 1 km (the WMO definition
of fog); rain bands are the American Meteorological Society's (light < 2.5 mm/h,
moderate 2.5-7.6, heavy above); snow, in water equivalent, light below 1 mm/h. Light
follows the sun: night below -6 deg (civil twilight), dusk -6..0, low sun 0..15 (the sun
low enough to stand in a forward camera's view), day above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scenegen.frame import CLASS_NAMES
from scenegen.scenario.schema import event_fields, scenario_fields
from scenegen.scenario.schema_require import COVER_AXES

AXES: tuple[str, ...] = COVER_AXES
FRAME_AXES = ("weather", "light", "event")  # one value set per frame
OBJECT_AXES = ("actor", "distance")  # one value per labelled object


@dataclass(frozen=True)
class Band:
    """A level of a continuous quantity: ``low <= value < high`` in ``unit``."""

    level: str
    quantity: str  # the physical quantity the band cuts
    unit: str
    low: float
    high: float

    def holds(self, value: float) -> bool:
        return self.low <= value < self.high

    def sampling_range(self, cap: tuple[float, float]) -> tuple[float, float]:
        """The band clipped to ``cap`` (the key's allowed range), for drawing inside it."""
        return max(self.low, cap[0]), min(self.high, cap[1])


FOG_BANDS = (
    Band("fog_dense", "fog visibility", "m", 0.0, 100.0),
    Band("fog_moderate", "fog visibility", "m", 100.0, 300.0),
    Band("fog_light", "fog visibility", "m", 300.0, 1000.0),
)
RAIN_BANDS = (
    Band("rain_light", "rain rate", "mm/h", 1e-9, 2.5),
    Band("rain_moderate", "rain rate", "mm/h", 2.5, 7.6),
    Band("rain_heavy", "rain rate", "mm/h", 7.6, math.inf),
)
SNOW_BANDS = (
    Band("snow_light", "snow rate (water equivalent)", "mm/h", 1e-9, 1.0),
    Band("snow_heavy", "snow rate (water equivalent)", "mm/h", 1.0, math.inf),
)
LIGHT_BANDS = (
    Band("night", "sun elevation", "deg", -90.0, -6.0),
    Band("dusk", "sun elevation", "deg", -6.0, 0.0),
    Band("low_sun", "sun elevation", "deg", 0.0, 15.0),
    Band("day", "sun elevation", "deg", 15.0, 90.01),
)
DISTANCE_BANDS = (
    Band("near", "object distance", "m", 0.0, 15.0),
    Band("mid", "object distance", "m", 15.0, 30.0),
    Band("far", "object distance", "m", 30.0, 60.0),
    Band("very_far", "object distance", "m", 60.0, math.inf),
)
WEATHER_BANDS = (*FOG_BANDS, *RAIN_BANDS, *SNOW_BANDS)
NO_EVENT = "none"


def event_types() -> tuple[str, ...]:
    events = scenario_fields().fields["events"]
    return tuple(events.item.variants)  # type: ignore[union-attr]


def axis_levels(axis: str) -> tuple[str, ...]:
    """Every level of ``axis`` in the full taxonomy, in report order."""
    if axis == "weather":
        return ("clear", *(b.level for b in WEATHER_BANDS))
    if axis == "light":
        return tuple(b.level for b in reversed(LIGHT_BANDS))
    if axis == "event":
        return (*event_types(), NO_EVENT)
    if axis == "actor":
        return tuple(CLASS_NAMES)
    if axis == "distance":
        return tuple(b.level for b in DISTANCE_BANDS)
    raise KeyError(f"unknown axis {axis!r}, expected one of {', '.join(AXES)}")


def band_of(bands: tuple[Band, ...], value: float) -> str | None:
    return next((b.level for b in bands if b.holds(value)), None)


def weather_levels(environment: Mapping[str, Any]) -> set[str]:
    """The weather levels a frame's ``environment`` (manifest / frame meta) holds."""
    levels = set()
    fog = environment.get("fog_visibility_m")
    if fog is not None and (level := band_of(FOG_BANDS, float(fog))):
        levels.add(level)
    if level := band_of(RAIN_BANDS, float(environment.get("rain_rate_mm_h") or 0.0)):
        levels.add(level)
    if level := band_of(SNOW_BANDS, float(environment.get("snow_rate_mm_h") or 0.0)):
        levels.add(level)
    return levels or {"clear"}


def light_level(sun_elevation_deg: float) -> str:
    level = band_of(LIGHT_BANDS, float(sun_elevation_deg))
    assert level is not None, sun_elevation_deg
    return level


def distance_level(distance_m: float) -> str | None:
    return band_of(DISTANCE_BANDS, float(distance_m))


def band(level: str) -> Band:
    """The band of a continuous level (``KeyError`` for clear, events and classes)."""
    for b in (*WEATHER_BANDS, *LIGHT_BANDS, *DISTANCE_BANDS):
        if b.level == level:
            return b
    raise KeyError(level)


def event_distance_range(event_type: str) -> tuple[float, float]:
    """The allowed range of an event type's ``distance_m`` key."""
    field = event_fields(event_type).fields["distance_m"]
    return float(field.minimum), float(field.maximum)  # type: ignore[union-attr]


def taxonomy_table() -> list[dict[str, Any]]:
    """Every band as plain data (for reports and ``coverage.json``)."""
    rows = [{"axis": "weather", "level": "clear", "definition": "no fog, rain or snow band"}]
    for axis, bands in (("weather", WEATHER_BANDS), ("light", LIGHT_BANDS)):
        rows += [_band_row(axis, b) for b in bands]
    rows += [_band_row("distance", b) for b in DISTANCE_BANDS]
    return rows


def _band_row(axis: str, b: Band) -> dict[str, Any]:
    high = "" if math.isinf(b.high) else f" < {b.high:g}"
    low = f"{b.low:g} <= " if b.low > 1e-6 or b.low < 0 else "0 < " if b.low > 0 else "0 <= "
    return {"axis": axis, "level": b.level, "definition": f"{low}{b.quantity}{high} {b.unit}"}
