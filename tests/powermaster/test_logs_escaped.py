"""Text from users cannot forge log lines: one record, one line (and its traceback's
lines marked as its own)."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from powermaster.logs import TRACE_PREFIX, JournalFormatter, SafeFormatter, escape, handler_for
from tests.support.service import running_service
from tests.support.web import owner_of

START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()


def test_every_control_character_is_escaped() -> None:
    assert escape("x\nFAKE\r\t\x1b[31m\x00\x85\u2028é") == (
        "x\\nFAKE\\r\\t\\x1b[31m\\x00\\x85\\u2028é"
    )


def test_a_traceback_is_kept_readable_and_marked_as_the_records_own() -> None:
    try:
        raise ValueError("bad value x\nWARNING power_master: forged")
    except ValueError:
        record = logging.LogRecord(
            "power_master",
            logging.ERROR,
            __file__,
            1,
            "failed: %s",
            ("a\nb",),
            exc_info=sys.exc_info(),
        )
    for formatter in (SafeFormatter("%(levelname)s %(name)s: %(message)s"), JournalFormatter()):
        lines = formatter.format(record).split("\n")
        assert lines[0].endswith("power_master: failed: a\\nb")
        assert lines[1] == TRACE_PREFIX + "Traceback (most recent call last):"
        assert all(line.startswith(TRACE_PREFIX) for line in lines[1:])
        assert lines[-2:] == [
            TRACE_PREFIX + "ValueError: bad value x",
            TRACE_PREFIX + "WARNING power_master: forged",
        ]


@pytest.fixture
def service_log(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """What the service writes to standard error, through the handler ``run`` installs."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = handler_for(stream)
    logging.getLogger().addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


async def test_an_overrides_reason_logs_one_line(
    tmp_path: Path, free_port: int, service_log: io.StringIO
) -> None:
    async with running_service(tmp_path / "data", free_port, START) as site:
        http = await owner_of(site)
        async with http:
            body = {
                "mode": "force_charge",
                "power_w": 2000,
                "duration": "1h",
                "reason": "x\nFAKE LINE",
            }
            base = f"http://{site.options.host}:{site.options.port}"
            async with http.post(f"{base}/api/override", json=body) as response:
                assert response.status == 200, await response.text()
    lines = service_log.getvalue().splitlines()
    told = [line for line in lines if "override from the web page" in line]
    assert len(told) == 1 and told[0].endswith("(x\\nFAKE LINE)")
    assert not any(line.startswith("FAKE LINE") for line in lines)
