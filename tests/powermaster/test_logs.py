"""The log under systemd: no time of its own (the journal stamps each line), a priority;
the nodes' events shown; times on the site's clock."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from powermaster import logs
from powermaster.logs import JournalFormatter, clock_time, to_journal

BRISBANE = ZoneInfo("Australia/Brisbane")


def record(level: int, text: str) -> logging.LogRecord:
    return logging.LogRecord("flowengine", level, __file__, 1, text, None, None)


def test_the_journal_gets_a_priority_and_no_time() -> None:
    formatter = JournalFormatter()
    assert formatter.format(record(logging.WARNING, "flow x dropped")) == (
        "<4>flowengine: flow x dropped"
    )
    assert formatter.format(record(logging.INFO, "ok")).startswith("<6>")
    assert formatter.format(record(logging.ERROR, "bad")).startswith("<3>")


def test_the_journal_is_told_apart_by_its_stream(tmp_path: Path) -> None:
    with (tmp_path / "stderr").open("w") as stream, (tmp_path / "other").open("w") as other:
        stat = os.fstat(stream.fileno())
        named = {"JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"}
        assert to_journal(stream, named)
        assert not to_journal(other, named)  # a child whose stderr was redirected elsewhere
        assert not to_journal(stream, {})  # a terminal
        assert not to_journal(stream, {"JOURNAL_STREAM": "junk"})


def test_times_read_as_the_sites_clock() -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=BRISBANE).timestamp()

    def at(year: int, month: int, day: int, hour: int, minute: int) -> float:
        return datetime(year, month, day, hour, minute, tzinfo=BRISBANE).timestamp()

    assert clock_time(at(2026, 12, 7, 17, 30), "Australia/Brisbane", now) == "17:30"
    assert clock_time(at(2026, 12, 7, 0, 5), BRISBANE, now) == "00:05"
    assert clock_time(at(2026, 12, 8, 17, 30), BRISBANE, now) == "Tue 8 Dec 17:30 AEST"
    assert clock_time(at(2026, 12, 6, 23, 59), BRISBANE, now) == "Sun 6 Dec 23:59 AEST"
    assert clock_time(at(2027, 1, 8, 7, 0), BRISBANE, now) == "Fri 8 Jan 2027 07:00 AEST"
    # the same instant, on a site in Sydney's daylight time
    assert clock_time(at(2026, 12, 7, 17, 30), "Australia/Sydney", now) == "18:30"


def test_a_nodes_events_show_at_the_default_level() -> None:
    """A node's info line (health back to ok, a load answering again) is an event people
    are told of; other info lines wait for --verbose."""
    script = (
        "import logging\n"
        "from powermaster import logs\n"
        "logs.configure(logging.WARNING)\n"
        "logging.getLogger('flow.health.check').info('health ok again')\n"
        "logging.getLogger('flowengine').info('chatter')\n"
        "logging.getLogger('flow.health.check').debug('detail')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].endswith("INFO flow.health.check: health ok again")


def test_line_times_are_in_the_sites_zone_once_it_is_known() -> None:
    """A Pi's own zone is often UTC; the site's is what every page shows."""
    stream = io.StringIO()
    handler = logs.handler_for(stream)
    record = logging.LogRecord("power_master", logging.INFO, __file__, 1, "started", None, None)
    record.created, record.msecs = 1_768_428_000.25, 250.0  # 2026-01-14 22:00:00.25 UTC
    formatter = handler.formatter
    assert isinstance(formatter, logs.SafeFormatter) and formatter.zone is None
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logs.in_site_zone("Australia/Brisbane")
        handler.handle(record)
    finally:
        root.removeHandler(handler)
    assert stream.getvalue() == "2026-01-15 08:00:00,250+1000 INFO power_master: started\n"
