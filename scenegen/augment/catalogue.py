"""The corruption catalogue: every corruption scenegen knows, one name each.

Each :class:`CatalogueEntry` says what a corruption is (its ``kind``: ``weather``,
``sensor_fault``, ``imagenet_c`` or ``lidar``), what severities 1-5 mean in physical units
(the tables of :mod:`scenegen.augment.severity` and :mod:`scenegen.augment.lidar`), whether
the camera model needs metric depth, and which LiDAR model it has. :func:`apply_camera` is
the one function that applies a camera corruption; ``scenegen augment``
(:func:`scenegen.augment.run.corrupt_frame`), the contact sheet and the robustness bench
(:mod:`scenegen.harness.corruptions`) all call it, so one severity is one weather wherever
it is used, and the same frame, depth and generator give the same pixels.

Names that older bench configs used are :data:`ALIASES` of catalogue names:
``low_light`` (a second night model without the mesopic shift) is now ``night``,
``gaussian_noise`` and ``contrast`` were already ImageNet-C's (``ic_gaussian_noise``,
``ic_contrast``), as are imagecorruptions' other names (``frost`` -> ``ic_frost``). ``jpeg`` is the catalogue's sensor fault (quality 30 ... 5); the bench's
former ``jpeg`` was ImageNet-C's table, now ``ic_jpeg_compression``.
"""

from __future__ import annotations

import difflib
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from scenegen.augment import functional, imagenet_c
from scenegen.augment.camera import apply_sensor_fault
from scenegen.augment.depth import RecoveredDepth
from scenegen.augment.lidar import LIDAR_TABLES
from scenegen.augment.severity import (
    CAMERA_TABLES,
    IMAGENET_C_NAMES,
    SEVERITIES,
    WEATHER,
    camera_parameters,
)
from scenegen.effects import fog_extinction_per_m, rain_extinction_per_m, snow_extinction_per_m
from scenegen.errors import ScenegenError

KINDS = ("weather", "sensor_fault", "imagenet_c", "lidar")
# The wet road's camera sits this high above it when the depth gives no better answer (m).
CAMERA_HEIGHT_M = 1.65
# Camera weather with a LiDAR model of the same weather: camera name -> LiDAR model.
_LIDAR_TWIN = {"fog": "fog", "rain": "rain", "snow": "snow", "wet_road": "wet_ground"}
_DEPTH_FREE = frozenset({"night", "sun_glare"})  # weather drawn without the scene's depth


class UnknownCorruptionError(ScenegenError, ValueError):
    """A corruption name that is neither in the catalogue nor one of its aliases."""


@dataclass(frozen=True)
class CatalogueEntry:
    """One corruption.

    * ``kind``: one of :data:`KINDS`.
    * ``table``: physical parameter name -> its values at severities 1..5 (ImageNet-C
      entries use their published tables in :mod:`scenegen.augment.imagenet_c` and list
      only ``severity``).
    * ``camera``: it changes the image; ``needs_depth``: its camera model needs metric depth.
    * ``lidar_model``: the :mod:`scenegen.augment.lidar` corruption it applies to the scan
      (``None``: the scan is kept).
    """

    name: str
    kind: str
    table: Mapping[str, tuple[Any, ...]]
    camera: bool
    needs_depth: bool
    lidar_model: str | None

    def parameters(self, severity: int) -> dict[str, Any]:
        """The physical parameters at ``severity`` (1-5)."""
        if self.camera:
            return camera_parameters(self.name, severity)
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be an integer 1-5, got {severity!r}")
        return {key: values[severity - 1] for key, values in self.table.items()}


def _build() -> dict[str, CatalogueEntry]:
    entries: dict[str, CatalogueEntry] = {}
    for name, table in CAMERA_TABLES.items():
        weather = name in WEATHER
        entries[name] = CatalogueEntry(
            name,
            "weather" if weather else "sensor_fault",
            MappingProxyType(dict(table)),
            camera=True,
            needs_depth=weather and name not in _DEPTH_FREE,
            lidar_model=_LIDAR_TWIN.get(name),
        )
    for name in IMAGENET_C_NAMES:
        entries[name] = CatalogueEntry(
            name,
            "imagenet_c",
            MappingProxyType({"severity": SEVERITIES}),
            camera=True,
            needs_depth=False,
            lidar_model=None,
        )
    for model, table in LIDAR_TABLES.items():
        if model in _LIDAR_TWIN.values():
            continue
        name = f"lidar_{model}"
        entries[name] = CatalogueEntry(
            name, "lidar", MappingProxyType(dict(table)), False, False, model
        )
    return entries


CATALOGUE: Mapping[str, CatalogueEntry] = MappingProxyType(_build())
CAMERA_CORRUPTIONS = tuple(name for name, entry in CATALOGUE.items() if entry.camera)
LIDAR_ONLY = tuple(name for name, entry in CATALOGUE.items() if not entry.camera)
ALL_CORRUPTIONS = tuple(CATALOGUE)
GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "all": ALL_CORRUPTIONS,
        "imagenet-c": IMAGENET_C_NAMES,
        "weather": WEATHER,
        "sensor": tuple(n for n, e in CATALOGUE.items() if e.kind == "sensor_fault"),
        "lidar": LIDAR_ONLY,
    }
)
# Other names -> the catalogue's name for the same effect: the bench's former second night
# model, and imagecorruptions' names (Hendrycks & Dietterich's) where the name is not taken
# by a scenegen model (``fog``, ``snow``, ``motion_blur``, ``pixelate`` stay the physical /
# sensor models; their ImageNet-C versions are ``ic_fog``, ``ic_snow``, ...).
ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "low_light": "night",
        **{
            name.removeprefix("ic_"): name
            for name in IMAGENET_C_NAMES
            if name.removeprefix("ic_") not in CATALOGUE
        },
    }
)


def canonical_name(name: str) -> str:
    """The catalogue name of ``name`` (itself, or what its alias stands for).

    Raises :class:`UnknownCorruptionError` naming the closest catalogue names.
    """
    if name in CATALOGUE:
        return name
    if name in ALIASES:
        return ALIASES[name]
    raise UnknownCorruptionError(
        f"unknown corruption {name!r}{did_you_mean(name, [*CATALOGUE, *ALIASES])} (expected "
        f"one of {list(CATALOGUE)}, or an alias {dict(ALIASES)})"
    )


def did_you_mean(name: str, known: Sequence[str]) -> str:
    """``"; did you mean 'fog'?"`` with the closest of ``known``, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""


def entry(name: str) -> CatalogueEntry:
    """The catalogue entry of ``name`` (aliases accepted)."""
    return CATALOGUE[canonical_name(name)]


def corruption_rng(seed: int, frame_index: int, name: str, severity: int) -> np.random.Generator:
    """The generator for corruption ``name`` at ``severity`` on frame ``frame_index``.

    Independent of the order and the set of corruptions run: same inputs, same output. An
    alias draws what its catalogue name draws; names outside the catalogue (a plug-in
    corruption of the bench) get their own stream.
    """
    key = (frame_index, zlib.crc32(ALIASES.get(name, name).encode()), severity)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def extinction_per_m(name: str, parameters: Mapping[str, Any]) -> float:
    """Extinction coefficient (1/m) of weather ``name`` with ``parameters``; 0 for the rest."""
    if name == "fog":
        return fog_extinction_per_m(parameters["visibility_m"])
    if name == "rain":
        return rain_extinction_per_m(parameters["rate_mm_h"])
    if name == "snow":
        return snow_extinction_per_m(parameters["rate_mm_h"])
    return 0.0


def apply_camera(
    name: str,
    severity: int,
    image_u8: np.ndarray,
    depth: RecoveredDepth | None,
    K: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Camera corruption ``name`` at ``severity`` on uint8 ``(H, W, 3)`` sRGB ``image_u8``.

    ``depth`` is the frame's metric depth with its ground (exact for rendered frames,
    recovered for real ones: :func:`scenegen.augment.depth.frame_depth`); only corruptions
    with ``needs_depth`` require it. ``K`` is the 3x3 intrinsics, ``rng`` the generator of
    every draw. Returns the new image and the parameters used (JSON-friendly; random ones
    such as the sun's pixel included). The inputs are not modified.
    """
    name = canonical_name(name)
    spec = CATALOGUE[name]
    if not spec.camera:
        raise UnknownCorruptionError(f"corruption {name!r} is LiDAR-only: it has no camera model")
    c = spec.parameters(severity)
    params: dict[str, Any] = dict(c)
    if spec.kind == "imagenet_c":
        return imagenet_c.corrupt(image_u8, name.removeprefix("ic_"), severity, rng), params
    if spec.needs_depth and depth is None:
        raise ValueError(
            f"corruption {name!r} needs metric depth (rendered frames have it; recover it for "
            "real frames with scenegen.augment.depth.frame_depth)"
        )
    d = depth.depth_m if depth is not None else None
    if name == "fog":
        return functional.fog(image_u8, d, c["visibility_m"], K), params
    if name == "rain":
        return functional.rain(image_u8, d, c["rate_mm_h"], K, rng), params
    if name == "snow":
        assert depth is not None
        return functional.snow(
            image_u8, d, c["rate_mm_h"], K, rng, depth.ground_mask, c["ground_cover"]
        ), params
    if name == "night":
        # With depth the sky darkens and the ego car's low beams light the scene.
        return functional.night(image_u8, rng, c["light_scale"], depth_m=d, K=K), params
    if name == "sun_glare":
        height, width = image_u8.shape[:2]
        sun_uv = (float(rng.uniform(0.1, 0.9) * width), float(rng.uniform(0.0, 0.33) * height))
        params["sun_uv"] = sun_uv
        return functional.sun_glare(image_u8, d, sun_uv, c["strength"], K), params
    if name == "wet_road":
        assert depth is not None
        horizon = depth.horizon_row if np.isfinite(depth.horizon_row) else float(K[1, 2])
        return functional.wet_road(
            image_u8, d, depth.ground_mask, c["road_wetness"], K, CAMERA_HEIGHT_M, horizon
        ), params
    sampled = {"seed": int(rng.integers(0, 2**63 - 1))}
    if name == "motion_blur":
        sampled["angle_deg"] = float(rng.uniform(-30, 30))
        params["angle_deg"] = sampled["angle_deg"]
    return apply_sensor_fault(image_u8, name, severity, sampled), params
