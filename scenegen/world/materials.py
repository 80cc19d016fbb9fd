"""Surface materials, read from ``assets/materials.yaml`` (one owner for the palette).

Parts of the world refer to materials by name; the camera reads albedo, gloss, emission
and texture, the LiDAR the 905 nm reflectivity and whether the surface is glass.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from scenegen.world.data_files import asset_error, load_asset

MATERIALS_FILE = "materials.yaml"


@dataclass(frozen=True)
class Material:
    """Surface appearance for the camera and the LiDAR.

    ``albedo_rgb`` is linear reflectance in [0, 1]; ``emissive_rgb`` is light emitted
    when the lamp is on (linear, may exceed 1); ``lidar_reflectivity`` is the diffuse
    reflectivity at 905 nm in [0, 1]; ``glass`` surfaces give no LiDAR return;
    ``texture`` names a procedural texture of ``assets/textures.yaml`` (``None``: uniform).
    """

    albedo_rgb: tuple[float, float, float]
    lidar_reflectivity: float = 0.2
    specular: float = 0.0  # 0 matte .. 1 mirror-like highlights
    emissive_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)
    emissive_at_night_only: bool = True
    glass: bool = False
    texture: str | None = None


# File key -> Material field (the file says which wavelength the reflectivity is for).
_KEYS = {"lidar_reflectivity_905nm": "lidar_reflectivity"} | {
    f.name: f.name for f in fields(Material) if f.name != "lidar_reflectivity"
}


def _rgb(name: str, key: str, value: object, upper: float | None) -> tuple[float, float, float]:
    ok = isinstance(value, list) and len(value) == 3
    ok = ok and all(isinstance(c, int | float) and c >= 0 for c in value)
    ok = ok and (upper is None or all(c <= upper for c in value))
    if not ok:
        bound = f"in [0, {upper}]" if upper is not None else ">= 0"
        raise asset_error(MATERIALS_FILE, name, f"{key} must be 3 numbers {bound}, got {value!r}")
    return tuple(float(c) for c in value)  # type: ignore[return-value]


def _material(name: str, entry: object) -> Material:
    if not isinstance(entry, dict):
        raise asset_error(MATERIALS_FILE, name, f"expected a mapping, got {entry!r}")
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise asset_error(MATERIALS_FILE, name, f"unknown keys {unknown}; expected {sorted(_KEYS)}")
    if "albedo_rgb" not in entry:
        raise asset_error(MATERIALS_FILE, name, "albedo_rgb is required")
    values: dict[str, object] = {}
    for key, value in entry.items():
        field = _KEYS[key]
        if field == "albedo_rgb":
            value = _rgb(name, key, value, 1.0)
        elif field == "emissive_rgb":
            value = _rgb(name, key, value, None)
        elif field in ("lidar_reflectivity", "specular"):
            if not (isinstance(value, int | float) and 0 <= value <= 1):
                raise asset_error(MATERIALS_FILE, name, f"{key} must be in [0, 1], got {value!r}")
            value = float(value)
        elif field in ("glass", "emissive_at_night_only"):
            if not isinstance(value, bool):
                raise asset_error(
                    MATERIALS_FILE, name, f"{key} must be true or false, got {value!r}"
                )
        elif field == "texture" and not (value is None or isinstance(value, str)):
            raise asset_error(MATERIALS_FILE, name, f"{key} must be a texture name, got {value!r}")
        values[field] = value
    return Material(**values)  # type: ignore[arg-type]


def load_materials() -> dict[str, Material]:
    """Every material of ``assets/materials.yaml`` by name, validated."""
    _, data, _ = load_asset(MATERIALS_FILE)
    return {str(name): _material(str(name), entry) for name, entry in data.items()}


# The palette. Parts refer to these names; a part may override the albedo (car paint).
MATERIALS: dict[str, Material] = load_materials()
