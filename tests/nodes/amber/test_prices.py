"""amber.prices against a local server speaking Amber's protocol: data, and every failure."""

from __future__ import annotations

import copy
import itertools
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from flowengine import VirtualClock, run_to_end
from nodes.inputs.refresh import input_status
from tests.flowengine.helpers import Collect
from tests.nodes.amber.conftest import T0, Site
from tests.nodes.amber.fake_amber import (
    API_KEY,
    RATE_LIMITED,
    SITE_ID,
    FakeAmber,
    Reply,
    payload,
)
from tests.nodes.amber.harness import settings, start

MakeSite = Callable[..., Awaitable[Site]]


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def slot(reading: dict[str, Any], start: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        i for i in reading["data"]["intervals"] if i["start"] == at(start)
    ]
    assert len(found) == 1
    return found[0]


def stored(site: Site) -> list[tuple[Any, ...]]:
    with sqlite3.connect(site.db_file) as db:
        return db.execute("SELECT issued_at, data FROM input_readings").fetchall()


async def test_reads_current_prices_with_both_channels_and_the_right_signs(
    amber: FakeAmber, make_site: MakeSite
) -> None:
    site = await make_site()
    got = await site.fetch()
    assert got.problem is None
    (request,) = amber.requests
    assert request.site == SITE_ID
    assert request.query == {"next": "96", "previous": "2", "resolution": "30"}
    assert request.authorization == f"Bearer {API_KEY}"
    reading = got.out
    assert (reading["kind"], reading["provider"]) == ("prices", "amber")
    assert reading["issued_at"] == reading["fetched_at"] == T0
    intervals = reading["data"]["intervals"]
    assert len(intervals) == 97  # 48 actual + current + 48 forecast; controlled load dropped
    assert all(b["start"] == a["end"] for a, b in itertools.pairwise(intervals))
    now = slot(reading, "2025-04-09T17:00")
    # general perKwh 23.62991 c (not its advancedPrice 23.45736); feedIn perKwh -9.47154 c
    assert now["import_price"] == pytest.approx(0.2362991)
    assert now["export_price"] == pytest.approx(0.0947154)
    assert (now["type"], now["estimate"], now["spike"]) == ("current", True, "none")
    assert (now["descriptor"], now["renewables"]) == ("veryLow", 85.101)
    ahead = slot(reading, "2025-04-09T17:30")
    # advancedPrice.predicted: general 22.41988 c (perKwh 23.03254), feedIn -8.37151 c
    assert ahead["import_price"] == pytest.approx(0.2241988)
    assert ahead["export_price"] == pytest.approx(0.0837151)
    assert ahead["type"] == "forecast"
    past = slot(reading, "2025-04-08T17:00")
    assert past["import_price"] == pytest.approx(0.2901318)
    assert past["export_price"] == pytest.approx(0.1436542)  # feedIn -14.36542 c
    assert (past["type"], past["estimate"]) == ("actual", False)
    assert got.in_context == reading
    assert [row[0] for row in stored(site)] == [T0]


async def test_five_minute_prices(amber: FakeAmber, make_site: MakeSite) -> None:
    amber.by_resolution["5"] = Reply(body=payload("current_5min"))
    site = await make_site(resolution=5)
    got = await site.fetch()
    # 48 h ahead and 1 h back, as at 30 minutes (96 and 2)
    assert amber.requests[0].query == {"next": "576", "previous": "12", "resolution": "5"}
    intervals = got.out["data"]["intervals"]
    assert len(intervals) == 13 and {i["end"] - i["start"] for i in intervals} == {300}
    now = slot(got.out, "2025-04-09T17:20")
    assert now["import_price"] == pytest.approx(0.2322571)
    assert now["export_price"] == pytest.approx(0.0910408)
    assert (now["type"], now["estimate"]) == ("current", False)  # locked in


async def test_falls_back_to_30_minutes_when_5_is_refused(
    amber: FakeAmber, make_site: MakeSite
) -> None:
    amber.by_resolution["5"] = Reply(400, {"message": "resolution must be 30"})
    site = await make_site(resolution=5)
    got = await site.fetch()
    assert got.problem is None
    assert {i["end"] - i["start"] for i in got.out["data"]["intervals"]} == {1800}
    await site.fetch(after_s=60)
    asked = [(r.query["resolution"], r.query["next"], r.query["previous"]) for r in amber.requests]
    assert asked == [("5", "576", "12"), ("30", "96", "2"), ("30", "96", "2")]


async def test_counts_set_in_site_yaml_keep_their_span_at_30_minutes(
    amber: FakeAmber, make_site: MakeSite
) -> None:
    amber.by_resolution["5"] = Reply(400, {"message": "resolution must be 30"})
    site = await make_site(resolution=5, next=288, previous=3)  # 24 h ahead, 15 min back
    got = await site.fetch()
    assert got.problem is None
    asked = [(r.query["resolution"], r.query["next"], r.query["previous"]) for r in amber.requests]
    assert asked == [("5", "288", "3"), ("30", "48", "1")]


async def test_the_key_goes_in_the_header_and_never_into_errors_logs_or_storage(
    amber: FakeAmber, make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    site = await make_site()
    good = await site.fetch()
    amber.reply = Reply(403, echo_auth=True)  # an API that quotes the request back
    got = await site.fetch(after_s=60)
    assert amber.requests[-1].authorization == f"Bearer {API_KEY}"
    assert all(API_KEY not in str(r.query) for r in amber.requests)
    error = got.problem["error"]
    assert error.startswith("HTTP 403") and "<api key>" in error
    texts = [
        error,
        str(got.out),
        str(got.in_context),
        str(site.engine.context.get("global", "input_health")),
        str(site.last_trace.to_dict() if site.last_trace else None),
        caplog.text,
        site.db_file.read_bytes().decode("latin-1"),
    ]
    assert not [text for text in texts if API_KEY in text]
    assert got.out == good.out


async def test_a_refused_key_fails_at_once(amber: FakeAmber, make_site: MakeSite) -> None:
    site = await make_site(api_key="psk_wrong")
    got = await site.fetch()
    assert len(amber.requests) == 1  # a 401 is not retried
    assert got.problem["error"].startswith("HTTP 401")
    assert "psk_wrong" not in got.problem["error"]
    assert got.out is None and got.in_context is None


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ({"api_key": ""}, "amber.api_key is not set"),
        ({"site_id": ""}, "amber.site_id is not set"),
    ],
)
async def test_missing_settings_are_named(
    amber: FakeAmber, make_site: MakeSite, section: dict[str, str], error: str
) -> None:
    site = await make_site(**section)
    got = await site.fetch()
    assert amber.requests == []
    assert got.problem["error"].startswith(error)
    assert got.out is None


def _edited(name: str, index: int, **changes: Any) -> list[dict[str, Any]]:
    raw = payload(name)
    raw[index].update(changes)
    for key, value in changes.items():
        if value is None:
            del raw[index][key]
    return raw


def _in_dollars_per_mwh() -> list[dict[str, Any]]:
    raw = payload("day_20250201")
    for item in raw:
        item["perKwh"] *= 10
    return raw


FAILURES = {
    "server error": (Reply(500, "upstream broke"), "HTTP 500: upstream broke (after 3 attempts)"),
    "not json": (Reply(200, '[{"type": "Actu'), "amber payload is not JSON"),
    "html": (Reply(200, "<html>Bad gateway</html>"), "amber payload is not JSON"),
    "an error object": (
        Reply(200, {"message": "oops"}),
        "amber payload (top level): {'message': 'oops'} is not of type 'array'",
    ),
    "missing price": (
        Reply(body=_edited("current_30min", 5, perKwh=None)),
        "amber payload[5]: 'perKwh' is a required property",
    ),
    "price as text": (
        Reply(body=_edited("current_30min", 5, perKwh="23.6")),
        "amber payload[5].perKwh: '23.6' is not of type 'number'",
    ),
    "bad time": (
        Reply(body=_edited("current_30min", 7, endTime="soon")),
        "amber payload[7].endTime: 'soon' does not match",
    ),
    "empty": (Reply(body=[]), "amber payload: an empty list"),
    "no feed-in": (
        Reply(body=[i for i in payload("current_30min") if i["channelType"] != "feedIn"]),
        "no interval has both a general and a feedIn price (97 general, 0 feedIn)",
    ),
    "spike in $/MWh": (
        Reply(body=_in_dollars_per_mwh()),
        "amber payload[132].perKwh: -17628.7141 is less than the minimum of -5000",
    ),
    "absurd price": (
        Reply(body=_edited("current_30min", 48, perKwh=-1e6)),
        "amber payload[48].perKwh: -1000000.0 is less than the minimum of -5000",
    ),
    "nan": (Reply(200, '[{"perKwh": NaN}]'), "amber payload: NaN where a number belongs"),
}


@pytest.mark.parametrize(("reply", "error"), list(FAILURES.values()), ids=list(FAILURES))
async def test_a_failure_keeps_the_last_good_reading_and_says_what_went_wrong(
    amber: FakeAmber, make_site: MakeSite, reply: Reply, error: str
) -> None:
    good_reply = amber.reply
    amber.reply = copy.deepcopy(reply)
    site = await make_site()
    first = await site.fetch()
    assert error in first.problem["error"]
    assert (first.problem["kind"], first.problem["provider"]) == ("prices", "amber")
    assert first.problem["kept"] is None
    assert first.out is None and first.in_context is None

    amber.reply = good_reply
    good = await site.fetch(after_s=60)
    assert good.problem is None and good.out["fetched_at"] == good.in_context["fetched_at"]

    amber.reply = copy.deepcopy(reply)
    again = await site.fetch(after_s=60)
    assert error in again.problem["error"]
    assert again.problem["kept"] == good.out["issued_at"]
    assert again.out == good.out and again.in_context == good.out
    assert len(stored(site)) == 1
    health = site.engine.context.get("global", "input_health")["prices"]
    assert health["failures"] == 1 and error in health["last_error"]


async def test_no_answer_times_out_and_keeps_the_last_good_reading(
    amber: FakeAmber, make_site: MakeSite
) -> None:
    site = await make_site(timeout_s=0.2)
    good = await site.fetch()
    amber.reply = Reply(hang=True)
    got = await site.fetch(after_s=60)
    assert got.problem["error"] == "no answer within 0.2 s (after 3 attempts)"
    assert len(amber.requests) == 4
    assert got.out == good.out and got.in_context == good.out


async def test_rate_limited_with_a_long_retry_after_waits_it_out(
    amber: FakeAmber, make_site: MakeSite
) -> None:
    site = await make_site()
    good = await site.fetch()
    good_reply, amber.reply = amber.reply, Reply(429, "slow down", {"Retry-After": "600"})
    got = await site.fetch(after_s=60)
    assert "HTTP 429" in got.problem["error"] and "retry after 600 s" in got.problem["error"]
    assert len(amber.requests) == 2  # not retried: 600 s is too long to wait in a run
    amber.reply = good_reply
    quiet = await site.fetch(after_s=300)
    assert len(amber.requests) == 2 and quiet.problem is None and quiet.out == good.out
    later = await site.fetch(after_s=300)
    assert len(amber.requests) == 3 and later.out["fetched_at"] == T0 + 660


async def test_rate_limited_with_a_short_retry_after_retries_in_the_same_run(
    amber: FakeAmber, make_site: MakeSite
) -> None:
    amber.queue.append(Reply(429, "slow down", {"Retry-After": "7"}))
    site = await make_site()
    got = await site.fetch()
    assert got.problem is None and len(amber.requests) == 2
    assert got.out["fetched_at"] == T0 + 7


#: Per site interval length: a live answer, one captured five minutes later, and the start
#: of the later one's current interval.
SITES = {
    30: ("current_30min", "current_30min", "2025-04-09T17:00"),
    5: ("current_5min", "current_5min_later", "2025-04-09T17:25"),
}


@pytest.mark.parametrize("resolution", [30, 5])
async def test_a_429_is_not_tried_again_before_rate_limit_reset(
    amber: FakeAmber, make_site: MakeSite, resolution: int
) -> None:
    first, later, current = SITES[resolution]
    amber.by_resolution[str(resolution)] = Reply(body=payload(first))
    site = await make_site(resolution=resolution)
    good = await site.fetch()
    amber.queue.append(Reply(429, {"message": "Too Many Requests"}, dict(RATE_LIMITED)))
    limited = await site.fetch(after_s=60)
    assert "HTTP 429" in limited.problem["error"]
    assert limited.out == good.out and limited.in_context == good.out
    assert len(amber.requests) == 2  # a reset minutes away is not waited out in the run
    retry_at = T0 + 60 + 187 + 2  # RateLimit-Reset, and a margin
    health = site.engine.context.get("global", "input_health")["prices"]
    assert health["blocked_until"] == retry_at
    assert input_status(health, site.clock.time())["retry_at"] == retry_at

    amber.by_resolution[str(resolution)] = Reply(body=payload(later))
    for _ in range(3):  # the flow still runs every minute, on the prices it has
        held = await site.fetch(after_s=60)
        assert held.problem is None and held.out == good.out
    assert [r.at - T0 for r in amber.requests] == [0, 60]
    fresh = await site.fetch(after_s=60)
    assert [r.at - T0 for r in amber.requests] == [0, 60, 300]
    assert amber.requests[-1].query["resolution"] == str(resolution)
    assert slot(fresh.out, current)["type"] == "current"
    assert (
        input_status(
            site.engine.context.get("global", "input_health")["prices"], site.clock.time()
        )["retry_at"]
        is None
    )


@pytest.mark.parametrize("resolution", [30, 5])
async def test_a_429_resetting_within_seconds_is_tried_again_after_the_reset(
    amber: FakeAmber, make_site: MakeSite, resolution: int
) -> None:
    amber.by_resolution[str(resolution)] = Reply(body=payload(SITES[resolution][0]))
    amber.queue.append(Reply(429, "", {**RATE_LIMITED, "RateLimit-Reset": "3"}))
    site = await make_site(resolution=resolution)
    got = await site.fetch()
    assert got.problem is None
    assert [r.at - T0 for r in amber.requests] == [0, 5]  # 3 s, and a margin
    assert got.out["fetched_at"] == T0 + 5


async def test_an_exhausted_quota_pauses_calls_until_the_window_resets(
    amber: FakeAmber, make_site: MakeSite
) -> None:
    amber.reply.headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": "200"}
    site = await make_site()
    first = await site.fetch()
    amber.reply.headers = {"RateLimit-Remaining": "49", "RateLimit-Reset": "300"}
    held = await site.fetch(after_s=60)
    assert len(amber.requests) == 1 and held.out == first.out and held.problem is None
    await site.fetch(after_s=150)
    assert len(amber.requests) == 2
    await site.fetch(after_s=60)
    assert len(amber.requests) == 3  # a quota with calls left does not pause anything


async def test_sources_prices_amber_picks_this_provider(amber: FakeAmber) -> None:
    flow = """
flow: fetch
connections:
  - {id: web, type: core.http}
nodes:
  - {id: prices, type: inputs.prices, wires: [out]}
  - {id: out, type: test.collect}
"""
    clock = VirtualClock(T0)
    engine = await start([flow], clock, settings(amber))  # sources: {prices: amber}
    Collect.seen = {}
    await run_to_end(engine, "fetch")
    (reading,) = Collect.seen["out"]
    assert reading["provider"] == "amber" and len(reading["data"]["intervals"]) == 97
    await engine.stop()
    engine.close()
