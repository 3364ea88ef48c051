"""Atomic output files: written beside the target, renamed over it only when complete."""

from __future__ import annotations

import os
import tempfile


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask can only be read by setting it


def temp_beside(path: str) -> str:
    """Create an empty temporary file in ``path``'s folder, with the mode a new file would get.

    ``mkstemp`` makes files 0600; renamed into place they would surprise users and tools.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".cuepipe-", suffix=".tmp", dir=directory)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)
    return tmp
