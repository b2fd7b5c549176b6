"""forecast_solar.pv against a local server speaking Forecast.Solar's estimate protocol.

The fixture is made up in the documented format (see tests/fixtures/forecast_solar/README.md):
power at whole hours plus sunrise and sunset, local Brisbane time, today and tomorrow.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine import VirtualClock
from nodes.forecast_solar.provider import check_settings, retry_at_wait
from nodes.inputs.fetch import Response
from nodes.inputs.refresh import input_status
from tests.nodes.solar.harness import FakeApi, Site, json_answer, text_answer
from tests.nodes.solar.harness import fixture as load

ESTIMATE = "estimate_brisbane_2026-01-15.json"
RATELIMIT = "ratelimit_429.json"
BRISBANE_OFFSET_S = 10 * 3600


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    """Epoch seconds of a January 2026 time in Brisbane (UTC+10 all year)."""
    moment = datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)
    return moment.timestamp() - BRISBANE_OFFSET_S


NOW = local(15, 6, 15)
PLANE = {"declination": 20, "azimuth": 180, "kwp": 6.6}

MakeSite = Callable[..., Awaitable[Site]]


@pytest.fixture
async def make_site(api: FakeApi, tmp_path: Path) -> AsyncIterator[MakeSite]:
    sites: list[Site] = []

    async def make(start: float = NOW, **section: Any) -> Site:
        clock = VirtualClock(start)
        api.clock = clock
        settings = {
            "site": {"timezone": "Australia/Brisbane", "latitude": -27.47, "longitude": 153.03},
            "forecast_solar": {"base_url": api.url, "planes": [PLANE], **section},
        }
        site = Site(clock, tmp_path, settings)
        await site.start("forecast_solar.pv")
        sites.append(site)
        return site

    yield make
    for site in sites:
        await site.stop()


def at(reading: dict[str, Any], start: float) -> float:
    period = next(p for p in reading["data"]["periods"] if p["start"] == start)
    assert period["end"] == start + 1800
    assert period["p10_w"] == period["p50_w"] == period["p90_w"]  # no spread from this source
    return float(period["p50_w"])


async def test_request_and_parsed_values(api: FakeApi, make_site: MakeSite) -> None:
    api.answer = json_answer(load("forecast_solar", ESTIMATE))
    site = await make_site()
    out, problem = await site.run()

    assert problem is None
    [request] = api.requests
    assert request.path == "/estimate/-27.47/153.03/20/180/6.6"
    assert request.query == {}
    assert "Authorization" not in request.headers

    assert out["provider"] == "forecast_solar"
    assert out["issued_at"] == local(15, 6, 12, 44)  # message.info.time
    periods = out["data"]["periods"]
    assert periods[0]["start"] == local(15, 6)  # the half-hour in progress
    assert periods[-1]["end"] == local(17, 0)  # local midnight after tomorrow
    assert len(periods) == 84
    # 310 W at 06:00 rising linearly to 1050 W at 07:00: 680 W at 06:30, mean 495 W
    assert at(out, local(15, 6)) == 495.0
    # 4320 W at 12:00 to 4150 W at 13:00: mean over 12:00-12:30 is (4320 + 4235) / 2
    assert at(out, local(15, 12)) == 4277.5
    # 290 W at 18:00 to 0 at sunset 18:45:41; from 18:30 a triangle: 99.56 W x 941 s / 2 / 1800 s
    assert at(out, local(15, 18, 30)) == 26.0
    # tomorrow's sunrise at 05:04:01, 240 W by 06:00: 111.4 W at 05:30, over 1559 s
    assert at(out, local(16, 5)) == 48.2
    assert at(out, local(15, 21)) == 0.0 and at(out, local(16, 4, 30)) == 0.0

    # the half-hours hold the same energy as the API's own daily totals
    tomorrow_wh = sum(p["p50_w"] / 2 for p in periods if p["start"] >= local(16, 0))
    assert tomorrow_wh == pytest.approx(21182, abs=1)
    before_six_wh = 310 / 2 * (3600 - 3 * 60 - 12) / 3600  # sunrise 05:03:12 to 06:00
    today_wh = sum(p["p50_w"] / 2 for p in periods if p["start"] < local(16, 0))
    assert today_wh == pytest.approx(32337 - before_six_wh, abs=1)


async def test_two_planes_are_fetched_separately_and_summed(
    api: FakeApi, make_site: MakeSite
) -> None:
    api.answer = json_answer(load("forecast_solar", ESTIMATE))
    west = {"declination": 15, "azimuth": 90, "kwp": 4}
    site = await make_site(planes=[PLANE, west])
    out, problem = await site.run()

    assert problem is None
    assert [r.path for r in api.requests] == [
        "/estimate/-27.47/153.03/20/180/6.6",
        "/estimate/-27.47/153.03/15/90/4",
    ]
    assert at(out, local(15, 12)) == 2 * 4277.5


async def test_timestamps_with_an_offset_are_read_as_given(
    api: FakeApi, make_site: MakeSite
) -> None:
    payload = load("forecast_solar", ESTIMATE)
    payload["result"]["watts"] = {  # ?time=iso8601 style
        key.replace(" ", "T") + "+10:00": watts for key, watts in payload["result"]["watts"].items()
    }
    api.answer = json_answer(payload)
    site = await make_site()
    out, _ = await site.run()
    assert at(out, local(15, 12)) == 4277.5


async def test_fetches_hourly_and_never_within_fifteen_minutes(
    api: FakeApi, make_site: MakeSite
) -> None:
    api.answer = json_answer(load("forecast_solar", ESTIMATE))
    site = await make_site()
    for _ in range(13):  # every 5 minutes for an hour
        await site.run()
        await site.clock.advance(300)
    assert [r.at - NOW for r in api.requests] == [0.0, 3600.0]

    fast = await make_site(start=NOW + 7200, every="5m")
    for _ in range(5):
        await fast.run()
        await fast.clock.advance(300)
    assert [r.at - NOW for r in api.requests[2:]] == [7200.0, 7200.0 + 1200]


def edited(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    payload = load("forecast_solar", ESTIMATE)
    edit(payload)
    return payload


def absurd(payload: dict[str, Any]) -> None:
    payload["result"]["watts"]["2026-01-15 12:00:00"] = 43200  # ten times too much


def negative(payload: dict[str, Any]) -> None:
    payload["result"]["watts"]["2026-01-15 12:00:00"] = -5


def no_zone(payload: dict[str, Any]) -> None:
    del payload["message"]["info"]["timezone"]


def bad_zone(payload: dict[str, Any]) -> None:
    payload["message"]["info"]["timezone"] = "Mars/Olympus_Mons"


def bad_key(payload: dict[str, Any]) -> None:
    payload["result"]["watts"]["tomorrow noon"] = 100


def today_only(payload: dict[str, Any]) -> None:
    watts = payload["result"]["watts"]
    payload["result"]["watts"] = {k: w for k, w in watts.items() if k.startswith("2026-01-15")}


RATE_LIMITED = {
    "result": "Rate limit for API calls reached.",
    "message": {
        "code": 429,
        "type": "error",
        "text": "Rate limit for API calls reached.",
        "ratelimit": {"zone": "IP ADDRESS", "period": 3600, "limit": 12},
    },
}

FAILURES = {
    "server error": (text_answer("maintenance", 503), "HTTP 503: maintenance"),
    "rate limited": (json_answer(RATE_LIMITED, 429), "HTTP 429"),
    "malformed json": (text_answer('{"result": {"watts": {', 200), "response is not JSON"),
    "result is text": (json_answer(RATE_LIMITED), "payload.result: 'Rate limit"),
    "empty watts": (
        json_answer(edited(lambda p: p["result"].update(watts={}))),
        "payload.result.watts: {} should be non-empty",
    ),
    "missing timezone": (json_answer(edited(no_zone)), "'timezone' is a required property"),
    "unknown timezone": (json_answer(edited(bad_zone)), "'Mars/Olympus_Mons' is not a time zone"),
    "absurd watts": (json_answer(edited(absurd)), "43200 W is more than 1.5 x the plane's 6.6 kWp"),
    "negative watts": (json_answer(edited(negative)), "-5 is less than the minimum of 0"),
    "bad time": (json_answer(edited(bad_key)), "'tomorrow noon' is not a time"),
    "short horizon": (json_answer(edited(today_only)), "not now..+24h"),
}


@pytest.mark.parametrize("case", list(FAILURES))
async def test_a_failure_keeps_the_last_good_reading(
    api: FakeApi, make_site: MakeSite, case: str
) -> None:
    api.answer = json_answer(load("forecast_solar", ESTIMATE))
    site = await make_site()
    good, _ = await site.run()

    answer, expected = FAILURES[case]
    api.answer = answer
    await site.clock.run_until(NOW + 3600)
    out, problem = await site.run()

    assert len(api.requests) >= 2
    assert out == good
    assert problem is not None
    assert problem["provider"] == "forecast_solar"
    assert expected in problem["error"]
    assert "forecast_solar plane 1" in problem["error"]
    assert site.globals("pv") == good


async def test_a_timeout_then_a_pause_before_the_next_try(
    api: FakeApi, make_site: MakeSite
) -> None:
    api.answer = api.hang
    site = await make_site(timeout_s=0.2)
    out, problem = await site.run()

    assert out is None
    assert problem is not None and "no answer within 0.2 s" in problem["error"]
    assert [r.at - NOW for r in api.requests] == [0.0, 30.0]
    assert site.globals("pv") is None

    api.answer = json_answer(load("forecast_solar", ESTIMATE))
    await site.clock.run_until(NOW + 600)
    await site.run()
    assert len(api.requests) == 2  # not again within 15 minutes
    await site.clock.run_until(NOW + 960)
    out, problem = await site.run()
    assert problem is None and out["data"]["periods"]


async def test_a_429_is_not_tried_again_before_its_retry_at(
    api: FakeApi, make_site: MakeSite
) -> None:
    api.answer = json_answer(load("forecast_solar", ESTIMATE))
    site = await make_site()
    good, _ = await site.run()

    api.answer = json_answer(load("forecast_solar", RATELIMIT), 429)
    await site.clock.run_until(local(15, 7, 15))
    out, problem = await site.run()
    assert problem is not None and "HTTP 429" in problem["error"]
    assert out == good
    retry_at = local(15, 8)  # "2026-01-14T23:00:00+01:00"
    health = site.globals("input_health")["pv"]
    assert health["blocked_until"] == retry_at
    assert input_status(health, site.clock.time())["retry_at"] == retry_at

    api.answer = json_answer(load("forecast_solar", ESTIMATE))
    for minute in (30, 45):  # due by ``every`` and the 15-minute rule, but not by retry-at
        await site.clock.run_until(local(15, 7, minute))
        await site.run()
    assert [r.at for r in api.requests] == [NOW, local(15, 7, 15)]  # one try, no retry
    await site.clock.run_until(retry_at)
    out, problem = await site.run()
    assert problem is None and out["fetched_at"] == retry_at
    assert [r.at for r in api.requests][-1] == retry_at


def test_retry_at_is_read_from_the_body_with_its_offset_else_from_retry_after() -> None:
    body = load("forecast_solar", RATELIMIT)
    limited = Response(429, {}, json.dumps(body))
    assert retry_at_wait(limited, local(15, 7, 15)) == 45 * 60
    assert retry_at_wait(limited, local(15, 9)) == 0.0  # passed: no wait
    body["message"]["ratelimit"]["retry-at"] = "2026-01-15T08:00:00"  # no offset: no moment
    assert retry_at_wait(Response(429, {"Retry-After": "90"}, json.dumps(body)), NOW) == 90.0
    assert retry_at_wait(Response(429, {}, json.dumps(body)), NOW) is None
    assert retry_at_wait(Response(429, {}, "<html>Too many</html>"), NOW) is None


async def test_missing_settings_are_refused(api: FakeApi, tmp_path: Path) -> None:
    site = Site(VirtualClock(NOW), tmp_path, {"forecast_solar": {"base_url": api.url}})
    with pytest.raises(ValueError, match="latitude and longitude"):
        await site.start("forecast_solar.pv")
    await site.stop()


def test_settings_must_fit_the_hourly_rate_limit() -> None:
    assert check_settings({"planes": [PLANE] * 3, "every": "15m"}) == []
    [problem] = check_settings({"planes": [PLANE] * 4, "every": "15m"})
    assert problem.path == ("forecast_solar", "every")
    assert "16 calls an hour" in problem.message
