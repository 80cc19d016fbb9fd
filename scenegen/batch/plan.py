"""What a batch renders: one task per frame, laid out scenario after scenario.

Frame ``i`` of the dataset is a pure function of (scenario file, base seed, its index in
that scenario, the scenario's frame count), so the output is byte-identical whatever the
engine or the number of workers that renders it.

A scenario with ``sequence:`` contributes ``frames`` sequences of ``sequence.frames``
frames each, one after another: its ``local_index`` is the sequence's index (the seed of
its one world), ``sequence_frame`` the frame within it, and every sequence of the dataset
has its own ``sequence_id`` (0, 1, ... in dataset order). A frame of a sequence is a pure
function of its task too, so resume and any worker count give the same bytes; shards
take whole sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scenegen.errors import InvalidInputError
from scenegen.scenario.model import CoverRequest


@dataclass(frozen=True)
class FrameTask:
    """One frame to make: dataset index, its scenario and its index within it."""

    index: int
    scenario_path: str
    local_index: int
    scenario_frames: int
    base_seed: int
    sequence_id: int = -1  # -1: an independent frame
    sequence_frame: int = 0

    @property
    def unit(self) -> int:
        """The unit of work that shards and schedules together: its sequence, or itself."""
        return self.sequence_id if self.sequence_id >= 0 else self.index


@dataclass(frozen=True)
class BatchPlan:
    """The frames to render; a shard's plan also knows which shard of the whole it is."""

    tasks: tuple[FrameTask, ...]
    shard_of: tuple[int, int] | None = None  # (K, N), 1-based
    dataset_frames: int | None = None  # frames of the whole dataset, when this is a shard

    def shard(self, k: int, n: int) -> BatchPlan:
        """Frames of shard ``k`` (1-based) of ``n``: every n-th frame (every n-th sequence of
        a sequence scenario), so shards are even."""
        if not 1 <= k <= n:
            raise InvalidInputError(f"--shard {k}/{n}: expected 1 <= K <= N")
        if self.shard_of is not None:
            raise InvalidInputError("a shard cannot be sharded again")
        tasks = tuple(t for t in self.tasks if t.unit % n == k - 1)
        return BatchPlan(tasks, (k, n), len(self.tasks))

    def creation(self) -> dict[str, object]:
        """What ``dataset.json`` records about how the folder was planned; merge reads the
        shard part to tell which shards and frames are missing."""
        info: dict[str, object] = {"frames_planned": len(self.tasks)}
        if self.shard_of is not None:
            info["shard"] = list(self.shard_of)
            info["dataset_frames"] = self.dataset_frames
        return info


def plan_batch(
    scenario_paths: Sequence[Path],
    frames: int | None,
    seed: int | None,
    cover: CoverRequest | None = None,
) -> BatchPlan:
    """Lay out the dataset: each scenario's frames, one after another.

    ``frames`` / ``seed`` override each scenario's own ``frames`` / ``seed`` when given
    (for a sequence scenario ``frames`` counts sequences).
    With a covering array (``cover``, or the file's ``cover:`` block) a scenario renders
    one frame per row unless ``frames`` asks for more (rows are then spread evenly).
    """
    from scenegen.coverage.cover import cover_rows
    from scenegen.scenario import load_scenario

    tasks: list[FrameTask] = []
    sequences = 0
    for path in scenario_paths:
        scenario = load_scenario(path)
        n = frames if frames is not None else scenario.default_frames
        rows = cover_rows(scenario, cover)
        if rows and frames is None:
            n = rows
        elif rows and n < rows:
            raise InvalidInputError(
                f"{path}: --frames {n} is fewer than the {rows} rows of its covering array, "
                f"expected at least {rows} (or no --frames: one frame per row)"
            )
        base_seed = seed if seed is not None else scenario.default_seed
        offset = len(tasks)
        if scenario.sequence is None:
            tasks.extend(FrameTask(offset + i, str(path), i, n, base_seed) for i in range(n))
            continue
        length = scenario.sequence.frames
        tasks.extend(
            FrameTask(offset + i * length + k, str(path), i, n, base_seed, sequences + i, k)
            for i in range(n)
            for k in range(length)
        )
        sequences += n
    return BatchPlan(tuple(tasks))
