"""Atomic file writes: a file appears under its final name complete, or not at all.

Every write goes to a temporary name in the destination folder (``.NAME.tmp-PID``), is
flushed and fsynced, then ``os.replace``-d onto the final name. Renames within one folder
are atomic on POSIX and Windows, so a crash leaves either the old file, the new file or a
stray temporary (never a torn file under the final name); on failure the temporary is
removed. Data goes through ``os.write`` directly (no buffered Python file object) so that
a short or failing write surfaces here, not later at an implicit close.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

# Chunks handed to os.write by the streaming writer; big enough to keep syscalls rare,
# small enough that assembling a large JSON never holds it in memory.
_STREAM_CHUNK_BYTES = 1 << 20


def temp_path_for(path: Path) -> Path:
    """The temporary name used while ``path`` is being written (same folder)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def is_temporary_name(name: str) -> bool:
    """Whether ``name`` is a temporary of :func:`temp_path_for` (``.NAME.tmp-PID``)."""
    head, sep, pid = name.rpartition(".tmp-")
    return bool(sep) and head.startswith(".") and len(head) > 1 and pid.isdigit()


def remove_temporaries(folder: Path) -> list[Path]:
    """Delete the temporaries that interrupted writes left anywhere under ``folder``.

    Only call this when no other process is writing into ``folder``. Returns what was
    removed.
    """
    removed = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            if is_temporary_name(name):
                path = Path(root) / name
                _remove_quietly(path)
                removed.append(path)
    return removed


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - os.write raises rather than returning 0
            raise OSError("os.write wrote no bytes")
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _naming(error: OSError, path: Path) -> OSError:
    """``error`` with ``path`` as its file name: os.write and os.fsync name no file, and
    a "no space left" without the file that hit it leaves the user guessing."""
    if error.filename is not None:
        return error
    return OSError(error.errno, error.strerror or str(error), str(path))


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class AtomicStream:
    """Write-only sink handed out by :func:`atomic_stream`; buffers then calls ``os.write``."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._sha = hashlib.sha256()

    def write(self, data: bytes | str) -> None:
        chunk = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self._sha.update(chunk)
        self._buffer += chunk
        if len(self._buffer) >= _STREAM_CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            _write_all(self._fd, self._buffer)
            self._buffer.clear()

    def hexdigest(self) -> str:
        """sha256 of everything written so far."""
        return self._sha.hexdigest()


@contextlib.contextmanager
def atomic_stream(path: Path) -> Iterator[AtomicStream]:
    """Context manager yielding a sink whose content replaces ``path`` on a clean exit.

    If the body raises (an object that cannot be encoded, a full disk), the temporary
    file is removed, ``path`` is left as it was, and the exception propagates.
    """
    path = Path(path)
    tmp = temp_path_for(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as error:  # name the file the user asked for, not its temporary
        raise OSError(error.errno, error.strerror, str(path)) from error
    try:
        try:
            sink = AtomicStream(fd)
            yield sink
            sink.flush()
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as error:
        _remove_quietly(tmp)
        named = _naming(error, path)
        if named is error:
            raise
        raise named from error
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; returns the sha256 hex digest of ``data``."""
    with atomic_stream(path) as sink:
        sink.write(data)
    return sink.hexdigest()


def atomic_link_or_copy(source: Path, path: Path) -> None:
    """Make ``path`` a hard link to ``source`` (same content, no extra space), atomically.

    Falls back to an atomic copy where hard links are not possible (another filesystem,
    a filesystem without links).
    """
    source, path = Path(source), Path(path)
    tmp = temp_path_for(path)
    _remove_quietly(tmp)
    try:
        os.link(source, tmp)
    except OSError:
        with source.open("rb") as src, atomic_stream(path) as sink:
            shutil.copyfileobj(src, sink)  # type: ignore[misc]
        return
    try:
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_dir(path.parent)


def append_line(path: Path, line: str) -> None:
    """Append one ``\\n``-terminated line with a single ``os.write`` and fsync it.

    Appends are not atomic like replacements; a crash can at worst leave a torn *last*
    line, which :func:`scenegen.io.manifest.read_manifest` ignores and
    :class:`scenegen.io.dataset.DatasetWriter` trims before appending again.
    """
    if "\n" in line:
        raise ValueError("append_line expects a single line without newlines")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        _write_all(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    except OSError as error:
        named = _naming(error, path)
        if named is error:
            raise
        raise named from error
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    """sha256 hex digest of a file's bytes (read in chunks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(_STREAM_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()
