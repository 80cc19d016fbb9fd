"""Reading a YAML config with errors that name the file, the line and the key path.

``yaml.safe_load`` forgets where a value was written; the node tree of ``yaml.compose``
remembers it, so :meth:`ConfigReader.fail` can say ``bench.yaml:12: train.sources[1].repeat:
expected an integer``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class ConfigReader:
    """Helpers over one parsed config file; ``make_error`` builds the exception to raise."""

    def __init__(self, path: Path, text: str, make_error: Callable[[str], Exception]) -> None:
        self.path = Path(path)
        self.make_error = make_error
        try:
            self.root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self.root = None

    def line_of(self, key: str) -> int | None:
        """1-based line where ``key`` (``a.b[2].c``) is written; of its deepest existing part."""
        node, line = self.root, None
        for name, index in _PART.findall(key):
            if isinstance(node, yaml.MappingNode) and name:
                found = next((kv for kv in node.value if kv[0].value == name), None)
                if found is None:
                    break
                line = found[0].start_mark.line + 1
                node = found[1]
            elif isinstance(node, yaml.SequenceNode) and index:
                if int(index) >= len(node.value):
                    break
                node = node.value[int(index)]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def fail(self, key: str, message: str) -> Exception:
        line = self.line_of(key)
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        return self.make_error(f"{where}: {key}: {message}")

    def mapping(
        self, key: str, value: Any, allowed: set[str], required: set[str] = frozenset()
    ) -> dict[str, Any]:
        """``value`` as a mapping with only ``allowed`` keys and every ``required`` one."""
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {value!r}")
        extra = sorted(set(value) - allowed)
        if extra:
            raise self.fail(f"{key}.{extra[0]}", f"unknown key; expected one of {sorted(allowed)}")
        missing = sorted(set(required) - set(value))
        if missing:
            raise self.fail(key, f"missing key {missing[0]!r}")
        return value

    def number(self, key: str, value: Any, low: float, high: float, integer: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {value!r}")
        if integer and int(value) != value:
            raise self.fail(key, f"expected an integer, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"{value!r} is outside [{low}, {high}]")
        return int(value) if integer else float(value)

    def boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def existing_path(self, key: str, value: Any) -> Path:
        """A path relative to the config file that must exist."""
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a path, got {value!r}")
        resolved = (self.path.parent / value).resolve()
        if not resolved.exists():
            raise self.fail(key, f"{value!r} does not exist (looked at {resolved})")
        return resolved

    def paths(self, key: str, value: Any) -> tuple[Path, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a non-empty list of file paths, got {value!r}")
        return tuple(self.existing_path(f"{key}[{i}]", v) for i, v in enumerate(value))
