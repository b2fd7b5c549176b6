"""Guessing from many addresses: past a budget of wrong passwords from all addresses
together, every sign-in waits (doubling, capped short), on the app's clock."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from tests.support.web import LOGIN_TOKEN
from tests.ui.conftest import PASSWORD, START, running_ui
from ui.auth import (
    DEVICE_COOKIE,
    GLOBAL_BUDGET,
    GLOBAL_FIRST_WAIT_S,
    GLOBAL_MAX_WAIT_S,
    GLOBAL_WINDOW_S,
    MAX_FAILURES,
    Auth,
    Guessing,
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "power_master.ui" and r.levelno == logging.WARNING
    ]


def test_past_the_budget_waits_double_up_to_a_short_cap_then_age_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    guessing = Guessing(clock)
    for i in range(GLOBAL_BUDGET - 1):
        guessing.wrong(f"fd00::{i}")
    assert guessing.wait() == 0 and not warnings_of(caplog)
    waits = []
    for i in range(12):
        guessing.wrong(f"fd00::a{i}")
        waits.append(guessing.wait())
        clock.now += waits[-1]  # the next guess comes as soon as it may
        assert guessing.wait() == 0
    assert waits[:4] == [GLOBAL_FIRST_WAIT_S * 2**n for n in range(4)]
    assert max(waits) == waits[-1] == GLOBAL_MAX_WAIT_S
    assert len(warnings_of(caplog)) == 1  # one line for the episode, not one per guess
    assert (
        f"{GLOBAL_BUDGET} wrong passwords from {GLOBAL_BUDGET} addresses"
        in (warnings_of(caplog)[0])
    )
    clock.now += GLOBAL_WINDOW_S
    guessing.wrong("fd00::b")  # the old guesses aged out: the budget is whole again
    assert guessing.wait() == 0
    assert len(warnings_of(caplog)) == 2 and "stopped (12 while slowed)" in warnings_of(caplog)[1]


async def attempt(url: str, password: str, address: str) -> tuple[int, str | None, str]:
    """One sign-in from ``address`` (a loopback address of its own): status, Retry-After,
    page."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as http:
        async with http.get(f"{url}/login") as response:
            found = LOGIN_TOKEN.search(await response.text())
        assert found
        form = {"password": password, "csrf_token": found.group(1)}
        async with http.post(f"{url}/login", data=form, allow_redirects=False) as response:
            return response.status, response.headers.get("Retry-After"), await response.text()


async def test_guesses_from_many_addresses_slow_everyone_but_not_for_long(
    free_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    auth = Auth.with_password(PASSWORD, clock=clock)
    per_address = MAX_FAILURES - 1  # no address ever reaches its own lockout
    addresses = [f"127.0.0.{10 + n}" for n in range(-(-GLOBAL_BUDGET // per_address))]
    async with running_ui(free_port, auth=auth) as ui:
        guesses = 0
        for address in addresses:
            for _ in range(min(per_address, GLOBAL_BUDGET - guesses)):
                status, _, _ = await attempt(ui.url, "a guess", address)
                assert status == 401
                guesses += 1
        # A fresh address, even with the right password, is refused unchecked.
        status, retry, page = await attempt(ui.url, PASSWORD, "127.0.0.200")
        assert (status, retry) == (429, "1") and "Too many wrong passwords" in page
        clock.now += 1
        status, retry, _ = await attempt(ui.url, "another guess", "127.0.0.201")
        assert (status, retry) == (401, "2")  # tried, wrong, and the wait doubled
        status, retry, _ = await attempt(ui.url, PASSWORD, "127.0.0.1")
        assert (status, retry) == (429, "2")
        clock.now += 2
        status, _, _ = await attempt(ui.url, PASSWORD, "127.0.0.1")
        assert status == 303  # the owner is in, a few seconds later
    assert len(warnings_of(caplog)) == 1
    assert f"from {len(addresses)} addresses" in warnings_of(caplog)[0]


async def test_a_browser_the_owner_signed_in_from_before_is_not_made_to_wait(
    free_port: int,
) -> None:
    clock = Clock()
    auth = Auth.with_password(PASSWORD, clock=clock)
    async with running_ui(free_port, auth=auth) as ui:
        owner = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with owner:
            assert await sign_in(owner, ui.url, PASSWORD) == 303  # gets a device cookie
            [device] = [c for c in owner.cookie_jar if c.key == DEVICE_COOKIE]
            for n in range(GLOBAL_BUDGET + 3):  # then guessing from everywhere else
                auth.login("a guess", f"fd00::{n}")
            assert auth.wait_for("127.0.0.1") > 0  # a stranger waits
            owner.cookie_jar.clear(lambda c: c.key != DEVICE_COOKIE)  # signed out, kept
            assert await sign_in(owner, ui.url, PASSWORD) == 303  # the owner does not

    for _ in range(MAX_FAILURES):  # a guesser behind the owner's own address (a proxy)
        auth.login("a guess", "127.0.0.1")
    assert auth.wait_for("127.0.0.1") > 0 and auth.wait_for("127.0.0.1", device.value) == 0
    forged = f"{device.value.partition('.')[0]}.{'0' * 64}"
    assert auth.known_device(forged) is None and auth.wait_for("127.0.0.1", forged) > 0
    for _ in range(MAX_FAILURES):  # its own mistakes lock the known browser out
        auth.login("a typo", "127.0.0.1", device.value)
    assert auth.wait_for("127.0.0.2", device.value) > GLOBAL_MAX_WAIT_S
    clock.now += GLOBAL_WINDOW_S  # the guessing has aged out
    session = auth.login(PASSWORD, "127.0.0.3")
    assert session is not None
    auth.set_password("a whole new password", session, PASSWORD)
    assert auth.known_device(device.value) is None  # worth nothing after a password change


async def sign_in(http: aiohttp.ClientSession, url: str, password: str) -> int:
    async with http.get(f"{url}/login") as response:
        found = LOGIN_TOKEN.search(await response.text())
    assert found
    form = {"password": password, "csrf_token": found.group(1)}
    async with http.post(f"{url}/login", data=form, allow_redirects=False) as response:
        return response.status
