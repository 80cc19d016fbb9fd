"""Packages of the wheel: scenegen and its subpackages, plus the top-level assets/ folder
as scenegen._assets (found there by scenegen.world.data_files). Metadata: pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["scenegen*"]), "scenegen._assets"],
    package_dir={"scenegen._assets": "assets"},
)
