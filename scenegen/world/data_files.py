"""The project's own data files: the top-level ``assets/`` folder.

Materials (albedo, 905 nm reflectivity, gloss, textures), texture parameters and class
size priors live there as YAML, so they can be read and tuned without touching code. In
a source checkout the folder is ``<repo>/assets``; an installed wheel carries it as
``scenegen/_assets`` (pyproject ``package-dir``). User meshes are not here: they are
loaded from wherever the scenario file points (:mod:`scenegen.world.assets`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from scenegen.errors import ScenegenError

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def assets_dir() -> Path:
    """The folder holding the project's data files (installed package first, then the
    source checkout)."""
    for candidate in (_PACKAGE_DIR / "_assets", _PACKAGE_DIR.parent / "assets"):
        if (candidate / "materials.yaml").is_file():
            return candidate
    raise ScenegenError(
        f"the project's data files are missing: neither {_PACKAGE_DIR / '_assets'} nor "
        f"{_PACKAGE_DIR.parent / 'assets'} holds materials.yaml; reinstall scenegen"
    )


@cache
def load_asset(name: str) -> tuple[Path, dict, dict[str, int]]:
    """``(path, mapping, line of each top-level key)`` of ``assets/<name>``: a YAML
    mapping. Cached: the files are read once per process."""
    path = assets_dir() / name
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenegenError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or node is None:
        raise ScenegenError(f"{path}: expected a mapping of names to entries")
    lines = {key.value: key.start_mark.line + 1 for key, _ in node.value}
    return path, data, lines


def asset_error(name: str, key: str, problem: str) -> ScenegenError:
    """An error naming the data file, the line of ``key`` and what was expected."""
    path, _, lines = load_asset(name)
    return ScenegenError(f"{path}:{lines.get(key, 1)}: {key}: {problem}")
