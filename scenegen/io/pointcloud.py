"""LiDAR point clouds as ``.ply`` (binary little-endian) or ``.pcd`` (binary) through open3d.

One vertex per point with float32 ``x, y, z`` (metres, lidar frame) and ``intensity``
([0, 1]), and, when known, int32 ``class_id`` (``world.types.SEMANTIC_IDS``),
``instance_id`` (0 = scenery or weather) and ``ring`` (0 = top beam, -1 unknown). Both
formats carry named per-point fields, so nothing is packed. open3d writes identical bytes
for identical arrays (checked by the tests), so files can be listed with their sha256.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from scenegen.io.errors import DatasetReadError, DatasetWriteError

POINTCLOUD_FORMATS: tuple[str, ...] = ("ply", "pcd")
# Optional per-point fields, in the order they are added (open3d keeps a fixed order).
_LABEL_FIELDS = ("class_id", "instance_id", "ring")


def _open3d():
    try:
        import open3d as o3d
    except ImportError as exc:  # pragma: no cover - open3d is a core dependency today
        raise DatasetWriteError(
            "writing .ply/.pcd point clouds needs open3d: pip install open3d-cpu"
        ) from exc
    return o3d


def pointcloud_bytes(
    points_lidar: np.ndarray,
    fmt: str,
    *,
    class_ids: np.ndarray | None = None,
    instance_ids: np.ndarray | None = None,
    rings: np.ndarray | None = None,
) -> bytes:
    """The file content of one point cloud in ``fmt`` (``"ply"`` or ``"pcd"``).

    ``points_lidar``: ``(N, 4)`` x, y, z (m, lidar frame), intensity. Label arrays are
    ``(N,)`` integers, written as int32 fields when given.
    """
    if fmt not in POINTCLOUD_FORMATS:
        raise DatasetWriteError(
            f"point cloud format must be one of {POINTCLOUD_FORMATS}, got {fmt!r}"
        )
    pts = np.asarray(points_lidar, dtype=np.float32)
    if pts.ndim != 2 or pts.shape[1] < 4:
        raise DatasetWriteError(f"points_lidar must be (N, 4) x, y, z, intensity; got {pts.shape}")
    labels = {
        name: values
        for name, values in zip(_LABEL_FIELDS, (class_ids, instance_ids, rings), strict=True)
        if values is not None
    }
    if len(pts) == 0:  # open3d refuses to write an empty cloud
        return _empty_cloud_bytes(fmt, ["intensity", *labels])
    o3d = _open3d()
    cloud = o3d.t.geometry.PointCloud(o3d.core.Tensor(np.ascontiguousarray(pts[:, :3])))
    cloud.point.intensity = o3d.core.Tensor(np.ascontiguousarray(pts[:, 3:4]))
    for name, values in labels.items():
        column = np.asarray(values)
        if column.shape != (len(pts),):
            raise DatasetWriteError(
                f"{name} must have shape ({len(pts)},) like the points; got {column.shape}"
            )
        cloud.point[name] = o3d.core.Tensor(column.astype(np.int32).reshape(-1, 1))
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


def read_pointcloud(path: Path) -> dict[str, np.ndarray]:
    """Read a file from :func:`pointcloud_bytes` (or any ``.ply``/``.pcd`` with positions).

    Returns ``points_lidar`` float32 ``(N, 4)`` (intensity 0 when the file has none) and,
    when present, int32 ``(N,)`` ``class_ids``, ``instance_ids`` and ``rings``.
    """
    path = Path(path)
    if path.suffix.lstrip(".") not in POINTCLOUD_FORMATS or not path.is_file():
        raise DatasetReadError(path, "expected an existing .ply or .pcd file")
    keys = dict(zip(_LABEL_FIELDS, ("class_ids", "instance_ids", "rings"), strict=True))
    header = _header_fields(path)
    if header is not None and header[0] == 0:  # open3d cannot read an empty cloud
        out = {"points_lidar": np.zeros((0, 4), np.float32)}
        out.update({keys[n]: np.zeros(0, np.int32) for n in header[1] if n in keys})
        return out
    cloud = _open3d().t.io.read_point_cloud(str(path))
    if "positions" not in cloud.point:
        raise DatasetReadError(path, "no points with x, y, z found")
    xyz = cloud.point.positions.numpy().astype(np.float32)
    points = np.zeros((len(xyz), 4), np.float32)
    points[:, :3] = xyz
    if "intensity" in cloud.point:
        points[:, 3] = cloud.point.intensity.numpy().reshape(-1)
    out = {"points_lidar": points}
    for name, key in keys.items():
        if name in cloud.point:
            out[key] = cloud.point[name].numpy().reshape(-1).astype(np.int32)
    return out


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
