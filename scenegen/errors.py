"""Errors raised by scenegen.

Every error the project raises on purpose derives from :class:`ScenegenError`, so a
caller (the CLI) can tell a user's mistake from a bug with one ``except`` clause.

Scenario files get precise errors: :class:`ScenarioError` names the file, the 1-based
line and column, the dotted key path (``environment.weather.fog.visibility_m``,
``actors[1].count``) and what was wrong and what was expected. A file with several
problems raises :class:`ScenarioErrors`, which carries every one of them in ``.errors``
and is itself a ``ScenarioError`` (positioned at the first problem), so
``except ScenarioError`` catches both.
"""

from __future__ import annotations

from collections.abc import Sequence


class ScenegenError(Exception):
    """Base class of every error scenegen raises deliberately."""


class InvalidInputError(ScenegenError):
    """The caller asked for something impossible as asked: a bad option value, a scenario
    file with mistakes, an output folder in the way. The CLI exits with status 2."""


class MissingDependencyError(ScenegenError, ImportError):
    """An optional dependency a feature needs is not installed; the message says how to
    install it."""


def _one_line(text: str) -> str:
    """``text`` with line breaks and control characters escaped (``\\x0b``, ``\\u2028``).

    Keys and values quoted from a scenario file are untrusted: raw, they could split one
    error over several lines or send escape sequences to the user's terminal.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class _AtFilePosition:
    """A message about a place in a scenario file: ``FILE:LINE:COL: key.path: message``."""

    def _locate(self, file: str, line: int, col: int, key_path: str, message: str) -> str:
        self.file = file
        self.line = line
        self.col = col
        self.key_path = key_path
        self.message = message
        return self._format()

    def _format(self) -> str:
        file, key_path, message = (_one_line(t) for t in (self.file, self.key_path, self.message))
        return f"{file}:{self.line}:{self.col}: {key_path}: {message}"

    def __str__(self) -> str:
        return self._format()

    def __reduce__(self):  # picklable across worker processes
        return (type(self), (self.file, self.line, self.col, self.key_path, self.message))


class ScenarioError(_AtFilePosition, InvalidInputError):
    """One problem in a scenario file, located at ``file:line:col``.

    ``str(error)`` is exactly ``FILE:LINE:COL: key.path: message``.
    """

    def __init__(self, file: str, line: int, col: int, key_path: str, message: str) -> None:
        super().__init__(self._locate(file, line, col, key_path, message))

    @property
    def errors(self) -> list[ScenarioError]:
        """All problems this exception stands for (here: just itself)."""
        return [self]


class ScenarioErrors(ScenarioError):  # noqa: N818 - the public name
    """Several problems in one scenario file; ``str`` lists one per line, in file order."""

    def __init__(self, errors: Sequence[ScenarioError]) -> None:
        if not errors:
            raise ValueError("ScenarioErrors needs at least one error")
        self._errors = list(errors)
        first = self._errors[0]
        super().__init__(first.file, first.line, first.col, first.key_path, first.message)

    @property
    def errors(self) -> list[ScenarioError]:
        return list(self._errors)

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self._errors)

    def __reduce__(self):
        return (type(self), (self._errors,))


class DetectorConfigError(_AtFilePosition, InvalidInputError):
    """A detector YAML (:func:`scenegen.harness.adapters.load_detector`) that cannot be
    used; ``str(error)`` is ``FILE:LINE:COL: key.path: message``, like a scenario error."""

    def __init__(self, file: str, line: int, col: int, key_path: str, message: str) -> None:
        super().__init__(self._locate(file, line, col, key_path, message))


class ScenarioWarning(_AtFilePosition, UserWarning):
    """Something in a scenario file scenegen reads but other tools may read differently.

    Issued with :func:`warnings.warn` (library code never prints); ``str(warning)`` is
    ``FILE:LINE:COL: key.path: message``, like :class:`ScenarioError`.
    """

    def __init__(self, file: str, line: int, col: int, key_path: str, message: str) -> None:
        super().__init__(self._locate(file, line, col, key_path, message))
