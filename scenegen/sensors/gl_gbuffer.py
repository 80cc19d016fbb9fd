"""The camera's one rasterisation pass: node ids and exact z-depth, in a single draw call.

pyrender draws a segmentation image node by node (a uniform colour, a model matrix and a
draw call each, into a 4x multisampled buffer that is then resolved) and linearises its
24-bit depth buffer in numpy. For a G-buffer none of that is needed: every vertex carries
its node id, all nodes go to the GPU as one vertex buffer and are drawn with one call, and
the fragment shader writes the node id (``R32UI``) and the camera z-depth
(``1 / gl_FragCoord.w``, float32, ``R32F``) at each pixel centre, single-sampled.

pyrender is only used to open the (EGL or OSMesa) context; this module owns its own
framebuffer, shaders and buffers inside it. Conventions match pyrender's segmentation
pass: back faces (clockwise as seen by the camera) are culled, and where two surfaces
have the same depth the one drawn first - the lower node id - wins (``GL_LESS``; OpenGL
processes the primitives of one draw call in order).
"""

from __future__ import annotations

import ctypes

import numpy as np

_VERTEX_SHADER = """
#version 330 core
layout(location = 0) in vec3 position_world;
layout(location = 1) in uint node_id;
uniform mat4 clip_from_world;
flat out uint v_node_id;
void main() {
    v_node_id = node_id;
    gl_Position = clip_from_world * vec4(position_world, 1.0);
}
"""

_FRAGMENT_SHADER = """
#version 330 core
flat in uint v_node_id;
layout(location = 0) out uint out_node_id;
layout(location = 1) out float out_depth_m;
void main() {
    out_node_id = v_node_id;
    // w of the clip position is the camera z-depth; 1 / gl_FragCoord.w interpolates it
    // exactly (perspective-correct) at the pixel centre.
    out_depth_m = 1.0 / gl_FragCoord.w;
}
"""


def clip_from_cam(
    fx: float,
    fy: float,
    cx: float,
    cy: float,
    width: int,
    height: int,
    z_near_m: float,
    z_far_m: float,
) -> np.ndarray:
    """4x4 float64 projection from our camera frame (x right, y down, z forward) to clip space.

    Window x is ``fx X / Z + cx`` and window y is ``fy Y / Z + cy``, i.e. OpenGL's window
    rows run down the image, so the framebuffer reads back top row first without a flip.
    ``w_clip = Z``.
    """
    n, f = float(z_near_m), float(z_far_m)
    return np.array(
        [
            [2.0 * fx / width, 0.0, 2.0 * cx / width - 1.0, 0.0],
            [0.0, 2.0 * fy / height, 2.0 * cy / height - 1.0, 0.0],
            [0.0, 0.0, (f + n) / (f - n), -2.0 * f * n / (f - n)],
            [0.0, 0.0, 1.0, 0.0],
        ],
        dtype=np.float64,
    )


class GBufferPass:
    """GL objects for the pass; create and use only while the GL context is current."""

    def __init__(self, width: int, height: int) -> None:
        from OpenGL import GL

        self._gl = GL
        self.width = width
        self.height = height
        self._program = self._link_program()
        self._clip_loc = GL.glGetUniformLocation(self._program, "clip_from_world")
        self._vao = GL.glGenVertexArrays(1)
        self._buffers = list(GL.glGenBuffers(3))  # positions, node ids, indices
        GL.glBindVertexArray(self._vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._buffers[0])
        GL.glEnableVertexAttribArray(0)
        GL.glVertexAttribPointer(0, 3, GL.GL_FLOAT, GL.GL_FALSE, 0, ctypes.c_void_p(0))
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._buffers[1])
        GL.glEnableVertexAttribArray(1)
        GL.glVertexAttribIPointer(1, 1, GL.GL_UNSIGNED_INT, 0, ctypes.c_void_p(0))
        GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, self._buffers[2])
        GL.glBindVertexArray(0)

        self._renderbuffers = list(GL.glGenRenderbuffers(3))
        formats = (GL.GL_R32UI, GL.GL_R32F, GL.GL_DEPTH_COMPONENT32F)
        for rb, fmt in zip(self._renderbuffers, formats, strict=True):
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, rb)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, fmt, width, height)
        self._fbo = GL.glGenFramebuffers(1)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._fbo)
        attachments = (GL.GL_COLOR_ATTACHMENT0, GL.GL_COLOR_ATTACHMENT1, GL.GL_DEPTH_ATTACHMENT)
        for rb, attachment in zip(self._renderbuffers, attachments, strict=True):
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, attachment, GL.GL_RENDERBUFFER, rb)
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RuntimeError(f"G-buffer framebuffer incomplete (status 0x{int(status):x})")
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)

    def _link_program(self) -> int:
        GL = self._gl
        program = GL.glCreateProgram()
        shaders = []
        for kind, source in (
            (GL.GL_VERTEX_SHADER, _VERTEX_SHADER),
            (GL.GL_FRAGMENT_SHADER, _FRAGMENT_SHADER),
        ):
            shader = GL.glCreateShader(kind)
            GL.glShaderSource(shader, source)
            GL.glCompileShader(shader)
            if not GL.glGetShaderiv(shader, GL.GL_COMPILE_STATUS):
                log = GL.glGetShaderInfoLog(shader).decode(errors="replace")
                raise RuntimeError(f"G-buffer shader failed to compile: {log}")
            GL.glAttachShader(program, shader)
            shaders.append(shader)
        GL.glLinkProgram(program)
        if not GL.glGetProgramiv(program, GL.GL_LINK_STATUS):
            log = GL.glGetProgramInfoLog(program).decode(errors="replace")
            raise RuntimeError(f"G-buffer shader program failed to link: {log}")
        for shader in shaders:
            GL.glDetachShader(program, shader)
            GL.glDeleteShader(shader)
        return program

    def draw(
        self,
        positions_world: np.ndarray,
        node_ids: np.ndarray,
        triangles: np.ndarray,
        clip_from_world: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rasterise triangles and read back ``(node_ids int32 (H, W), depth_m float32 (H, W))``.

        ``positions_world`` float32 ``(V, 3)``; ``node_ids`` uint32 ``(V,)`` per vertex
        (> 0); ``triangles`` uint32 ``(F, 3)`` vertex indices, drawn in this order;
        ``clip_from_world`` 4x4. Sky pixels get node id 0 and depth ``inf``.
        """
        GL = self._gl
        positions = np.ascontiguousarray(positions_world, dtype=np.float32)
        ids = np.ascontiguousarray(node_ids, dtype=np.uint32)
        indices = np.ascontiguousarray(triangles, dtype=np.uint32)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._fbo)
        GL.glDrawBuffers(2, [GL.GL_COLOR_ATTACHMENT0, GL.GL_COLOR_ATTACHMENT1])
        GL.glViewport(0, 0, self.width, self.height)
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_MULTISAMPLE)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glDepthRange(0.0, 1.0)
        # Rows run down the image, which mirrors the window: counter-clockwise as seen by
        # the camera is clockwise in window coordinates.
        GL.glEnable(GL.GL_CULL_FACE)
        GL.glCullFace(GL.GL_BACK)
        GL.glFrontFace(GL.GL_CW)
        GL.glClearBufferuiv(GL.GL_COLOR, 0, np.zeros(4, np.uint32))
        GL.glClearBufferfv(GL.GL_COLOR, 1, np.full(4, np.inf, np.float32))
        GL.glClearBufferfv(GL.GL_DEPTH, 0, np.ones(1, np.float32))

        GL.glUseProgram(self._program)
        GL.glUniformMatrix4fv(
            self._clip_loc, 1, GL.GL_TRUE, np.ascontiguousarray(clip_from_world, np.float32)
        )
        GL.glBindVertexArray(self._vao)
        for buffer, data, target in (
            (self._buffers[0], positions, GL.GL_ARRAY_BUFFER),
            (self._buffers[1], ids, GL.GL_ARRAY_BUFFER),
            (self._buffers[2], indices, GL.GL_ELEMENT_ARRAY_BUFFER),
        ):
            GL.glBindBuffer(target, buffer)
            GL.glBufferData(target, data.nbytes, data, GL.GL_STREAM_DRAW)
        if indices.size:
            GL.glDrawElements(GL.GL_TRIANGLES, indices.size, GL.GL_UNSIGNED_INT, None)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)

        node_image = np.empty((self.height, self.width), np.uint32)
        depth_m = np.empty((self.height, self.width), np.float32)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 4)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        GL.glReadPixels(
            0, 0, self.width, self.height, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_INT, node_image
        )
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT1)
        GL.glReadPixels(0, 0, self.width, self.height, GL.GL_RED, GL.GL_FLOAT, depth_m)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        return node_image.view(np.int32), depth_m

    def delete(self) -> None:
        GL = self._gl
        GL.glDeleteFramebuffers(1, [self._fbo])
        GL.glDeleteRenderbuffers(len(self._renderbuffers), self._renderbuffers)
        GL.glDeleteBuffers(len(self._buffers), self._buffers)
        GL.glDeleteVertexArrays(1, [self._vao])
        GL.glDeleteProgram(self._program)
