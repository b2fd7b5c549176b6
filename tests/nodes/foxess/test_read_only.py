"""The client's read-only switch (shadow mode): it reads as ever and refuses every write
before a byte goes out, the release at a stop included; counted at the simulated KH."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flowengine.clock import VirtualClock
from nodes.foxess.client import FoxKHClient, InverterError
from nodes.foxess.connection import FoxModbusConnection
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import ConstantProfile, SiteModel

T0 = 1_748_743_200.0


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
async def kh(clock: VirtualClock, free_port: int) -> AsyncIterator[FoxKHServer]:
    async with FoxKHServer(SiteModel(ConstantProfile(2000, 800), T0), clock, port=free_port) as kh:
        yield kh


async def test_a_read_only_client_reads_and_writes_nothing(
    kh: FoxKHServer, clock: VirtualClock
) -> None:
    fox = FoxKHClient("127.0.0.1", kh.port, clock=clock, read_only=True, min_soc_backstop=0.2)
    assert await fox.connect()
    try:
        assert (await fox.read_telemetry()).soc == pytest.approx(0.5)
        for mode in ("force_charge", "self_use"):
            with pytest.raises(InverterError, match="read-only"):
                await fox.command(mode, 3000)
        with pytest.raises(InverterError, match="read-only"):
            await fox.release()
        assert fox.connected  # refused here: the link was never touched
        assert kh.writes_received == 0
        assert not kh.model.remote.enabled
        assert kh.model.settings.min_soc_on_grid_pct == 10  # the backstop's 20 % not written
    finally:
        fox.close()


async def test_shadow_mode_in_the_site_config_makes_the_connection_read_only(
    kh: FoxKHServer, clock: VirtualClock
) -> None:
    def connection(mode: str) -> FoxModbusConnection:
        settings = {"inverter": {"host": "127.0.0.1", "port": kh.port}, "control": {"mode": mode}}
        return FoxModbusConnection("inverter", {}, clock, settings)

    shadow, live = connection("shadow"), connection("live")
    await shadow.open()
    await live.open()
    try:
        with pytest.raises(InverterError, match="read-only"):
            await shadow.command("force_charge", 3000)
        assert kh.writes_received == 0
        assert (await live.command("force_charge", 3000)).verified
        assert kh.writes_received > 0 and kh.model.remote.enabled
    finally:
        await shadow.close()
        await live.close()
