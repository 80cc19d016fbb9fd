"""Distributions, the expression grammar, seeds, presets and the sun model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scenegen.errors import ScenarioError
from scenegen.scenario import (
    Choice,
    Constant,
    Normal,
    RandInt,
    TruncNormal,
    Uniform,
    frame_seed,
    load_scenario_text,
    sample_scene,
)
from scenegen.scenario.distributions import FUNCTION_PARAMETERS, build_distribution
from scenegen.scenario.expr import (
    MAX_EXPRESSION_DEPTH,
    Call,
    ExpressionError,
    ListExpr,
    Literal,
    parse_expression,
)
from scenegen.scenario.presets import sun_from_clock, world_sun_azimuth_deg

HEADER = "version: 1\nname: t\n"


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def parse(text: str):
    syntax = parse_expression(text, FUNCTION_PARAMETERS)
    return build_distribution(syntax) if isinstance(syntax, Call) else syntax


# ---------------------------------------------------------------- distributions


def test_uniform_stays_in_its_support_and_covers_it() -> None:
    draws = np.array([Uniform(-2.0, 3.0).sample(g) for g in [rng(1)] for _ in range(4000)])
    assert draws.min() >= -2.0 and draws.max() < 3.0
    assert draws.min() < -1.9 and draws.max() > 2.9
    assert abs(draws.mean() - 0.5) < 0.1


def test_randint_includes_both_ends() -> None:
    generator = rng(2)
    draws = [RandInt(2, 4).sample(generator) for _ in range(3000)]
    assert set(draws) == {2, 3, 4}
    counts = np.bincount(draws)[2:]
    assert counts.min() > 900  # about 1000 each
    assert all(type(d) is int for d in draws)


def test_choice_respects_weights() -> None:
    generator = rng(3)
    choice = Choice(("a", "b", "c"), (6.0, 3.0, 1.0))
    draws = [choice.sample(generator) for _ in range(5000)]
    shares = [draws.count(option) / len(draws) for option in "abc"]
    assert shares == pytest.approx([0.6, 0.3, 0.1], abs=0.03)
    zero = Choice((1, 2), (0.0, 1.0))
    assert {zero.sample(generator) for _ in range(200)} == {2}


def _truncated_mean(mean: float, std: float, low: float, high: float) -> float:
    a, b = (low - mean) / std, (high - mean) / std
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    return mean + std * (pdf(a) - pdf(b)) / (cdf(b) - cdf(a))


@pytest.mark.parametrize(
    "params",
    [(10.0, 3.0, 5.0, 12.0), (0.0, 1.0, 3.0, 4.0), (0.0, 1.0, -4.0, -3.0), (50.0, 100.0, 0.0, 1.0)],
)
def test_truncnormal_stays_within_bounds_with_the_right_mean(params) -> None:
    distribution = TruncNormal(*params)
    generator = rng(4)
    draws = np.array([distribution.sample(generator) for _ in range(4000)])
    low, high = params[2], params[3]
    assert draws.min() >= low and draws.max() <= high
    spread = high - low
    assert abs(draws.mean() - _truncated_mean(*params)) < 0.03 * spread


def test_normal_matches_its_moments() -> None:
    generator = rng(5)
    draws = np.array([Normal(3.0, 2.0).sample(generator) for _ in range(4000)])
    assert abs(draws.mean() - 3.0) < 0.15 and abs(draws.std() - 2.0) < 0.15
    assert Normal(3.0, 2.0).support() == (-math.inf, math.inf)
    assert Normal(3.0, 0.0).support() == (3.0, 3.0)


def test_expressions_build_the_right_distributions() -> None:
    assert parse("uniform(1, 2.5)") == Uniform(1.0, 2.5)
    assert parse("uniform(high=3, low=-1e1)") == Uniform(-10.0, 3.0)
    assert parse("truncnormal(10, 2, 5, 15)") == TruncNormal(10.0, 2.0, 5.0, 15.0)
    assert parse("randint(0, 6)") == RandInt(0, 6)
    assert parse("choice([\"21:30\", '05:45'], weights=[3, 1],)") == Choice(
        ("21:30", "05:45"), (3.0, 1.0)
    )
    assert parse("choice([true, False])") == Choice((True, False))
    assert parse("-3.5") == Literal(-3.5, 0)
    assert isinstance(parse_expression("[1, [2]]", ()), ListExpr)
    # Constants print and re-parse to themselves; so do distributions.
    for text in (
        "uniform(1.0, 2.5)",
        'choice(["a", "b"], weights=[1.0, 2.0])',
        "truncnormal(10.0, 2.0, 5.0, 15.0)",
        "randint(0, 6)",
    ):
        assert str(parse(text)) == text
    assert str(Constant("x")) == '"x"'


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("uniform(2, 1)", 8, "low <= high"),
        ("randint(1.5, 3)", 8, "integer"),
        ("normal(0, -1)", 10, "std"),
        ("truncnormal(0, 0, -1, 1)", 15, "std > 0"),
        ("truncnormal(0, 1, 40, 50)", 0, "almost no probability"),
        ("uniform(1)", 0, "missing high"),
        ("uniform(1, 2, 3)", 14, "too many arguments"),
        ("uniform(low=1, 2)", 15, "positional argument after a keyword"),
        ("uniform(1, low=2)", 11, "given twice"),
        ("uniform(1, top=2)", 11, "unknown argument 'top'"),
        ("choice([])", 7, "non-empty"),
        ("choice([1, 'a'])", 7, "mix"),
        ("choice([1, 2], weights=[1, -1])", 27, "negative"),
        ("choice([1, 2], weights=[0, 0])", 23, "sum to 0"),
        ("choice([1, uniform(0, 1)])", 11, "numbers, strings or booleans"),
        ("uniform(1, 1e999)", 11, "not finite"),
        ("uniform(1, 2", 12, "expected ',' or ')'"),
        ("uniform(1, 2) 3", 14, "expected end of expression"),
        ("uniform(1; 2)", 9, "character ';'"),
        ("os.system('x')", 0, "unknown name 'os'"),
        ("exec('x')", 0, "unknown function 'exec'"),
        ("__import__('os').system('x')", 0, "unknown function '__import__'"),
        ("'unterminated", 0, "unterminated string"),
        ("'bad \\n escape'", 5, "unknown escape"),
        ("lambda: 1", 0, "unknown name"),
        ("123456789012345678901234567890", 0, "too large"),
    ],
)
def test_bad_expressions_point_at_the_culprit(text: str, offset: int, words: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.offset == offset, caught.value.message
    assert words in caught.value.message


def test_expression_limits() -> None:
    depth_ok = "[" * MAX_EXPRESSION_DEPTH + "]" * MAX_EXPRESSION_DEPTH
    assert isinstance(parse_expression(depth_ok, ()), ListExpr)
    with pytest.raises(ExpressionError, match="deeper than 32"):
        parse_expression("[" + depth_ok + "]", ())
    with pytest.raises(ExpressionError, match="at most 1000"):
        parse_expression("1" + " " * 1000, ())


# ---------------------------------------------------------------- seeds


def test_frame_seed_comes_from_seed_sequence() -> None:
    expected = np.random.SeedSequence([7, 3]).generate_state(1, dtype=np.uint32)[0]
    assert frame_seed(7, 3) == int(expected)
    seeds = {frame_seed(7, i) for i in range(1000)}
    assert len(seeds) == 1000 and all(0 <= s < 2**32 for s in seeds)
    assert frame_seed(8, 3) != frame_seed(7, 3)


def test_sample_scene_rejects_bad_frame_arguments() -> None:
    scenario = load_scenario_text(HEADER)
    for frame, seed, n in ((5, 0, 5), (-1, 0, 5), (0, -1, 5), (0, 0, 0)):
        with pytest.raises(ValueError):
            sample_scene(scenario, frame, seed, n)


def test_event_occurrence_follows_its_probability() -> None:
    scenario = load_scenario_text(
        HEADER + "events:\n  - {type: debris, probability: 0.3}\n"
        "  - {type: animal, probability: 0}\n"
    )
    specs = [sample_scene(scenario, i, 11, 2000) for i in range(2000)]
    share = sum(s.events[0].occurs for s in specs) / len(specs)
    assert share == pytest.approx(0.3, abs=0.04)
    assert not any(s.events[1].occurs for s in specs)
    assert all(1 <= s.events[0].params["count"] <= 5 for s in specs)  # default randint(1, 5)
    assert {s.events[1].params["species"] for s in specs} == {"deer"}


# ---------------------------------------------------------------- sun


@pytest.mark.parametrize(
    ("clock", "elevation", "compass"),
    [
        (12.0, 41.0, 180.0),  # solar noon at 49 N, equinox: 90 - 49, due south
        (6.0, 0.0, 90.0),  # sunrise due east
        (18.0, 0.0, 270.0),  # sunset due west
        (0.0, -41.0, 0.0),  # midnight: below the horizon, due north
    ],
)
def test_sun_model(clock: float, elevation: float, compass: float) -> None:
    got_elevation, got_compass = sun_from_clock(clock)
    assert got_elevation == pytest.approx(elevation, abs=1e-9)
    assert (got_compass - compass + 180) % 360 - 180 == pytest.approx(0.0, abs=1e-9)


def test_sun_azimuth_is_turned_into_the_world_frame() -> None:
    # Heading east, the noon sun (south) is on the right: -90 deg, counter-clockwise from +x.
    assert world_sun_azimuth_deg(90.0, 180.0) == -90.0
    assert world_sun_azimuth_deg(0.0, 90.0) == -90.0  # heading north, east is on the right
    assert world_sun_azimuth_deg(90.0, 270.0) == -180.0  # wrapped to [-180, 180)
    text = HEADER + "environment: {time_of_day: '06:00', heading_deg: 90}\n"
    env = sample_scene(load_scenario_text(text), 0, 0, 1).environment
    assert env.sun_elevation_deg == pytest.approx(0.0, abs=1e-9)
    assert env.sun_azimuth_deg == pytest.approx(0.0, abs=1e-9)  # sunrise straight ahead
    night = sample_scene(
        load_scenario_text(HEADER + "environment: {time_of_day: '23:00'}\n"), 0, 0, 1
    ).environment
    assert night.is_night
    direct = HEADER + "environment: {sun: {elevation_deg: 12, azimuth_deg: 45}}\n"
    env = sample_scene(load_scenario_text(direct), 0, 0, 1).environment
    assert (env.sun_elevation_deg, env.sun_azimuth_deg, env.time_of_day) == (12.0, 45.0, None)


# ---------------------------------------------------------------- sensor presets


def test_camera_presets_and_overrides() -> None:
    def camera(body: str):
        return sample_scene(
            load_scenario_text(HEADER + "sensors:\n  camera: " + body + "\n"), 0, 0, 1
        ).camera

    kitti = camera("{preset: kitti}")
    assert (
        kitti.width,
        kitti.height,
        kitti.fx,
        kitti.fy,
        kitti.cx,
        kitti.cy,
        kitti.height_m,
        kitti.pitch_deg,
    ) == (1242, 375, 721.5377, 721.5377, 609.5593, 172.854, 1.65, 0.0)
    nuscenes = camera("{preset: nuscenes}")
    assert (
        nuscenes.width,
        nuscenes.height,
        nuscenes.fx,
        nuscenes.cx,
        nuscenes.cy,
        nuscenes.height_m,
    ) == (1600, 900, 1266.4, 816.3, 491.5, 1.51)
    wide = camera("{preset: wide}")
    assert (wide.width, wide.height) == (1920, 1080)
    # 90 deg horizontal fov: the image edge is 45 deg off axis.
    assert wide.fx == pytest.approx(960.0) and (wide.cx, wide.cy) == (960.0, 540.0)
    pitched = camera("{preset: kitti, pitch_deg: 2}")
    assert pitched.pitch_deg == 2.0 and pitched.fx == 721.5377 and pitched.preset == "kitti"
    custom = camera("{width: 800, height: 600, fov_deg: 60}")
    assert custom.fx == pytest.approx(400.0 / math.tan(math.radians(30.0)))
    assert custom.fy == custom.fx and (custom.cx, custom.cy) == (400.0, 300.0)
    assert custom.preset is None
    jitter = load_scenario_text(HEADER + "sensors:\n  camera: {pitch_deg: 'uniform(-1, 1)'}\n")
    pitches = {sample_scene(jitter, i, 0, 50).camera.pitch_deg for i in range(50)}
    assert len(pitches) == 50 and all(-1 <= p <= 1 for p in pitches)


def test_lidar_presets_custom_beams_and_disabling() -> None:
    def lidar(body: str):
        return load_scenario_text(HEADER + "sensors:\n  lidar: " + body + "\n").lidar

    # A named preset leaves the exact beams to the sensor module (which knows the HDL-64E's
    # two laser blocks); only its nominal figures are filled in here.
    hdl64 = lidar("{preset: hdl64}")
    assert (hdl64.preset, hdl64.vertical_angles_deg) == ("hdl64", ())
    assert (hdl64.azimuth_steps, hdl64.min_range_m, hdl64.max_range_m) == (2000, 2.5, 120.0)
    assert (hdl64.height_m, hdl64.forward_m) == (1.73, 0.27)
    halved = lidar("{preset: vlp16, channels: 8}")  # the preset's fov, fewer beams
    assert halved.preset is None
    assert np.allclose(halved.vertical_angles_deg, np.linspace(15, -15, 8))
    default_custom = lidar("{preset: custom}")
    assert np.allclose(default_custom.vertical_angles_deg, np.linspace(10, -30, 32))
    custom = lidar("{preset: custom, channels: 5, fov_up_deg: 4, fov_down_deg: -4}")
    assert custom.vertical_angles_deg == (4.0, 2.0, 0.0, -2.0, -4.0)
    listed = lidar("{vertical_angles_deg: [1, 0.5, -3], azimuth_steps: 360, max_range_m: 80}")
    assert listed.vertical_angles_deg == (1.0, 0.5, -3.0)
    assert (listed.azimuth_steps, listed.max_range_m) == (360, 80.0)
    assert lidar("false") is None and lidar("{enabled: false}") is None
    for body, words in [
        ("{vertical_angles_deg: [0, 1]}", "top to bottom"),
        ("{vertical_angles_deg: [1, 0], channels: 2}", "either"),
        ("{fov_up_deg: -5, fov_down_deg: 5}", "fov_up_deg > fov_down_deg"),
        ("{min_range_m: 50, max_range_m: 40}", "min_range_m < max_range_m"),
        ("{preset: velodyne}", "hdl64, vlp32"),
        ("{azimuth_steps: 'uniform(100, 200)'}", "constant"),
    ]:
        with pytest.raises(ScenarioError, match=words):
            lidar(body)
