"""Headless OpenGL backend selection, done once at the edge of the program.

PyOpenGL binds its platform (EGL, OSMesa, GLX) the first time ``OpenGL.GL`` is
imported, through the ``PYOPENGL_PLATFORM`` environment variable. So the backend has to
be chosen before anything imports pyrender, and a failed attempt cannot be retried in
the same process. :func:`probe_backend` therefore tries a backend in a short-lived child
process; :func:`configure_backend` picks the first that works (EGL, which is a GPU when
one is present and Mesa's llvmpipe otherwise, then OSMesa) and pins it for this process
and its workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from scenegen.errors import ScenegenError

BACKENDS: tuple[str, ...] = ("egl", "osmesa")

# Which Debian packages provide each backend, for the error message.
_PACKAGES = {
    "egl": "libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libxrender1",
    "osmesa": "libosmesa6 (and PyOpenGL>=3.1.10)",
}

_PROBE = r"""
import json, sys
import numpy as np
if not hasattr(np, "infty"):
    np.infty = np.inf
import pyglet
pyglet.options["headless"] = True
import pyrender, trimesh
scene = pyrender.Scene()
node = scene.add(pyrender.Mesh.from_trimesh(trimesh.creation.box()), pose=np.eye(4))
pose = np.eye(4); pose[2, 3] = 3.0
scene.add(pyrender.PerspectiveCamera(yfov=1.0), pose=pose)
r = pyrender.OffscreenRenderer(64, 48)
color, depth = r.render(scene, flags=pyrender.RenderFlags.SEG, seg_node_map={node: (7, 8, 9)})
from OpenGL import GL
info = {
    "renderer": GL.glGetString(GL.GL_RENDERER).decode(),
    "vendor": GL.glGetString(GL.GL_VENDOR).decode(),
    "version": GL.glGetString(GL.GL_VERSION).decode(),
    "ok": bool((color[24, 32] == (7, 8, 9)).all() and abs(depth[24, 32] - 2.5) < 1e-3),
}
r.delete()
info["egl_devices"] = []
import os
if os.environ.get("PYOPENGL_PLATFORM") == "egl":
    try:
        from pyrender.platforms import egl as pe
        for device in pe.query_devices():
            handle = device._display  # pyrender keeps the EGLDeviceEXT under this name
            ext = pe._eglQueryDeviceStringEXT(handle, 0x3055) if handle is not None else None
            drm = pe._eglQueryDeviceStringEXT(handle, 0x3233) if handle is not None else None
            info["egl_devices"].append(
                [(ext or b"").decode(errors="replace"), (drm or b"").decode(errors="replace")]
            )
    except Exception:
        pass
print("SCENEGEN_GL " + json.dumps(info))
"""
# EGL_EXT_device_query: a software rasteriser (llvmpipe) advertises this extension.
_SOFTWARE_DEVICE_EXTENSION = "EGL_MESA_device_software"
# pyrender's EGL platform reads this variable when no device is passed to it.
EGL_DEVICE_VARIABLE = "EGL_DEVICE_ID"


@dataclass(frozen=True)
class EGLDevice:
    """One EGL device as the probe saw it: its index in ``eglQueryDevicesEXT`` order (the
    ``EGL_DEVICE_ID`` numbering), its extension string and its DRM device file (empty
    where the driver does not say)."""

    index: int
    extensions: str
    drm_file: str = ""

    @property
    def is_gpu(self) -> bool:
        """Not Mesa's software rasteriser; an empty extension string (the query failed)
        is not counted as a GPU."""
        names = self.extensions.split()
        return bool(names) and _SOFTWARE_DEVICE_EXTENSION not in names


class GLBackendError(ScenegenError):
    """No headless OpenGL backend works on this machine."""


@dataclass(frozen=True)
class GLBackend:
    name: str  # egl | osmesa
    renderer: str
    vendor: str
    version: str
    egl_devices: tuple[EGLDevice, ...] = ()

    @property
    def gpu_devices(self) -> tuple[int, ...]:
        """EGL device indices (``EGL_DEVICE_ID`` numbering) of the GPUs, in EGL's order."""
        if self.name != "egl":
            return ()
        return tuple(device.index for device in self.egl_devices if device.is_gpu)

    @property
    def kind(self) -> str:
        """Human-readable: 'EGL GPU', 'EGL software' or 'OSMesa software'."""
        software = any(w in self.renderer.lower() for w in ("llvmpipe", "softpipe", "swrast"))
        if self.name == "egl":
            return "EGL software" if software else "EGL GPU"
        return "OSMesa software"


def probe_backend(name: str, timeout_s: float = 60.0) -> GLBackend | str:
    """Try to render one frame with ``name`` in a child process.

    Returns the working backend, or a one-line reason why it failed.
    """
    env = dict(os.environ, PYOPENGL_PLATFORM=name)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:.0f} s"
    for line in proc.stdout.splitlines():
        if line.startswith("SCENEGEN_GL "):
            info = json.loads(line[len("SCENEGEN_GL ") :])
            if not info.pop("ok"):
                return f"rendered a wrong image on {info['renderer']}"
            devices = tuple(
                EGLDevice(i, ext, drm) for i, (ext, drm) in enumerate(info.pop("egl_devices", ()))
            )
            return GLBackend(name=name, egl_devices=devices, **info)
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit status {proc.returncode}"


def configure_backend(preferred: str = "auto") -> GLBackend:
    """Choose the GL backend for this process (and the worker processes it starts).

    ``preferred`` is ``auto`` (EGL, then OSMesa), ``egl`` or ``osmesa``. Must run before
    pyrender is imported. Raises :class:`GLBackendError` naming the missing packages.
    """
    if preferred not in ("auto", *BACKENDS):
        raise GLBackendError(f"unknown GL backend {preferred!r}; expected auto, egl or osmesa")
    candidates = BACKENDS if preferred == "auto" else (preferred,)
    if "OpenGL.GL" in sys.modules:
        current = os.environ.get("PYOPENGL_PLATFORM", "")
        if current not in candidates:
            raise GLBackendError(
                f"OpenGL was already imported with platform {current or 'default'!r}; "
                "configure the backend before importing pyrender"
            )
        candidates = (current,)
    failures = []
    for name in candidates:
        result = probe_backend(name)
        if isinstance(result, GLBackend):
            os.environ["PYOPENGL_PLATFORM"] = name
            return result
        failures.append(f"{name}: {result}")
    needed = "; ".join(f"{n}: apt-get install {_PACKAGES[n]}" for n in candidates)
    raise GLBackendError(
        "no headless OpenGL backend works (" + " | ".join(failures) + "). Install " + needed
    )


def import_pyrender():
    """Import pyrender headless, with the numpy 2 compatibility shim it needs.

    pyrender 0.1.45 uses ``np.infty`` (removed in numpy 2) in ``Scene.bounds`` and
    directional shadows; pyglet needs ``headless`` set before import or it looks for X.
    """
    import numpy as np

    if not hasattr(np, "infty"):
        np.infty = np.inf  # type: ignore[attr-defined]
    import pyglet

    pyglet.options["headless"] = True
    if "PYOPENGL_PLATFORM" not in os.environ:
        os.environ["PYOPENGL_PLATFORM"] = "egl"  # headless default when nobody configured one
    import pyrender

    return pyrender


def egl_device_for_worker(
    worker_index: int, gpu_devices: tuple[int, ...], env: Mapping[str, str]
) -> int | None:
    """The EGL device worker ``worker_index`` (0-based) renders on.

    ``gpu_devices``: the EGL indices of the machine's GPUs (:attr:`GLBackend.gpu_devices`);
    ``env``: the environment the batch was started with. An ``EGL_DEVICE_ID`` there pins
    every worker to that device (the user chose it); otherwise the GPUs are dealt in turn,
    worker ``k`` on ``gpu_devices[k % N]``, so N workers on N GPUs get one GPU each.
    ``None`` (the platform's default device) on a machine without GPUs.
    """
    if worker_index < 0:
        raise ValueError(f"worker_index must be >= 0, got {worker_index}")
    pinned = env.get(EGL_DEVICE_VARIABLE, "").strip()
    if pinned:
        if not pinned.isdigit():
            raise GLBackendError(
                f"{EGL_DEVICE_VARIABLE}={pinned!r}: expected an EGL device index (0, 1, ...)"
            )
        return int(pinned)
    if not gpu_devices:
        return None
    return gpu_devices[worker_index % len(gpu_devices)]


def worker_environment(egl_device: int | None) -> dict[str, str]:
    """Environment variables a worker that renders on ``egl_device`` sets before it opens
    GL: ``EGL_DEVICE_ID``, which pyrender's EGL platform (and any renderer the worker
    starts without a device) reads; nothing for the default device."""
    return {} if egl_device is None else {EGL_DEVICE_VARIABLE: str(egl_device)}


class GLContext:
    """An offscreen GL context of ``width`` x ``height``; current after creation.

    ``egl_device`` chooses the EGL device by index (``EGL_DEVICE_ID`` numbering); ``None``
    leaves the choice to pyrender (its ``EGL_DEVICE_ID`` variable, else device 0) or to
    OSMesa. An explicit device needs the EGL backend.
    """

    def __init__(self, width: int, height: int, egl_device: int | None = None) -> None:
        pyrender = import_pyrender()
        self.egl_device = egl_device
        self._renderer = None
        self._platform = None
        if egl_device is None:
            self._renderer = pyrender.OffscreenRenderer(width, height)
            self._platform = self._renderer._platform
            return
        platform_name = os.environ.get("PYOPENGL_PLATFORM", "")
        if platform_name != "egl":
            raise GLBackendError(
                f"EGL device {egl_device} was asked for, but the GL backend is "
                f"{platform_name or 'unset'!r}; choose the egl backend (--gl egl)"
            )
        from pyrender.platforms import egl

        devices = egl.query_devices()
        if not 0 <= egl_device < len(devices):
            raise GLBackendError(
                f"EGL device {egl_device} does not exist: this machine has {len(devices)} "
                f"EGL device{'s' if len(devices) != 1 else ''} (0-{len(devices) - 1})"
            )
        self._platform = egl.EGLPlatform(width, height, device=devices[egl_device])
        self._platform.init_context()
        self._platform.make_current()

    def make_current(self) -> None:
        self._platform.make_current()

    def delete(self) -> None:
        if self._renderer is not None:
            self._renderer.delete()
        elif self._platform is not None:
            self._platform.delete_context()
        self._renderer = self._platform = None
