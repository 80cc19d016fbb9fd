"""LiDAR point clouds as ``.ply`` (binary little-endian) or ``.pcd`` (binary) through open3d.

One vertex per point of a :class:`scenegen.points.PointCloud` with float32 ``x, y, z``
(metres, lidar frame) and ``intensity`` ([0, 1]), and, when the cloud has them, int32
``class_id`` (``world.types.SEMANTIC_IDS``), ``instance_id`` (0 = scenery or weather) and
``ring`` (0 = top beam, -1 unknown). Both
formats carry named per-point fields, so nothing is packed. open3d writes identical bytes
for identical arrays (checked by the tests), so files can be listed with their sha256.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from scenegen.io.errors import DatasetReadError, DatasetWriteError
from scenegen.points import LIDAR_FRAME, PointCloud

POINTCLOUD_FORMATS: tuple[str, ...] = ("ply", "pcd")
# File field -> PointCloud column, in the order fields are added (open3d keeps a fixed order).
_LABEL_FIELDS = {"class_id": "class_ids", "instance_id": "instance_ids", "ring": "ring"}


def _open3d():
    try:
        import open3d as o3d
    except ImportError as exc:  # pragma: no cover - open3d is a core dependency today
        raise DatasetWriteError(
            "writing .ply/.pcd point clouds needs open3d: pip install open3d-cpu"
        ) from exc
    return o3d


def pointcloud_bytes(points: PointCloud, fmt: str) -> bytes:
    """The file content of one point cloud in ``fmt`` (``"ply"`` or ``"pcd"``): positions,
    intensity, and the ring, class and instance columns the cloud has."""
    if fmt not in POINTCLOUD_FORMATS:
        raise DatasetWriteError(
            f"point cloud format must be one of {POINTCLOUD_FORMATS}, got {fmt!r}"
        )
    if points.frame != LIDAR_FRAME:
        raise DatasetWriteError(f"point cloud files hold lidar-frame points, got {points.frame!r}")
    labels = {
        name: getattr(points, column)
        for name, column in _LABEL_FIELDS.items()
        if getattr(points, column) is not None
    }
    if len(points) == 0:  # open3d refuses to write an empty cloud
        return _empty_cloud_bytes(fmt, ["intensity", *labels])
    o3d = _open3d()
    cloud = o3d.t.geometry.PointCloud(o3d.core.Tensor(np.ascontiguousarray(points.xyz)))
    cloud.point.intensity = o3d.core.Tensor(np.ascontiguousarray(points.intensity.reshape(-1, 1)))
    for name, values in labels.items():
        cloud.point[name] = o3d.core.Tensor(np.ascontiguousarray(values.reshape(-1, 1)))
    # open3d writes only to a path whose suffix names the format.
    with tempfile.TemporaryDirectory(prefix="scenegen-pointcloud-") as folder:
        path = Path(folder) / f"cloud.{fmt}"
        if not o3d.t.io.write_point_cloud(
            str(path), cloud, write_ascii=False, compressed=False, print_progress=False
        ):
            raise DatasetWriteError(f"open3d could not write a .{fmt} point cloud")
        return path.read_bytes()


def _empty_cloud_bytes(fmt: str, fields: list[str]) -> bytes:
    """A header without points, laid out as open3d lays out a non-empty cloud."""
    kinds = ["float" if name == "intensity" else "int" for name in fields]
    if fmt == "ply":
        lines = ["ply", "format binary_little_endian 1.0", "comment Created by Open3D"]
        lines += ["element vertex 0", "property float x", "property float y", "property float z"]
        lines += [f"property {kind} {name}" for kind, name in zip(kinds, fields, strict=True)]
        lines.append("end_header")
    else:  # open3d lists a PCD's extra fields in reverse order of addition
        names, types = ["x", "y", "z", *fields[::-1]], ["F", "F", "F"]
        types += ["F" if kind == "float" else "I" for kind in kinds[::-1]]
        lines = [
            "# .PCD v0.7 - Point Cloud Data file format",
            "VERSION 0.7",
            "FIELDS " + " ".join(names),
            "SIZE " + " ".join("4" for _ in names),
            "TYPE " + " ".join(types),
            "COUNT " + " ".join("1" for _ in names),
            "WIDTH 0",
            "HEIGHT 1",
            "VIEWPOINT 0 0 0 1 0 0 0",
            "POINTS 0",
            "DATA binary",
        ]
    return ("\n".join(lines) + "\n").encode("ascii")


def read_pointcloud(path: Path) -> PointCloud:
    """Read a file from :func:`pointcloud_bytes` (or any ``.ply``/``.pcd`` with positions).

    Intensity is 0 when the file has none; ``ring``, ``class_ids`` and ``instance_ids`` are
    filled when the file has ``ring``, ``class_id`` and ``instance_id`` fields.
    """
    path = Path(path)
    if path.suffix.lstrip(".") not in POINTCLOUD_FORMATS or not path.is_file():
        raise DatasetReadError(path, "expected an existing .ply or .pcd file")
    header = _header_fields(path)
    if header is not None and header[0] == 0:  # open3d cannot read an empty cloud
        present = {_LABEL_FIELDS[n]: True for n in header[1] if n in _LABEL_FIELDS}
        return PointCloud.empty(**present)
    cloud = _open3d().t.io.read_point_cloud(str(path))
    if "positions" not in cloud.point:
        raise DatasetReadError(path, "no points with x, y, z found")
    xyz = cloud.point.positions.numpy().astype(np.float32)
    intensity = np.zeros(len(xyz), np.float32)
    if "intensity" in cloud.point:
        intensity[:] = cloud.point.intensity.numpy().reshape(-1)
    columns = {
        column: cloud.point[name].numpy().reshape(-1).astype(np.int32)
        for name, column in _LABEL_FIELDS.items()
        if name in cloud.point
    }
    return PointCloud(xyz, intensity, **columns)


def _header_fields(path: Path) -> tuple[int, list[str]] | None:
    """Point count and field names from a PLY/PCD header, None when it is not readable."""
    with open(path, "rb") as stream:
        head = stream.read(4096).split(b"\n")
    count, fields = None, []
    for raw in head:
        line = raw.decode("ascii", errors="replace").split()
        if not line:
            continue
        if line[:2] == ["element", "vertex"] and len(line) == 3 and line[2].isdigit():
            count = int(line[2])
        elif line[0] == "property" and len(line) == 3:
            fields.append(line[2])
        elif line[0] == "POINTS" and len(line) == 2 and line[1].isdigit():
            count = int(line[1])
        elif line[0] == "FIELDS":
            fields = line[1:]
        if line[0] in ("end_header", "DATA"):
            break
    return None if count is None else (count, fields)
