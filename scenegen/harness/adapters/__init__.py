"""Bring your own detector: harness checkpoints, TorchScript and ONNX models behind one
:class:`~scenegen.harness.model.Detector` protocol.

:func:`load_detector` is the one entry point (the bench and the search call it): a bench
checkpoint (``.pt``) or a detector YAML (:mod:`scenegen.harness.adapters.config`) in, a
:class:`LoadedDetector` out, whose boxes are in the pixels of the images it is given
(letterbox or stretch undone). ONNX needs ``onnxruntime`` (``pip install 'scenegen[onnx]'``),
imported only when an ONNX model is loaded.
"""

from scenegen.harness.adapters.config import DetectorConfig, load_detector_config
from scenegen.harness.adapters.loader import LoadedDetector, load_detector

__all__ = ["DetectorConfig", "LoadedDetector", "load_detector", "load_detector_config"]
