"""Atomic file writes: the one place checkpoints, histories and results are written.

Each writer puts the bytes in a temporary file beside the target, flushes
them to the disk, then renames the temporary file over the target. The
rename is atomic on POSIX and Windows, so a reader (or a crash at any
moment) sees either the old complete file or the new complete file, never
half of one, and a failed write leaves the old file as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["atomic_save", "atomic_write_bytes", "atomic_write_text", "write_json"]


def _atomic(path: str | os.PathLike, mode: str, write: Callable[[IO], object]) -> None:
    """Call ``write(fh)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Beside the target, not in /tmp: a rename is only atomic within one file system.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # Two calls, not one with a keyword dict: binary modes take no encoding.
        fh: IO = os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding="utf-8")
        with fh:
            write(fh)
            fh.flush()
            # Without fsync a power cut after the rename can leave an empty file.
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); a result or checkpoint gets the
        # permissions any other new file would (0644 under the usual umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(data: bytes, path: str | os.PathLike) -> None:
    """``data`` to ``path``, atomically."""
    _atomic(path, "wb", lambda fh: fh.write(data))


def atomic_write_text(text: str, path: str | os.PathLike) -> None:
    """``text`` to ``path`` as UTF-8, atomically."""
    _atomic(path, "w", lambda fh: fh.write(text))


def atomic_save(obj, path: str | os.PathLike) -> None:
    """``torch.save(obj)`` to ``path``, atomically (checkpoints, state dicts)."""
    import torch

    _atomic(path, "wb", lambda fh: torch.save(obj, fh))


def write_json(obj, path: str | os.PathLike, indent: int = 1) -> None:
    """``obj`` as JSON to ``path``, atomically (histories, results of examples and benchmarks)."""
    # Serialise first: an object JSON cannot encode fails before any file is touched.
    atomic_write_text(json.dumps(obj, indent=indent), path)
