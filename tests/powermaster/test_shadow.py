"""Shadow mode against the whole service on virtual time: a day against the simulated KH
reads, plans and decides every tick, ``/api/state`` shows each decision as the command
it would send, every page says so, and the simulator receives no Modbus write at all,
not even the release at the stop (counted at its server)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from flowengine import VirtualClock
from nodes.foxess.client import InverterError
from nodes.foxess.connection import FoxModbusConnection
from powermaster.service import Service
from powermaster.sim.fox_server import FoxKHServer
from tests.support.service import running_service
from tests.support.web import client, sign_in
from ui.auth import write_password

START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()  # 06:00 in Brisbane
TICK = 300.0
PASSWORD = "correct horse battery"
BANNER = "Shadow mode: deciding, not commanding."


@pytest.fixture
async def site(tmp_path: Path, free_port: int) -> AsyncIterator[Service]:
    write_password(tmp_path / "data", PASSWORD)
    async with running_service(tmp_path / "data", free_port, START, shadow=True) as service:
        yield service


@pytest.fixture
async def http(site: Service) -> AsyncIterator[aiohttp.ClientSession]:
    async with client() as session:
        await sign_in(session, url(site, ""), PASSWORD)
        yield session


def url(site: Service, path: str) -> str:
    return f"http://{site.options.host}:{site.options.port}{path}"


def simulator(site: Service) -> FoxKHServer:
    assert site.simulator is not None
    return site.simulator


async def state(http: aiohttp.ClientSession, site: Service) -> dict[str, Any]:
    async with http.get(url(site, "/api/state")) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def test_a_day_in_shadow_mode_decides_every_tick_and_writes_nothing(
    site: Service, http: aiohttp.ClientSession
) -> None:
    clock = site.clock
    assert isinstance(clock, VirtualClock)
    kh = simulator(site)
    decided: list[float] = []
    would: Counter[str] = Counter()
    for _ in range(int(24 * 3600 / TICK)):
        await clock.advance(TICK)
        await site.engine.settle()
        body = await state(http, site)
        assert body["control"] == "shadow"
        command = body["would_command"]
        assert command is not None and command["at"] == body["decided_at"], body
        assert command["mode"] == body["mode"] and command["reason"] == body["reason"]
        assert body["command_check"]["commanded"] is None  # nothing commanded to judge
        decided.append(command["at"])
        would[command["mode"]] += 1
    assert len(set(decided)) == len(decided)  # a new decision each tick, each shown
    assert decided[-1] - decided[0] >= 23.9 * 3600
    forcing = would["force_charge"] + would["force_discharge"] + would["hold"]
    assert forcing > 0, would  # the plan forced the battery at times: still nothing written
    assert kh.writes_received == 0
    assert not kh.model.remote.enabled
    assert site.engine.context.get("global", "command") is None
    assert site.engine.traces.recent("watchdog", 1) == []

    inverter = site.engine.connections["inverter"]
    assert isinstance(inverter, FoxModbusConnection)
    with pytest.raises(InverterError, match="read-only"):  # the client itself refuses
        await inverter.command("force_charge", 3000)
    assert kh.writes_received == 0

    async with http.get(url(site, "/overview")) as response:
        assert BANNER in await response.text()
    await site.stop()  # the release at the stop writes nothing either
    assert kh.writes_received == 0


async def test_the_write_counter_counts_what_a_live_site_writes(
    tmp_path: Path, free_port: int
) -> None:
    """The counter the shadow test trusts: the same service, live, forcing a charge."""
    async with running_service(tmp_path / "data", free_port, START, ui=False) as live:
        assert simulator(live).writes_received == 0  # self-use already in force: nothing
        live.set_override("force_charge", 3000, "1h")
        await live.engine.settle()
        assert simulator(live).model.remote.enabled
        assert simulator(live).writes_received >= 3  # 44001, 44000, 44002 at least
