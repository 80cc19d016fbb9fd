"""Bring your own detector: the harness's own CenterNet exported to TorchScript and ONNX in
the test, loaded back through detector YAMLs, must detect what the native model detects on
real KITTI frames; YOLO decoding and the letterbox undo are checked against geometry."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (torch convention)
from torch import nn

from scenegen.errors import DetectorConfigError, InvalidInputError, MissingDependencyError
from scenegen.harness.adapters import load_detector
from scenegen.harness.adapters.config import OutputConfig
from scenegen.harness.adapters.decode import box_iou, decode_yolo, nms, to_xyxy
from scenegen.harness.model import STRIDE, CenterNet, CenterNetConfig, decode
from scenegen.harness.train import save_checkpoint

CROP_HW = (352, 1216)  # every KITTI frame is at least this big; a multiple of 32
CLASSES = ["car", "pedestrian"]


class CenterNetExport(nn.Module):
    """CenterNet as an export wrapper: a ``(1, 3, H, W)`` batch -> boxes, scores, labels
    (its top ``max_detections`` peaks, unthresholded, so the output has a fixed shape)."""

    def __init__(self, model: CenterNet, height: int, width: int) -> None:
        super().__init__()
        self.model, self.height, self.width = model, height, width

    def forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pad_h = math.ceil(self.height / 32) * 32 - self.height
        pad_w = math.ceil(self.width / 32) * 32 - self.width
        out = self.model.heads(F.pad(batch, (0, pad_w, 0, pad_h)))
        r = decode(out, [(self.height, self.width)], self.model.config.max_detections, 0.0)[0]
        return r["boxes"], r["scores"], r["labels"]


@pytest.fixture(scope="module")
def centernet() -> CenterNet:
    torch.manual_seed(0)
    config = CenterNetConfig(num_classes=len(CLASSES), score_threshold=0.2, max_detections=300)
    model = CenterNet(config)
    with torch.no_grad():
        # Random weights scaled up so peak scores spread up to ~0.26: about 100 peaks per
        # KITTI frame pass 0.2, well under the 300 kept, so both sides keep the same set
        # (no cut among near-ties at the initial 0.01).
        model.output.weight.mul_(10.0)
        model.output.bias.fill_(-2.0)
    return model.eval()


@pytest.fixture(scope="module")
def kitti_images(kitti_root: Path) -> list[torch.Tensor]:
    images = []
    for path in sorted((kitti_root / "image_2").glob("*.png")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)[: CROP_HW[0], : CROP_HW[1]]
        images.append(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0)
    return images


@pytest.fixture(scope="module")
def exported(centernet: CenterNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exported")
    wrapper = CenterNetExport(centernet, *CROP_HW).eval()
    example = torch.rand(1, 3, *CROP_HW)
    with torch.no_grad():
        torch.jit.trace(wrapper, (example,)).save(str(folder / "centernet.ts"))
        torch.onnx.export(
            wrapper, (example,), str(folder / "centernet.onnx"), dynamo=False,
            input_names=["images"], opset_version=17,
        )  # fmt: skip
    for kind, model in (("torchscript", "centernet.ts"), ("onnx", "centernet.onnx")):
        (folder / f"{kind}.yaml").write_text(
            f"kind: {kind}\nmodel: {model}\n"
            "output: {format: boxes_scores_labels, score_threshold: 0.2}\n"
            "classes: {1: car, 2: pedestrian}\n"
        )
    return folder


def unmatched(reference: dict, other: dict, min_score: float) -> list[int]:
    """Detections of ``reference`` scoring at least ``min_score`` without one in ``other``
    of the same label, box IoU > 0.99 and a score within 1e-4."""
    iou = box_iou(reference["boxes"].numpy(), other["boxes"].numpy())
    missing = []
    for i in np.flatnonzero(reference["scores"].numpy() >= min_score):
        same = other["labels"].numpy() == int(reference["labels"][i])
        close = np.abs(other["scores"].numpy() - float(reference["scores"][i])) < 1e-4
        if not np.any(same & close & (iou[i] > 0.99)):
            missing.append(int(i))
    return missing


def has_plateau_twin(detections: dict, i: int) -> bool:
    """Whether detection ``i`` ties (score within 1e-5, same label) with another one at most
    two heatmap cells away: on such a plateau of the heatmap, float32 rounding decides
    which cells are the local maxima, so either side may report either twin."""
    boxes, scores, labels = (detections[k].numpy() for k in ("boxes", "scores", "labels"))
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    near = np.abs(centres - centres[i]).max(1) <= 2 * STRIDE + 1
    twins = near & (labels == labels[i]) & (np.abs(scores - scores[i]) < 1e-5)
    twins[i] = False
    return bool(twins.any())


def assert_same_detections(native: dict, adapted: dict, threshold: float) -> int:
    """Both sides hold the same detections, each way round; returns how many native ones
    were compared. A peak within 1e-3 of the score threshold may fall on either side of
    it through float32 rounding, and so may a peak on a plateau (:func:`has_plateau_twin`):
    those need no counterpart, and they are few."""
    margin = threshold + 1e-3
    compared = int((native["scores"].numpy() >= margin).sum())
    for reference, other in ((native, adapted), (adapted, native)):
        missing = unmatched(reference, other, margin)
        assert all(has_plateau_twin(reference, i) for i in missing)
        assert len(missing) <= 0.05 * compared
    return compared


@pytest.mark.parametrize("kind", ["torchscript", "onnx"])
def test_exported_centernet_detects_what_the_native_one_does_on_kitti(
    kind, centernet, kitti_images, exported
):
    loaded = load_detector(exported / f"{kind}.yaml")
    assert loaded.class_names == CLASSES and loaded.kind == kind and loaded.name == "centernet"
    with torch.no_grad():
        native = centernet(kitti_images)
    adapted = loaded.detector(kitti_images)
    compared = sum(assert_same_detections(n, a, 0.2) for n, a in zip(native, adapted, strict=True))
    assert compared >= 10  # the comparison is not vacuous


def test_a_bench_checkpoint_loads_as_the_same_detector(centernet, kitti_images, tmp_path):
    path = tmp_path / "model" / "checkpoint.pt"
    optimizer = torch.optim.AdamW(centernet.parameters())
    config = {
        "bench": {"classes": CLASSES},
        "model": {"name": "centernet", **vars(centernet.config)},
    }
    save_checkpoint(path, centernet, optimizer, 1, config)
    loaded = load_detector(path)
    assert loaded.class_names == CLASSES and loaded.kind == "harness"
    with torch.no_grad():
        native = centernet(kitti_images[:1])
    assert assert_same_detections(native[0], loaded.detector(kitti_images[:1])[0], 0.2) > 0
    # The bench renumbers labels onto its own classes and drops the others.
    only_pedestrians = loaded.for_classes(["pedestrian"])(kitti_images[:1])[0]
    expected = native[0]["labels"] == 2
    assert torch.equal(
        only_pedestrians["labels"], torch.ones(int(expected.sum()), dtype=torch.int64)
    )
    assert torch.allclose(only_pedestrians["boxes"], native[0]["boxes"][expected])
    with pytest.raises(InvalidInputError, match="has no class 'cyclist'"):
        loaded.for_classes(["car", "cyclist"])


class BrightBox(nn.Module):
    """A 'detector' that boxes the pixels brighter than 0.5 of its input, in the layout
    asked: ``cxcywh`` normalised to the input size, as YOLO exports write boxes."""

    def forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        bright = batch[0, 0] > 0.5
        rows = torch.nonzero(bright.any(1)).flatten().float()
        cols = torch.nonzero(bright.any(0)).flatten().float()
        x1, x2 = cols.min(), cols.max() + 1
        y1, y2 = rows.min(), rows.max() + 1
        h, w = float(batch.shape[2]), float(batch.shape[3])
        box = torch.stack([(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h])
        return box[None], torch.ones(1), torch.zeros(1, dtype=torch.int64)


@pytest.mark.parametrize("resize", ["letterbox", "stretch"])
def test_boxes_come_back_in_the_original_image_pixels(resize, tmp_path):
    torch.jit.script(BrightBox()).save(str(tmp_path / "bright.ts"))
    (tmp_path / "det.yaml").write_text(
        "kind: torchscript\nmodel: bright.ts\n"
        f"input: {{width: 320, height: 320, resize: {resize}}}\n"
        "output: {box_format: cxcywh, normalized: true, score_threshold: 0.5}\n"
        "classes: {0: car}\n"
    )
    image = torch.zeros(3, 375, 1242)
    truth = (700, 120, 900, 300)  # x1, y1, x2, y2 of the bright rectangle
    image[:, truth[1] : truth[3], truth[0] : truth[2]] = 1.0
    got = load_detector(tmp_path / "det.yaml").detector([image])[0]
    assert got["labels"].tolist() == [1]
    # One model-input pixel is 1242 / 320 = 3.9 image pixels wide: the threshold of the
    # resampled edge can move each side by at most that much.
    assert np.abs(got["boxes"][0].numpy() - np.array(truth)).max() <= 1242 / 320


def test_yolo_decoding_keeps_the_boxes_geometry_says(tmp_path):
    # Rows cx, cy, w, h, objectness, score(class 0), score(class 1), in pixels.
    rows = np.array(
        [
            [100, 100, 40, 40, 0.9, 0.9, 0.1],  # kept: best class-0 box
            [102, 100, 40, 40, 0.9, 0.8, 0.1],  # IoU 0.905 with row 0, same class: suppressed
            [101, 100, 40, 40, 0.9, 0.1, 0.7],  # overlaps row 0 but class 1: kept
            [300, 200, 20, 60, 0.5, 0.9, 0.0],  # far away: kept, score 0.45
            [500, 100, 40, 40, 0.1, 0.5, 0.0],  # score 0.05 < 0.25: dropped
            # Heads hold many more candidates than columns (that is how the decoder tells
            # the axes apart); these score 0.
            *([[600, 600, 10, 10, 0.0, 0.0, 0.0]] * 3),
        ],
        np.float32,
    )
    config = OutputConfig(format="yolo", box_format="cxcywh", objectness=True,
                          score_threshold=0.25, iou_threshold=0.45)  # fmt: skip
    boxes, scores, labels = decode_yolo(rows[None], config, (640, 640))
    np.testing.assert_allclose(scores, [0.81, 0.63, 0.45], rtol=1e-6)
    assert labels.tolist() == [0, 1, 0]
    np.testing.assert_allclose(
        boxes, [[80, 80, 120, 120], [81, 80, 121, 120], [290, 170, 310, 230]]
    )
    # YOLOv8 exports the head transposed, (1, 4 + C, N), without objectness: same boxes.
    v8 = np.delete(rows, 4, axis=1)
    v8[:, 4:] *= rows[:, 4:5]
    config_v8 = OutputConfig(format="yolo", box_format="cxcywh", objectness=False,
                             score_threshold=0.25, iou_threshold=0.45)  # fmt: skip
    boxes_v8, scores_v8, labels_v8 = decode_yolo(v8.T[None], config_v8, (640, 640))
    np.testing.assert_allclose(boxes_v8, boxes)
    np.testing.assert_allclose(scores_v8, scores, rtol=1e-6)
    assert labels_v8.tolist() == labels.tolist()


def test_nms_and_box_formats_follow_their_definitions():
    # IoU of [0,0,10,10] and [5,0,15,10]: intersection 50, union 150.
    assert box_iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10]]))[0, 0] == pytest.approx(
        1 / 3
    )
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [1, 0, 11, 10]], np.float64)
    scores = np.array([0.9, 0.8, 0.7])
    labels = np.zeros(3, np.int64)
    assert nms(boxes, scores, labels, 0.5).tolist() == [0, 1]  # IoU(0, 2) = 0.82 > 0.5
    assert nms(boxes, scores, labels, 0.3).tolist() == [0]  # 1/3 > 0.3 as well
    np.testing.assert_allclose(to_xyxy(np.array([[10, 20, 4, 6]]), "xywh"), [[10, 20, 14, 26]])
    np.testing.assert_allclose(to_xyxy(np.array([[10, 20, 4, 6]]), "cxcywh"), [[8, 17, 12, 23]])


class FixedYoloHead(nn.Module):
    """A YOLOv8-style ONNX head, ``(1, 4 + 2, 8)``: candidates at known places of a
    640 x 640 letterboxed input (one per class, the others below any threshold)."""

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        rows = torch.tensor(
            [[320.0, 320.0, 100.0, 50.0, 0.9, 0.0],
             [100.0, 300.0, 20.0, 40.0, 0.0, 0.8],
             *[[500.0, 300.0, 20.0, 40.0, 0.01, 0.0]] * 6]
        )  # fmt: skip
        return (rows.t()[None] + batch.mean() * 0.0).contiguous()


def test_an_onnx_yolo_export_comes_back_in_image_pixels(tmp_path):
    with torch.no_grad():
        torch.onnx.export(
            FixedYoloHead(), (torch.rand(1, 3, 640, 640),), str(tmp_path / "yolo.onnx"),
            dynamo=False, input_names=["images"], opset_version=17,
        )  # fmt: skip
    (tmp_path / "yolo.yaml").write_text(
        "kind: onnx\nmodel: yolo.onnx\ninput: {width: 640, height: 640, resize: letterbox}\n"
        "output: {format: yolo, objectness: false, score_threshold: 0.25}\n"
        "classes: {0: car, 1: pedestrian}\n"
    )
    got = load_detector(tmp_path / "yolo.yaml").detector([torch.rand(3, 375, 1242)])[0]
    # Letterbox of 1242 x 375 into 640: scale 640/1242, content 640 x 193 at top = 223.
    scale, top = 640 / 1242, (640 - round(375 * 640 / 1242)) // 2
    expected = np.array([[270, 295, 370, 345], [90, 280, 110, 320]], np.float64)
    expected[:, 1::2] -= top
    expected /= scale
    assert got["labels"].tolist() == [1, 2]
    np.testing.assert_allclose(got["boxes"].numpy(), expected, atol=1.5)  # rounding of 193 px


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "m.onnx").write_bytes(b"")
    path = tmp_path / "det.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("kind: onnx\nmodel: m.onnx\nclases: {0: car}\n", ":3:1: clases: unknown key"),
        ("kind: tflite\nmodel: m.onnx\n", ":1:7: kind: got 'tflite', expected one of"),
        ("kind: onnx\nmodel: missing.onnx\n", ":2:8: model: "),
        ("kind: onnx\nmodel: m.onnx\nclasses: {0: lorry}\n", ":3:14: classes.0: got 'lorry'"),
        ("kind: onnx\nmodel: m.onnx\ninput: {width: 640}\nclasses: {0: car}\n", ":3:8: input:"),
        (
            "kind: onnx\nmodel: m.onnx\noutput:\n  iou_threshold: 1.5\nclasses: {0: car}\n",
            ":4:18: output.iou_threshold: got 1.5, expected a number in [0.0, 1.0]",
        ),
        ("kind: onnx\nmodel: m.onnx\n", ":1:1: classes: missing"),
        ("kind: harness\nmodel: m.onnx\nclasses: {0: car}\n", ":3:10: classes: not used"),
    ],
)
def test_config_mistakes_name_file_line_key_and_expectation(tmp_path, text, where):
    path = write(tmp_path, text)
    with pytest.raises(DetectorConfigError) as info:
        load_detector(path)
    assert str(info.value).startswith(str(path) + where)


def test_onnx_without_onnxruntime_says_what_to_install(tmp_path, monkeypatch):
    path = write(tmp_path, "kind: onnx\nmodel: m.onnx\nclasses: {0: car}\n")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'scenegen\[onnx\]'"):
        load_detector(path)


BENCH = """\
name: byod
seed: 0
render: {image_scale: 0.25, lidar: false}
train: {scenarios: [REPO/scenarios/clear_day_urban.yaml], frames_per_scenario: 2}
test: {scenarios: [REPO/scenarios/clear_day_urban.yaml], frames_per_scenario: 2, seed: 1000}
classes: [car, pedestrian]
corruptions: [fog]
severities: [3]
report: {worst_frames: 2, bootstrap_resamples: 20}
"""


def test_bench_evaluates_a_users_detector_instead_of_training_one(centernet, tmp_path, gl_backend):
    """``bench --detector``: the same network as a checkpoint and as an ONNX export scores
    the same on the same rendered test set, and nothing is trained."""
    config = tmp_path / "bench.yaml"
    config.write_text(BENCH.replace("REPO", str(Path(__file__).resolve().parents[1])))
    checkpoint = tmp_path / "checkpoint.pt"
    model_config = {"name": "centernet", **vars(centernet.config)}
    optimizer = torch.optim.AdamW(centernet.parameters())
    save_checkpoint(
        checkpoint, centernet, optimizer, 1, {"bench": {"classes": CLASSES}, "model": model_config}
    )
    out = tmp_path / "report"
    first = scenegen("bench", str(config), "--out", str(out), "--detector", str(checkpoint))
    assert first.returncode == 0, first.stderr
    assert not (out / "model").exists()  # nothing trained
    from_checkpoint = json.loads((out / "metrics.json").read_text())
    assert from_checkpoint["detector"]["kind"] == "harness" and "training" not in from_checkpoint

    image = next(
        (out / "data" / "test" / "clear_day_urban" / "kitti" / "training" / "image_2").glob("*.png")
    )
    height, width = cv2.imread(str(image)).shape[:2]
    with torch.no_grad():
        torch.onnx.export(
            CenterNetExport(centernet, height, width).eval(), (torch.rand(1, 3, height, width),),
            str(tmp_path / "net.onnx"), dynamo=False, input_names=["images"], opset_version=17,
        )  # fmt: skip
    (tmp_path / "net.yaml").write_text(
        "kind: onnx\nmodel: net.onnx\noutput: {score_threshold: 0.2}\n"
        "classes: {1: car, 2: pedestrian}\n"
    )
    second = scenegen(
        "bench", str(config), "--out", str(out), "--detector", str(tmp_path / "net.yaml")
    )
    assert second.returncode == 0, second.stderr
    from_onnx = json.loads((out / "metrics.json").read_text())
    assert from_onnx["detector"]["kind"] == "onnx"
    for key in ("AP50", "AP"):
        assert from_onnx["clean"][key] == pytest.approx(from_checkpoint["clean"][key], abs=1e-3)
    assert "## Detector" in (out / "report.md").read_text()


def test_bench_refuses_a_detector_without_the_evaluated_classes(tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text(BENCH.replace("REPO", str(Path(__file__).resolve().parents[1])))
    with torch.no_grad():
        torch.onnx.export(
            FixedYoloHead(), (torch.rand(1, 3, 64, 64),), str(tmp_path / "yolo.onnx"),
            dynamo=False, input_names=["images"], opset_version=17,
        )  # fmt: skip
    (tmp_path / "det.yaml").write_text(
        "kind: onnx\nmodel: yolo.onnx\noutput: {format: yolo}\nclasses: {0: car}\n"
    )
    result = scenegen("bench", str(config), "--detector", str(tmp_path / "det.yaml"))
    assert result.returncode == 2
    assert "has no class 'pedestrian' (it detects car)" in result.stderr


def scenegen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scenegen.cli", *args], capture_output=True, text=True, timeout=600
    )
