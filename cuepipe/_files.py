"""Atomic output files: written beside the target, renamed over it only when complete.

Every file cuepipe writes goes through :class:`AtomicOutput`: a failure part-way (a bad record, a
full disk, an interrupt) leaves the previous file, or no file, never a partial one; a name ending
in ``.gz`` is always gzip-compressed, whatever the format.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import tempfile
from types import TracebackType
from typing import IO, cast


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask can only be read by setting it


def check_folder(path: str) -> str:
    """The folder an output ``path`` goes in; an OSError naming the output if it is not there.

    For commands that write a file at the end of long work (a push report): refuse before the work.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        what = "is not a folder" if os.path.exists(directory) else "does not exist"
        code = errno.ENOTDIR if os.path.exists(directory) else errno.ENOENT
        raise OSError(code, f"cannot write {path}: the folder {directory} {what}", path)
    return directory


def temp_beside(path: str) -> str:
    """Create an empty temporary file in ``path``'s folder, with the mode a new file would get.

    ``mkstemp`` makes files 0600; renamed into place they would surprise users and tools. A missing
    folder is reported as such, naming the output (not the temporary file nobody asked for).
    """
    directory = check_folder(path)
    fd, tmp = tempfile.mkstemp(prefix=".cuepipe-", suffix=".tmp", dir=directory)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)
    return tmp


def is_gzip_name(path: str) -> bool:
    """Whether an output name asks for gzip compression (``.gz``, any case)."""
    return path.lower().endswith(".gz")


class AtomicOutput:
    """A binary file that appears at ``path`` only on :meth:`commit` (gzip-compressed for ``.gz``).

    ``file`` is what to write to. :meth:`abort` (or leaving a ``with`` block by an exception)
    removes the temporary file. ``compress=False`` is for formats that compress themselves.
    """

    def __init__(self, path: str | os.PathLike[str], *, compress: bool | None = None) -> None:
        self.path = os.fspath(path)
        self.tmp = temp_beside(self.path)
        self._raw: IO[bytes] = open(self.tmp, "wb")  # noqa: SIM115 - closed by commit/abort
        gz = is_gzip_name(self.path) if compress is None else compress
        self._gzip: gzip.GzipFile | None = (
            gzip.GzipFile(fileobj=self._raw, mode="wb", filename="", mtime=0) if gz else None
        )
        self.file: IO[bytes] = cast(IO[bytes], self._gzip) if self._gzip is not None else self._raw
        self._done = False

    def text(self) -> io.TextIOWrapper:
        """A UTF-8 text view of :attr:`file` (newlines written as given). Flush it before :meth:`commit`."""
        return io.TextIOWrapper(self.file, encoding="utf-8", newline="", write_through=True)

    def commit(self) -> None:
        """Finish the file (gzip trailer, flush to disk) and move it over ``path``."""
        if self._done:
            return
        try:
            if self._gzip is not None:
                self._gzip.close()
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._done = True

    def abort(self) -> None:
        """Remove the temporary file; the target is left as it was."""
        if self._done:
            return
        self._done = True
        for f in (self._gzip, self._raw):
            if f is None:
                continue
            try:
                f.close()
            except (OSError, ValueError):
                pass  # a full disk fails the final flush too; the file is removed anyway
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
