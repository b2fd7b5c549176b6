"""Atomic file writes: a power cut leaves the old file or the new one, never half."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def write_atomic(
    path: Path, data: bytes | str, keep_backup: bool = False, mode: int = 0o600
) -> None:
    """Write ``data`` to ``path`` via a temp file, fsync and rename.

    With ``keep_backup`` the previous version is kept as ``path.bak`` (as
    Node-RED does for flow files). The file gets ``mode`` (the temp file's own
    0600 unless told otherwise) before it takes the old one's place.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        if keep_backup and path.exists():
            _backup(path, path.with_name(path.name + ".bak"))
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _backup(path: Path, backup: Path) -> None:
    """``backup`` becomes the file at ``path``, which stays where it is: a power cut
    never finds the path empty (moving it aside first would leave a moment with none)."""
    backup.unlink(missing_ok=True)
    try:
        os.link(path, backup)
    except OSError:  # a file system with no hard links (FAT): a copy will do
        shutil.copyfile(path, backup)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
