"""Errors raised by dataset readers and writers."""

from __future__ import annotations

from pathlib import Path

from scenegen.errors import InvalidInputError, ScenegenError


class DatasetReadError(ScenegenError):
    """A dataset file is missing, corrupt or not in the expected format.

    ``path`` is the offending file and ``reason`` says what was expected; both also appear
    in the message.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # picklable across worker processes
        return (type(self), (self.path, self.reason))


class DatasetWriteError(ScenegenError):
    """A frame cannot be written because its content does not fit the output format."""


class OutputFolderError(DatasetWriteError, InvalidInputError):
    """The output folder is in the way as asked (it holds a dataset, is not empty, is a
    file); the message says which option (``--resume``, ``--overwrite``, ``--force``) would
    make it usable."""
