"""Solcast's daily quota: never more calls per UTC day than allowed, across restarts.

Calls are counted from the site database (``InputStore`` on a real SQLite file),
as the input node counts them: one logged call per fetch, one API call per site.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from flowengine import VirtualClock
from nodes.inputs.reading import Reading
from nodes.inputs.store import InputStore
from nodes.solcast.provider import SolcastPv
from tests.nodes.solar.harness import API_KEY, FakeApi, Site, secret
from tests.nodes.solar.harness import fixture as load

BRISBANE_OFFSET_S = 10 * 3600
START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()  # 00:00 UTC = 10:00 in Brisbane
DAY = 86400.0


def settings(**solcast: Any) -> dict[str, Any]:
    return {
        "site": {"timezone": "Australia/Brisbane"},
        "solcast": {"api_key": API_KEY, "resource_ids": ["site-1"], **solcast},
    }


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "site.db"


@pytest.fixture
def store(db_file: Path) -> Iterator[InputStore]:
    connection = sqlite3.connect(db_file)
    yield InputStore(connection)
    connection.close()


def simulate(
    provider: SolcastPv,
    store: InputStore,
    start: float,
    end: float,
    ok: Callable[[float], bool] = lambda t: True,
) -> list[float]:
    """Ask ``due`` every 5 minutes from ``start`` to ``end`` and fetch as the node would."""
    last = store.latest("pv", "solcast")
    fetched = []
    t = start
    while t < end:
        if provider.due(t, last, store):
            fetched.append(t)
            if ok(t):
                store.log_call("solcast", t, True, 200)
                last = Reading("pv", "solcast", t, t, {"periods": []})
                store.save(last)
            else:
                store.log_call("solcast", t, False, 500, "HTTP 500")
        t += 300
    return fetched


def per_utc_day(moments: list[float]) -> Counter[float]:
    return Counter(m - m % DAY for m in moments)


def local_hhmm(moment: float) -> str:
    return datetime.fromtimestamp(moment + BRISBANE_OFFSET_S, UTC).strftime("%H:%M")


def test_one_site_fetches_at_the_schedule_and_within_ten_a_day(store: InputStore) -> None:
    provider = SolcastPv(settings(), VirtualClock(START))
    fetched = simulate(provider, store, START, START + 3 * DAY)

    assert [local_hhmm(t) for t in fetched[:10]] == [
        "10:00",
        "11:00",
        "13:00",
        "14:00",
        "15:00",
        "17:00",
        "05:00",
        "07:00",
        "09:00",
        "10:00",
    ]
    assert set(per_utc_day(fetched).values()) == {9}


def test_two_sites_share_the_limit(store: InputStore) -> None:
    provider = SolcastPv(settings(resource_ids=["east", "west"]), VirtualClock(START))
    fetched = simulate(provider, store, START, START + 3 * DAY)

    # the start-up fetch at 10:00 spent the first day's 09:00 call; from then on, the schedule
    assert [local_hhmm(t) for t in fetched[:10]] == [
        "10:00",
        "11:00",
        "15:00",
        "05:00",
        "07:00",
        "11:00",
        "15:00",
        "05:00",
        "07:00",
        "09:00",
    ]
    calls = {day: 2 * n for day, n in per_utc_day(fetched).items()}  # each fetch: one per site
    assert set(calls.values()) == {10}


def test_a_fifty_call_account_fetches_every_half_hour_of_daylight(store: InputStore) -> None:
    provider = SolcastPv(settings(daily_limit=50), VirtualClock(START))
    fetched = simulate(provider, store, START, START + 2 * DAY)
    assert set(per_utc_day(fetched).values()) == {26}


def test_a_restart_resumes_the_count_from_the_database(db_file: Path) -> None:
    def run(start: float, end: float) -> list[float]:
        connection = sqlite3.connect(db_file)  # a new process: nothing kept in memory
        try:
            provider = SolcastPv(settings(), VirtualClock(start))
            return simulate(provider, InputStore(connection), start, end)
        finally:
            connection.close()

    restart = START + 4 * 3600 + 300  # 14:05 in Brisbane, after the 14:00 fetch
    fetched = run(START, restart) + run(restart, START + 2 * DAY)

    assert local_hhmm(fetched[3]) == "14:00" and local_hhmm(fetched[4]) == "15:00"
    assert set(per_utc_day(fetched).values()) == {9}


def test_calls_already_spent_today_are_counted(store: InputStore) -> None:
    for i in range(10):  # spent before this process started (another run, the Solcast app...)
        store.log_call("solcast", START + 60 * i, True, 200)
    provider = SolcastPv(settings(), VirtualClock(START))

    fetched = simulate(provider, store, START + 3600, START + DAY + 3600)
    assert fetched == [START + DAY]  # nothing until the count starts again at 00:00 UTC
    assert not provider.due(START + 3600, None, store)  # not even with no forecast at all


def test_failures_are_retried_sparingly_and_never_past_the_limit(store: InputStore) -> None:
    provider = SolcastPv(settings(), VirtualClock(START))
    tried = simulate(provider, store, START, START + 3 * DAY, ok=lambda t: False)

    assert max(per_utc_day(tried).values()) == 10  # every time tried, one spare retry
    assert [local_hhmm(t) for t in tried[:3]] == ["10:00", "10:35", "11:00"]
    scheduled = {t.strftime("%H:%M") for t in provider.times}
    for before, after in pairwise(tried):  # a retry comes 30 minutes after the last try at least
        assert local_hhmm(after) in scheduled or after - before > 1800


def test_a_retry_never_takes_a_later_times_call(store: InputStore) -> None:
    provider = SolcastPv(settings(resource_ids=["east", "west"]), VirtualClock(START))
    tried = simulate(provider, store, START, START + 2 * DAY, ok=lambda t: False)
    # five times a day for two sites is the whole budget: no call left for retries
    assert [local_hhmm(t) for t in tried[:6]] == [
        "10:00",
        "11:00",
        "15:00",
        "05:00",
        "07:00",
        "10:00",
    ]
    assert set(per_utc_day(tried).values()) == {5}


# -- the node, over HTTP, across a restart ---------------------------------------------------


def shifted_capture(now: float) -> dict[str, Any]:
    """The real 24 h capture, re-dated so its first period is the one in progress at ``now``."""
    capture = load("solcast", "emhass_solcast_rooftop_forecasts_hours24_2022-10-24.json")
    first_end = now - now % 1800 + 1800
    for i, item in enumerate(capture["forecasts"]):
        end = datetime.fromtimestamp(first_end + i * 1800, UTC)
        item["period_end"] = end.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return capture


async def test_the_node_keeps_the_quota_across_a_restart(api: FakeApi, tmp_path: Path) -> None:
    clock = VirtualClock(START)
    api.clock = clock

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.json_response(shifted_capture(clock.time()))

    api.answer = answer
    config = {**settings(base_url=api.url)}
    config["solcast"]["api_key"] = secret("solcast_api_key", API_KEY)

    async def run_until(site: Site, end: float) -> list[Any]:
        outs = []
        while clock.time() < end:
            out, problem = await site.run()
            assert problem is None
            outs.append(out)
            await clock.advance(900)
        return outs

    first = Site(clock, tmp_path, config)
    await first.start("solcast.pv")
    await run_until(first, START + 5 * 3600 + 1)  # 10:00 to 15:00 in Brisbane
    await first.stop()
    before = len(api.requests)
    assert [local_hhmm(r.at) for r in api.requests] == ["10:00", "11:00", "13:00", "14:00", "15:00"]

    second = Site(clock, tmp_path, config)
    await second.start("solcast.pv")
    out, _ = await second.run()
    assert len(api.requests) == before  # the restart costs no call...
    assert out is not None and out["fetched_at"] == api.requests[-1].at  # ...and has the data
    await run_until(second, START + 2 * DAY)
    await second.stop()

    assert set(per_utc_day([r.at for r in api.requests]).values()) == {9}
