"""The log under systemd: no time of its own (the journal stamps each line), a priority."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from powermaster.logs import JournalFormatter, to_journal


def record(level: int, text: str) -> logging.LogRecord:
    return logging.LogRecord("flowengine", level, __file__, 1, text, None, None)


def test_the_journal_gets_a_priority_and_no_time() -> None:
    formatter = JournalFormatter()
    assert formatter.format(record(logging.WARNING, "flow x dropped")) == (
        "<4>flowengine: flow x dropped")
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
