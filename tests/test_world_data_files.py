"""The project's data files (top-level assets/): validated on load, and shipped inside a
non-editable install."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO

from scenegen.errors import ScenegenError
from scenegen.world.data_files import assets_dir, load_asset
from scenegen.world.materials import MATERIALS_FILE, _material


def test_materials_come_from_the_assets_folder_of_the_checkout():
    assert assets_dir() == REPO / "assets"
    _, data, _ = load_asset(MATERIALS_FILE)
    from scenegen.world.types import MATERIALS

    assert set(MATERIALS) == set(data)
    asphalt = MATERIALS["asphalt"]
    assert asphalt.lidar_reflectivity == data["asphalt"]["lidar_reflectivity_905nm"]


def test_a_bad_material_names_the_file_line_key_and_what_was_expected():
    _, _, lines = load_asset(MATERIALS_FILE)
    with pytest.raises(ScenegenError) as err:
        _material("asphalt", {"albedo_rgb": [2.0, 0.1, 0.1]})
    message = str(err.value)
    assert (
        f"materials.yaml:{lines['asphalt']}: asphalt: albedo_rgb must be 3 numbers in [0, 1.0]"
        in message
    )
    with pytest.raises(ScenegenError, match="unknown keys \\['albedo'\\]"):
        _material("asphalt", {"albedo_rgb": [0.1, 0.1, 0.1], "albedo": 1})


@pytest.mark.slow
def test_a_non_editable_install_carries_the_data_files(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--target",
            str(target),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # Run from elsewhere with only the installed copy importable: no checkout to fall back on.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from scenegen.world.data_files import assets_dir;"
        "from scenegen.world.types import MATERIALS;"
        "from scenegen.sensors.textures import load_textures;"
        "print(assets_dir()); print(len(MATERIALS), len(load_textures()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split("\n")
    assert out[0] == str(target / "scenegen" / "_assets")
    n_materials, n_textures = map(int, out[1].split())
    _, materials, _ = load_asset(MATERIALS_FILE)
    assert n_materials == len(materials) and n_textures > 0
