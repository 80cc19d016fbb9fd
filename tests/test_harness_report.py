"""The report writes strict JSON, shows intervals and marks differences inside the noise;
checkpoints are written atomically (import cycles and module sizes: test_architecture.py)."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import pytest
import torch

from scenegen.harness.report import build_markdown, metrics_json
from scenegen.harness.train import load_checkpoint, save_checkpoint

REPO = Path(__file__).resolve().parents[1]


def _strict(text: str):
    def refuse(constant: str):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_metrics_json_writes_null_for_inf_and_nan():
    data = _strict(metrics_json({"rPC": math.inf, "P": -math.inf, "AP": math.nan, "ok": 0.5}))
    assert data == {"rPC": None, "P": None, "AP": None, "ok": 0.5}


def _metrics() -> dict:
    entry = {"AP": 0.3, "AP50": 0.6, "per_class_AP50": {"car": 0.6}, "num_gt": 40}
    return {
        "config": {"name": "t"},
        "classes": ["car"],
        "bootstrap": {"resamples": 100, "confidence": 0.95},
        "clean": {**entry, "AP50_ci": [0.5, 0.7], "AP_ci": [0.25, 0.35]},
        "edge_cases": [],
        "distance": [],
        "occlusion": [],
        "kitti_ap": {},
        "corruptions": {
            "fog": {
                "1": {**entry, "AP50": 0.58, "AP50_ci": [0.48, 0.68], "within_noise": True},
                "5": {**entry, "AP50": 0.2, "AP50_ci": [0.1, 0.3], "within_noise": False},
            },
            "rain": {
                "1": {**entry, "AP50": 0.6, "AP50_ci": [0.5, 0.7], "within_noise": True},
                "5": {
                    **entry,
                    "AP50": 0.7,
                    "AP50_ci": [0.65, 0.75],
                    "AP50_diff": 0.1,
                    "within_noise": False,
                },
            },
        },
        "robustness": {
            "P": 0.6,
            "P_ci": [0.5, 0.7],
            "mPC": 0.39,
            "mPC_ci": [0.3, 0.45],
            "rPC": 0.65,
            "rPC_ci": [0.55, 0.75],
            "mean_by_severity": {"1": 0.58, "5": 0.2},
            "mean_by_severity_ci": {"1": [0.48, 0.68], "5": [0.1, 0.3]},
            "drop_by_severity": {
                "1": {"AP50_diff": -0.02, "AP50_diff_ci": [-0.05, 0.01], "within_noise": True},
                "5": {"AP50_diff": -0.4, "AP50_diff_ci": [-0.5, -0.3], "within_noise": False},
            },
        },
    }


def test_markdown_shows_intervals_and_marks_noise():
    text = build_markdown(_metrics(), [], None)
    assert "| 0.600 [0.500, 0.700] | 0.390 [0.300, 0.450] | 0.650 [0.550, 0.750] |" in text
    assert "| fog | 0.580 [0.480, 0.680] ~ | 0.200 [0.100, 0.300] |" in text
    assert "| rain | 0.600 [0.500, 0.700] ~ | 0.700 [0.650, 0.750] (+) |" in text
    assert (
        "severity 5: mean AP50 0.200, -0.400 vs clean [-0.500, -0.300], outside the noise" in text
    )
    assert "severity 1: mean AP50 0.580, -0.020 vs clean [-0.050, +0.010], within the noise" in text


def test_occlusion_level_3_means_what_the_labels_and_readme_say():
    from scenegen.harness.evaluate import OCCLUSION_LEVELS
    from scenegen.labels.objects import occlusion_level

    assert occlusion_level(0.85) == 3 and occlusion_level(0.79) == 2
    assert "> 80 %" in OCCLUSION_LEVELS[3] and "unknown" not in OCCLUSION_LEVELS[3]
    readme = (REPO / "README.md").read_text()
    assert "3: more" in readme or "3: > 80 %" in readme


def test_checkpoints_are_replaced_atomically(tmp_path):
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, model, optimizer, 1, {"run": 1})
    # A config torch cannot pickle fails mid-write: the old checkpoint must stay, alone.
    with pytest.raises((AttributeError, pickle.PicklingError)):
        save_checkpoint(path, model, optimizer, 2, {"run": lambda: None})
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
