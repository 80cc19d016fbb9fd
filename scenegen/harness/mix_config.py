"""The bench config's training mix: several sources, fine-tuning, real test sets, the mix sweep.

::

    train:
      sources:
        - {scenarios: [../scenarios/clear_day_urban.yaml], frames_per_scenario: 120}
        - {dataset: ../../shared/data/kitti45/training, frames: "000004-000029", repeat: 5}
      finetune: {dataset: ../../shared/data/kitti45/training, frames: "000004-000029", epochs: 20}
    test:
      real: [{dataset: ../../shared/data/kitti45/training, frames: "000030-000049"}]
    sim2real: [real_only, synthetic_only, finetune, mixed]
    mix_sweep: {real_fraction: [0.1, 0.25, 0.5, 1.0], mode: [accumulate, replace],
                generations: 3, real_floor: 0.1, force: false}

A dataset source is *real* unless it is a scenegen dataset (``real: true|false`` overrides);
``frames`` picks frame ids (``"000004-000029"``, ``"000004-000010,000012"`` or a list), and a
frame id in both a training source and a real test set of the same dataset is refused.
The single-source forms (``train: {scenarios: ..., frames_per_scenario: N}`` and
``train: {dataset: PATH}``) are one source each.

A mix below ``mix_sweep.real_floor`` (share of real, ground-truth-labelled frames in each
batch) is refused unless forced: training recursively on a model's own labels without
enough real data collapses (Shumailov et al., Nature 2024; Gerstgrasser et al. 2024).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenegen.harness.config_reader import ConfigReader
from scenegen.io import DatasetReader
from scenegen.io.errors import DatasetReadError
from scenegen.io.reader import locate_dataset
from scenegen.io.splits import SplitSpecError, parse_frame_selection, select_frames

SIM2REAL_RUNS: tuple[str, ...] = ("real_only", "synthetic_only", "finetune", "mixed")
MIX_MODES: tuple[str, ...] = ("accumulate", "replace")
DEFAULT_REAL_FLOOR = 0.1
DEFAULT_PSEUDO_LABEL_SCORE = 0.3

_SOURCE_KEYS = {"scenarios", "frames_per_scenario", "dataset", "frames", "repeat", "real"}
_DATASET_KEYS = {"dataset", "frames"}


@dataclass(frozen=True)
class DatasetPart:
    """Frames of one dataset on disk: ``root`` as located by the reader, the chosen ids."""

    path: Path
    root: Path
    frame_ids: tuple[str, ...]
    selection: str | None  # the ``frames`` text of the config, None for every frame
    format: str  # as the reader detected it: scenegen, kitti, coco or yolo

    @property
    def name(self) -> str:
        folder = self.path.parent.name if self.path.name == "training" else self.path.name
        return f"{folder} {self.selection}" if self.selection else folder


@dataclass(frozen=True)
class TrainSource:
    """One training source: scenarios to render, or frames of a dataset; ``repeat`` times."""

    key: str
    scenarios: tuple[Path, ...] = ()
    frames_per_scenario: int = 100
    dataset: DatasetPart | None = None
    repeat: int = 1
    real: bool = False

    @property
    def name(self) -> str:
        if self.dataset is not None:
            return self.dataset.name
        return "+".join(p.stem for p in self.scenarios)


@dataclass(frozen=True)
class Finetune:
    dataset: DatasetPart
    epochs: int
    learning_rate: float | None  # None: the training learning rate


@dataclass(frozen=True)
class MixSweep:
    real_fractions: tuple[float, ...]
    modes: tuple[str, ...]
    generations: int
    real_floor: float
    force: bool
    pseudo_label_score: float


def dataset_part(reader: ConfigReader, key: str, value: dict[str, Any]) -> DatasetPart:
    """``{dataset: PATH, frames: SELECTION}`` (``frames`` optional) read and checked."""
    path = reader.existing_path(f"{key}.dataset", value.get("dataset"))
    try:
        fmt, root = locate_dataset(path)
        ids = DatasetReader(path, unknown_classes="skip").frame_ids
    except (DatasetReadError, ValueError) as exc:
        raise reader.fail(f"{key}.dataset", str(exc)) from None
    selection = value.get("frames")
    if selection is None:
        return DatasetPart(path, Path(root).resolve(), tuple(ids), None, fmt)
    if isinstance(selection, list):
        text = ",".join(str(s) for s in selection)
    elif isinstance(selection, str):
        text = selection
    else:
        raise reader.fail(f"{key}.frames", f"expected ids or FIRST-LAST ranges, got {selection!r}")
    try:
        chosen = select_frames(ids, parse_frame_selection(text))
    except SplitSpecError as exc:
        raise reader.fail(f"{key}.frames", str(exc)) from None
    if not chosen:
        raise reader.fail(
            f"{key}.frames", f"{text!r} selects none of the {len(ids)} frames of {path}"
        )
    return DatasetPart(path, Path(root).resolve(), chosen, text, fmt)


def _source(reader: ConfigReader, key: str, value: Any, allowed: set[str]) -> TrainSource:
    value = reader.mapping(key, value, allowed)
    if ("scenarios" in value) == ("dataset" in value):
        raise reader.fail(key, "give either scenarios (to render) or dataset (a folder), not both")
    repeat = int(reader.number(f"{key}.repeat", value.get("repeat", 1), 1, 10_000, integer=True))
    if "scenarios" in value:
        for extra in ("frames", "real"):
            if extra in value:
                raise reader.fail(f"{key}.{extra}", "only a dataset source takes this key")
        return TrainSource(
            key,
            scenarios=reader.paths(f"{key}.scenarios", value["scenarios"]),
            frames_per_scenario=int(
                reader.number(
                    f"{key}.frames_per_scenario",
                    value.get("frames_per_scenario", 100),
                    1,
                    10**6,
                    integer=True,
                )
            ),
            repeat=repeat,
        )
    if "frames_per_scenario" in value:
        raise reader.fail(f"{key}.frames_per_scenario", "only a scenarios source takes this key")
    part = dataset_part(reader, key, value)
    fmt, _ = locate_dataset(part.path)
    real = (
        fmt != "scenegen" if "real" not in value else reader.boolean(f"{key}.real", value["real"])
    )
    return TrainSource(key, dataset=part, repeat=repeat, real=real)


def parse_train(
    reader: ConfigReader, train: dict[str, Any]
) -> tuple[tuple[TrainSource, ...], Finetune | None]:
    """The ``train`` section: its sources (one for the single-source forms) and fine-tuning."""
    finetune = None
    if train.get("finetune") is not None:
        value = reader.mapping(
            "train.finetune",
            train["finetune"],
            {*_DATASET_KEYS, "epochs", "learning_rate"},
            required={"dataset", "epochs"},
        )
        rate = value.get("learning_rate")
        finetune = Finetune(
            dataset_part(reader, "train.finetune", value),
            epochs=int(
                reader.number("train.finetune.epochs", value["epochs"], 1, 10_000, integer=True)
            ),
            learning_rate=None
            if rate is None
            else reader.number("train.finetune.learning_rate", rate, 1e-6, 1.0),
        )
    if "sources" not in train:
        single = {k: v for k, v in train.items() if k != "finetune"}
        return (_source(reader, "train", single, _SOURCE_KEYS),), finetune
    clash = sorted(set(train) & _SOURCE_KEYS)
    if clash:
        raise reader.fail(f"train.{clash[0]}", "give it inside train.sources, not next to it")
    sources = train["sources"]
    if not isinstance(sources, list) or not sources:
        raise reader.fail("train.sources", f"expected a non-empty list of sources, got {sources!r}")
    parsed = tuple(
        _source(reader, f"train.sources[{i}]", s, _SOURCE_KEYS) for i, s in enumerate(sources)
    )
    return parsed, finetune


def parse_test_real(reader: ConfigReader, value: Any) -> tuple[DatasetPart, ...]:
    """``test.real``: a list of dataset paths or ``{dataset, frames}`` mappings."""
    if not isinstance(value, list) or not value:
        raise reader.fail("test.real", f"expected a non-empty list of datasets, got {value!r}")
    parts = []
    for i, item in enumerate(value):
        key = f"test.real[{i}]"
        item = {"dataset": item} if isinstance(item, str) else item
        parts.append(dataset_part(reader, key, reader.mapping(key, item, _DATASET_KEYS)))
    return tuple(parts)


def check_no_leak(
    reader: ConfigReader,
    sources: tuple[TrainSource, ...],
    finetune: Finetune | None,
    test_real: tuple[DatasetPart, ...],
) -> None:
    """Refuse a real test set that shares a frame with any training source."""
    trained = [(s.key, s.dataset) for s in sources if s.dataset is not None]
    if finetune is not None:
        trained.append(("train.finetune", finetune.dataset))
    for i, test in enumerate(test_real):
        for key, part in trained:
            if part.root != test.root:
                continue
            shared = sorted(set(part.frame_ids) & set(test.frame_ids))
            if shared:
                raise reader.fail(
                    f"test.real[{i}].frames",
                    f"frames {', '.join(shared[:5])}{' ...' if len(shared) > 5 else ''} "
                    f"({len(shared)} in all) are also trained on in {key}; test on frames "
                    "no training run saw (e.g. train 000004-000029, test 000030-000049)",
                )


def parse_sim2real(
    reader: ConfigReader, value: Any, sources: tuple[TrainSource, ...], finetune: Finetune | None
) -> tuple[str, ...]:
    """``sim2real``: which comparison runs to train (``true`` for all four)."""
    if value is None or value is False:
        return ()
    runs = list(SIM2REAL_RUNS) if value is True else value
    if not isinstance(runs, list) or not runs or any(r not in SIM2REAL_RUNS for r in runs):
        raise reader.fail(
            "sim2real", f"expected true or a list from {list(SIM2REAL_RUNS)}, got {value!r}"
        )
    real = any(s.real for s in sources)
    synthetic = any(not s.real for s in sources)
    needs = {
        "real_only": real,
        "synthetic_only": synthetic,
        "mixed": real and synthetic,
        "finetune": synthetic and finetune is not None,
    }
    for run in runs:
        if not needs[run]:
            what = {
                "real_only": "a real dataset source",
                "synthetic_only": "a synthetic source (scenarios or a scenegen dataset)",
                "mixed": "both a real and a synthetic source",
                "finetune": "a synthetic source and train.finetune",
            }[run]
            raise reader.fail("sim2real", f"{run!r} needs {what} in train")
    return tuple(runs)


def parse_mix_sweep(
    reader: ConfigReader, value: Any, sources: tuple[TrainSource, ...], force: bool
) -> MixSweep | None:
    """``mix_sweep``, with the real-floor check of every mix it would train."""
    if value is None:
        return None
    value = reader.mapping(
        "mix_sweep",
        value,
        {"real_fraction", "mode", "generations", "real_floor", "force", "pseudo_label_score"},
        required={"real_fraction"},
    )
    fractions = value["real_fraction"]
    if not isinstance(fractions, list) or not fractions:
        raise reader.fail(
            "mix_sweep.real_fraction", f"expected a list of shares in [0, 1], got {fractions!r}"
        )
    shares = tuple(
        reader.number(f"mix_sweep.real_fraction[{i}]", f, 0.0, 1.0) for i, f in enumerate(fractions)
    )
    modes = value.get("mode", "accumulate")
    modes = [modes] if isinstance(modes, str) else modes
    if not isinstance(modes, list) or not modes or any(m not in MIX_MODES for m in modes):
        raise reader.fail(
            "mix_sweep.mode",
            f"expected one of {list(MIX_MODES)} or a list of them, got {value.get('mode')!r}",
        )
    sweep = MixSweep(
        real_fractions=shares,
        modes=tuple(dict.fromkeys(modes)),
        generations=int(
            reader.number("mix_sweep.generations", value.get("generations", 1), 1, 20, integer=True)
        ),
        real_floor=reader.number(
            "mix_sweep.real_floor", value.get("real_floor", DEFAULT_REAL_FLOOR), 0.0, 1.0
        ),
        force=force or reader.boolean("mix_sweep.force", value.get("force", False)),
        pseudo_label_score=reader.number(
            "mix_sweep.pseudo_label_score",
            value.get("pseudo_label_score", DEFAULT_PSEUDO_LABEL_SCORE),
            0.0,
            1.0,
        ),
    )
    if any(f > 0 for f in shares) and not any(s.real for s in sources):
        raise reader.fail(
            "mix_sweep.real_fraction", "a real share above 0 needs a real dataset source in train"
        )
    if any(f < 1 for f in shares) and all(s.real for s in sources):
        raise reader.fail(
            "mix_sweep.real_fraction", "a real share below 1 needs a synthetic source in train"
        )
    if not sweep.force:
        for (fraction, mode, generation), real_share in sweep_mixes(sweep).items():
            if real_share < sweep.real_floor:
                where = (
                    "generation 0" if generation == 0 else f"generation {generation} in {mode} mode"
                )
                detail = (
                    "every frame of a replace generation is labelled by the previous model"
                    if generation > 0 and mode == "replace"
                    else f"real_fraction {fraction:g}"
                )
                raise reader.fail(
                    "mix_sweep",
                    f"the mix of {where} has a real share of {real_share:g} ({detail}), below "
                    f"real_floor {sweep.real_floor:g}: training on too little real data "
                    "collapses over generations (Shumailov et al. 2024). Raise the real share, "
                    "lower real_floor, or force it (mix_sweep.force: true or --force)",
                )
    return sweep


def sweep_mixes(sweep: MixSweep) -> dict[tuple[float, str, int], float]:
    """Every mix the sweep trains -> its real share: ``(real_fraction, mode, generation)``.
    Generation 0 is shared by the modes (mode ``""``); in ``accumulate`` the real frames keep
    their share, in ``replace`` a generation trains only on the previous model's labels."""
    mixes: dict[tuple[float, str, int], float] = {}
    for fraction in sweep.real_fractions:
        mixes[(fraction, "", 0)] = fraction
        for mode in sweep.modes:
            for generation in range(1, sweep.generations):
                mixes[(fraction, mode, generation)] = fraction if mode == "accumulate" else 0.0
    return mixes
