"""What the service logs: one line at start, one at stop with the inverter's hand-back,
and an override's end on the site's clock (the demo site is in Brisbane)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowengine import VirtualClock
from powermaster.service import Options, Service

# 2026-01-15 06:00 in Brisbane, a Thursday.
START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()


def said(caplog: pytest.LogCaptureFixture, start: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "power_master" and r.message.startswith(start)]


async def test_start_and_stop_say_what_runs_and_how_the_inverter_went_back(
    tmp_path: Path, free_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = VirtualClock(START)
    site = Service(Options(data_dir=tmp_path, simulator_port=free_port, ui=False), clock=clock)
    await site.start()
    try:
        [started] = said(caplog, "started: ")
        assert started.message == (
            f"started: Demo site (Brisbane), simulated Fox KH on 127.0.0.1:{free_port}, "
            "live: commanding the inverter, no web UI"
        )
        await clock.advance(1)
        site.set_override("force_charge", 2000, "1h", "guests")
        site.set_override("force_charge", 2000, "20h", "away")
        await clock.advance(120)  # a control tick takes remote control
        assert site.simulator is not None and site.simulator.model.remote.enabled
    finally:
        await site.stop()
    told = [r.message for r in said(caplog, "override from the API")]
    assert told == [
        "override from the API: force_charge 2000 W until 07:00 (guests)",
        "override from the API: force_charge 2000 W until Fri 16 Jan 02:00 AEST (away)",
    ]
    assert not site.simulator.model.remote.enabled
    [stopped] = said(caplog, "stopped: ")
    assert stopped.levelno == logging.INFO
    assert stopped.message == (
        "stopped: inverter: remote control released and read back; work mode (41000) left at "
        "Self Use"
    )


async def test_a_shadow_run_has_nothing_to_hand_back(
    tmp_path: Path, free_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = VirtualClock(START)
    options = Options(data_dir=tmp_path, simulator_port=free_port, ui=False, shadow=True)
    site = Service(options, clock=clock)
    await site.start()
    await clock.advance(120)
    await site.stop()
    [started] = said(caplog, "started: ")
    assert ", shadow: deciding, not commanding" in started.message
    [stopped] = said(caplog, "stopped: ")
    assert stopped.message == (
        "stopped: inverter: hand-back not needed (shadow mode never commanded it)"
    )


async def test_a_hand_back_that_fails_says_why_as_a_warning(
    tmp_path: Path, free_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = VirtualClock(START)
    site = Service(Options(data_dir=tmp_path, simulator_port=free_port, ui=False), clock=clock)
    await site.start()
    await clock.advance(1)
    site.set_override("force_charge", 2000, "1h")
    await clock.advance(120)
    assert site.simulator is not None
    await site.simulator.stop_serving()  # the link is down when the service stops
    await site.stop()
    [stopped] = said(caplog, "stopped: ")
    assert stopped.levelno == logging.WARNING
    assert stopped.message.startswith("stopped: inverter: hand-back failed (")
    assert stopped.message.endswith("its own watchdog ends remote control within 60 s")
