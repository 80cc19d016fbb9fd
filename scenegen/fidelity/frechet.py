"""Optional Fréchet distance on network features (FID with Inception, or DINOv2 features).

Only where the user has the network locally, as a TorchScript file that maps a float32
``(N, 3, H, W)`` batch in [0, 1] to ``(N, D)`` features (export it once with
``torch.jit.script`` / ``torch.jit.trace``; the input normalisation the network expects goes
inside the file). Nothing is downloaded and torchvision is not needed; without weights the
command says it skipped the distance.

The distance between the Gaussians fitted to the two feature sets (Heusel et al. 2017,
"GANs trained by a two time-scale update rule converge to a local Nash equilibrium";
the formula of pytorch-fid's ``calculate_frechet_distance``, with the matrix square root
taken through a symmetric eigen-decomposition instead of ``scipy.linalg.sqrtm``):
``|mu_1 - mu_2|² + Tr(S_1 + S_2 - 2 (S_1 S_2)^½)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.errors import MissingDependencyError, ScenegenError
from scenegen.io import DatasetReader
from scenegen.io.reader import FrameError

SKIPPED = (
    "Fréchet distance (FID / DINOv2) skipped: no network weights given. Pass "
    "--frechet-weights PATH (or set SCENEGEN_FRECHET_WEIGHTS) to a local TorchScript feature "
    "extractor; weights are never downloaded."
)


def frechet_distance(
    mu_1: np.ndarray, sigma_1: np.ndarray, mu_2: np.ndarray, sigma_2: np.ndarray
) -> float:
    """Fréchet distance between the Gaussians ``N(mu_1, sigma_1)`` and ``N(mu_2, sigma_2)``."""
    mu_1, mu_2 = np.atleast_1d(mu_1).astype(np.float64), np.atleast_1d(mu_2).astype(np.float64)
    sigma_1 = np.atleast_2d(sigma_1).astype(np.float64)
    sigma_2 = np.atleast_2d(sigma_2).astype(np.float64)
    if mu_1.shape != mu_2.shape or sigma_1.shape != sigma_2.shape:
        raise ValueError("the two Gaussians have different dimensions")
    # Tr (S_1 S_2)^½ = sum of the square roots of the eigenvalues of the symmetric
    # S_1^½ S_2 S_1^½ (similar to S_1 S_2): exact for singular covariances too.
    root_1 = _psd_sqrt(sigma_1)
    eigen = np.linalg.eigvalsh(root_1 @ sigma_2 @ root_1)
    trace_covmean = float(np.sqrt(np.clip(eigen, 0.0, None)).sum())
    diff = mu_1 - mu_2
    return float(diff @ diff + np.trace(sigma_1) + np.trace(sigma_2) - 2.0 * trace_covmean)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def gaussian_of(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of ``(N, D)`` features."""
    features = np.asarray(features, np.float64)
    if len(features) < 2:
        raise ValueError("at least two feature vectors are needed for a covariance")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def load_extractor(path: Path) -> Any:
    """The TorchScript feature extractor at ``path`` in eval mode."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(
            "the Fréchet distance needs torch: pip install 'scenegen[harness]'"
        ) from None
    path = Path(path)
    if not path.is_file():
        raise ScenegenError(f"{path}: no such weights file (expected a TorchScript .pt file)")
    try:
        return torch.jit.load(str(path), map_location="cpu").eval()
    except RuntimeError as exc:
        raise ScenegenError(f"{path}: not a TorchScript file: {exc}") from None


def network_features(
    extractor: Any, images_u8: Iterable[np.ndarray], size_px: int = 224, batch_size: int = 16
) -> np.ndarray:
    """``(N, D)`` features of uint8 ``(H, W, 3)`` images, each resized to
    ``size_px`` x ``size_px`` (Inception uses 299, DINOv2 224)."""
    import cv2
    import torch

    rows, batch = [], []

    def flush() -> None:
        tensor = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float().div_(255.0)
        with torch.no_grad():
            out = extractor(tensor)
        rows.append(out.reshape(len(batch), -1).cpu().numpy())
        batch.clear()

    for image in images_u8:
        batch.append(cv2.resize(image, (size_px, size_px), interpolation=cv2.INTER_AREA))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return np.concatenate(rows) if rows else np.zeros((0, 0))


def dataset_images(path: Path, fmt: str = "auto") -> Iterable[np.ndarray]:
    """Every readable frame's image of a dataset (unreadable frames are skipped)."""
    for frame in DatasetReader(path, fmt):
        if not isinstance(frame, FrameError):
            yield frame.rgb


def frechet_between(
    weights: Path,
    synthetic: Path,
    real: Path,
    *,
    size_px: int = 224,
    synthetic_format: str = "auto",
    real_format: str = "auto",
) -> dict[str, Any]:
    """The Fréchet distance between two datasets on the features of ``weights``."""
    extractor = load_extractor(weights)
    feats = {
        "synthetic": network_features(
            extractor, dataset_images(synthetic, synthetic_format), size_px
        ),
        "real": network_features(extractor, dataset_images(real, real_format), size_px),
    }
    distance = frechet_distance(*gaussian_of(feats["synthetic"]), *gaussian_of(feats["real"]))
    return {
        "weights": str(weights),
        "input_size_px": size_px,
        "frames": {k: len(v) for k, v in feats.items()},
        "feature_dim": int(feats["real"].shape[1]),
        "frechet_distance": distance,
    }
