"""Search methods: ask for points of the unit cube, tell them their objective (lower is
worse for the detector; the search minimises it).

One interface for the four methods, so the search loop, the tests' analytic objectives and
the benchmark run the same code:

* ``random``: independent uniform points (the baseline);
* ``qmc``: a scrambled Sobol' (or Halton) sequence, ``scipy.stats.qmc``; ignores the
  objective;
* ``cma``: CMA-ES (package ``cma``) in the unit cube (bounded), started at the centre with
  sigma 0.3; when it stops (converged) it restarts from a random point with twice the
  population (IPOP), so a long budget keeps exploring;
* ``bo``: Bayesian optimisation with optuna's TPE sampler (seeded); integer and choice keys
  are optuna integers and categoricals, mapped to the cube by :meth:`Dimension.unit_of`.

Every method takes an explicit seed; the same seed and the same told values give the same
points, which is what makes ``--resume`` replay a run exactly. ``ask`` returns a batch
(CMA-ES: its population; the others: ``batch`` points) and every point of a batch is told
before the next ask.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from scenegen.search.space import SearchSpace

METHODS = ("cma", "bo", "qmc", "random")
QMC_SEQUENCES = ("sobol", "halton")


class Method(Protocol):
    name: str

    def ask(self) -> list[list[float]]:
        """The next batch of unit-cube points."""
        ...

    def tell(self, points: Sequence[Sequence[float]], objectives: Sequence[float]) -> None:
        """The objectives of the last batch, in its order."""
        ...


class RandomSearch:
    name = "random"

    def __init__(self, dims: int, seed: int, batch: int) -> None:
        self._rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EA2C4]))
        self._dims, self._batch = dims, batch

    def ask(self) -> list[list[float]]:
        return self._rng.random((self._batch, self._dims)).tolist()

    def tell(self, points: Sequence[Sequence[float]], objectives: Sequence[float]) -> None:
        pass


class QmcSearch:
    def __init__(self, dims: int, seed: int, batch: int, sequence: str = "sobol") -> None:
        from scipy.stats import qmc

        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x9C]))
        if sequence == "sobol":
            self._engine: qmc.QMCEngine = qmc.Sobol(dims, scramble=True, seed=rng)
        elif sequence == "halton":
            self._engine = qmc.Halton(dims, scramble=True, seed=rng)
        else:
            raise ValueError(f"qmc sequence {sequence!r}, expected one of {QMC_SEQUENCES}")
        self.name = f"qmc-{sequence}"
        self._batch = batch

    def ask(self) -> list[list[float]]:
        with warnings.catch_warnings():  # Sobol' balance holds for the whole run's prefix
            warnings.simplefilter("ignore", UserWarning)
            return self._engine.random(self._batch).tolist()

    def tell(self, points: Sequence[Sequence[float]], objectives: Sequence[float]) -> None:
        pass


class CmaSearch:
    """CMA-ES with IPOP restarts. ``cma`` draws from numpy's global generator: the search
    keeps that generator's state as its own and restores the caller's around every call,
    so nothing else in the process moves it and the run stays a function of the seed."""

    name = "cma"

    def __init__(self, dims: int, seed: int, popsize: int | None = None) -> None:
        self._dims = dims
        self._rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC3A]))
        self._popsize = popsize or 4 + int(3 * np.log(max(dims, 1)))
        self._state: dict | None = None
        self._seed = seed
        self._es = self._start(np.full(dims, 0.5))
        self._pending: list[np.ndarray] = []

    def _with_own_state(self, call):  # type: ignore[no-untyped-def]
        caller = np.random.get_state()
        try:
            if self._state is not None:
                np.random.set_state(self._state)
            result = call()
            self._state = np.random.get_state()
            return result
        finally:
            np.random.set_state(caller)

    def _start(self, x0: np.ndarray):  # type: ignore[no-untyped-def]
        import cma

        options = {
            "bounds": [0.0, 1.0],
            "popsize": self._popsize,
            "seed": int(self._rng.integers(1, 2**31 - 1)),
            "verbose": -9,
            "verb_log": 0,
            "verb_disp": 0,
            "tolfun": 1e-4,
            "tolx": 1e-3,
        }
        if self._dims == 1:  # cma needs two coordinates; the second one is ignored
            x0 = np.append(x0, 0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._with_own_state(lambda: cma.CMAEvolutionStrategy(list(x0), 0.3, options))

    def ask(self) -> list[list[float]]:
        if self._with_own_state(self._es.stop):
            self._popsize *= 2
            self._es = self._start(self._rng.random(self._dims))
        self._pending = self._with_own_state(self._es.ask)
        return [np.clip(x[: self._dims], 0.0, 1.0).tolist() for x in self._pending]

    def tell(self, points: Sequence[Sequence[float]], objectives: Sequence[float]) -> None:
        values = [float(v) for v in objectives]
        self._with_own_state(lambda: self._es.tell(self._pending, values))


class TpeSearch:
    name = "bo"

    def __init__(self, space: SearchSpace, seed: int, batch: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._space = space
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=10, multivariate=True)
        with warnings.catch_warnings():  # multivariate is marked experimental
            warnings.simplefilter("ignore")
            self._study = optuna.create_study(direction="minimize", sampler=sampler)
        self._batch = batch
        self._trials: list = []

    def _distribution(self, index: int):  # type: ignore[no-untyped-def]
        d = self._space.dimensions[index]
        dist = self._optuna.distributions
        if d.kind == "real":
            return dist.FloatDistribution(d.low, d.high)
        if d.kind == "int":
            return dist.IntDistribution(int(d.low), int(d.high))
        return dist.CategoricalDistribution(list(range(len(d.options))))

    def ask(self) -> list[list[float]]:
        fixed = {f"x{i}": self._distribution(i) for i in range(len(self._space.dimensions))}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._trials = [self._study.ask(fixed) for _ in range(self._batch)]
        points = []
        for trial in self._trials:
            unit = []
            for i, d in enumerate(self._space.dimensions):
                value = trial.params[f"x{i}"]
                unit.append(d.unit_of(d.options[value] if d.kind == "choice" else value))
            points.append(unit)
        return points

    def tell(self, points: Sequence[Sequence[float]], objectives: Sequence[float]) -> None:
        for trial, value in zip(self._trials, objectives, strict=True):
            self._study.tell(trial, float(value))


def make_method(
    name: str, space: SearchSpace, seed: int, batch: int = 1, qmc_sequence: str = "sobol"
) -> Method:
    """Method ``name`` (one of :data:`METHODS`) over ``space``, seeded."""
    dims = len(space.dimensions)
    if batch < 1:
        raise ValueError(f"batch {batch}, expected >= 1")
    if name == "random":
        return RandomSearch(dims, seed, batch)
    if name == "qmc":
        return QmcSearch(dims, seed, batch, qmc_sequence)
    if name == "cma":
        return CmaSearch(dims, seed)
    if name == "bo":
        return TpeSearch(space, seed, batch)
    raise ValueError(f"method {name!r}, expected one of {', '.join(METHODS)}")
