"""The detector YAML: which model file, how to feed it, how to read what it returns.

::

    kind: onnx                 # harness | torchscript | onnx
    model: yolov8n.onnx        # relative to this file
    name: yolov8n-coco         # optional; default: the file's stem
    input:                     # torchscript / onnx only
      width: 640               # model input size; leave both out to feed images as they are
      height: 640
      resize: letterbox        # letterbox (keep aspect, pad) | stretch
      pad_value: 0.447         # letterbox fill in [0, 1] (114/255, as ultralytics)
      mean: [0.0, 0.0, 0.0]    # (pixel in [0, 1] - mean) / std, per channel
      std: [1.0, 1.0, 1.0]
      channels: rgb            # rgb | bgr
    output:
      format: yolo             # boxes_scores_labels | yolo
      box_format: cxcywh       # xyxy | xywh | cxcywh
      normalized: false        # boxes in [0, 1] of the model input instead of pixels
      objectness: false        # yolo: rows hold an objectness column (YOLOv5) or not (v8)
      score_threshold: 0.05
      iou_threshold: 0.45      # yolo: class-wise NMS
    classes: {0: pedestrian, 1: cyclist, 2: car, 5: bus, 7: truck}   # model index -> scenegen

The file is read through the scenario reader's safe gates (size, syntax, no tags); every
mistake raises :class:`~scenegen.errors.DetectorConfigError` at ``FILE:LINE:COL: key``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scenegen.errors import DetectorConfigError, ScenarioError
from scenegen.frame import CLASS_NAMES
from scenegen.scenario.yaml_reader import (
    check_scenario_text,
    compose_scenario,
    read_scenario_file,
    scalar_constructor,
    tag_errors,
)

KINDS = ("harness", "torchscript", "onnx")
OUTPUT_FORMATS = ("boxes_scores_labels", "yolo")
BOX_FORMATS = ("xyxy", "xywh", "cxcywh")
RESIZES = ("letterbox", "stretch")
CHANNELS = ("rgb", "bgr")
LETTERBOX_PAD = 114 / 255  # the grey ultralytics and YOLOv5 pad with


@dataclass(frozen=True)
class InputConfig:
    """How an image becomes the model's input tensor. ``width``/``height`` ``None``: the
    image goes in at its own size."""

    width: int | None = None
    height: int | None = None
    resize: str = "letterbox"
    pad_value: float = LETTERBOX_PAD
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    channels: str = "rgb"


@dataclass(frozen=True)
class OutputConfig:
    """How the model's outputs become boxes in model-input pixels."""

    format: str = "boxes_scores_labels"
    box_format: str = "xyxy"
    normalized: bool = False
    objectness: bool = True
    score_threshold: float = 0.05
    iou_threshold: float = 0.45


@dataclass(frozen=True)
class DetectorConfig:
    path: Path
    kind: str
    model: Path
    name: str
    input: InputConfig = field(default_factory=InputConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    classes: dict[int, str] | None = None  # model index -> scenegen class name


_TOP_KEYS = ("kind", "model", "name", "input", "output", "classes")
_INPUT_KEYS = ("width", "height", "resize", "pad_value", "mean", "std", "channels")
_OUTPUT_KEYS = (
    "format",
    "box_format",
    "normalized",
    "objectness",
    "score_threshold",
    "iou_threshold",
)


class _Reader:
    """Typed access to the composed node tree, with errors at each node's position."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._construct = scalar_constructor()

    def error(self, node: Node, key: str, message: str) -> DetectorConfigError:
        mark = node.start_mark
        return DetectorConfigError(self.filename, mark.line + 1, mark.column + 1, key, message)

    def mapping(self, node: Node, key: str, allowed: tuple[str, ...]) -> dict[str, Node]:
        if not isinstance(node, MappingNode):
            raise self.error(node, key, f"expected a mapping with keys {', '.join(allowed)}")
        items: dict[str, Node] = {}
        for key_node, value in node.value:
            name = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
            path = f"{key}.{name}" if key else name
            if name not in allowed:
                raise self.error(
                    key_node, path, f"unknown key, expected one of {', '.join(allowed)}"
                )
            if name in items:
                raise self.error(key_node, path, "key given twice, expected it once")
            items[name] = value
        return items

    def scalar(self, node: Node, key: str) -> Any:
        if not isinstance(node, ScalarNode):
            raise self.error(node, key, "expected a single value")
        construct = {
            "tag:yaml.org,2002:int": self._construct.construct_yaml_int,
            "tag:yaml.org,2002:float": self._construct.construct_yaml_float,
            "tag:yaml.org,2002:bool": self._construct.construct_yaml_bool,
            "tag:yaml.org,2002:null": self._construct.construct_yaml_null,
        }.get(node.tag)
        return construct(node) if construct else node.value

    def choice(self, node: Node, key: str, options: tuple[str, ...]) -> str:
        value = self.scalar(node, key)
        if value not in options:
            raise self.error(node, key, f"got {value!r}, expected one of {', '.join(options)}")
        return str(value)

    def text(self, node: Node, key: str) -> str:
        value = self.scalar(node, key)
        if not isinstance(value, str) or not value:
            raise self.error(node, key, f"got {value!r}, expected a non-empty text")
        return value

    def flag(self, node: Node, key: str) -> bool:
        value = self.scalar(node, key)
        if not isinstance(value, bool):
            raise self.error(node, key, f"got {value!r}, expected true or false")
        return value

    def number(self, node: Node, key: str, low: float, high: float) -> float:
        value = self.scalar(node, key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise self.error(node, key, f"got {value!r}, expected a number in [{low}, {high}]")
        return float(value)

    def integer(self, node: Node, key: str, low: int, high: int) -> int:
        value = self.scalar(node, key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(node, key, f"got {value!r}, expected an integer in [{low}, {high}]")
        return value

    def triple(self, node: Node, key: str, positive: bool) -> tuple[float, float, float]:
        what = "three numbers > 0" if positive else "three numbers"
        if not isinstance(node, SequenceNode) or len(node.value) != 3:
            raise self.error(node, key, f"expected a list of {what} (one per channel)")
        values = []
        for i, item in enumerate(node.value):
            value = self.scalar(item, f"{key}[{i}]")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.error(item, f"{key}[{i}]", f"got {value!r}, expected a number")
            if positive and not value > 0:
                raise self.error(item, f"{key}[{i}]", f"got {value!r}, expected a number > 0")
            values.append(float(value))
        return values[0], values[1], values[2]


def load_detector_config(path: Path) -> DetectorConfig:
    """Read and validate a detector YAML (see the module docstring)."""
    path = Path(path)
    filename = str(path)
    try:
        text = read_scenario_file(path)
        check_scenario_text(text, filename)
        root = compose_scenario(text, filename)
        errors = tag_errors(root, filename) if root is not None else []
    except ScenarioError as exc:
        raise DetectorConfigError(exc.file, exc.line, exc.col, exc.key_path, exc.message) from None
    if errors:
        first = errors[0]
        raise DetectorConfigError(first.file, first.line, first.col, first.key_path, first.message)
    reader = _Reader(filename)
    if root is None:
        raise DetectorConfigError(filename, 1, 1, "<root>", "empty file, expected kind and model")
    top = reader.mapping(root, "", _TOP_KEYS)
    for required in ("kind", "model"):
        if required not in top:
            raise reader.error(
                root, required, "missing, expected it (see 'Bring your own detector')"
            )
    kind = reader.choice(top["kind"], "kind", KINDS)
    model = path.parent / reader.text(top["model"], "model")
    if not model.is_file():
        raise reader.error(top["model"], "model", f"{model} is not a file, expected the model file")
    name = reader.text(top["name"], "name") if "name" in top else model.stem
    if kind == "harness":
        for key in ("input", "output", "classes"):
            if key in top:
                raise reader.error(
                    top[key],
                    key,
                    "not used for kind harness (the checkpoint holds its input "
                    "handling and class names), expected it left out",
                )
        return DetectorConfig(path, kind, model, name)
    input_cfg = _input(reader, top["input"]) if "input" in top else InputConfig()
    output_cfg = _output(reader, top["output"]) if "output" in top else OutputConfig()
    if "classes" not in top:
        raise reader.error(root, "classes", "missing, expected a mapping {model index: class name}")
    classes = _classes(reader, top["classes"])
    return DetectorConfig(path, kind, model, name, input_cfg, output_cfg, classes)


def _input(reader: _Reader, node: Node) -> InputConfig:
    items = reader.mapping(node, "input", _INPUT_KEYS)
    size = {
        key: reader.integer(items[key], f"input.{key}", 1, 16384)
        for key in ("width", "height")
        if key in items
    }
    if len(size) == 1:
        raise reader.error(node, "input", "width and height go together, expected both or neither")
    return InputConfig(
        width=size.get("width"),
        height=size.get("height"),
        resize=reader.choice(items["resize"], "input.resize", RESIZES)
        if "resize" in items
        else "letterbox",
        pad_value=reader.number(items["pad_value"], "input.pad_value", 0.0, 1.0)
        if "pad_value" in items
        else LETTERBOX_PAD,
        mean=reader.triple(items["mean"], "input.mean", False) if "mean" in items else (0.0,) * 3,
        std=reader.triple(items["std"], "input.std", True) if "std" in items else (1.0,) * 3,
        channels=reader.choice(items["channels"], "input.channels", CHANNELS)
        if "channels" in items
        else "rgb",
    )


def _output(reader: _Reader, node: Node) -> OutputConfig:
    items = reader.mapping(node, "output", _OUTPUT_KEYS)
    defaults = OutputConfig()

    def get(key: str, read: Any) -> Any:
        return read(items[key], f"output.{key}") if key in items else getattr(defaults, key)

    output_format = get("format", lambda n, k: reader.choice(n, k, OUTPUT_FORMATS))
    box_default = "cxcywh" if output_format == "yolo" else "xyxy"
    return OutputConfig(
        format=output_format,
        box_format=reader.choice(items["box_format"], "output.box_format", BOX_FORMATS)
        if "box_format" in items
        else box_default,
        normalized=get("normalized", reader.flag),
        objectness=get("objectness", reader.flag),
        score_threshold=get("score_threshold", lambda n, k: reader.number(n, k, 0.0, 1.0)),
        iou_threshold=get("iou_threshold", lambda n, k: reader.number(n, k, 0.0, 1.0)),
    )


def _classes(reader: _Reader, node: Node) -> dict[int, str]:
    if not isinstance(node, MappingNode) or not node.value:
        raise reader.error(node, "classes", "expected a mapping {model index: class name}")
    classes: dict[int, str] = {}
    for key_node, value in node.value:
        index = reader.integer(key_node, "classes", 0, 1_000_000)
        key = f"classes.{index}"
        if index in classes:
            raise reader.error(key_node, key, "model index given twice, expected it once")
        name = reader.text(value, key)
        if name not in CLASS_NAMES:
            raise reader.error(
                value, key, f"got {name!r}, expected a scenegen class: {', '.join(CLASS_NAMES)}"
            )
        classes[index] = name
    return classes
