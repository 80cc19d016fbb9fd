"""The optional Fréchet distance: its maths on Gaussians with a closed-form answer, a real
TorchScript extractor, and the message when no weights are given."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SHARED_DATA
from typer.testing import CliRunner

from scenegen.fidelity.frechet import SKIPPED, frechet_between, frechet_distance, gaussian_of


def test_diagonal_gaussians_match_the_closed_form():
    # For commuting (here diagonal) covariances (S_1 S_2)^½ = diag(sqrt(a b)), so
    # FD = |mu_1 - mu_2|² + sum (sqrt(a) - sqrt(b))² (Dowson & Landau 1982).
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    mu_1, mu_2 = np.array([0.0, 1.0, 2.0]), np.array([3.0, 1.0, -2.0])
    expected = 9.0 + 16.0 + ((1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 0.5) ** 2)
    assert frechet_distance(mu_1, np.diag(a), mu_2, np.diag(b)) == pytest.approx(expected)
    # A rotation of both Gaussians changes nothing.
    rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    rotated = frechet_distance(
        rotation @ mu_1,
        rotation @ np.diag(a) @ rotation.T,
        rotation @ mu_2,
        rotation @ np.diag(b) @ rotation.T,
    )
    assert rotated == pytest.approx(expected)


def test_one_dimensional_and_identical_gaussians():
    # 1-D: (m1 - m2)² + (s1 - s2)².
    assert frechet_distance(np.array([1.0]), [[4.0]], np.array([-1.0]), [[1.0]]) == pytest.approx(
        4.0 + 1.0
    )
    sigma = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert frechet_distance(np.zeros(2), sigma, np.zeros(2), sigma) == pytest.approx(0, abs=1e-9)
    # A singular covariance (all mass on a line) is fine: FD to itself is 0.
    line = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert frechet_distance(np.zeros(2), line, np.zeros(2), line) == pytest.approx(0, abs=1e-7)


def test_samples_converge_to_the_closed_form():
    rng = np.random.default_rng(1)
    x = rng.normal([0.0, 0.0], [1.0, 2.0], size=(200_000, 2))
    y = rng.normal([1.0, 0.0], [3.0, 2.0], size=(200_000, 2))
    expected = 1.0 + (1 - 3) ** 2 + 0.0
    assert frechet_distance(*gaussian_of(x), *gaussian_of(y)) == pytest.approx(expected, abs=0.05)


@pytest.fixture(scope="module")
def kitti_root_dir():
    root = SHARED_DATA / "kitti" / "training"
    if not root.is_dir():
        pytest.skip(f"real KITTI frames not found at {root} (the shared data folder is absent)")
    return root


def test_fidelity_says_it_skipped_without_weights_and_uses_local_ones(
    kitti_root_dir, tmp_path, monkeypatch
):
    import torch

    from scenegen.cli.app import app

    monkeypatch.delenv("SCENEGEN_FRECHET_WEIGHTS", raising=False)
    runner = CliRunner()
    real = SHARED_DATA / "kitti45" / "training"
    if not real.is_dir():
        pytest.skip(f"the 45 real KITTI frames are not at {real} (shared data folder absent)")
    args = ["fidelity", str(kitti_root_dir), str(real), "-b", "10", "--width", "64"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert SKIPPED in " ".join(result.output.split())
    assert not (tmp_path / "a" / "frechet.json").exists()

    # A user's own network, exported as TorchScript (here a small conv net).
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
    )
    weights = tmp_path / "features.pt"
    torch.jit.script(net).save(str(weights))
    monkeypatch.setenv("SCENEGEN_FRECHET_WEIGHTS", str(weights))
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--frechet-size", "64"])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "b" / "frechet.json").read_text())
    assert saved["feature_dim"] == 4 and saved["frames"] == {"synthetic": 3, "real": 45}
    assert saved["frechet_distance"] > 0
    # The same frames on both sides are at distance 0.
    same = frechet_between(weights, kitti_root_dir, kitti_root_dir, size_px=64)
    assert same["frechet_distance"] == pytest.approx(0.0, abs=1e-6)
