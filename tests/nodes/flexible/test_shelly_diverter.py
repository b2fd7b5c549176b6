"""A hot-water element on a Shelly relay, against the loads' fake Gen1 and Gen2+ devices."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from nodes.flexible.device import ChargerReading, ChargerUnavailable
from nodes.flexible.shelly_diverter import SAFETY_OFF_S, ShellyDiverter
from tests.nodes.flexible.conftest import flex
from tests.nodes.loads.conftest import unused_port
from tests.nodes.loads.fake_shelly import (
    GEN1_POWER_W,
    GEN2_POWER_W,
    FakeShellyGen1,
    FakeShellyGen2,
)

TANK = 3600.0


def diverter(
    server: FakeShellyGen1 | FakeShellyGen2, session: aiohttp.ClientSession, **raw: Any
) -> ShellyDiverter:
    adapter = "shelly_gen1" if isinstance(server, FakeShellyGen1) else "shelly_gen2"
    settings = {"kind": "hot_water", "max_w": TANK, **raw}
    config = flex("tank", adapter=adapter, host=server.host, port=server.port, **settings)
    return ShellyDiverter(config, session, asyncio.Lock())


async def test_gen1_on_at_its_power_with_the_safety_timer(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    adapter = diverter(gen1, session)

    assert await adapter.set_power(TANK) == TANK
    assert gen1.relays[0].on and gen1.relays[0].timer_s == SAFETY_OFF_S == 1800
    assert await adapter.read() == ChargerReading(GEN1_POWER_W, setpoint_w=TANK)


async def test_gen1_below_its_power_is_off(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    gen1.relays[0].on = True
    adapter = diverter(gen1, session)

    assert await adapter.set_power(TANK - 1) == 0.0
    assert not gen1.relays[0].on
    assert ("/relay/0", {"turn": "off"}) in gen1.requests
    assert await adapter.read() == ChargerReading(0.0, setpoint_w=0.0)


async def test_gen1_without_a_meter_reads_no_power(session: aiohttp.ClientSession) -> None:
    server = FakeShellyGen1(unused_port(), metered=False)
    await server.start()
    try:
        adapter = diverter(server, session)
        await adapter.set_power(TANK)
        assert await adapter.read() == ChargerReading(None, setpoint_w=TANK)
    finally:
        await server.stop()


async def test_gen2_on_and_off_on_its_channel(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    adapter = diverter(gen2, session, channel=1)

    assert await adapter.set_power(TANK) == TANK
    assert await adapter.read() == ChargerReading(GEN2_POWER_W, setpoint_w=TANK)
    assert await adapter.set_power(0) == 0.0
    sets = [f["params"] for f in gen2.frames if f["method"] == "Switch.Set"]
    assert sets == [{"id": 1, "on": True, "toggle_after": 1800}, {"id": 1, "on": False}]
    assert not gen2.relays[0].on


async def test_a_stuck_relay_shows_in_the_reading(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.relays[0].stuck = True
    adapter = diverter(gen2, session)

    assert await adapter.set_power(TANK) == TANK  # asked for...
    assert await adapter.read() == ChargerReading(0.0, setpoint_w=0.0)  # ...not done


async def test_gen1_basic_and_gen2_digest_auth(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    gen1.username, gen1.password = "admin", "hunter2"
    adapter = diverter(gen1, session, username="admin", password="hunter2")
    assert await adapter.set_power(TANK) == TANK

    server = FakeShellyGen2(unused_port(), password="correct horse")
    await server.start()
    try:
        relay = diverter(server, session, password="correct horse")
        assert await relay.set_power(TANK) == TANK
        assert server.relays[0].on and all(check.ok for check in server.digests)
    finally:
        await server.stop()


async def test_a_device_asking_for_a_password_we_lack_says_where_to_put_it(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.password = "correct horse"

    with pytest.raises(ChargerUnavailable) as caught:
        await diverter(gen2, session).read()
    assert caught.value.load == "tank"
    assert str(caught.value) == (
        f"flexible load 'tank' (Shelly Gen2+ at 127.0.0.1:{gen2.port} relay 0): asks for a "
        "password (auth is on in the device); set flexible_loads.tank.password"
    )


async def test_a_wrong_password_names_the_load_not_the_password(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    gen1.username, gen1.password = "admin", "hunter2"

    with pytest.raises(ChargerUnavailable, match=r"refused the password for user 'admin'") as e:
        await diverter(gen1, session, username="admin", password="wrong-one").read()
    assert "wrong-one" not in str(e.value) and "hunter2" not in str(e.value)


async def test_an_offline_relay_is_unavailable(session: aiohttp.ClientSession) -> None:
    config = flex("tank", adapter="shelly_gen1", host="127.0.0.1", port=unused_port(), max_w=TANK)

    with pytest.raises(
        ChargerUnavailable,
        match=r"flexible load 'tank' \(Shelly Gen1 at 127.0.0.1:\d+ relay 0\): not reachable",
    ):
        await ShellyDiverter(config, session, asyncio.Lock()).set_power(TANK)


async def test_a_relay_that_never_answers_times_out(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.behaviour.hang = True

    with pytest.raises(ChargerUnavailable, match=r"did not answer within 0.2 s"):
        await diverter(gen2, session, timeout_s=0.2).read()


async def test_garbage_is_unavailable(gen1: FakeShellyGen1, session: aiohttp.ClientSession) -> None:
    gen1.behaviour.garbage = "<html>Shelly setup</html>"

    with pytest.raises(ChargerUnavailable, match=r"something not JSON: <html>"):
        await diverter(gen1, session).read()
