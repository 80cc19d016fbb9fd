"""Distributions of scenario values.

Every scenario value, constant or random, is a :class:`Distribution` with
``sample(rng) -> value`` and ``support() -> (low, high)``:

==========================================  ==============================  ===========
expression                                  draws                           support
==========================================  ==============================  ===========
``3.5`` / ``"urban"`` / ``true``            the constant                    (v, v)
``uniform(low, high)``                      float in [low, high)            (low, high)
``normal(mean, std)``                       float, std >= 0                 (-inf, inf)
``truncnormal(mean, std, low, high)``       normal restricted to the range  (low, high)
``randint(low, high)``                      integer, both ends inclusive    (low, high)
``choice([a, b, ...], weights=[...])``      one of the options              (min, max)
==========================================  ==============================  ===========

:func:`build_distribution` turns a parsed call (see :mod:`scenegen.scenario.expr`)
into a distribution and checks its arguments (arity, types, ``low <= high``,
``std >= 0``, weights matching the options, finite numbers).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from scenegen.scenario.expr import Argument, Call, ExpressionError, ListExpr, Literal, Node

Scalar = int | float | str | bool

# Name -> parameter names, in positional order.
FUNCTION_PARAMETERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "uniform": ("low", "high"),
        "normal": ("mean", "std"),
        "truncnormal": ("mean", "std", "low", "high"),
        "randint": ("low", "high"),
        "choice": ("options", "weights"),
    }
)
MAX_CHOICE_OPTIONS = 1000
# A truncnormal whose bounds hold less probability than this is almost surely a typo.
_MIN_TRUNCATED_MASS = 1e-9


class Distribution(ABC):
    """A scenario value: constant or random."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Scalar:
        """Draw one plain Python value (int, float, str or bool)."""

    @abstractmethod
    def support(self) -> tuple[Scalar, Scalar]:
        """``(low, high)``: every draw lies in this closed range (by Python ordering)."""

    def values(self) -> tuple[Scalar, ...] | None:
        """The finite set of possible draws, or ``None`` for continuous distributions."""
        return None


def _fmt(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


@dataclass(frozen=True)
class Constant(Distribution):
    value: Scalar

    def sample(self, rng: np.random.Generator) -> Scalar:
        return self.value

    def support(self) -> tuple[Scalar, Scalar]:
        return (self.value, self.value)

    def values(self) -> tuple[Scalar, ...]:
        return (self.value,)

    def __str__(self) -> str:
        return _fmt(self.value)


@dataclass(frozen=True)
class Uniform(Distribution):
    low: float
    high: float

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def __str__(self) -> str:
        return f"uniform({_fmt(self.low)}, {_fmt(self.high)})"


@dataclass(frozen=True)
class Normal(Distribution):
    mean: float
    std: float

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.normal(self.mean, self.std))

    def support(self) -> tuple[float, float]:
        if self.std == 0:
            return (self.mean, self.mean)
        return (-math.inf, math.inf)

    def __str__(self) -> str:
        return f"normal({_fmt(self.mean)}, {_fmt(self.std)})"


@dataclass(frozen=True)
class TruncNormal(Distribution):
    """Normal(mean, std) restricted to [low, high], drawn by inverting the CDF.

    One uniform draw per sample (no rejection loop), so the number of draws, and
    with it every later value of a frame, does not depend on the bounds.
    """

    mean: float
    std: float
    low: float
    high: float

    def _standard_bounds(self) -> tuple[float, float, float]:
        """Bounds in standard units, mirrored into the lower tail for precision."""
        a = (self.low - self.mean) / self.std
        b = (self.high - self.mean) / self.std
        if a > 0:  # both in the upper tail: CDF values near 1 lose digits, so mirror
            return -b, -a, -1.0
        return a, b, 1.0

    def probability_mass(self) -> float:
        a, b, _ = self._standard_bounds()
        return _normal_cdf(b) - _normal_cdf(a)

    def sample(self, rng: np.random.Generator) -> float:
        a, b, sign = self._standard_bounds()
        u = rng.uniform(_normal_cdf(a), _normal_cdf(b))
        z = min(max(_normal_quantile(u), a), b)
        return float(min(max(self.mean + sign * self.std * z, self.low), self.high))

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def __str__(self) -> str:
        return (
            f"truncnormal({_fmt(self.mean)}, {_fmt(self.std)}, {_fmt(self.low)}, {_fmt(self.high)})"
        )


@dataclass(frozen=True)
class RandInt(Distribution):
    """Integer in ``[low, high]``, both ends included."""

    low: int
    high: int

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high, endpoint=True))

    def support(self) -> tuple[int, int]:
        return (self.low, self.high)

    def __str__(self) -> str:
        return f"randint({self.low}, {self.high})"


@dataclass(frozen=True)
class Choice(Distribution):
    """One of ``options``, with probabilities proportional to ``weights`` (default equal)."""

    options: tuple[Scalar, ...]
    weights: tuple[float, ...] | None = None

    def sample(self, rng: np.random.Generator) -> Scalar:
        if self.weights is None:
            index = int(rng.integers(len(self.options)))
        else:
            probabilities = np.asarray(self.weights, dtype=np.float64)
            index = int(rng.choice(len(self.options), p=probabilities / probabilities.sum()))
        return self.options[index]

    def support(self) -> tuple[Scalar, Scalar]:
        return (min(self.options), max(self.options))  # type: ignore[type-var]

    def values(self) -> tuple[Scalar, ...]:
        return self.options

    def __str__(self) -> str:
        text = "choice([" + ", ".join(_fmt(o) for o in self.options) + "]"
        if self.weights is not None:
            text += ", weights=[" + ", ".join(_fmt(w) for w in self.weights) + "]"
        return text + ")"


# ---------------------------------------------------------------- building from syntax


def build_distribution(call: Call) -> Distribution:
    """Turn a parsed call into a distribution, checking its arguments.

    Raises :class:`ExpressionError` pointing at the offending argument.
    """
    names = FUNCTION_PARAMETERS[call.name]
    args = _bind_arguments(call, names)
    if call.name == "choice":
        return _build_choice(call, args)
    integer = call.name == "randint"
    numbers = {name: _number(args[name], f"{call.name}: {name}", integer) for name in names}
    if call.name == "uniform":
        _check_order(call, args, numbers)
        return Uniform(float(numbers["low"]), float(numbers["high"]))
    if call.name == "randint":
        _check_order(call, args, numbers)
        return RandInt(int(numbers["low"]), int(numbers["high"]))
    if numbers["std"] < 0:
        raise ExpressionError(
            args["std"].offset,
            f"{call.name}: std is {numbers['std']}, expected a standard deviation >= 0",
        )
    if call.name == "normal":
        return Normal(float(numbers["mean"]), float(numbers["std"]))
    if numbers["std"] == 0:
        raise ExpressionError(
            args["std"].offset, "truncnormal: std is 0, expected std > 0 (write a constant instead)"
        )
    _check_order(call, args, numbers)
    distribution = TruncNormal(*(float(numbers[n]) for n in names))
    if distribution.probability_mass() < _MIN_TRUNCATED_MASS:
        raise ExpressionError(
            call.offset,
            "truncnormal: [low, high] holds almost no "
            "probability, expected a mean within a few std "
            "of the range",
        )
    return distribution


def _bind_arguments(call: Call, names: Sequence[str]) -> dict[str, Node]:
    required = names if call.name != "choice" else names[:1]
    bound: dict[str, Node] = {}
    signature = f"{call.name}({', '.join(names)})"
    for position, arg in enumerate(call.args):
        name = (
            arg.name
            if arg.name is not None
            else (names[position] if position < len(names) else None)
        )
        if name is None:
            raise ExpressionError(arg.offset, f"too many arguments, expected {signature}")
        if name not in names:
            raise ExpressionError(arg.offset, f"unknown argument {name!r}, expected {signature}")
        if name in bound:
            raise ExpressionError(
                arg.offset, f"argument {name!r} given twice, expected {signature}"
            )
        bound[name] = arg.value
    missing = [name for name in required if name not in bound]
    if missing:
        raise ExpressionError(
            call.offset, f"{call.name} is missing {', '.join(missing)}, expected {signature}"
        )
    return bound


def _number(node: Node, what: str, integer: bool) -> int | float:
    kind = "an integer" if integer else "a number"
    if not isinstance(node, Literal) or isinstance(node.value, bool | str):
        raise ExpressionError(node.offset, f"{what} must be {kind}, found {_node_kind(node)}")
    value = node.value
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(node.offset, f"{what} is not finite, expected a finite number")
    if integer and not isinstance(value, int):
        raise ExpressionError(node.offset, f"{what} is {value}, expected an integer")
    return value


def _check_order(call: Call, args: dict[str, Node], numbers: dict[str, int | float]) -> None:
    if numbers["low"] > numbers["high"]:
        raise ExpressionError(
            args["low"].offset,
            f"{call.name}: low {numbers['low']} is "
            f"greater than high {numbers['high']}, "
            "expected low <= high",
        )


def _build_choice(call: Call, args: dict[str, Node]) -> Choice:
    options_node = args["options"]
    if not isinstance(options_node, ListExpr) or not options_node.items:
        raise ExpressionError(
            options_node.offset, "choice needs a non-empty list of options, e.g. choice([1, 2, 3])"
        )
    if len(options_node.items) > MAX_CHOICE_OPTIONS:
        raise ExpressionError(
            options_node.offset,
            f"choice has {len(options_node.items)} options, expected at most {MAX_CHOICE_OPTIONS}",
        )
    options: list[Scalar] = []
    for item in options_node.items:
        if not isinstance(item, Literal):
            raise ExpressionError(
                item.offset,
                f"choice options must be numbers, strings or booleans, found {_node_kind(item)}",
            )
        if isinstance(item.value, float) and not math.isfinite(item.value):
            raise ExpressionError(
                item.offset, "choice option is not finite, expected a finite number"
            )
        options.append(item.value)
    kinds = {_scalar_kind(option) for option in options}
    if len(kinds) > 1:
        raise ExpressionError(
            options_node.offset,
            "choice options mix " + " and ".join(sorted(kinds)) + ", expected options of one kind",
        )
    if "weights" not in args:
        return Choice(tuple(options))
    weights_node = args["weights"]
    if not isinstance(weights_node, ListExpr):
        raise ExpressionError(
            weights_node.offset, "weights must be a list of numbers, e.g. weights=[3, 1]"
        )
    if len(weights_node.items) != len(options):
        raise ExpressionError(
            weights_node.offset,
            f"choice has {len(options)} options but "
            f"{len(weights_node.items)} weights, "
            "expected one weight per option",
        )
    weights = [float(_number(w, "weight", integer=False)) for w in weights_node.items]
    for weight, node in zip(weights, weights_node.items, strict=True):
        if weight < 0:
            raise ExpressionError(
                node.offset, f"weight {weight} is negative, expected weights >= 0"
            )
    if sum(weights) <= 0:
        raise ExpressionError(
            weights_node.offset, "weights sum to 0, expected at least one positive weight"
        )
    return Choice(tuple(options), tuple(weights))


def _scalar_kind(value: Scalar) -> str:
    if isinstance(value, bool):
        return "booleans"
    if isinstance(value, str):
        return "strings"
    return "numbers"


def _node_kind(node: Node | Argument) -> str:
    if isinstance(node, Call):
        return f"a call of {node.name}()"
    if isinstance(node, ListExpr):
        return "a list"
    if isinstance(node, Literal):
        return {"booleans": "a boolean", "strings": "a string", "numbers": "a number"}[
            _scalar_kind(node.value)
        ]
    return "an argument"


# ---------------------------------------------------------------- normal CDF and quantile


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _normal_quantile(p: float) -> float:
    """Inverse of the standard normal CDF (Acklam's rational approximation + one Halley step)."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    a = (
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    )
    b = (
        -5.447609879822406e01,
        1.615858368580409e02,
        -1.556989798598866e02,
        6.680131188771972e01,
        -1.328068155288572e01,
    )
    c = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    )
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    p_low = 0.02425
    if p < p_low:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        )
    elif p <= 1.0 - p_low:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
        )
    else:
        q = math.sqrt(-2.0 * math.log(1.0 - p))
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        )
    if abs(x) > 30.0:  # the refinement below would overflow; far tails need no more digits
        return x
    # One Halley refinement brings the error to near machine precision.
    error = _normal_cdf(x) - p
    u = error * math.sqrt(2.0 * math.pi) * math.exp(x * x / 2.0)
    return x - u / (1.0 + x * u / 2.0)
