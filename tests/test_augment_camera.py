"""Camera corruptions: seeded, severity-monotone, physically right fog, box-safe."""

from __future__ import annotations

import albumentations as A  # noqa: N812 (its documented alias)
import cv2
import numpy as np
import pytest

from scenegen.augment import imagenet_c
from scenegen.augment.camera import Fog, ImageNetC, corruption_transform, invisible_boxes
from scenegen.augment.severity import CAMERA_CORRUPTIONS
from scenegen.effects import fog_extinction_per_m, linear_to_srgb_u8, srgb_to_linear

H, W = 96, 192


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured street-like image with a level-camera depth map (ground + a wall + sky)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(40, 200, size=(H, W, 3), dtype=np.uint8)
    image[:30] = (150, 190, 240)  # sky
    image[40:70, 80:110] = (200, 30, 30)  # a red object
    v = np.arange(H, dtype=np.float32)[:, None] + 0.5
    depth = np.where(v > H / 2, 1.65 * 150 / np.maximum(v - H / 2, 1e-3), 40.0).astype(np.float32)
    depth = np.broadcast_to(depth, (H, W)).copy()
    depth[:30] = np.inf
    depth[40:70, 80:110] = 25.0
    return image, depth


def _run(name: str, severity: int, seed: int) -> np.ndarray:
    image, depth = _scene()
    aug = A.Compose(
        [corruption_transform(name, severity)], additional_targets={"depth": "mask"}, seed=seed
    )
    return aug(image=image, depth=depth)["image"]


@pytest.mark.parametrize("name", CAMERA_CORRUPTIONS)
def test_each_transform_is_deterministic_for_a_seed_and_severity_5_is_stronger(name: str) -> None:
    clean, _ = _scene()
    a, b = _run(name, 3, seed=11), _run(name, 3, seed=11)
    assert np.array_equal(a, b)
    # measured, not assumed: structural distance (1 - SSIM) from the clean image
    d1, d5 = _ssim_distance(_run(name, 1, 5), clean), _ssim_distance(_run(name, 5, 5), clean)
    assert d5 > d1 > 0, (name, d1, d5)


def _ssim_distance(image: np.ndarray, clean: np.ndarray) -> float:
    """1 - SSIM (Wang et al. 2004, 11x11 Gaussian window) of the grey images."""
    x = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY).astype(np.float64)

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ssim = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(1 - ssim.mean())


def test_random_corruptions_differ_between_seeds() -> None:
    assert not np.array_equal(_run("ic_gaussian_noise", 2, 1), _run("ic_gaussian_noise", 2, 2))
    assert not np.array_equal(_run("rain", 5, 1), _run("rain", 5, 2))


def test_fog_transmission_follows_exp_minus_beta_d_on_a_known_depth() -> None:
    depth_m = np.tile(np.linspace(5, 300, W, dtype=np.float32), (H, 1))
    black = np.zeros((H, W, 3), np.uint8)
    white_sky = np.full((H, W, 3), 255, np.uint8)
    # Airlight from the image's brightest sky: put a white sky row on top at infinite depth.
    image = black.copy()
    image[:4] = white_sky[:4]
    depth_m[:4] = np.inf
    visibility_m = 100.0
    out = Fog(visibility_m)(image=image, depth=depth_m, intrinsics=None)["image"]
    # For a black surface, I = A (1 - t): t = 1 - I / A (compare in linear light).
    lin = srgb_to_linear(out)[10:, :, 1]
    airlight = float(srgb_to_linear(out)[0, W // 2, 1])
    t_measured = 1 - lin / airlight
    # z-depth along rows; ray length grows off-axis, so compare on the centre row's ray path
    from scenegen.augment.functional import default_intrinsics
    from scenegen.effects.common import ray_length_per_depth

    path = depth_m[10:] * ray_length_per_depth(default_intrinsics(H, W), H, W)[10:]
    t_expected = np.exp(-fog_extinction_per_m(visibility_m) * path)
    assert np.allclose(t_measured, t_expected, atol=0.02)
    # the 5 % contrast point lies at the visibility distance
    assert abs(np.exp(-fog_extinction_per_m(visibility_m) * visibility_m) - 0.05) < 1e-9


def test_compose_with_bboxes_keeps_boxes_aligned_and_reports_invisible_ones() -> None:
    image, depth = _scene()
    boxes = [[80, 40, 110, 70], [10, 60, 30, 90]]  # the object at 25 m, ground patch near
    aug = A.Compose(
        [A.HorizontalFlip(p=1.0), Fog(visibility_m=20.0), ImageNetC("zoom_blur", 3)],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels", "transmission"]),
        additional_targets={"depth": "mask"},
        seed=4,
    )
    out = aug(
        image=image, depth=depth, bboxes=boxes, labels=["car", "debris"], transmission=[1.0, 1.0]
    )
    flipped = np.array([[W - 110, 40, W - 80, 70], [W - 30, 60, W - 10, 90]], float)
    assert np.allclose(np.asarray(out["bboxes"]), flipped)
    assert np.array_equal(out["depth"], depth[:, ::-1])  # depth moved with the image
    t = np.asarray(out["transmission"])
    beta = fog_extinction_per_m(20.0)
    assert t[0] == pytest.approx(np.exp(-beta * 25.0), rel=1e-3)  # object at 25 m > 20 m
    assert t[1] > t[0]
    assert invisible_boxes(t).tolist() == [True, False]


def test_weather_without_depth_is_a_clear_error() -> None:
    image, _ = _scene()
    with pytest.raises(ValueError, match="needs metric depth"):
        Fog(visibility_m=50)(image=image)


# How far each pixel-moving ImageNet-C corruption moves an object's centre at severity 5
# (pixels). motion_blur's reference kernel is one-sided (weights exp(-i^2 / 2 sigma^2) for
# offsets 0..2r), so it shifts content by ~sigma sqrt(2 / pi) = 12 px along its angle.
_MAX_CENTRE_SHIFT_PX = {
    "glass_blur": 2.0,
    "zoom_blur": 2.0,
    "elastic_transform": 2.0,
    "motion_blur": 13.0,
}


@pytest.mark.parametrize("name", sorted(imagenet_c.MOVES_PIXELS))
def test_pixel_moving_corruptions_keep_an_object_inside_its_box(name: str) -> None:
    """Image-only by design: at severity 5 a bright object's centre stays in place."""
    image = np.zeros((128, 256, 3), np.uint8)
    image[40:90, 100:160] = 255
    out = imagenet_c.corrupt(image, name, 5, np.random.default_rng(0)).astype(float)[..., 0]
    ys, xs = np.mgrid[:128, :256]
    weight = out / out.sum()
    shift = np.hypot((weight * ys).sum() - 64.5, (weight * xs).sum() - 129.5)
    assert shift <= _MAX_CENTRE_SHIFT_PX[name]


def test_elastic_displacement_is_bounded_on_a_kitti_sized_frame() -> None:
    worst = max(
        imagenet_c.elastic_displacement_px((375, 1242), 5, np.random.default_rng(s))
        for s in range(5)
    )
    assert worst < 10.0


def test_imagenet_c_tables_match_the_benchmark() -> None:
    assert imagenet_c.GAUSSIAN_NOISE_STD == (0.08, 0.12, 0.18, 0.26, 0.38)
    assert imagenet_c.SHOT_NOISE_PHOTONS == (60, 25, 12, 5, 3)
    assert imagenet_c.JPEG_QUALITY == (25, 18, 15, 10, 7)
    assert imagenet_c.CONTRAST_FACTOR == (0.4, 0.3, 0.2, 0.1, 0.05)
    # brightness: HSV value + c; a mid-grey pixel moves up by exactly c
    grey = np.full((40, 40, 3), 100, np.uint8)
    assert int(imagenet_c.brightness(grey, 5)[0, 0, 0]) == int((100 / 255 + 0.5) * 255)
    # gaussian noise statistics on a mid-grey image
    out = imagenet_c.gaussian_noise(
        np.full((200, 200, 3), 128, np.uint8), 1, np.random.default_rng(0)
    )
    assert (out.astype(float) / 255).std() == pytest.approx(0.08, rel=0.05)


def test_inputs_are_not_modified() -> None:
    image, depth = _scene()
    before, depth_before = image.copy(), depth.copy()
    for name in CAMERA_CORRUPTIONS:
        _ = corruption_transform(name, 5)(image=image, depth=depth)
    assert np.array_equal(image, before) and np.array_equal(depth, depth_before)
    assert linear_to_srgb_u8(srgb_to_linear(image)).dtype == np.uint8
