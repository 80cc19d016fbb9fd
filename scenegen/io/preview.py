"""Contact sheet of a written (or real) KITTI dataset, for a quick look at what was made.

Each tile shows the camera image scaled to fit ``TILE_IMAGE_WIDTH x TILE_HEIGHT``
(letterboxed, so frames of different sizes line up) with 2D boxes coloured by class and
tagged with class, KITTI occlusion level and event; LiDAR points projected on the image,
coloured by range; and beside it a ``TILE_HEIGHT`` square bird's-eye view (lidar frame,
``BEV_FORWARD_M`` ahead, ``BEV_HALF_WIDTH_M`` either side) with the 3D box footprints.
:func:`save_sequence_gif` plays the tiles of one sequence as an animated GIF, track ids
drawn.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from scenegen.frame import Frame, transform_points
from scenegen.io.atomic import atomic_write_bytes
from scenegen.io.errors import DatasetReadError
from scenegen.io.kitti import list_kitti_frames, read_kitti_frame
from scenegen.io.manifest import read_manifest
from scenegen.io.png import encode_png

TILE_IMAGE_WIDTH = 640
TILE_HEIGHT = 200
TILE_WIDTH = TILE_IMAGE_WIDTH + TILE_HEIGHT  # image + square bird's-eye panel
BEV_FORWARD_M = 60.0
BEV_HALF_WIDTH_M = 30.0
RANGE_COLOUR_MAX_M = 80.0
MAX_DRAWN_POINTS = 30000

# One distinct RGB colour per class, in CLASS_NAMES order.
CLASS_COLOURS_RGB: tuple[tuple[int, int, int], ...] = (
    (0, 200, 255),  # car
    (0, 120, 255),  # van
    (160, 80, 255),  # truck
    (255, 0, 200),  # bus
    (255, 60, 60),  # pedestrian
    (255, 200, 0),  # cyclist
    (120, 255, 60),  # animal
    (255, 255, 255),  # debris
)


def _kitti_root(out_dir: Path) -> Path:
    for candidate in (out_dir / "kitti" / "training", out_dir / "training", out_dir):
        if (candidate / "image_2").is_dir():
            return candidate
    raise DatasetReadError(
        out_dir,
        "no KITTI image_2 folder found (looked in kitti/training, training and the folder itself)",
    )


def _range_colours_rgb(range_m: np.ndarray) -> np.ndarray:
    """uint8 ``(N, 3)`` RGB colours, near = red to far = blue (OpenCV's JET reversed)."""
    scaled = np.clip(range_m / RANGE_COLOUR_MAX_M, 0.0, 1.0)
    grey = (255 * (1.0 - scaled)).astype(np.uint8).reshape(-1, 1)
    bgr = cv2.applyColorMap(grey, cv2.COLORMAP_JET).reshape(-1, 3)
    return bgr[:, ::-1]


def _thin(points: np.ndarray) -> np.ndarray:
    # Deterministic thinning: every k-th point keeps drawing fast on full scans.
    step = max(1, math.ceil(len(points) / MAX_DRAWN_POINTS))
    return points[::step]


def _draw_image_panel(frame: Frame, track_ids: bool = False) -> np.ndarray:
    panel = np.zeros((TILE_HEIGHT, TILE_IMAGE_WIDTH, 3), dtype=np.uint8)
    scale = min(TILE_IMAGE_WIDTH / frame.width, TILE_HEIGHT / frame.height)
    size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
    image = cv2.resize(frame.rgb, size, interpolation=cv2.INTER_AREA)
    if frame.points is not None and len(frame.points):
        points = _thin(frame.points.xyz)
        T = frame.calibration.T_cam_from_lidar
        points_cam = transform_points(T, points)
        ahead = points_cam[:, 2] > 0.5
        uv = frame.calibration.project(points_cam[ahead]) * scale
        colours = _range_colours_rgb(np.linalg.norm(points_cam[ahead], axis=1))
        cols, rows = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
        inside = (cols >= 0) & (cols < size[0]) & (rows >= 0) & (rows < size[1])
        image[rows[inside], cols[inside]] = colours[inside]
    for obj in frame.objects:
        colour = CLASS_COLOURS_RGB[obj.class_id]
        x1, y1, x2, y2 = (np.asarray(obj.box_2d, np.float64) * scale).round().astype(int)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, 1)
        tag = f"{obj.class_name} o{obj.occlusion_level}" + (f" {obj.event}" if obj.event else "")
        if track_ids:
            tag = f"#{obj.instance_id} {tag}"
        cv2.putText(
            image, tag, (x1, max(8, y1 - 2)), cv2.FONT_HERSHEY_PLAIN, 0.7, colour, 1, cv2.LINE_AA
        )
    panel[: size[1], : size[0]] = image
    cv2.putText(
        panel,
        frame.frame_id,
        (4, TILE_HEIGHT - 6),
        cv2.FONT_HERSHEY_PLAIN,
        0.9,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return panel


def _bev_pixels(xy_lidar: np.ndarray) -> np.ndarray:
    """Lidar-frame ``(N, 2)`` x forward, y left (metres) -> float ``(N, 2)`` panel (col, row)."""
    metres_per_px = BEV_FORWARD_M / TILE_HEIGHT
    col = (BEV_HALF_WIDTH_M - xy_lidar[:, 1]) / metres_per_px
    row = TILE_HEIGHT - xy_lidar[:, 0] / metres_per_px
    return np.stack([col, row], axis=1)


def _draw_bev_panel(frame: Frame) -> np.ndarray:
    panel = np.full((TILE_HEIGHT, TILE_HEIGHT, 3), 24, dtype=np.uint8)
    if frame.points is None:
        cv2.putText(panel, "no LiDAR", (8, 20), cv2.FONT_HERSHEY_PLAIN, 0.9, (200, 200, 200), 1)
        return panel
    points = _thin(frame.points.xyz)
    pix = np.floor(_bev_pixels(points[:, :2].astype(np.float64))).astype(int)
    inside = (
        (pix[:, 0] >= 0) & (pix[:, 0] < TILE_HEIGHT) & (pix[:, 1] >= 0) & (pix[:, 1] < TILE_HEIGHT)
    )
    colours = _range_colours_rgb(np.linalg.norm(points[:, :3], axis=1))
    panel[pix[inside, 1], pix[inside, 0]] = colours[inside]
    T_lidar_from_cam = np.linalg.inv(frame.calibration.T_cam_from_lidar)
    for obj in frame.objects:
        if obj.box_3d is None:
            continue
        corners_cam = obj.box_3d.corners_cam()[:4]  # bottom face
        corners_lidar = corners_cam @ T_lidar_from_cam[:3, :3].T + T_lidar_from_cam[:3, 3]
        polygon = np.round(_bev_pixels(corners_lidar[:, :2])).astype(np.int32)
        cv2.polylines(panel, [polygon], True, CLASS_COLOURS_RGB[obj.class_id], 1)
    ego = _bev_pixels(np.zeros((1, 2)))[0].round().astype(int)
    cv2.circle(panel, (int(ego[0]), int(ego[1]) - 3), 3, (255, 255, 255), -1)
    return panel


def render_tile(frame: Frame, track_ids: bool = False) -> np.ndarray:
    """uint8 RGB ``(TILE_HEIGHT, TILE_WIDTH, 3)`` preview of one frame (``track_ids``: each
    box's tag starts with ``#`` and its track id)."""
    return np.concatenate([_draw_image_panel(frame, track_ids), _draw_bev_panel(frame)], axis=1)


def make_contact_sheet(out_dir: Path, max_frames: int = 24, columns: int = 3) -> np.ndarray:
    """uint8 RGB ``(rows * TILE_HEIGHT, columns * TILE_WIDTH, 3)`` sheet of the first
    ``max_frames`` frames of the KITTI data under ``out_dir`` (``out_dir/kitti/training``,
    ``out_dir/training`` or ``out_dir`` itself); ``rows = ceil(frames / columns)``, empty
    cells are black."""
    if max_frames < 1 or columns < 1:
        raise ValueError(f"max_frames and columns must be >= 1, got {max_frames}, {columns}")
    root = _kitti_root(Path(out_dir))
    frame_ids = list_kitti_frames(root)[:max_frames]
    if not frame_ids:
        raise DatasetReadError(root / "image_2", "no frames to preview")
    rows = math.ceil(len(frame_ids) / columns)
    sheet = np.zeros((rows * TILE_HEIGHT, columns * TILE_WIDTH, 3), dtype=np.uint8)
    for position, frame_id in enumerate(frame_ids):
        row, col = divmod(position, columns)
        tile = render_tile(read_kitti_frame(root, frame_id))
        sheet[
            row * TILE_HEIGHT : (row + 1) * TILE_HEIGHT, col * TILE_WIDTH : (col + 1) * TILE_WIDTH
        ] = tile
    return sheet


def save_contact_sheet(out_dir: Path, path: Path, max_frames: int = 24, columns: int = 3) -> Path:
    """Write :func:`make_contact_sheet` as a PNG at ``path`` (atomically); returns ``path``."""
    sheet = make_contact_sheet(out_dir, max_frames=max_frames, columns=columns)
    atomic_write_bytes(Path(path), encode_png(sheet, rgb=True))
    return Path(path)


def sequence_frames(out_dir: Path) -> dict[int, tuple[float, list[str]]]:
    """Sequence id -> (frame rate in Hz, frame ids in order) of a dataset's sequences, from
    its manifest (empty for a dataset of independent frames)."""
    found: dict[int, dict[int, str]] = {}
    rates: dict[int, float] = {}
    for record in read_manifest(Path(out_dir)):
        sequence = record.get("sequence")
        if isinstance(sequence, dict):
            sequence_id = int(sequence["sequence_id"])
            found.setdefault(sequence_id, {})[int(sequence["frame"])] = str(record["frame_id"])
            rates[sequence_id] = float(sequence["rate_hz"])
    return {
        sid: (rates[sid], [frames[k] for k in sorted(frames)])
        for sid, frames in sorted(found.items())
    }


def save_sequence_gif(out_dir: Path, path: Path, sequence_id: int) -> Path:
    """Write sequence ``sequence_id`` of the dataset at ``out_dir`` as an animated GIF at
    ``path`` (atomically), one :func:`render_tile` per frame with track ids, played at the
    sequence's frame rate and looping; returns ``path``."""
    import imageio.v3 as iio

    sequences = sequence_frames(Path(out_dir))
    if sequence_id not in sequences:
        known = ", ".join(str(s) for s in sequences) or "none: the dataset has no sequences"
        raise DatasetReadError(
            Path(out_dir) / "manifest.jsonl", f"no sequence {sequence_id} (sequences: {known})"
        )
    rate_hz, frame_ids = sequences[sequence_id]
    root = _kitti_root(Path(out_dir))
    tiles = np.stack([render_tile(read_kitti_frame(root, f), track_ids=True) for f in frame_ids])
    data = iio.imwrite("<bytes>", tiles, extension=".gif", duration=1000.0 / rate_hz, loop=0)
    atomic_write_bytes(Path(path), data)
    return Path(path)
