"""The robustness harness: torch datasets, the baseline detector, training, metrics, report.

The harness is the one part of scenegen that needs torch, an optional dependency: rendering,
writing datasets and augmenting real frames run without it. Importing any harness module
without torch raises :class:`scenegen.errors.MissingDependencyError` saying how to install it.
"""

from scenegen.errors import MissingDependencyError

TORCH_INSTALL_HINT = (
    "the robustness harness (scenegen bench, scenegen.harness) needs torch, which is not "
    "installed: pip install 'scenegen[harness]' (or, in a clone, bash scripts/setup.sh "
    "--harness, which installs the CPU build of torch first)"
)

try:
    import torch  # noqa: F401 (checked here once for every harness module)
except ImportError as exc:
    raise MissingDependencyError(TORCH_INSTALL_HINT) from exc
