"""Augmentation speed: our camera corruptions vs imagecorruptions and albumentations.

Usage: python benchmarks/bench_augment.py [--kitti PATH] [--repeats N]
Prints markdown tables: ms per 1242x375 image for each ImageNet-C corruption (ours vs the
``imagecorruptions`` package, same severity), the 15 x 5 suite on one frame, our
depth-aware weather vs albumentations' RandomFog / RandomRain / RandomSnow /
RandomSunFlare, and LiDAR fog on a real scan. ``imagecorruptions`` is optional (install it
into the environment for the comparison); on numpy 2 / recent scikit-image some of its
corruptions raise, and those are marked instead of timed.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--kitti", type=Path, default=REPO.parent / "shared" / "data" / "kitti" / "training"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
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
    depth = recover_depth(frame.calibration, frame.points_lidar, frame.rgb).depth_m
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
    print(f"{len(frame.points_lidar)} points.\n")
    print("| severity | visibility m | ms | points out |")
    print("|---:|---:|---:|---:|")
    for s in range(1, 6):
        r = corrupt_points(frame.points_lidar, "fog", s, np.random.default_rng(s))
        ms = _ms(
            lambda s=s: corrupt_points(frame.points_lidar, "fog", s, np.random.default_rng(s)),
            args.repeats,
        )
        print(f"| {s} | {r.params['visibility_m']:.0f} | {ms:.1f} | {len(r.points_lidar)} |")


if __name__ == "__main__":
    main()
