"""Files handed to a downstream system appear complete or not at all, and survive a power cut once written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(directory: Path, name: str, data: bytes, *, tmp_prefix: str, tmp_suffix: str) -> None:
    """``directory/name`` gets all of ``data`` or stays as it was: a temporary file in the same directory
    (``tmp_prefix``/``tmp_suffix``, so readers and clean-ups can tell it apart), fsync, ``os.replace``, then an
    fsync of the directory."""
    fd, tmp = tempfile.mkstemp(prefix=tmp_prefix, suffix=tmp_suffix, dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
