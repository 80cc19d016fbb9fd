"""What the KITTI reader and writer share: type names, the depth PNG scale, text parsing."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from scenegen.io.errors import DatasetReadError

# KITTI type -> scenegen class when no label_scenegen sidecar says better. "Misc" is read as
# debris (the more common of the two classes written as Misc).
KITTI_TYPE_TO_CLASS: Mapping[str, str] = MappingProxyType(
    {
        "Car": "car",
        "Van": "van",
        "Truck": "truck",
        "Tram": "bus",
        "Pedestrian": "pedestrian",
        "Person_sitting": "pedestrian",
        "Cyclist": "cyclist",
        "Misc": "debris",
    }
)
DONT_CARE = "DontCare"


# Depth PNGs store metres * 256 in uint16, so the deepest storable depth is 65535 / 256 m.
DEPTH_PNG_SCALE = 256.0

SIDECAR_FORMAT_VERSION = 1


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise DatasetReadError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise DatasetReadError(path, f"not an ASCII text file (byte {exc.start})") from None
    except OSError as exc:
        raise DatasetReadError(path, f"cannot read: {exc.strerror or exc}") from exc


def parse_floats(path: Path, where: str, tokens: list[str]) -> list[float]:
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise DatasetReadError(path, f"{where}: {bad!r} is not a number") from None
    if not all(math.isfinite(v) for v in values):
        raise DatasetReadError(path, f"{where}: non-finite number")
    return values


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
