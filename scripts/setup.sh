#!/usr/bin/env bash
# Set up scenegen on a fresh Debian/Ubuntu machine: the system libraries headless
# OpenGL and open3d need, a virtual environment in .venv, and the package itself.
#
#   bash scripts/setup.sh                # render, write datasets, augment (no torch)
#   bash scripts/setup.sh --harness      # plus torch for the robustness harness (scenegen bench)
#   bash scripts/setup.sh --test         # plus torch and the test tools (pytest, hypothesis, ruff)
#   bash scripts/setup.sh --torchvision  # plus torch and torchvision 0.28.0, the pair of torch 2.13.0
#   bash scripts/setup.sh --warp         # plus warp-lang, for render --lidar-backend warp
# (options combine: --test --torchvision)
#
# Environment: PYTHON (default python3), VENV (default .venv),
# TORCH_SPEC (default torch==2.13.0; e.g. "torch" for the newest release).
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
for arg in "$@"; do
  case "$arg" in
    --harness | --test | --torchvision | --warp) extras="${extras:+$extras,}${arg#--}" ;;
    *) echo "usage: bash scripts/setup.sh [--harness] [--test] [--torchvision] [--warp]" >&2; exit 2 ;;
  esac
done
if [ -n "$extras" ]; then extras="[$extras]"; fi
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"

# Debian packages: EGL + Mesa (llvmpipe software rendering or a GPU driver), OSMesa as
# the fallback, libXrender for pyglet, libusb because open3d links against it.
apt_packages="libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libxrender1 libosmesa6 libusb-1.0-0"
missing=""
for p in $apt_packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if ! "$PYTHON" -c "import venv, ensurepip" >/dev/null 2>&1; then missing="$missing python3-venv"; fi
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch (harness and tests only) first, so that the extra's range (>=2.2) is met by the
# CPU build and nothing pulls a multi-GB CUDA build.
case "$extras" in
  *harness* | *test* | *torchvision*)
    "$VENV/bin/python" -c "import torch" >/dev/null 2>&1 || "$VENV/bin/python" -m pip install -q "$TORCH_SPEC" ;;
esac
"$VENV/bin/python" -m pip install -q -e ".${extras}"
# pyrender 0.1.45 pins PyOpenGL 3.1.0, whose OSMesa binding is broken; 3.1.10 works with
# both EGL and OSMesa (pip reports the pin as a conflict; it is expected).
"$VENV/bin/python" -m pip install -q "PyOpenGL==3.1.10" 2>&1 | grep -v -e "dependency conflicts" -e "PyOpenGL==3.1.0" -e "dependency resolver" || true
"$VENV/bin/scenegen" --version
