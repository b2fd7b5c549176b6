"""Shelly Gen2+ RPC over HTTP against a local device answering as §6.3 and §6.4 say."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from nodes.loads.device import LoadAuthFailed, LoadReading, LoadUnavailable
from nodes.loads.shelly_gen2 import ShellyGen2
from tests.nodes.loads.conftest import load, unused_port
from tests.nodes.loads.fake_shelly import GEN2_ID, GEN2_POWER_W, FakeShellyGen2


def switch(
    server: FakeShellyGen2,
    session: aiohttp.ClientSession,
    lock: asyncio.Lock | None = None,
    **raw: object,
) -> ShellyGen2:
    config = load(adapter="shelly_gen2", host=server.host, port=server.port, **raw)
    return ShellyGen2(config, session, lock or asyncio.Lock())


async def test_turn_on_sends_the_full_frame_with_toggle_after(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    adapter = switch(gen2, session, safety_off="45m")

    assert await adapter.set(True) == LoadReading(True, GEN2_POWER_W)
    assert gen2.frames == [
        {
            "id": 1,
            "src": "power-master",
            "method": "Switch.Set",
            "params": {"id": 0, "on": True, "toggle_after": 2700},
        },
        {"id": 2, "src": "power-master", "method": "Switch.GetStatus", "params": {"id": 0}},
    ]
    assert gen2.relays[0].timer_s == 2700


async def test_toggle_after_on_every_turn_on_and_never_on_turn_off(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    adapter = switch(gen2, session, channel=1)
    await adapter.set(True)
    assert await adapter.set(False) == LoadReading(False, 0.0)
    await adapter.set(True)

    sets = [f["params"] for f in gen2.frames if f["method"] == "Switch.Set"]
    assert sets == [
        {"id": 1, "on": True, "toggle_after": 1800},
        {"id": 1, "on": False},
        {"id": 1, "on": True, "toggle_after": 1800},
    ]


async def test_read_gives_output_and_apower(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.relays[0].on = True

    assert await switch(gen2, session).read() == LoadReading(True, GEN2_POWER_W)
    assert [f["method"] for f in gen2.frames] == ["Switch.GetStatus"]


async def test_a_stuck_relay_is_reported_as_it_is(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.relays[0].stuck = True

    assert await switch(gen2, session).set(True) == LoadReading(False, 0.0)


async def test_digest_sha256_answers_the_challenge_and_the_device_verifies_it(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.password = "correct horse"
    adapter = switch(gen2, session, password="correct horse")

    await adapter.set(True)
    assert (await adapter.read()).on is True

    assert gen2.challenges == 1  # one 401; later requests carry the digest straight away
    assert len(gen2.digests) == 3 and all(check.ok for check in gen2.digests)
    first = gen2.digests[0].fields
    assert (first["username"], first["realm"], first["algorithm"], first["qop"], first["uri"]) == (
        "admin",
        GEN2_ID,
        "SHA-256",
        "auth",
        "/rpc",
    )
    assert [check.fields["nc"] for check in gen2.digests] == ["00000001", "00000002", "00000003"]
    assert [f["method"] for f in gen2.frames] == [
        "Switch.Set",
        "Switch.GetStatus",
        "Switch.GetStatus",
    ]


async def test_a_wrong_password_is_refused_by_the_hash_and_named_clearly(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.password = "correct horse"
    adapter = switch(gen2, session, password="battery staple")

    with pytest.raises(LoadAuthFailed) as caught:
        await adapter.set(True)
    assert str(caught.value) == (
        f"load 'pool' (Shelly Gen2+ at 127.0.0.1:{gen2.port} relay 0): refused the password "
        "for user 'admin' (HTTP 401)"
    )
    assert [c.why for c in gen2.digests] == ["response hash does not match the password"]
    assert gen2.frames == [] and not gen2.relays[0].on


async def test_no_password_for_a_device_with_auth_on(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.password = "correct horse"

    with pytest.raises(LoadAuthFailed, match="asks for a password"):
        await switch(gen2, session).read()


async def test_an_error_frame_is_the_devices_own_words(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.error_next = {"code": -103, "message": "Missing required argument 'on'!"}

    with pytest.raises(
        LoadUnavailable,
        match=r"refused Switch.Set: error -103: Missing required "
        r"argument 'on'!",
    ):
        await switch(gen2, session).set(True)


async def test_an_error_frame_for_a_channel_the_device_lacks(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(LoadUnavailable, match=r"error -105: Argument 'id', value 7 not found!"):
        await switch(gen2, session, channel=7).read()


async def test_a_frame_answering_another_request_is_not_believed(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.wrong_id = True

    with pytest.raises(
        LoadUnavailable,
        match=r"answered Switch.GetStatus request 1 with frame "
        r"id 1001",
    ):
        await switch(gen2, session).read()


async def test_an_offline_device_is_unavailable(session: aiohttp.ClientSession) -> None:
    config = load(adapter="shelly_gen2", host="127.0.0.1", port=unused_port())

    with pytest.raises(
        LoadUnavailable,
        match=r"\(Shelly Gen2\+ at 127.0.0.1:\d+ relay 0\): "
        r"not reachable",
    ):
        await ShellyGen2(config, session, asyncio.Lock()).read()


async def test_a_device_that_never_answers_times_out(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.behaviour.hang = True

    with pytest.raises(LoadUnavailable, match=r"did not answer within 0.2 s"):
        await switch(gen2, session, timeout_s=0.2).set(True)


async def test_garbage_is_unavailable(gen2: FakeShellyGen2, session: aiohttp.ClientSession) -> None:
    gen2.behaviour.garbage = "<html>captive portal</html>"

    with pytest.raises(LoadUnavailable, match=r"answered /rpc with something not JSON"):
        await switch(gen2, session).read()


async def test_requests_to_one_device_go_one_at_a_time(
    gen2: FakeShellyGen2, session: aiohttp.ClientSession
) -> None:
    gen2.delay_s = 0.02  # slow enough for unserialised requests to overlap
    shared = asyncio.Lock()
    relays = [switch(gen2, session, shared, channel=0), switch(gen2, session, shared, channel=1)]

    await asyncio.gather(*(r.set(True) for r in relays), *(r.read() for r in relays))
    assert gen2.most_in_flight == 1
    assert gen2.relays[0].on and gen2.relays[1].on

    gen2.most_in_flight = 0  # the check can fail: separate locks do overlap
    apart = [switch(gen2, session, channel=0), switch(gen2, session, channel=1)]
    await asyncio.gather(*(r.read() for r in apart))
    assert gen2.most_in_flight == 2
