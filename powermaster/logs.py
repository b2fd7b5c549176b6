"""Where the log goes: a terminal, or systemd's journal (deploy/power-master.service).

Under systemd, standard error is a stream into the journal, which stamps every line
with its own time and reads a ``<N>`` syslog priority at its start: there a line is
``<4>flowengine: ...`` (``journalctl -p warning`` then works) and has no time of its
own. systemd says so by setting ``JOURNAL_STREAM`` to the stream's device and inode.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import IO

TERMINAL_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(name)s: %(message)s"
#: sd-daemon(3)'s priorities for Python's levels.
PRIORITIES = {
    logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class JournalFormatter(logging.Formatter):
    """No time (the journal has it), the level as a ``<N>`` prefix the journal reads."""

    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        priority = PRIORITIES.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        return f"<{priority}>{super().format(record)}"


def to_journal(stream: IO[str], environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``stream`` is the journal stream systemd named in ``JOURNAL_STREAM``."""
    device, _, inode = environ.get("JOURNAL_STREAM", "").partition(":")
    if not device or not inode:
        return False
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError):  # a stream with no file behind it (a test's capture)
        return False
    return f"{stat.st_dev}:{stat.st_ino}" == f"{device}:{inode}"


def configure(level: int, stream: IO[str] | None = None) -> logging.Handler:
    """The root logger at ``level`` on ``stream`` (standard error), formatted for
    wherever that leads."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JournalFormatter() if to_journal(stream) else logging.Formatter(
        TERMINAL_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    return handler
