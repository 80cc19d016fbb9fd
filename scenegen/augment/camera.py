"""Camera corruptions as albumentations 2.0 transforms.

Every transform samples its parameters in ``get_params`` / ``get_params_dependent_on_data``
from the transform's own generator (seed it with ``A.Compose([...], seed=N)`` or
``transform.set_random_seed(N)``) and applies them with a pure function of
:mod:`scenegen.augment.functional` or :mod:`scenegen.augment.imagenet_c`.

Depth. Weather transforms need metric z-depth (float32 ``(H, W)``, metres; ``inf`` sky,
``nan`` unknown = far). Pass it under the key ``depth`` declared as a mask target, so that
geometric transforms before it move it with the image::

    A.Compose([A.HorizontalFlip(p=0.5), Fog(visibility_m=80)],
              bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels", "transmission"]),
              additional_targets={"depth": "mask"}, seed=7)
    out = aug(image=rgb, depth=depth_m, bboxes=boxes, labels=labels, transmission=[1.0] * len(boxes))

(``scenegen.augment.depth.recover_depth`` gives depth for real frames.) Depth values
<= 0 - e.g. the zero fill of a padding transform - are treated as unknown. Without depth a
weather transform raises an error; ``intrinsics`` (3x3, optional) gives the camera, else a
KITTI-like 81-degree field of view is assumed.

Which boxes the weather hid. Weather transforms (Fog, Rain, Snow) compute, for every box,
the contrast its object keeps, ``exp(-beta d)`` with ``d`` the object's depth (20th
percentile of the depth in its box). It is multiplied into the bbox label field named
``transmission`` when the Compose declares one (so it follows flips, crops and filtering),
and is also in ``transform.get_applied_params()["bbox_transmission"]``. A box whose
transmission is below 0.05 (the visibility definition: beyond the visibility distance) is
invisible: :func:`invisible_boxes`. Boxes without depth get ``nan`` and keep their value.

Geometry. No transform here moves boxes: weather, light and sensor faults keep every pixel
in place, and the ImageNet-C blurs are image-only *by design*, as in COCO-C / KITTI-C where
the clean labels are kept: zoom_blur averages zooms about the image centre with the
unzoomed image, glass_blur shuffles within 4 px, elastic_transform moves pixels by up to
~8 px at severity 5 on a 1242x375 frame, and the reference motion_blur kernel is one-sided,
shifting content by ~12 px along its angle at severity 5 (all bounded in the tests).
"""

from __future__ import annotations

from typing import Any

import albumentations as A  # noqa: N812 (its documented alias)
import numpy as np

from scenegen.augment import functional, imagenet_c
from scenegen.augment.severity import (
    CAMERA_TABLES,
    IMAGENET_C_NAMES,
    WEATHER,
    camera_parameters,
    check_severity,
)
from scenegen.effects import fog_extinction_per_m, rain_extinction_per_m, snow_extinction_per_m

TRANSMISSION_FIELD = "transmission"
DEPTH_KEY = "depth"
INTRINSICS_KEY = "intrinsics"


def invisible_boxes(transmission: np.ndarray) -> np.ndarray:
    """Bool ``(N,)``: boxes whose object kept less than 5 % contrast (``nan`` = visible)."""
    t = np.asarray(transmission, np.float64)
    return np.isfinite(t) & (t < functional.INVISIBLE_CONTRAST)


def _seed(generator: np.random.Generator) -> int:
    return int(generator.integers(0, 2**63 - 1))


class _WeatherTransform(A.DualTransform):
    """Base of the depth-aware transforms: pixels change, geometry does not."""

    class InitSchema(A.DualTransform.InitSchema):
        pass

    def __init__(self, p: float = 1.0) -> None:
        super().__init__(p=p)

    # -- what the subclass provides
    def extinction_per_m(self) -> float:
        return 0.0

    def needs_depth(self) -> bool:
        return True

    def render(self, img: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def sample(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {}

    # -- albumentations protocol
    def get_params(self) -> dict[str, Any]:
        return {"seed": _seed(self.random_generator)}

    def get_params_dependent_on_data(
        self, params: dict[str, Any], data: dict[str, Any]
    ) -> dict[str, Any]:
        height, width = params["shape"][:2]
        depth = data.get(DEPTH_KEY)
        if depth is None:
            if self.needs_depth():
                raise ValueError(
                    f"{type(self).__name__} needs metric depth: pass depth=<float32 (H, W) metres> "
                    "and declare additional_targets={'depth': 'mask'} in A.Compose"
                )
            depth_m = None
        else:
            from scenegen.augment.depth import check_metric_depth

            depth_m = check_metric_depth(np.asarray(depth), name="depth")
            if depth_m.shape[:2] != (height, width):
                raise ValueError(f"depth has shape {depth_m.shape}, image is {(height, width)}")
            depth_m = np.where(depth_m > 0, depth_m, np.nan).astype(np.float32)
        K = functional.intrinsics_or_default(data.get(INTRINSICS_KEY), height, width)
        out: dict[str, Any] = {"depth_m": depth_m, "K": K}
        beta = self.extinction_per_m()
        bboxes = data.get("bboxes")
        if bboxes is not None and depth_m is not None and len(bboxes):
            px = np.asarray(bboxes, np.float64)[:, :4] * [width, height, width, height]
            out["bbox_transmission"] = functional.box_transmission(
                functional.object_depth_m(depth_m, px), beta
            )
        else:
            out["bbox_transmission"] = np.ones(0 if bboxes is None else len(bboxes), np.float32)
        out.update(self.sample({**params, **out}, data))
        return out

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return self.render(img, params)

    def apply_to_mask(self, mask: np.ndarray, **params: Any) -> np.ndarray:
        return mask

    def apply_to_keypoints(self, keypoints: np.ndarray, **params: Any) -> np.ndarray:
        return keypoints

    def apply_to_bboxes(self, bboxes: np.ndarray, **params: Any) -> np.ndarray:
        processor = self.get_processor("bboxes")
        fields = list(processor.params.label_fields or []) if processor is not None else []
        transmission = params.get("bbox_transmission")
        if (
            TRANSMISSION_FIELD not in fields
            or transmission is None
            or len(transmission) != len(bboxes)
        ):
            return bboxes
        column = bboxes.shape[1] - len(fields) + fields.index(TRANSMISSION_FIELD)
        out = bboxes.copy()
        known = np.isfinite(transmission)
        out[known, column] *= transmission[known]
        return out


class Fog(_WeatherTransform):
    """Koschmieder fog of meteorological optical range ``visibility_m`` (metres)."""

    class InitSchema(_WeatherTransform.InitSchema):
        visibility_m: float

    def __init__(self, visibility_m: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        fog_extinction_per_m(visibility_m)  # validates
        self.visibility_m = float(visibility_m)

    def extinction_per_m(self) -> float:
        return fog_extinction_per_m(self.visibility_m)

    def render(self, img: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return functional.fog(img, params["depth_m"], self.visibility_m, params["K"])

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("visibility_m",)


class Rain(_WeatherTransform):
    """Rain falling at ``rate_mm_h``: extinction and the streaks of one exposure."""

    class InitSchema(_WeatherTransform.InitSchema):
        rate_mm_h: float

    def __init__(self, rate_mm_h: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.rate_mm_h = float(rate_mm_h)
        rain_extinction_per_m(self.rate_mm_h)

    def extinction_per_m(self) -> float:
        return rain_extinction_per_m(self.rate_mm_h)

    def render(self, img: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        rng = np.random.default_rng(params["seed"])
        return functional.rain(img, params["depth_m"], self.rate_mm_h, params["K"], rng)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("rate_mm_h",)


class Snow(_WeatherTransform):
    """Snow falling at ``rate_mm_h`` (water equivalent); ``ground_cover`` in [0, 1] settles
    snow on the ground (found from depth and the ground plane of a level camera)."""

    class InitSchema(_WeatherTransform.InitSchema):
        rate_mm_h: float
        ground_cover: float = 0.0
        camera_height_m: float = 1.65

    def __init__(
        self,
        rate_mm_h: float,
        ground_cover: float = 0.0,
        camera_height_m: float = 1.65,
        p: float = 1.0,
    ) -> None:
        super().__init__(p=p)
        self.rate_mm_h = float(rate_mm_h)
        snow_extinction_per_m(self.rate_mm_h)
        if not 0.0 <= ground_cover <= 1.0:
            raise ValueError(f"ground_cover must be in [0, 1], got {ground_cover!r}")
        self.ground_cover = float(ground_cover)
        self.camera_height_m = float(camera_height_m)

    def extinction_per_m(self) -> float:
        return snow_extinction_per_m(self.rate_mm_h)

    def sample(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"ground_mask": _ground_mask(params["depth_m"], params["K"], self.camera_height_m)}

    def render(self, img: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        rng = np.random.default_rng(params["seed"])
        return functional.snow(
            img,
            params["depth_m"],
            self.rate_mm_h,
            params["K"],
            rng,
            params["ground_mask"],
            self.ground_cover,
        )

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("rate_mm_h", "ground_cover", "camera_height_m")


def _ground_mask(depth_m: np.ndarray, K: np.ndarray, camera_height_m: float) -> np.ndarray:
    return functional.level_ground_mask(depth_m, K, camera_height_m)


class Night(_WeatherTransform):
    """Low light: scene light times ``light_scale`` with the sensor noise of the gain."""

    class InitSchema(_WeatherTransform.InitSchema):
        light_scale: float

    def __init__(self, light_scale: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        if not 0 < light_scale <= 1:
            raise ValueError(f"light_scale must be in (0, 1], got {light_scale!r}")
        self.light_scale = float(light_scale)

    def needs_depth(self) -> bool:
        return False

    def render(self, img: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        rng = np.random.default_rng(params["seed"])
        # Depth, when given, darkens the sky and places the ego car's low beams.
        return functional.night(
            img, rng, self.light_scale, depth_m=params["depth_m"], K=params["K"]
        )

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("light_scale",)


class SunGlare(_WeatherTransform):
    """A low sun near the top of the frame: veiling glare of ``strength`` (radiance 10 deg
    from the sun; 0.05 clean lens ... 0.5 dirty windshield). ``sun_uv`` fixes the sun's
    pixel; by default it is drawn in the upper third, across the middle 80 % of the width."""

    class InitSchema(_WeatherTransform.InitSchema):
        strength: float
        sun_uv: tuple[float, float] | None = None

    def __init__(
        self, strength: float, sun_uv: tuple[float, float] | None = None, p: float = 1.0
    ) -> None:
        super().__init__(p=p)
        if not np.isfinite(strength) or strength < 0:
            raise ValueError(f"strength must be a finite number >= 0, got {strength!r}")
        self.strength = float(strength)
        self.sun_uv = sun_uv

    def needs_depth(self) -> bool:
        return False

    def sample(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        if self.sun_uv is not None:
            return {"sun_uv": tuple(map(float, self.sun_uv))}
        rng = np.random.default_rng(params["seed"])
        return {
            "sun_uv": (float(rng.uniform(0.1, 0.9) * width), float(rng.uniform(0.0, 0.33) * height))
        }

    def render(self, img: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return functional.sun_glare(
            img, params["depth_m"], params["sun_uv"], self.strength, params["K"]
        )

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("strength", "sun_uv")


class WetRoad(_WeatherTransform):
    """Wet road of ``road_wetness`` (0 dry ... 1 standing water): darker asphalt and the
    scene's glossy reflection. The road is found from depth: pixels on the plane of a level
    camera ``camera_height_m`` above it."""

    class InitSchema(_WeatherTransform.InitSchema):
        road_wetness: float
        camera_height_m: float = 1.65

    def __init__(self, road_wetness: float, camera_height_m: float = 1.65, p: float = 1.0) -> None:
        super().__init__(p=p)
        if not 0.0 <= road_wetness <= 1.0:
            raise ValueError(f"road_wetness must be in [0, 1], got {road_wetness!r}")
        self.road_wetness = float(road_wetness)
        self.camera_height_m = float(camera_height_m)

    def sample(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"ground_mask": _ground_mask(params["depth_m"], params["K"], self.camera_height_m)}

    def render(self, img: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        K = params["K"]
        return functional.wet_road(
            img,
            params["depth_m"],
            params["ground_mask"],
            self.road_wetness,
            K,
            self.camera_height_m,
            float(K[1, 2]),
        )

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("road_wetness", "camera_height_m")


class SensorFault(A.ImageOnlyTransform):
    """One of the sensor faults of :data:`scenegen.augment.severity.SENSOR_FAULTS` at a
    severity 1-5 (the parameters are in ``CAMERA_TABLES``)."""

    class InitSchema(A.ImageOnlyTransform.InitSchema):
        name: str
        severity: int

    def __init__(self, name: str, severity: int, p: float = 1.0) -> None:
        super().__init__(p=p)
        if name in WEATHER or name not in CAMERA_TABLES:
            raise ValueError(
                f"unknown sensor fault {name!r}; expected one of {[n for n in CAMERA_TABLES if n not in WEATHER]}"
            )
        self.name = name
        self.severity = check_severity(severity)

    def get_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"seed": _seed(self.random_generator)}
        if self.name == "motion_blur":
            params["angle_deg"] = float(self.random_generator.uniform(-30, 30))
        return params

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return apply_sensor_fault(img, self.name, self.severity, params)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("name", "severity")


def apply_sensor_fault(
    img: np.ndarray, name: str, severity: int, params: dict[str, Any]
) -> np.ndarray:
    """Pure application of a sensor fault with sampled ``params`` (``seed``, ``angle_deg``)."""
    c = camera_parameters(name, severity)
    rng = np.random.default_rng(params["seed"])
    if name == "sensor_noise":
        return functional.sensor_noise(img, rng, c["electrons_at_white"])
    if name == "motion_blur":
        return functional.motion_blur(img, c["length_px"], params.get("angle_deg", 0.0))
    if name == "defocus":
        return functional.defocus(img, c["radius_px"])
    if name == "gaussian_blur":
        return functional.gaussian_blur(img, c["sigma_px"])
    if name == "lens_dirt":
        return functional.lens_dirt(img, rng, int(c["spots"]), c["opacity"])
    if name == "water_drops":
        return functional.water_drops(img, rng, int(c["drops"]), c["radius_px"])
    if name in ("overexposure", "underexposure"):
        return functional.exposure(img, c["stops"])
    if name == "dead_pixels":
        return functional.dead_pixels(img, rng, c["share"], int(c["dead_columns"]))
    if name == "jpeg":
        return functional.jpeg(img, int(c["quality"]))
    if name == "pixelate":
        return functional.pixelate(img, c["scale"])
    raise ValueError(f"unknown sensor fault {name!r}")


class ImageNetC(A.ImageOnlyTransform):
    """ImageNet-C corruption ``name`` (e.g. ``"zoom_blur"``) at ``severity`` 1-5, with the
    benchmark's parameter tables (:mod:`scenegen.augment.imagenet_c`)."""

    class InitSchema(A.ImageOnlyTransform.InitSchema):
        name: str
        severity: int

    def __init__(self, name: str, severity: int, p: float = 1.0) -> None:
        super().__init__(p=p)
        if name not in imagenet_c.IMAGENET_C:
            raise ValueError(
                f"unknown ImageNet-C corruption {name!r}; expected one of {list(imagenet_c.IMAGENET_C)}"
            )
        self.name = name
        self.severity = check_severity(severity)

    def get_params(self) -> dict[str, Any]:
        return {"seed": _seed(self.random_generator)}

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return imagenet_c.corrupt(
            img, self.name, self.severity, np.random.default_rng(params["seed"])
        )

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("name", "severity")


def corruption_transform(name: str, severity: int, p: float = 1.0) -> A.BasicTransform:
    """The transform for corruption ``name`` (see ``severity.CAMERA_CORRUPTIONS``) at ``severity``."""
    c = camera_parameters(name, severity)
    if name in IMAGENET_C_NAMES:
        return ImageNetC(name.removeprefix("ic_"), severity, p=p)
    if name == "fog":
        return Fog(c["visibility_m"], p=p)
    if name == "rain":
        return Rain(c["rate_mm_h"], p=p)
    if name == "snow":
        return Snow(c["rate_mm_h"], ground_cover=c["ground_cover"], p=p)
    if name == "night":
        return Night(c["light_scale"], p=p)
    if name == "sun_glare":
        return SunGlare(c["strength"], p=p)
    if name == "wet_road":
        return WetRoad(c["road_wetness"], p=p)
    return SensorFault(name, severity, p=p)
