"""Near-identical frames: a 256-bit difference hash of the image plus the labelled boxes.

The hash (Krawetz's dHash) compares each cell of a 17 x 16 grey thumbnail with its right
neighbour; frames whose hashes differ in at most ``duplicate_hash_bits`` bits *and* whose
labelled boxes agree (same count, each within 2 px) are duplicates. The boxes keep two
different scenes that look alike (dense fog, empty roads at night) apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scenegen.frame import Frame


@dataclass(frozen=True)
class Fingerprint:
    """What a frame is compared by: its image hash (32 bytes) and its boxes, sorted."""

    image_hash: bytes
    boxes: tuple[tuple[int, int, int, int], ...]


def fingerprint(frame: Frame) -> Fingerprint:
    # Every 4th pixel of every 4th row is plenty for a 17 x 16 thumbnail, 16x cheaper.
    grey = cv2.cvtColor(np.ascontiguousarray(frame.rgb[::4, ::4]), cv2.COLOR_RGB2GRAY)
    thumb = cv2.resize(grey, (17, 16), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = np.packbits((thumb[:, 1:] > thumb[:, :-1]).ravel())
    boxes = tuple(sorted(tuple(round(float(v)) for v in obj.box_2d) for obj in frame.objects))
    return Fingerprint(bits.tobytes(), boxes)


def hash_distance(a: Fingerprint, b: Fingerprint) -> int:
    """Bits in which the two image hashes differ."""
    x = np.frombuffer(a.image_hash, np.uint8) ^ np.frombuffer(b.image_hash, np.uint8)
    return int(np.unpackbits(x).sum())


def same_boxes(a: Fingerprint, b: Fingerprint, tolerance_px: int = 2) -> bool:
    if len(a.boxes) != len(b.boxes):
        return False
    if not a.boxes:
        return True
    diff = np.abs(np.array(a.boxes) - np.array(b.boxes))
    return bool(diff.max() <= tolerance_px)


class DuplicateIndex:
    """The fingerprints of the frames seen so far (32 bytes and the boxes each), in order."""

    def __init__(self, max_bits: int) -> None:
        self.max_bits = max_bits
        self._seen: list[tuple[str, Fingerprint]] = []

    def find(self, print_: Fingerprint) -> str | None:
        """The id of the first earlier frame this one duplicates, or ``None``."""
        for frame_id, earlier in self._seen:
            if same_boxes(print_, earlier) and hash_distance(print_, earlier) <= self.max_bits:
                return frame_id
        return None

    def add(self, frame_id: str, print_: Fingerprint) -> None:
        self._seen.append((frame_id, print_))
