"""Where the log goes: a terminal, or systemd's journal (deploy/power-master.service).

Under systemd, standard error is a stream into the journal, which stamps every line
with its own time and reads a ``<N>`` syslog priority at its start: there a line is
``<4>flowengine: ...`` (``journalctl -p warning`` then works) and has no time of its
own. systemd says so by setting ``JOURNAL_STREAM`` to the stream's device and inode.

A record is one line whatever its values hold: messages carry text from users (an
override's reason, a command from MQTT), and a newline in it must not forge a line
of its own, nor a control character rewrite the terminal. So the formatted message
has every C0 and C1 control (and U+2028/U+2029) escaped, and a traceback or stack
appended to it is ours but may quote a user's text, so each of its lines is escaped
too and starts with ``TRACE_PREFIX``: no line after a record's first can pass for
a record.

Times in messages read as the site's wall clock (``clock_time``), never an epoch.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import IO
from zoneinfo import ZoneInfo

TERMINAL_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(name)s: %(message)s"
#: What starts each line of a traceback or stack under its record.
TRACE_PREFIX = "  | "
#: sd-daemon(3)'s priorities for Python's levels.
PRIORITIES = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
#: The nodes' loggers (``flow.<flow>.<node>``): their info lines are events people are
#: told of (health recovered, a load answers again), shown whatever the root's level.
NODE_LOG = "flow"
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    """``text`` on one line: each control character as its Python escape (``\\n``,
    ``\\x1b``, ``\\u2028``)."""
    return CONTROLS.sub(lambda m: NAMED.get(m[0]) or _code(m[0]), text)


def clock_time(epoch: float, zone: tzinfo | str, now: float) -> str:
    """``epoch`` on the site's clock, 24 h: ``17:30`` on ``now``'s day, else with the day
    and the zone, ``Tue 8 Dec 17:30 AEST`` (and the year when it is not ``now``'s)."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    when, today = datetime.fromtimestamp(epoch, tz), datetime.fromtimestamp(now, tz)
    if when.date() == today.date():
        return when.strftime("%H:%M")
    year = "" if when.year == today.year else f" {when.year}"
    return f"{when:%a} {when.day} {when:%b}{year} {when:%H:%M %Z}"


def _code(char: str) -> str:
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


class SafeFormatter(logging.Formatter):
    """A record's first line escaped whole; its traceback and stack, if any, on lines of
    their own, each escaped and prefixed with ``TRACE_PREFIX``. Times are in the site's
    zone once the site config says which (``in_site_zone``), as on every page: a Pi's
    own zone is often UTC."""

    #: The zone times are written in; None: the machine's, until the site config is read.
    zone: tzinfo | None = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if self.zone is None or datefmt is not None:
            return super().formatTime(record, datefmt)
        when = datetime.fromtimestamp(record.created, self.zone)
        return f"{when:%Y-%m-%d %H:%M:%S},{int(record.msecs):03d}{when:%z}"

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = escape(self.formatMessage(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        trace = [record.exc_text or ""]
        if record.stack_info:
            trace.append(self.formatStack(record.stack_info))
        return "\n".join(
            [line, *(TRACE_PREFIX + escape(part) for text in trace for part in text.splitlines())]
        )


class JournalFormatter(SafeFormatter):
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


def handler_for(stream: IO[str]) -> logging.Handler:
    """A handler writing to ``stream``, formatted for wherever that leads."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JournalFormatter() if to_journal(stream) else SafeFormatter(TERMINAL_FORMAT)
    )
    return handler


def in_site_zone(timezone: str) -> None:
    """Write the times of every log line from now on in the site's zone (its IANA name)."""
    zone = ZoneInfo(timezone)
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, SafeFormatter):
            handler.formatter.zone = zone


def configure(level: int, stream: IO[str] | None = None) -> logging.Handler:
    """The root logger at ``level`` on ``stream`` (standard error); the nodes' info lines
    shown even when ``level`` is above info."""
    handler = handler_for(stream or sys.stderr)
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger(NODE_LOG).setLevel(min(level, logging.INFO))
    return handler
