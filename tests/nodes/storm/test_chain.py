"""The real chain on a virtual clock: BOM over (local) FTP -> bom.storm -> storm.monitor.

The done-when checks: a BOM warning for the site's area raises the reserve SOC
target (global.storm_reserve armed at 0.8 over the warning's window), and a
warning for another area does not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock
from tests.nodes.bom.ftp_server import LocalBom, local_bom
from tests.nodes.storm.harness import seen, start
from tests.nodes.storm.test_monitor import planner_reserve

T0 = datetime(2026, 1, 15, 6, 0, tzinfo=UTC).timestamp()  # 16:00 in Brisbane

FLOW = """
flow: storm
triggers:
  - type: start
  - type: interval
    every: 5m
nodes:
  - id: bom
    type: bom.storm
    wires: {out: [monitor], problem: [problem]}
  - id: monitor
    type: storm.monitor
    wires: [reserve]
  - {id: reserve, type: test.collect}
  - {id: problem, type: test.collect}
"""


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


@pytest.fixture
def bom(tmp_path: Path, free_port: int) -> Iterator[LocalBom]:
    with local_bom(tmp_path, free_port) as server:
        server.put("IDQ11295", "IDQ11295.xml")
        yield server


Launch = Callable[..., Awaitable[tuple[Engine, VirtualClock]]]


@pytest.fixture
async def engine(bom: LocalBom, free_port: int) -> AsyncIterator[Launch]:
    """Starts the engine once the test has published its products (no run races a copy)."""
    running: list[Engine] = []

    async def launch(**files: str) -> tuple[Engine, VirtualClock]:
        for product, fixture in files.items():
            bom.put(product, fixture)
        clock = VirtualClock(T0)
        settings = {
            "site": {"timezone": "Australia/Brisbane"},
            "bom": {"host": "127.0.0.1", "port": free_port, "timeout_s": 5.0},
        }
        running.append(await start(FLOW, clock, settings))
        return running[-1], clock

    yield launch
    for item in running:
        await item.stop()
        item.close()


def reserve_now(engine: Engine) -> dict[str, Any]:
    reserve: dict[str, Any] = engine.context.get("global", "storm_reserve")
    return reserve


async def started(engine: Launch, **files: str) -> tuple[Engine, VirtualClock]:
    running, clock = await engine(**files)
    await clock.advance(0)  # the start trigger's run
    await running.wait_idle()
    return running, clock


async def test_a_warning_for_our_area_raises_the_reserve_soc_target(
    engine: Launch,
) -> None:
    running, _ = await started(engine, IDQ21033="warning_southeast_coast.xml")
    assert seen("problem") == []
    reserve = reserve_now(running)
    assert reserve["armed"] is True
    assert reserve["soc"] == 0.8
    assert (reserve["start"], reserve["end"]) == (T0, epoch(2026, 1, 15, 8, 50))
    assert planner_reserve(reserve, T0) == [(range(0, 6), 0.8)]


async def test_a_warning_for_another_area_does_not(
    engine: Launch,
) -> None:
    running, _ = await started(
        engine,
        IDQ21033="warning_central_highlands.xml",
        IDQ21037="warning_far_north_cyclone.xml",
    )
    reserve = reserve_now(running)
    assert reserve["armed"] is False and reserve["soc"] == 0
    assert planner_reserve(reserve, T0) == []
    assert list(running.events.notifications) == []


async def test_arms_holds_through_a_cancellation_then_disarms_once(
    bom: LocalBom, engine: Launch
) -> None:
    running, clock = await started(engine, IDQ21033="warning_southeast_coast.xml")
    await clock.run_until(epoch(2026, 1, 15, 7, 10))
    bom.put("IDQ21033", "warning_southeast_coast_cancelled.xml")
    await clock.run_until(epoch(2026, 1, 15, 7, 20))
    # Cancelled, but the précis still gives a 42 % storm risk this evening, above the
    # disarm threshold (0.4): the reserve holds to the end of the précis period.
    reserve = reserve_now(running)
    assert reserve["armed"] is True and reserve["end"] == epoch(2026, 1, 15, 14, 0)
    assert reserve["warnings"] == []
    await clock.run_until(epoch(2026, 1, 15, 13, 55))
    assert reserve_now(running)["armed"] is True
    await clock.run_until(epoch(2026, 1, 15, 14, 5))
    assert reserve_now(running)["armed"] is False
    texts = [n["text"] for n in running.events.notifications]
    assert [t.split(":")[0].split(" (")[0] for t in texts] == [
        "Storm reserve armed",
        "Storm reserve disarmed",
    ]
    # Every 5 min while our warning was in force (06:00-07:15), then every 10 (07:25-14:05).
    assert bom.retrieved.count("IDQ21033.xml") == 16 + 41
    assert seen("problem") == []
    assert len(seen("reserve")) == 1 + (14 * 60 + 5 - 6 * 60) // 5
