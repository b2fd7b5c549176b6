"""Polls the KH only as often as protocols §1.7 asks: what is known is not asked again.

Settings are read on change or every few minutes, flows firing together share a
poll, and a command that is already in force (as the poll just made shows) writes
nothing until the watchdog needs feeding. Every check counts the requests the
simulated KH really answered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from flowengine.clock import VirtualClock
from nodes.foxess.client import FoxKHClient
from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.registers import WorkMode
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import Battery, ConstantProfile, SiteModel

T0 = 1_748_743_200.0


def take(kh: FoxKHServer) -> Counter[tuple[int, int]]:
    """The requests the KH answered since the last take."""
    taken, kh.requests = kh.requests, Counter()
    return taken


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def model() -> SiteModel:
    battery = Battery(max_charge_w=3000, max_discharge_w=3000, soc_initial=0.5)
    return SiteModel(ConstantProfile(2000, 800), T0, battery)


@pytest.fixture
async def kh(model: SiteModel, clock: VirtualClock, free_port: int) -> AsyncIterator[FoxKHServer]:
    server = FoxKHServer(model, clock, port=free_port)
    server.requests = Counter()
    async with server:
        yield server


async def connected(kh: FoxKHServer, clock: VirtualClock, **options: object) -> FoxKHClient:
    fox = FoxKHClient("127.0.0.1", kh.port, clock=clock, watchdog_s=60, **options)  # type: ignore[arg-type]
    assert await fox.connect()
    return fox


async def test_bigger_blocks_read_the_same_telemetry_in_fewer_requests(
    kh: FoxKHServer, clock: VirtualClock
) -> None:
    narrow = await connected(kh, clock, max_read_registers=20)
    wide = await connected(kh, clock, max_read_registers=28)
    try:
        by_twenty = (await narrow.read_telemetry()).as_dict()
        twenty = sum(take(kh).values())
        by_28 = (await wide.read_telemetry()).as_dict()
        assert by_28 == by_twenty
        assert sum(take(kh).values()) == twenty - 2  # 31006-31027 and 32000-32023 whole
    finally:
        narrow.close()
        wide.close()


async def test_the_work_mode_is_read_at_every_poll_the_other_settings_on_their_interval(
    kh: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    """41000 is the one setting the Fox app fights over: the next poll sees its change
    (control.compare tells it), and a command then trusts that poll to put it back."""
    fox = await connected(kh, clock, settings_check_s=900)
    try:
        assert (await fox.read_telemetry()).work_mode == WorkMode.SELF_USE
        await fox.command("force_charge", 2000, min_soc=0.2)  # reads 41011 once
        model.set_work_mode(WorkMode.FEED_IN_FIRST, clock.time())  # someone used the Fox app
        take(kh)
        await clock.advance(10)
        assert (await fox.read_telemetry()).work_mode == WorkMode.FEED_IN_FIRST
        again = await fox.command("force_charge", 2000, min_soc=0.2)  # trusts the poll...
        taken = take(kh)
        assert again.written[41000] == WorkMode.SELF_USE  # ...and puts the fallback back
        assert taken[(3, 41000)] == 2, taken  # the poll's, and the write's readback only
        assert taken[(3, 41011)] == 0, taken  # as last checked: within settings_check_s
    finally:
        fox.close()


async def test_a_command_in_force_writes_nothing_until_the_watchdog_needs_feeding(
    kh: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    fox = await connected(kh, clock)  # 60 s watchdog: fed every 20 s
    try:
        first = await fox.command("force_charge", 2000)
        assert first.verified and first.written[44002] == 0x10000 - 2000
        await clock.advance(5)
        await fox.read_telemetry()
        take(kh)
        again = await fox.command("force_charge", 2000)
        assert again.verified and again.written == {}
        assert again.readback[44000] == 1  # what the poll just made saw
        assert not take(kh)
        await clock.advance(20)  # a third of the watchdog since the last write
        await fox.read_telemetry()
        take(kh)
        fed = await fox.command("force_charge", 2000)
        assert fed.verified and set(fed.written) == {44001, 44002}
        assert model.remote.enabled
    finally:
        fox.close()


async def test_a_command_the_poll_shows_lost_is_written_again(
    kh: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    fox = await connected(kh, clock)
    try:
        await fox.command("force_charge", 2000)
        model.write_remote(clock.time(), enabled=False)  # the Fox app took remote control off
        await fox.read_telemetry()
        again = await fox.command("force_charge", 2000)
        assert again.written  # not taken from the poll: it showed remote control off
        assert model.remote.enabled and model.remote.setpoint_w == -2000
    finally:
        fox.close()


async def test_self_use_in_force_writes_nothing(kh: FoxKHServer, clock: VirtualClock) -> None:
    fox = await connected(kh, clock)
    try:
        await fox.command("self_use")
        await clock.advance(300)
        await fox.read_telemetry()
        take(kh)
        again = await fox.command("self_use")
        assert again.verified and again.written == {} and again.readback[44000] == 0
        assert not take(kh)
    finally:
        fox.close()


async def test_flows_polling_together_share_one_read(kh: FoxKHServer, clock: VirtualClock) -> None:
    settings = {"inverter": {"host": "127.0.0.1", "port": kh.port}}
    link = FoxModbusConnection("inverter", {}, clock, settings)
    await link.open()
    try:
        first = await link.read_telemetry()
        take(kh)
        assert await link.read_telemetry(max_age_s=60) is first  # the plan, a moment later
        assert not take(kh)
        await clock.advance(61)
        assert (await link.read_telemetry(max_age_s=60)).timestamp == clock.time()
        assert take(kh)
        assert (await link.read_telemetry()).timestamp == clock.time()  # default: always read
        assert take(kh)
    finally:
        await link.close()
