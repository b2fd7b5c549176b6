"""Shelly Gen1 over HTTP against a local relay answering as §6.2 says."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from flowengine.secrets import SecretRef, attach_secrets
from nodes.loads.device import LoadAuthFailed, LoadReading, LoadUnavailable
from nodes.loads.shelly_gen1 import ShellyGen1
from tests.nodes.loads.conftest import load, unused_port
from tests.nodes.loads.fake_shelly import GEN1_POWER_W, FakeShellyGen1


def relay(server: FakeShellyGen1, session: aiohttp.ClientSession, **raw: object) -> ShellyGen1:
    config = load(adapter="shelly_gen1", host=server.host, port=server.port, **raw)
    return ShellyGen1(config, session, asyncio.Lock())


async def test_turn_on_carries_the_safety_timer_and_reads_the_meter(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    adapter = relay(gen1, session, safety_off="20m")

    assert await adapter.set(True) == LoadReading(True, GEN1_POWER_W)
    assert gen1.requests == [("/relay/0", {"turn": "on", "timer": "1200"}), ("/meter/0", {})]
    assert gen1.relays[0].on and gen1.relays[0].timer_s == 1200


async def test_every_turn_on_sets_the_timer_and_turn_off_never_does(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    adapter = relay(gen1, session, channel=1)
    await adapter.set(True)
    assert await adapter.set(False) == LoadReading(False, 0.0)
    await adapter.set(True)

    turns = [query for path, query in gen1.requests if path == "/relay/1"]
    assert turns == [
        {"turn": "on", "timer": "1800"},
        {"turn": "off"},
        {"turn": "on", "timer": "1800"},
    ]
    assert not gen1.relays[0].on  # channel 0 untouched


async def test_read_asks_status_only(gen1: FakeShellyGen1, session: aiohttp.ClientSession) -> None:
    gen1.relays[0].on = True

    assert await relay(gen1, session).read() == LoadReading(True, GEN1_POWER_W)
    assert gen1.requests == [("/relay/0", {}), ("/meter/0", {})]


async def test_a_relay_without_a_meter_has_no_power_and_is_asked_once(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    gen1.metered = False
    adapter = relay(gen1, session)

    assert await adapter.set(True) == LoadReading(True, None)
    assert await adapter.read() == LoadReading(True, None)
    assert [path for path, _ in gen1.requests].count("/meter/0") == 1


async def test_a_stuck_relay_is_reported_as_it_is(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    gen1.relays[0].stuck = True

    assert await relay(gen1, session).set(True) == LoadReading(False, 0.0)


async def test_basic_auth_with_the_right_password(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    gen1.username, gen1.password = "admin", "hunter2"
    settings = {"loads": {"pool": {"password": SecretRef("shelly_pw")}}}
    assert attach_secrets(settings, {"shelly_pw": "hunter2"}) == []
    adapter = relay(gen1, session, username="admin", password=settings["loads"]["pool"]["password"])

    assert (await adapter.set(True)).on is True


async def test_a_wrong_password_is_a_clear_error_without_the_password(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    gen1.username, gen1.password = "admin", "hunter2"
    adapter = relay(gen1, session, username="admin", password="wrong-one")

    with pytest.raises(LoadAuthFailed) as caught:
        await adapter.read()
    text = str(caught.value)
    assert text == (
        f"load 'pool' (Shelly Gen1 at 127.0.0.1:{gen1.port} relay 0): refused the "
        "password for user 'admin' (HTTP 401)"
    )
    assert "wrong-one" not in text and "hunter2" not in text


async def test_a_device_asking_for_a_password_we_lack_says_where_to_put_it(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    gen1.username, gen1.password = "admin", "hunter2"

    with pytest.raises(LoadAuthFailed, match=r"asks for a password .* set loads.pool.password"):
        await relay(gen1, session).read()


async def test_an_offline_device_is_unavailable(session: aiohttp.ClientSession) -> None:
    config = load(adapter="shelly_gen1", host="127.0.0.1", port=unused_port())

    with pytest.raises(
        LoadUnavailable,
        match=r"load 'pool' \(Shelly Gen1 at 127.0.0.1:\d+ "
        r"relay 0\): not reachable",
    ):
        await ShellyGen1(config, session, asyncio.Lock()).set(True)


async def test_a_device_that_never_answers_times_out(
    gen1: FakeShellyGen1, session: aiohttp.ClientSession
) -> None:
    gen1.behaviour.hang = True

    with pytest.raises(LoadUnavailable, match=r"did not answer within 0.2 s"):
        await relay(gen1, session, timeout_s=0.2).read()


@pytest.mark.parametrize(
    ("garbage", "status", "says"),
    [
        ("<html>Shelly setup</html>", None, r"answered /relay/0 with something not JSON: <html>"),
        ('{"relay": "on"}', None, r'answered /relay/0 with \{"relay": "on"\}'),
        ('{"ison": "yes"}', None, r'answered /relay/0 with \{"ison": "yes"\}'),
        (None, 500, r"answered /relay/0 with HTTP 500: Internal Server Error"),
    ],
)
async def test_an_answer_that_is_not_a_relay_status_is_unavailable(
    gen1: FakeShellyGen1,
    session: aiohttp.ClientSession,
    garbage: str | None,
    status: int | None,
    says: str,
) -> None:
    gen1.behaviour.garbage, gen1.behaviour.status = garbage, status

    with pytest.raises(LoadUnavailable, match=says):
        await relay(gen1, session).read()
