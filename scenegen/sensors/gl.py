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
print("SCENEGEN_GL " + json.dumps(info))
"""


class GLBackendError(ScenegenError):
    """No headless OpenGL backend works on this machine."""


@dataclass(frozen=True)
class GLBackend:
    name: str  # egl | osmesa
    renderer: str
    vendor: str
    version: str

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
            return GLBackend(name=name, **info)
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
