"""The model runtimes: a TorchScript module or an ONNX session as ``input -> outputs``.

A runner takes the ``(1, 3, h, w)`` float32 input and returns the model's outputs as a
list of numpy arrays, in the model's output order (a dict output: ``boxes``, ``scores``,
``labels`` first when present, then the rest in its order).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenegen.errors import MissingDependencyError

ONNX_INSTALL_HINT = (
    "ONNX detectors need onnxruntime, which is not installed: pip install 'scenegen[onnx]' "
    "(or, in a clone, bash scripts/setup.sh --onnx)"
)

Runner = Callable[[np.ndarray], list[np.ndarray]]


def torchscript_runner(path: Path) -> Runner:
    """``torch.jit.load`` the module (on the CPU, eval mode)."""
    module = torch.jit.load(str(path), map_location="cpu")
    module.eval()

    @torch.no_grad()
    def run(batch: np.ndarray) -> list[np.ndarray]:
        return _as_arrays(module(torch.from_numpy(batch)))

    return run


def onnx_runner(path: Path) -> Runner:
    """An ``onnxruntime`` session on the CPU execution provider, fed through its first input."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError(ONNX_INSTALL_HINT) from exc
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initialisers are not the user's
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def run(batch: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(o) for o in session.run(None, {input_name: batch})]

    return run


def _as_arrays(output: Any) -> list[np.ndarray]:
    if isinstance(output, torch.Tensor):
        return [output.detach().cpu().numpy()]
    if isinstance(output, dict):
        first = [k for k in ("boxes", "scores", "labels") if k in output]
        rest = [k for k in output if k not in first]
        return [a for k in first + rest for a in _as_arrays(output[k])]
    if isinstance(output, list | tuple):
        if len(output) == 1 and isinstance(output[0], dict):  # torchvision: one dict per image
            return _as_arrays(output[0])
        return [a for item in output for a in _as_arrays(item)]
    raise TypeError(f"model output of type {type(output).__name__}: expected tensors")
