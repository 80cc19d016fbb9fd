"""A whole rendered night frame: dark where nothing is lit (see test_render_realism.py)."""

from __future__ import annotations

import numpy as np
from conftest import REPO


def test_an_overcast_unlit_night_highway_is_dark(gl_backend):
    """The frame that used to show a sky of ~103/255: overcast, 02:30, no street lamps near."""
    from scenegen.pipeline import FrameRenderer
    from scenegen.scenario import load_scenario, sample_scene

    scenario = load_scenario(REPO / "scenarios" / "night_rain_wrong_way.yaml")
    spec = sample_scene(scenario, frame_index=0, base_seed=scenario.default_seed, n_frames=1)
    with FrameRenderer(lidar=False) as renderer:
        frame = renderer.render(spec)
    sky = ~np.isfinite(frame.depth_m)
    assert sky.mean() > 0.05
    assert np.median(frame.rgb[sky]) < 40
    assert np.median(frame.rgb) < 50
