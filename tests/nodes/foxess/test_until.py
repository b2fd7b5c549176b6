"""A forced mode with an end (``until``), over real TCP: the inverter's own watchdog (44001,
protocols §1.6) hands back to its work mode then, whether or not another command comes.

The control tick gives a discharge that would reach a SOC floor before its next tick or
two an end at the floor (nodes/control/floors.py), rather than tapering it off.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from flowengine.clock import VirtualClock
from flowengine.message import Message
from nodes.foxess import registers as r
from nodes.foxess.client import MIN_WATCHDOG_S, FoxKHClient, InverterError
from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.inverter import FoxCommand, FoxWatchdog
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import Battery, ConstantProfile, SiteModel
from tests.nodes.foxess.test_client import _Ctx

T0 = 1_748_743_200.0


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def model() -> SiteModel:
    """Evening: no PV, a 1 kW house, a battery that gives 2 kW (the rest is exported)."""
    battery = Battery(
        max_charge_w=3000,
        max_discharge_w=2000,
        soc_initial=0.5,
        charge_efficiency=1.0,
        discharge_efficiency=1.0,
    )
    return SiteModel(ConstantProfile(0, 1000), T0, battery)


@pytest.fixture
async def server(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> AsyncIterator[FoxKHServer]:
    async with FoxKHServer(model, clock, port=free_port) as srv:
        yield srv


@pytest.fixture
async def client(server: FoxKHServer, clock: VirtualClock) -> AsyncIterator[FoxKHClient]:
    fox = FoxKHClient("127.0.0.1", server.port, timeout_s=1.0, clock=clock, watchdog_s=60)
    assert await fox.connect()
    yield fox
    fox.close()


async def test_a_discharge_with_an_end_hands_back_then_by_itself(
    client: FoxKHClient, model: SiteModel, clock: VirtualClock
) -> None:
    result = await client.command("force_discharge", 2000, setpoint_w=2000, until=T0 + 45)
    assert result.verified, result.mismatches
    assert result.readback[r.REMOTE_TIMEOUT] == 45  # the time left, not the 60 s watchdog
    assert client.remote_active
    await clock.advance(20)
    fed = await client.refresh_watchdog()
    assert fed is not None and fed.written[r.REMOTE_TIMEOUT] == 25  # the end stays put
    await clock.advance(20)
    assert T0 + 45 - clock.time() < MIN_WATCHDOG_S
    assert await client.refresh_watchdog() is None  # not fed again: it lapses at its end
    seen = await client.read_telemetry()
    assert seen.remote_enabled and seen.battery_w == -2000
    await clock.advance(6)
    handed_back = await client.read_telemetry()
    assert not handed_back.remote_enabled
    assert handed_back.work_mode == 0  # Self Use: the battery serves the house, exports nothing
    assert handed_back.battery_w == -1000 and handed_back.grid_w == 0
    assert not client.remote_active


async def test_an_end_beyond_the_watchdog_time_is_fed_as_usual(
    client: FoxKHClient, clock: VirtualClock
) -> None:
    result = await client.command("force_discharge", 2000, setpoint_w=2000, until=T0 + 1000)
    assert result.readback[r.REMOTE_TIMEOUT] == 60
    await clock.advance(20)
    fed = await client.refresh_watchdog()
    assert fed is not None and fed.written[r.REMOTE_TIMEOUT] == 60


async def test_the_same_command_with_a_new_end_is_written_again(
    client: FoxKHClient, clock: VirtualClock
) -> None:
    await client.command("force_discharge", 2000, setpoint_w=2000, until=T0 + 300)
    await client.read_telemetry()  # the poll that would verify the same command unwritten
    result = await client.command("force_discharge", 2000, setpoint_w=2000, until=T0 + 40)
    assert result.written[r.REMOTE_TIMEOUT] == 40


async def test_the_nodes_carry_the_end_and_the_keeper_stops_at_it(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    conn = FoxModbusConnection("fox", {"port": server.port, "timeout_s": 1.0}, clock, {})
    await conn.open()
    try:
        ctx = _Ctx(conn, clock)
        command = FoxCommand(ctx, {"connection": "fox"})  # type: ignore[arg-type]
        payload = {"mode": "force_discharge", "power_w": 2000, "setpoint_w": 2000}
        out = await command.process(Message({**payload, "until": T0 + 100}))
        assert out.payload["verified"]
        with pytest.raises(InverterError, match="until"):
            await command.process(Message({**payload, "until": "soon"}))
        # The control tick stays alive all along, yet the keeper feeds no further than the end.
        ctx.globals.set("decision", {"at": clock.time()})
        watchdog = FoxWatchdog(ctx, {"connection": "fox", "hold_for": 600})  # type: ignore[arg-type]
        keeper = asyncio.create_task(watchdog.process(Message()))
        await clock.advance(99)
        model.advance_to(clock.time())
        assert model.remote.enabled and not keeper.done()
        await clock.advance(2)
        model.advance_to(clock.time())
        assert not model.remote.enabled  # handed back at the end, by the inverter itself
        await clock.advance(20)
        assert keeper.done() and keeper.result().payload["stopped"] == "no forced mode in force"
    finally:
        await conn.close()
