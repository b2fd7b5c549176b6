"""Fetches retry what is worth retrying, on the engine's clock, and honour Retry-After."""

from __future__ import annotations

import aiohttp
import pytest

from flowengine import VirtualClock
from nodes.inputs.fetch import FetchError, Response, RetryPolicy, fetch, retry_after
from tests.nodes.inputs.scripted_server import Reply, drive, json_reply, scripted_server

T0 = 1_750_000_000.0


async def test_a_server_error_is_retried_after_a_backoff_in_virtual_time(free_port: int) -> None:
    clock = VirtualClock(T0)
    async with (
        scripted_server(free_port, Reply(500, "oops"), json_reply({"ok": 1})) as server,
        aiohttp.ClientSession() as http,
    ):
        response = await drive(clock, fetch(http, server.url + "/x", clock))
    assert response.json() == {"ok": 1}
    assert len(server.requests) == 2
    assert clock.time() == T0 + RetryPolicy().backoff_s


async def test_429_waits_as_long_as_retry_after_says(free_port: int) -> None:
    clock = VirtualClock(T0)
    async with (
        scripted_server(free_port, Reply(429, headers={"Retry-After": "30"}), json_reply([])) as s,
        aiohttp.ClientSession() as http,
    ):
        await drive(clock, fetch(http, s.url, clock))
    assert clock.time() == T0 + 30


async def test_a_long_retry_after_is_not_waited_out_but_reported(free_port: int) -> None:
    clock = VirtualClock(T0)
    async with (
        scripted_server(free_port, Reply(429, headers={"Retry-After": "3600"})) as server,
        aiohttp.ClientSession() as http,
    ):
        with pytest.raises(FetchError) as caught:
            await drive(clock, fetch(http, server.url, clock))
    assert caught.value.status == 429
    assert caught.value.retry_at == T0 + 3600
    assert len(server.requests) == 1 and clock.time() == T0


async def test_a_provider_reads_its_own_429_wait_from_case_insensitive_headers(
    free_port: int,
) -> None:
    def reset(response: Response, now: float) -> float | None:
        value = response.headers.get("RateLimit-Reset")  # sent as ratelimit-reset
        return None if value is None else float(value)

    clock = VirtualClock(T0)
    limited = Reply(429, headers={"ratelimit-reset": "40", "Retry-After": "5"})
    async with (
        scripted_server(free_port, limited, json_reply([])) as server,
        aiohttp.ClientSession() as http,
    ):
        await drive(clock, fetch(http, server.url, clock, rate_limit_wait=reset))
        assert len(server.requests) == 2 and clock.time() == T0 + 40  # not Retry-After's 5
        server.answer(Reply(429, headers={"ratelimit-reset": "300"}))
        with pytest.raises(FetchError) as caught:
            await drive(clock, fetch(http, server.url, clock, rate_limit_wait=reset))
    assert caught.value.retry_at == T0 + 40 + 300 and len(server.requests) == 3


async def test_a_client_error_fails_at_once_with_the_servers_words(free_port: int) -> None:
    clock = VirtualClock(T0)
    async with (
        scripted_server(free_port, Reply(401, "bad key")) as server,
        aiohttp.ClientSession() as http,
    ):
        with pytest.raises(FetchError, match="HTTP 401: bad key"):
            await drive(clock, fetch(http, server.url, clock))
    assert len(server.requests) == 1


async def test_a_silent_server_times_out_and_is_tried_again(free_port: int) -> None:
    clock = VirtualClock(T0)
    policy = RetryPolicy(attempts=2, timeout_s=0.1)
    async with (
        scripted_server(free_port, Reply(hang=True)) as server,
        aiohttp.ClientSession() as http,
    ):
        with pytest.raises(FetchError, match=r"no answer within 0.1 s \(after 2 attempts\)"):
            await drive(clock, fetch(http, server.url, clock, policy=policy))
    assert len(server.requests) == 2


async def test_nobody_listening_is_a_fetch_error(free_port: int) -> None:
    clock = VirtualClock(T0)
    async with aiohttp.ClientSession() as http:
        with pytest.raises(FetchError, match="ClientConnectorError"):
            await drive(clock, fetch(http, f"http://127.0.0.1:{free_port}/", clock))


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("120", T0) == 120
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412420.0) == 60
    assert retry_after("soon", T0) is None
