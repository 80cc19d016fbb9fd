"""User-supplied meshes (GLB / glTF / OBJ / ...): load, orient to the object frame, fit.

Files come in every convention: Z-up or Y-up, length along X, Y or Z, any unit. The
loader finds the axes from the geometry itself:

* width: the axis across which the mesh is most nearly mirror-symmetric (vehicles, people
  and animals are left-right symmetric);
* up: for pedestrians the longest axis; otherwise the least symmetric of the other two
  (wheels below, roof above differ more than front and back);
* length: the remaining axis. Up points along the file's positive axis (no exporter
  writes models upside down); the front is the positive end of the length axis unless
  lamp materials (``headlight`` / ``taillight`` in their names) say otherwise.

The result is scaled per axis to the requested box, exactly like procedural actors.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from scenegen.errors import ScenegenError
from scenegen.world.meshes import PartsBuilder
from scenegen.world.types import MeshPart

# The material a user mesh gets per class (the file's colours override its albedo).
CLASS_MATERIAL = {
    "car": "car_paint",
    "van": "car_paint",
    "truck": "car_paint",
    "bus": "car_paint",
    "pedestrian": "clothing",
    "cyclist": "clothing",
    "animal": "fur",
    "debris": "cargo",
}
_GLASS_HINTS = ("window", "glass", "windshield", "windscreen")
_LAMP_HINTS = {
    "headlight": "headlight",
    "taillight": "taillight",
    "tail_light": "taillight",
    "head_light": "headlight",
}


class AssetError(ScenegenError):
    """A user mesh file is missing, unreadable, empty or degenerate."""


@dataclass(frozen=True)
class OrientedMesh:
    """A user mesh turned into the object frame's axes, before scaling to a box.

    ``pieces`` holds ``(vertices (V, 3) float64, faces (F, 3) int64, material, albedo)``;
    ``extents`` is the ``(3,)`` float64 size along x (length), y (width), z (up) in file units.
    """

    pieces: tuple[tuple[np.ndarray, np.ndarray, str, tuple[float, float, float] | None], ...]
    extents: np.ndarray

    def fit(self, length_m: float, width_m: float, height_m: float) -> list[MeshPart]:
        """Parts scaled so the vertices span exactly the ``l x w x h`` object box."""
        builder = PartsBuilder()
        for vertices, faces, material, albedo in self.pieces:
            builder.add((vertices, faces), material, albedo)
        builder.fit_to_box(length_m, width_m, height_m)
        return builder.parts()


def _srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _gltf_material_colours(path: Path) -> dict[str, tuple[float, float, float]]:
    """Material name -> linear base colour, read from a GLB's JSON chunk.

    trimesh drops ``baseColorFactor`` of untextured glTF materials, so read it directly.
    """
    if path.suffix.lower() != ".glb":
        return {}
    data = path.read_bytes()
    if len(data) < 20 or data[:4] != b"glTF":
        return {}
    json_len = struct.unpack("<I", data[12:16])[0]
    header = json.loads(data[20 : 20 + json_len])
    colours = {}
    for material in header.get("materials", []):
        factor = material.get("pbrMetallicRoughness", {}).get("baseColorFactor")
        if factor is not None and "name" in material:
            colours[material["name"]] = tuple(float(c) for c in factor[:3])
    return colours


def _piece_colour(
    mesh: trimesh.Trimesh, gltf_colours: dict[str, tuple[float, float, float]]
) -> tuple[str, tuple | None]:
    """(material name found in the file, linear albedo or None)."""
    visual = mesh.visual
    material = getattr(visual, "material", None)
    name = str(getattr(material, "name", "") or "")
    if name in gltf_colours:
        return name, gltf_colours[name]
    diffuse = getattr(material, "diffuse", None)
    if diffuse is not None:  # OBJ/MTL: sRGB uint8
        return name, tuple(float(c) for c in _srgb_to_linear(np.asarray(diffuse)[:3] / 255.0))
    if getattr(visual, "kind", None) in ("face", "vertex"):
        colours = visual.face_colors if visual.kind == "face" else visual.vertex_colors
        return name, tuple(
            float(c) for c in _srgb_to_linear(np.mean(colours[:, :3], axis=0) / 255.0)
        )
    return name, None


def _mirror_asymmetry(vertices: np.ndarray) -> np.ndarray:
    """``(3,)`` mean distance (relative to the diagonal) from each mirrored vertex to the mesh."""
    from scipy.spatial import cKDTree  # only user meshes need it; keeps imports light

    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    centre, diagonal = (lo + hi) / 2, float(np.linalg.norm(hi - lo))
    # Subsample for speed: the score only needs the shape's gist.
    step = max(1, len(vertices) // 4000)
    sample = vertices[::step]
    tree = cKDTree(vertices)
    scores = np.empty(3)
    for axis in range(3):
        mirrored = sample.copy()
        mirrored[:, axis] = 2 * centre[axis] - mirrored[:, axis]
        distances, _ = tree.query(mirrored)
        scores[axis] = float(np.mean(distances)) / diagonal
    return scores


def detect_axes(vertices: np.ndarray, class_name: str) -> tuple[int, int, int]:
    """File axes ``(length, width, up)`` of a mesh, by symmetry and extent (see module doc)."""
    extents = vertices.max(axis=0) - vertices.min(axis=0)
    asymmetry = _mirror_asymmetry(vertices)
    if class_name == "pedestrian":
        up = int(np.argmax(extents))
        rest = [a for a in range(3) if a != up]
        width = min(rest, key=lambda a: asymmetry[a])
    else:
        width = int(np.argmin(asymmetry))
        rest = [a for a in range(3) if a != width]
        up = max(rest, key=lambda a: asymmetry[a])
    length = 3 - width - up
    return length, width, up


def _front_sign(pieces: list[tuple[np.ndarray, str]], length_axis: int, centre: float) -> float:
    """+1 when the front is at the positive end of the length axis, judged by lamp names."""
    evidence = 0.0
    for vertices, name in pieces:
        lowered = name.lower()
        for hint, lamp in _LAMP_HINTS.items():
            if hint in lowered:
                offset = float(vertices[:, length_axis].mean() - centre)
                evidence += offset if lamp == "headlight" else -offset
    return -1.0 if evidence < 0 else 1.0


def read_user_mesh(path: str | Path, class_name: str) -> OrientedMesh:
    """Load a mesh file and turn it into the object frame's axes (unscaled).

    Raises :class:`AssetError` for a missing, unreadable or empty file.
    """
    file = Path(path)
    if class_name not in CLASS_MATERIAL:
        raise AssetError(
            f"user mesh {file}: unknown class {class_name!r}; expected one of "
            f"{sorted(CLASS_MATERIAL)}"
        )
    if not file.is_file():
        raise AssetError(
            f"user mesh for class {class_name!r} not found: {file} "
            f"(expected a GLB, glTF or OBJ file)"
        )
    try:
        scene = trimesh.load(file, force="scene")
        gltf_colours = _gltf_material_colours(file)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise AssetError(
            f"user mesh for class {class_name!r} could not be read: {file}: "
            f"{type(exc).__name__}: {exc} (expected a valid GLB, glTF or OBJ file)"
        ) from exc
    raw: list[tuple[np.ndarray, np.ndarray, str, tuple | None]] = []
    for node in scene.graph.nodes_geometry:
        transform, geometry_name = scene.graph[node]
        mesh = scene.geometry[geometry_name]
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            continue
        vertices = trimesh.transform_points(np.asarray(mesh.vertices, dtype=np.float64), transform)
        name, albedo = _piece_colour(mesh, gltf_colours)
        raw.append((vertices, np.asarray(mesh.faces, dtype=np.int64), name, albedo))
    if not raw:
        raise AssetError(f"user mesh for class {class_name!r} has no triangles: {file}")
    all_vertices = np.concatenate([r[0] for r in raw])
    extents = all_vertices.max(axis=0) - all_vertices.min(axis=0)
    if not np.all(np.isfinite(all_vertices)) or np.any(extents <= 0):
        raise AssetError(
            f"user mesh for class {class_name!r} is degenerate (extents {extents}): {file}"
        )
    length, width, up = detect_axes(all_vertices, class_name)
    centre = (all_vertices.min(axis=0) + all_vertices.max(axis=0)) / 2
    front = _front_sign([(r[0], r[2]) for r in raw], length, centre[length])
    rotation = np.zeros((3, 3))
    rotation[0, length] = front
    rotation[2, up] = 1.0
    rotation[1, width] = 1.0
    if np.linalg.det(rotation) < 0:  # keep it a rotation: never mirror the model
        rotation[1, width] = -1.0
    base_material = CLASS_MATERIAL[class_name]
    pieces = []
    for vertices, faces, name, albedo in raw:
        lowered = name.lower()
        material = base_material
        if any(h in lowered for h in _GLASS_HINTS):
            material = "car_glass"
        for hint, lamp in _LAMP_HINTS.items():
            if hint in lowered:
                material = lamp
        pieces.append(
            (
                (vertices - centre) @ rotation.T,
                faces,
                material,
                None if material != base_material else albedo,
            )
        )
    return OrientedMesh(pieces=tuple(pieces), extents=np.abs(rotation @ extents))


def load_user_mesh(
    path: str | Path, class_name: str, length_m: float, width_m: float, height_m: float
) -> list[MeshPart]:
    """Load a GLB/OBJ mesh, orient it to the object frame and fit it to ``l x w x h`` exactly.

    The returned parts' vertices span ``[-l/2, l/2] x [-w/2, w/2] x [0, h]`` (metres).
    """
    return read_user_mesh(path, class_name).fit(length_m, width_m, height_m)
