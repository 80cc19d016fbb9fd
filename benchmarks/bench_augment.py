"""Augmentation speed: our camera corruptions vs imagecorruptions and albumentations.

Usage: python benchmarks/bench_augment.py [--kitti PATH] [--repeats N] [--stats] [--depth]
Prints markdown tables: ms per 1242x375 image for each ImageNet-C corruption (ours vs the
``imagecorruptions`` package, same severity), the 15 x 5 suite on one frame, our
depth-aware weather vs albumentations' RandomFog / RandomRain / RandomSnow /
RandomSunFlare, and LiDAR fog on a real scan. ``imagecorruptions`` is optional (install it
into the environment for the comparison); on numpy 2 / recent scikit-image some of its
corruptions raise, and those are marked instead of timed.

``--stats`` adds the statistics of frost and glass blur against the reference on real
KITTI frames (the numbers tests/test_augment_imagenet_c_reference.py holds): the reference's
glass_blur is run as its published loop with ``channel_axis=-1`` (the package passes the
``multichannel`` argument recent scikit-image removed), about a minute.

``--depth`` prints only the depth recovery of real frames (augment/depth.py), with the
image and LiDAR-only, median ms per frame over the KITTI folder's frames.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scenegen.augment import imagenet_c  # noqa: E402
from scenegen.augment.camera import Fog, Rain, Snow, SunGlare  # noqa: E402
from scenegen.augment.depth import recover_depth  # noqa: E402
from scenegen.augment.lidar import corrupt_points  # noqa: E402
from scenegen.io import read_kitti_frame  # noqa: E402


def _ms(fn, repeats: int) -> float:
    fn()  # warm (tables, textures, caches)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def import_imagecorruptions():
    """The registry package, with a stand-in for ``pkg_resources`` (removed from recent
    setuptools; the package only uses it to locate its frost images)."""
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            shim = types.ModuleType("pkg_resources")

            def resource_filename(module: str, name: str) -> str:
                # The package passes its module's __name__ and a path relative to it.
                return str(Path(sys.modules[module].__file__).parent / name)

            shim.resource_filename = resource_filename
            sys.modules["pkg_resources"] = shim
    try:
        import imagecorruptions

        return imagecorruptions, None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


STATS_FRAMES = ("kitti/training/000001", "kitti45/training/000010", "kitti45/training/000030")
GLASS_CROP = (slice(60, 340), slice(100, 1100))


def _read_rgb(data: Path, name: str) -> np.ndarray:
    folder, frame_id = name.rsplit("/", 1)
    import cv2

    return np.ascontiguousarray(
        cv2.imread(str(data / folder / "image_2" / f"{frame_id}.png"))[..., ::-1]
    )


def reference_glass_blur(x: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """imagecorruptions 1.1.2 glass_blur, verbatim but for ``channel_axis=-1``."""
    from skimage.filters import gaussian

    np.random.seed(seed)  # the reference draws from numpy's global state
    c = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)][severity - 1]
    x = np.uint8(gaussian(np.array(x) / 255.0, sigma=c[0], channel_axis=-1) * 255)
    shape = x.shape
    for _ in range(c[2]):
        for h in range(shape[0] - c[1], c[1], -1):
            for w in range(shape[1] - c[1], c[1], -1):
                dx, dy = np.random.randint(-c[1], c[1], size=(2,))
                hp, wp = h + dy, w + dx
                x[h, w], x[hp, wp] = x[hp, wp], x[h, w]
    return np.uint8(np.clip(gaussian(x / 255.0, sigma=c[0], channel_axis=-1), 0, 1) * 255)


def sharpness(image: np.ndarray) -> float:
    """Mean Sobel gradient magnitude of the grey image (8 px border left out)."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    return float(np.hypot(gx, gy)[8:-8, 8:-8].mean())


def content_shift_px(image: np.ndarray, clean: np.ndarray) -> float:
    """How far the content moved (phase correlation of the grey images, pixels)."""
    import cv2

    a = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY).astype(np.float32)
    b = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    (dx, dy), _ = cv2.phaseCorrelate(a, b)
    return float(np.hypot(dx, dy))


def print_stats(data: Path, ic) -> None:
    frames = [_read_rgb(data, n) for n in STATS_FRAMES]
    print("## ImageNet-C frost vs the reference, real KITTI frames\n")
    print(
        "Change of the frame, `corrupted - clean` in 0-255 codes: mean and standard deviation, "
        "averaged per texture / photograph (30 seeds x frames 000001 and 000010).\n"
    )
    print("| severity | reference mean | ours mean | reference std | ours std |")
    print("|---:|---:|---:|---:|---:|")
    from imagecorruptions import corruptions as reference

    for s in range(1, 6):
        per = {"ref": {}, "ours": {}}
        for seed in range(30):
            for frame in frames[:2]:
                np.random.seed(seed)
                photo = np.random.randint(5)
                np.random.seed(seed)
                d = np.uint8(reference.frost(frame, s)).astype(np.float64) - frame
                per["ref"].setdefault(photo, []).append((d.mean(), d.std()))
                variant = int(np.random.default_rng(seed).integers(5))
                d = (
                    imagenet_c.frost(frame, s, np.random.default_rng(seed)).astype(np.float64)
                    - frame
                )
                per["ours"].setdefault(variant, []).append((d.mean(), d.std()))
        r, o = (np.mean([np.mean(v, axis=0) for v in per[k].values()], axis=0) for k in per)
        print(f"| {s} | {r[0]:.1f} | {o[0]:.1f} | {r[1]:.1f} | {o[1]:.1f} |")
    textures = [imagenet_c.frost_texture(v) for v in range(5)]
    print(
        f"\nTexture: mean {np.mean([t.mean() for t in textures]):.1f}, "
        f"std {np.mean([t.std() for t in textures]):.1f} (reference photographs as cropped "
        "for 1242x375: 161.6 and 29.7; whole photographs 164 and 33).\n"
    )
    print("## ImageNet-C glass blur vs the reference, real KITTI crops\n")
    print(
        "Detail left (mean gradient magnitude / clean) and content shift (phase correlation, "
        "px, worst of three crops: rows 60-340, columns 100-1100 of frames 000001, 000010, "
        "000030).\n"
    )
    print("| severity | reference detail | ours detail | reference shift px | ours shift px |")
    print("|---:|---:|---:|---:|---:|")
    crops = [np.ascontiguousarray(f[GLASS_CROP]) for f in frames]
    for s in range(1, 6):
        ref = [reference_glass_blur(c, s, s + k) for k, c in enumerate(crops)]
        ours = [
            imagenet_c.glass_blur(c, s, np.random.default_rng(100 + k)) for k, c in enumerate(crops)
        ]
        rd = np.mean([sharpness(x) / sharpness(c) for x, c in zip(ref, crops, strict=True)])
        od = np.mean([sharpness(x) / sharpness(c) for x, c in zip(ours, crops, strict=True)])
        rs = max(content_shift_px(x, c) for x, c in zip(ref, crops, strict=True))
        os_ = max(content_shift_px(x, c) for x, c in zip(ours, crops, strict=True))
        print(f"| {s} | {rd:.3f} | {od:.3f} | {rs:.2f} | {os_:.2f} |")
    print()


def depth_markdown(kitti: Path, repeats: int) -> str:
    """Median ms of ``recover_depth`` per real frame, with the image and without."""
    lines = [
        f"| frame | with the image, ms (median of {repeats}) | LiDAR only, ms |",
        "|---|---:|---:|",
    ]
    for path in sorted((kitti / "velodyne").glob("*.bin")):
        frame = read_kitti_frame(kitti, path.stem)
        calib, xyz, rgb = frame.calibration, frame.points.xyz, frame.rgb
        recover_depth(calib, xyz, rgb)  # warm-up
        with_image = _ms(lambda c=calib, x=xyz, r=rgb: recover_depth(c, x, r), repeats)
        lidar_only = _ms(lambda c=calib, x=xyz: recover_depth(c, x), repeats)
        lines.append(f"| {path.stem} | {with_image:.0f} | {lidar_only:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--kitti", type=Path, default=REPO.parent / "shared" / "data" / "kitti" / "training"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stats", action="store_true", help="frost / glass blur vs reference")
    parser.add_argument("--depth", action="store_true", help="only depth recovery timings")
    args = parser.parse_args()
    if args.depth:
        print(depth_markdown(args.kitti, args.repeats))
        return
    frame = read_kitti_frame(args.kitti, "000001")
    image = frame.rgb
    assert image.shape == (375, 1242, 3)
    rng = np.random.default_rng(0)
    warnings.simplefilter("ignore")

    ic, why = import_imagecorruptions()
    print(
        f"# Augmentation benchmark ({image.shape[1]}x{image.shape[0]}, median of {args.repeats})\n"
    )
    print(
        f"imagecorruptions: {'version ' + getattr(ic, '__version__', '1.1.2') if ic else 'not importable: ' + str(why)}\n"
    )
    if args.stats:
        if ic is None:
            print("--stats needs imagecorruptions and scikit-image (the bench extra)\n")
        else:
            print_stats(args.kitti.parent.parent, ic)
    print("## ImageNet-C corruptions, ms per image (mean over severities 1-5)\n")
    print("| corruption | scenegen ms | imagecorruptions ms | speed-up |")
    print("|---|---:|---:|---:|")
    ours_total = 0.0
    for name in imagenet_c.IMAGENET_C:
        ours = statistics.mean(
            _ms(lambda s=s, n=name: imagenet_c.corrupt(image, n, s, rng), args.repeats)
            for s in range(1, 6)
        )
        ours_total += ours * 5
        ref_txt, speed = "n/a", ""
        if ic is not None:
            try:
                ref = statistics.mean(
                    _ms(lambda s=s, n=name: ic.corrupt(image, corruption_name=n, severity=s), 1)
                    for s in range(1, 6)
                )
                ref_txt, speed = f"{ref:.1f}", f"{ref / ours:.1f}x"
            except Exception as exc:
                ref_txt = f"fails: {type(exc).__name__}: {str(exc)[:60]}"
        print(f"| {name} | {ours:.1f} | {ref_txt} | {speed} |")

    def suite() -> None:
        for name in imagenet_c.IMAGENET_C:
            for s in range(1, 6):
                imagenet_c.corrupt(image, name, s, rng)

    print(f"\n15 x 5 suite on one frame: {_ms(suite, args.repeats) / 1000:.2f} s (warm)\n")

    print("## Weather: depth-aware (scenegen) vs albumentations, ms per image\n")
    t = time.perf_counter()
    depth = recover_depth(frame.calibration, frame.points.xyz, frame.rgb).depth_m
    depth_ms = (time.perf_counter() - t) * 1000
    import albumentations as A  # noqa: N812

    K = frame.calibration.intrinsics.K
    pairs = [
        ("fog (visibility 50 m)", Fog(50.0), A.RandomFog(p=1.0)),
        ("rain (7.29 mm/h)", Rain(7.29), A.RandomRain(p=1.0)),
        ("snow (7.29 mm/h)", Snow(7.29), A.RandomSnow(p=1.0)),
        ("sun glare", SunGlare(0.3), A.RandomSunFlare(p=1.0)),
    ]
    print("| effect | scenegen ms | albumentations ms |")
    print("|---|---:|---:|")
    for label, ours_t, alb_t in pairs:
        ours = _ms(lambda t=ours_t: t(image=image, depth=depth, intrinsics=K), args.repeats)
        alb = _ms(lambda t=alb_t: t(image=image), args.repeats)
        print(f"| {label} | {ours:.1f} | {alb:.1f} |")
    print(f"\nDepth recovery (LiDAR + ground plane), once per frame: {depth_ms:.1f} ms\n")

    print("## LiDAR fog on a real KITTI scan\n")
    print(f"{len(frame.points)} points.\n")
    print("| severity | visibility m | ms | points out |")
    print("|---:|---:|---:|---:|")
    for s in range(1, 6):
        r = corrupt_points(frame.points, "fog", s, np.random.default_rng(s))
        ms = _ms(
            lambda s=s: corrupt_points(frame.points, "fog", s, np.random.default_rng(s)),
            args.repeats,
        )
        print(f"| {s} | {r.params['visibility_m']:.0f} | {ms:.1f} | {len(r.points)} |")


if __name__ == "__main__":
    main()
