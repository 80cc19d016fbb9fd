"""Physical camera effects: weather, lighting and sensor models as pure functions.

Each effect takes linear radiance (float32 ``(H, W, 3)``, 1.0 = diffuse white in
daylight), a metric z-depth map (``inf`` = sky, ``nan`` = unknown) and physical
parameters (visibility in metres, rain rate in mm/h, ...), plus an explicit
``numpy.random.Generator`` where it draws random numbers. Inputs are never modified.
The renderer calls these with exact depth; augmentation of real frames calls them with
depth recovered from LiDAR and the ground plane, so one severity means the same weather.
"""

from scenegen.effects.color import filmic_tone_map, linear_to_srgb_u8, srgb_to_linear
from scenegen.effects.fog import (
    airlight_from_image,
    airlight_from_sky,
    apply_fog,
    fog_extinction_per_m,
    fog_glow,
    fog_transmission,
    transmission_for_extinction,
)
from scenegen.effects.glare import apply_sun_glare, sun_uv_from_direction, veiling_glare
from scenegen.effects.rain import (
    apply_rain,
    rain_attenuation_db_per_km_measured,
    rain_extinction_per_m,
    rain_streak_alpha,
    rain_visibility_m,
    sample_rain_streaks,
)
from scenegen.effects.sensor import apply_sensor_noise, bloom
from scenegen.effects.snow import (
    apply_snow,
    sample_snowflakes,
    settled_cover_for_rate,
    snow_extinction_per_m,
    snow_patch_field,
    snow_patch_level,
    snow_visibility_m,
    snowflake_alpha,
)
from scenegen.effects.wet_road import apply_wet_road, fresnel_reflectance, wet_albedo_ratio

__all__ = [
    "airlight_from_image",
    "airlight_from_sky",
    "apply_fog",
    "apply_rain",
    "apply_sensor_noise",
    "apply_snow",
    "apply_sun_glare",
    "apply_wet_road",
    "bloom",
    "filmic_tone_map",
    "fog_extinction_per_m",
    "fog_glow",
    "fog_transmission",
    "fresnel_reflectance",
    "linear_to_srgb_u8",
    "rain_attenuation_db_per_km_measured",
    "rain_extinction_per_m",
    "rain_streak_alpha",
    "rain_visibility_m",
    "sample_rain_streaks",
    "sample_snowflakes",
    "settled_cover_for_rate",
    "snow_extinction_per_m",
    "snow_patch_field",
    "snow_patch_level",
    "snow_visibility_m",
    "snowflake_alpha",
    "srgb_to_linear",
    "sun_uv_from_direction",
    "transmission_for_extinction",
    "veiling_glare",
    "wet_albedo_ratio",
]
