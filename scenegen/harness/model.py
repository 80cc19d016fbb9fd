"""Detectors for the harness: a small CenterNet that trains from scratch on a CPU, and the
adapter protocol every other model plugs in through.

A *detector* here is anything callable as ``detector(images) -> list[dict]`` with
``images`` a list of float32 ``(3, H, W)`` tensors in [0, 1] and, per image, a dict with
``boxes`` float32 ``(K, 4)`` x1, y1, x2, y2 pixels, ``scores`` float32 ``(K,)`` and
``labels`` int64 ``(K,)`` (0 is background, as in torchvision). torchvision's detection
models in ``eval()`` mode already are detectors; :func:`torchvision_detector` builds one.

:class:`CenterNet` (Zhou et al. 2019, "Objects as Points"): a residual encoder down to
stride 32, a light top-down path back to stride 4, and two heads at stride 4: a class
heatmap (focal loss) and the box: log distances from each cell to the four sides, trained
with a GIoU loss on every cell near an object's centre (TTFNet, Liu et al. 2020), which
converges several times faster than regressing the size at the centre cell only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (torch convention)
from torch import nn

STRIDE = 4
_PAD_TO = 32  # the encoder halves the image five times


class Detector(Protocol):
    def __call__(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]: ...


@dataclass(frozen=True)
class CenterNetConfig:
    """Architecture of :class:`CenterNet` (stored in checkpoints)."""

    num_classes: int
    width: int = 24  # channels at stride 4; doubled at strides 8 and 16
    head_width: int = 32  # channels of the top-down path and the shared head
    max_detections: int = 100
    score_threshold: float = 0.02


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)
    )


class _Residual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = _conv_bn(c_in, c_out, stride)
        self.conv2 = nn.Sequential(
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out)
        )
        self.skip = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.skip(x), inplace=True)


class CenterNet(nn.Module):
    """Anchor-free detector; ``forward(images)`` returns detections in ``eval()`` mode and
    ``forward(images, targets)`` returns the loss dict in ``train()`` mode (torchvision's
    convention). Inputs are padded to a multiple of 32 and run ``channels_last``."""

    def __init__(self, config: CenterNetConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        # Narrow at high resolution, wider where the map is small: most of the cost of a
        # detector this size is in the stride-4 layers.
        self.stem = nn.Sequential(_conv_bn(3, w // 2, 2), _conv_bn(w // 2, w, 2))  # stride 4
        self.stage4 = _Residual(w, w, 1)
        self.stage8 = _Residual(w, 2 * w, 2)
        self.stage16 = _Residual(2 * w, 4 * w, 2)
        self.stage32 = _Residual(4 * w, 4 * w, 2)
        neck = config.head_width
        self.top32 = nn.Conv2d(4 * w, neck, 1)
        self.lateral16 = nn.Conv2d(4 * w, neck, 1)
        self.lateral8 = nn.Conv2d(2 * w, neck, 1)
        self.lateral4 = nn.Conv2d(w, neck, 1)
        self.smooth = _conv_bn(neck, neck)
        # One output conv for all heads: heatmap (C), log distances to the box sides (4).
        self.output = nn.Conv2d(neck, config.num_classes + 4, 1)
        # Start with heatmap ~0.01 everywhere, as CenterNet does, so the focal loss is stable.
        nn.init.constant_(self.output.bias[: config.num_classes], -math.log((1 - 0.01) / 0.01))
        self.to(memory_format=torch.channels_last)

    def heads(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw head outputs at stride 4 for a padded ``(B, 3, H, W)`` batch."""
        x4 = self.stage4(self.stem(batch))
        x8 = self.stage8(x4)
        x16 = self.stage16(x8)
        x32 = self.stage32(x16)
        p = self.top32(x32)
        p = F.interpolate(p, size=x16.shape[-2:], mode="nearest") + self.lateral16(x16)
        p = F.interpolate(p, size=x8.shape[-2:], mode="nearest") + self.lateral8(x8)
        p = F.interpolate(p, size=x4.shape[-2:], mode="nearest") + self.lateral4(x4)
        out = self.output(self.smooth(p))
        c = self.config.num_classes
        return {"heatmap": out[:, :c], "box": out[:, c:]}

    def forward(
        self,
        images: Sequence[torch.Tensor],
        targets: Sequence[dict[str, torch.Tensor]] | None = None,
    ) -> Any:
        batch = pad_batch(images)
        out = self.heads(batch)
        if self.training:
            if targets is None:
                raise ValueError("CenterNet in train() mode needs targets")
            encoded = encode_targets(targets, self.config.num_classes, out["heatmap"].shape[-2:])
            return centernet_loss(out, encoded)
        sizes = [(int(im.shape[-2]), int(im.shape[-1])) for im in images]
        return decode(out, sizes, self.config.max_detections, self.config.score_threshold)


def pad_batch(images: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack ``(3, H, W)`` images into ``(B, 3, H', W')`` zero-padded at the bottom/right to a
    multiple of 32, in channels_last memory format."""
    if not images:
        raise ValueError("no images")
    height = max(int(im.shape[-2]) for im in images)
    width = max(int(im.shape[-1]) for im in images)
    height, width = (math.ceil(v / _PAD_TO) * _PAD_TO for v in (height, width))
    batch = images[0].new_zeros((len(images), 3, height, width))
    for i, im in enumerate(images):
        batch[i, :, : im.shape[-2], : im.shape[-1]] = im
    return batch.contiguous(memory_format=torch.channels_last)


def encode_targets(
    targets: Sequence[dict[str, torch.Tensor]], num_classes: int, shape: tuple[int, int]
) -> dict[str, torch.Tensor]:
    """Heatmaps and box-regression targets at stride 4 for a batch (numpy, then tensors).

    ``heatmap`` float32 ``(B, C, h, w)``: an elliptical Gaussian per object (TTFNet's, sigma
    ``GAUSSIAN_SPREAD * size / 6`` along each axis), 1 at the cell holding the box centre.
    ``box`` float32 ``(B, 4, h, w)``: the box (x1, y1, x2, y2 in stride-4 cells) that the
    cell regresses; ``box_weight`` ``(B, 1, h, w)``: how much that regression counts
    (each object's Gaussian, normalised to sum 1 per object, so every object weighs the
    same whatever its size). ``ignore`` ``(B, 1, h, w)`` 1 inside ignore regions (no
    heatmap loss there).
    """
    h, w = int(shape[0]), int(shape[1])
    batch = len(targets)
    heatmap = np.zeros((batch, num_classes, h, w), np.float32)
    box = np.zeros((batch, 4, h, w), np.float32)
    box_weight = np.zeros((batch, 1, h, w), np.float32)
    ignore = np.zeros((batch, 1, h, w), np.float32)
    for b, target in enumerate(targets):
        for x1, y1, x2, y2 in target.get("ignore_boxes", torch.zeros((0, 4))).numpy() / STRIDE:
            ignore[b, 0, max(0, int(y1)) : math.ceil(y2), max(0, int(x1)) : math.ceil(x2)] = 1
        boxes = target["boxes"].numpy().reshape(-1, 4) / STRIDE
        labels = target["labels"].numpy() - 1
        # Large objects first, so a small object in front keeps the cells it shares.
        order = np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        for index in order:
            x1, y1, x2, y2 = boxes[index]
            label = labels[index]
            bw, bh = x2 - x1, y2 - y1
            if bw <= 0 or bh <= 0 or not 0 <= label < num_classes:
                continue
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            ix, iy = min(int(cx), w - 1), min(int(cy), h - 1)
            blob = _gaussian_patch(ix, iy, bw, bh, h, w)
            if blob is None:
                continue
            (top, bottom, left, right), values = blob
            region = heatmap[b, label, top:bottom, left:right]
            np.maximum(region, values, out=region)
            heatmap[b, label, iy, ix] = 1.0
            # Regression: cells where this object's Gaussian is the strongest so far.
            weights = values.copy()
            weights[weights < 0.05] = 0.0  # the Gaussian's tail says little about the box
            mine = weights > 0
            weights = weights / weights.sum()
            corners = np.array([x1, y1, x2, y2], np.float32)[:, None]
            box[b, :, top:bottom, left:right][:, mine] = corners
            box_weight[b, 0, top:bottom, left:right][mine] = weights[mine]
    ignore *= 1.0 - (heatmap.max(axis=1, keepdims=True) > 0.0)  # objects win over ignore regions
    return {
        k: torch.from_numpy(v)
        for k, v in {
            "heatmap": heatmap,
            "box": box,
            "box_weight": box_weight,
            "ignore": ignore,
        }.items()
    }


GAUSSIAN_SPREAD = 0.54  # TTFNet's alpha: sigma = spread * box size / 6


def _gaussian_patch(
    ix: int, iy: int, box_w: float, box_h: float, h: int, w: int
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """An elliptical Gaussian around cell (ix, iy) for a box of ``box_w`` x ``box_h`` cells,
    cut to the map: ``((top, bottom, left, right), values)``."""
    sigma_x = max(GAUSSIAN_SPREAD * box_w / 6, 0.3)
    sigma_y = max(GAUSSIAN_SPREAD * box_h / 6, 0.3)
    rx, ry = math.ceil(3 * sigma_x), math.ceil(3 * sigma_y)
    top, bottom = max(0, iy - ry), min(h, iy + ry + 1)
    left, right = max(0, ix - rx), min(w, ix + rx + 1)
    if top >= bottom or left >= right:
        return None
    ys = np.arange(top, bottom, dtype=np.float32)[:, None] - iy
    xs = np.arange(left, right, dtype=np.float32)[None, :] - ix
    values = np.exp(-(xs**2) / (2 * sigma_x**2) - ys**2 / (2 * sigma_y**2))
    return (top, bottom, left, right), values.astype(np.float32)


def focal_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced pixel focal loss (alpha 2, beta 4), per object."""
    pred = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    positive = target.eq(1).float()
    negative = (1 - positive) * weight
    pos_loss = torch.log(pred) * (1 - pred) ** 2 * positive
    neg_loss = torch.log(1 - pred) * pred**2 * (1 - target) ** 4 * negative
    num_pos = positive.sum().clamp(min=1.0)
    return -(pos_loss.sum() + neg_loss.sum()) / num_pos


def cell_boxes(raw: torch.Tensor, cells_x: torch.Tensor, cells_y: torch.Tensor) -> torch.Tensor:
    """Boxes (x1, y1, x2, y2 in cells, ``(N, 4)``) from the box head's raw ``(N, 4)`` output
    at cells ``(cells_x, cells_y)``: log distances from the cell centre to the four sides."""
    distance = raw.float().clamp(max=8.0).exp()
    px, py = cells_x + 0.5, cells_y + 0.5
    return torch.stack(
        [px - distance[:, 0], py - distance[:, 1], px + distance[:, 2], py + distance[:, 3]], 1
    )


def giou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - GIoU`` per box pair (``(N, 4)`` x1, y1, x2, y2)."""
    area_p = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area_t = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    lt = torch.maximum(pred[:, :2], target[:, :2])
    rb = torch.minimum(pred[:, 2:], target[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    union = area_p + area_t - inter
    hull = torch.maximum(pred[:, 2:], target[:, 2:]) - torch.minimum(pred[:, :2], target[:, :2])
    hull_area = hull.prod(1)
    iou = inter / union.clamp(min=1e-6)
    return 1 - (iou - (hull_area - union) / hull_area.clamp(min=1e-6))


BOX_LOSS_WEIGHT = 5.0  # TTFNet's: GIoU is bounded by 2, the focal loss is not


def centernet_loss(
    out: dict[str, torch.Tensor], enc: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """``{"heatmap", "box"}`` losses (sum them to train): the focal loss on the heatmap and
    the GIoU loss of the boxes regressed around every object centre, weighted as
    :func:`encode_targets` says (TTFNet, Liu et al. 2020: many regression samples per object
    make training converge several times faster than CenterNet's single centre cell)."""
    weight = enc["box_weight"][:, 0]
    b, y, x = torch.nonzero(weight > 0, as_tuple=True)
    num_objects = enc["heatmap"].eq(1).sum().clamp(min=1)  # each object's weights sum to 1
    if len(b):
        raw = out["box"].permute(0, 2, 3, 1)[b, y, x]
        pred = cell_boxes(raw, x.float(), y.float())
        target = enc["box"].permute(0, 2, 3, 1)[b, y, x]
        box_loss = (giou_loss(pred, target) * weight[b, y, x]).sum() / num_objects
    else:
        box_loss = out["box"].sum() * 0.0
    return {
        "heatmap": focal_loss(out["heatmap"], enc["heatmap"], 1.0 - enc["ignore"]),
        "box": BOX_LOSS_WEIGHT * box_loss,
    }


@torch.no_grad()
def decode(
    out: dict[str, torch.Tensor],
    image_sizes: Sequence[tuple[int, int]],
    max_detections: int,
    score_threshold: float,
) -> list[dict[str, torch.Tensor]]:
    """Peaks of the heatmap (3x3 max pooling) -> boxes in input pixels, per image."""
    heat = torch.sigmoid(out["heatmap"].float())
    peaks = heat * (F.max_pool2d(heat, 3, 1, 1) == heat)
    batch, classes, h, w = heat.shape
    k = min(max_detections, classes * h * w)
    scores, flat = peaks.reshape(batch, -1).topk(k)
    labels = flat // (h * w)
    cell = flat % (h * w)
    iy, ix = (cell // w).float(), (cell % w).float()
    results = []
    for b, (height, width) in enumerate(image_sizes):
        raw = out["box"][b].reshape(4, -1)[:, cell[b]].t()
        boxes = cell_boxes(raw, ix[b], iy[b]) * STRIDE
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
        keep = scores[b] >= score_threshold
        results.append(
            {"boxes": boxes[keep], "scores": scores[b][keep], "labels": labels[b][keep] + 1}
        )
    return results


def build_model(name: str, num_classes: int, **options: Any) -> nn.Module:
    """A model by name: ``centernet`` (options: width) or a torchvision detector name
    (``fasterrcnn_mobilenet_v3_large_fpn``, ``fcos_resnet50_fpn``, ``ssdlite320_mobilenet_v3_large``,
    ``retinanet_resnet50_fpn``, ...), built untrained with ``num_classes + 1`` outputs."""
    if name == "centernet":
        return CenterNet(CenterNetConfig(num_classes=num_classes, **options))
    return torchvision_model(name, num_classes, **options)


def torchvision_model(name: str, num_classes: int, **options: Any) -> nn.Module:
    """An untrained torchvision detection model (needs the ``torchvision`` extra)."""
    try:
        from torchvision.models import detection
    except Exception as exc:  # ImportError, or its compiled ops failing to load
        raise ImportError(
            f"model {name!r} needs torchvision, which failed to import ({exc}). Install the "
            "optional extra: pip install 'scenegen[torchvision]' (a torchvision build that "
            "matches your torch), or use model 'centernet', which needs nothing else"
        ) from exc
    builder = getattr(detection, name, None)
    if builder is None:
        raise ValueError(f"torchvision.models.detection has no model {name!r}")
    return builder(weights=None, weights_backbone=None, num_classes=num_classes + 1, **options)


def torchvision_detector(model: nn.Module) -> Detector:
    """A torchvision detection model as a :class:`Detector` (eval mode, no gradients)."""

    @torch.no_grad()
    def detect(images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        model.eval()
        return [{k: v.detach().cpu() for k, v in r.items()} for r in model(images)]

    return detect


def model_config(model: nn.Module) -> dict[str, Any]:
    """What a checkpoint records to rebuild ``model``."""
    if isinstance(model, CenterNet):
        return {"name": "centernet", **asdict(model.config)}
    return {"name": type(model).__name__}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
