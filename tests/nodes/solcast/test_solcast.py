"""solcast.pv against a local server speaking Solcast's rooftop-site protocol.

Parsed values are checked by hand against the real captured responses: kW become
W, and each ``period_end`` becomes a half-open ``[end - 30 min, end)``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from flowengine import VirtualClock
from nodes.inputs.refresh import input_status
from nodes.solcast.provider import check_settings
from tests.nodes.solar.harness import (
    API_KEY,
    FakeApi,
    Site,
    json_answer,
    secret,
    text_answer,
)
from tests.nodes.solar.harness import fixture as load

RID = "3a06-3d9b-30b8-42e2"
HOURS24 = "emhass_solcast_rooftop_forecasts_hours24_2022-10-24.json"
MULTIDAY = "emhass_test_response_solcast_multiday.json"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


#: 06:40 in Brisbane: the capture's first period (20:30-21:00 UTC) is in progress.
NOW = utc(2022, 10, 24, 20, 40)
#: 07:01 in Brisbane, just past the next scheduled fetch (07:00).
NEXT_SLOT = utc(2022, 10, 24, 21, 1)

MakeSite = Callable[..., Awaitable[Site]]


def solcast_settings(api: FakeApi, **solcast: Any) -> dict[str, Any]:
    return {
        "site": {"timezone": "Australia/Brisbane"},
        "sources": {"pv": "solcast"},
        "solcast": {
            "base_url": api.url,
            "api_key": secret("solcast_api_key", API_KEY),
            "resource_ids": [RID],
            **solcast,
        },
    }


@pytest.fixture
async def make_site(api: FakeApi, tmp_path: Path) -> AsyncIterator[MakeSite]:
    sites: list[Site] = []

    async def make(start: float = NOW, node_type: str = "solcast.pv", **solcast: Any) -> Site:
        clock = VirtualClock(start)
        api.clock = clock
        site = Site(clock, tmp_path, solcast_settings(api, **solcast))
        await site.start(node_type)
        sites.append(site)
        return site

    yield make
    for site in sites:
        await site.stop()


def period(reading: dict[str, Any], start: float) -> dict[str, Any]:
    return next(p for p in reading["data"]["periods"] if p["start"] == start)


async def test_request_and_parsed_values(api: FakeApi, make_site: MakeSite) -> None:
    api.answer = json_answer(load("solcast", HOURS24))
    site = await make_site()
    out, problem = await site.run()

    assert problem is None
    [request] = api.requests
    assert request.path == f"/rooftop_sites/{RID}/forecasts"
    assert request.query == {"format": "json", "hours": "48", "period": "PT30M"}
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"

    assert (out["kind"], out["provider"], out["issued_at"]) == ("pv", "solcast", NOW)
    periods = out["data"]["periods"]
    assert len(periods) == 49
    # period_end 21:00Z is the period [20:30, 21:00), the one in progress at 20:40
    assert periods[0] == {
        "start": utc(2022, 10, 24, 20, 30),
        "end": utc(2022, 10, 24, 21),
        "p50_w": 0.0,
        "p10_w": 0.0,
        "p90_w": 0.0,
    }
    assert periods[-1]["end"] == utc(2022, 10, 25, 21)
    # {"pv_estimate":2.8483,"pv_estimate10":0.9675,"pv_estimate90":3.3155,
    #  "period_end":"2022-10-25T11:30:00.0000000Z"}
    assert period(out, utc(2022, 10, 25, 11)) == {
        "start": utc(2022, 10, 25, 11),
        "end": utc(2022, 10, 25, 11, 30),
        "p50_w": 2848.3,
        "p10_w": 967.5,
        "p90_w": 3315.5,
    }
    # the first light: 0.0384 / 0.0102 / 0.0486 kW ending 06:30Z
    early = period(out, utc(2022, 10, 25, 6))
    assert (early["p50_w"], early["p10_w"], early["p90_w"]) == (38.4, 10.2, 48.6)
    assert period(out, utc(2022, 10, 25, 5, 30))["p50_w"] == 0.0

    assert site.globals("pv") == out
    health = input_status(site.globals("input_health")["pv"], NOW)
    assert (health["provider"], health["failures"], health["stale"]) == ("solcast", 0, False)


async def test_the_multiday_capture(api: FakeApi, make_site: MakeSite) -> None:
    api.answer = json_answer(load("solcast", MULTIDAY))
    site = await make_site(start=utc(2024, 12, 26, 17, 10))
    out, problem = await site.run()

    assert problem is None
    periods = out["data"]["periods"]
    assert len(periods) == 97
    assert periods[0]["start"] == utc(2024, 12, 26, 17)
    assert periods[-1]["end"] == utc(2024, 12, 28, 17, 30)
    assert all(b["start"] == a["end"] for a, b in pairwise(periods))
    # {"pv_estimate":0.18,"pv_estimate10":0.0261,"pv_estimate90":1.1601,
    #  "period_end":"2024-12-28T12:00:00.0000000Z"}
    peak = period(out, utc(2024, 12, 28, 11, 30))
    assert (peak["p50_w"], peak["p10_w"], peak["p90_w"]) == (180.0, 26.1, 1160.1)


async def test_two_sites_are_fetched_separately_and_summed(
    api: FakeApi, make_site: MakeSite
) -> None:
    capture = load("solcast", HOURS24)
    half = copy.deepcopy(capture)
    for item in half["forecasts"]:
        for field in ("pv_estimate", "pv_estimate10", "pv_estimate90"):
            item[field] = item[field] / 2

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.json_response(capture if request.match_info["tail"].find("east") > 0 else half)

    api.answer = answer
    site = await make_site(resource_ids=["aaaa-east", "bbbb-west"])
    out, problem = await site.run()

    assert problem is None
    assert [r.path for r in api.requests] == [
        "/rooftop_sites/aaaa-east/forecasts",
        "/rooftop_sites/bbbb-west/forecasts",
    ]
    assert all(r.headers["Authorization"] == f"Bearer {API_KEY}" for r in api.requests)
    summed = period(out, utc(2022, 10, 25, 11))
    assert summed["p50_w"] == pytest.approx(2848.3 * 1.5, abs=0.1)
    assert summed["p10_w"] == pytest.approx(967.5 * 1.5, abs=0.1)
    assert summed["p90_w"] == pytest.approx(3315.5 * 1.5, abs=0.1)


async def test_one_bad_site_is_named(api: FakeApi, make_site: MakeSite) -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        if "west" in request.path:
            return web.Response(text="no such site", status=404)
        return web.json_response(load("solcast", HOURS24))

    api.answer = answer
    site = await make_site(resource_ids=["aaaa-east", "bbbb-west"])
    out, problem = await site.run()

    assert out is None
    assert problem is not None
    assert problem["error"] == "solcast site bbbb-west: HTTP 404: no such site"


def broken(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    payload = load("solcast", HOURS24)
    edit(payload)
    return payload


def drop_p10(payload: dict[str, Any]) -> None:
    del payload["forecasts"][3]["pv_estimate10"]


def in_watts(payload: dict[str, Any]) -> None:
    for item in payload["forecasts"]:
        item["pv_estimate"] *= 1000


def negative(payload: dict[str, Any]) -> None:
    payload["forecasts"][30]["pv_estimate90"] = -0.5


def no_zone(payload: dict[str, Any]) -> None:
    payload["forecasts"][0]["period_end"] = "2022-10-24T21:00:00"


def two_hours(payload: dict[str, Any]) -> None:
    payload["forecasts"][5]["period"] = "PT2H"


FAILURES = {
    "server error": (text_answer("upstream exploded", 500), "HTTP 500: upstream exploded"),
    "malformed json": (text_answer('{"forecasts": [', 200), "response is not JSON"),
    "missing field": (
        json_answer(broken(drop_p10)),
        "payload.forecasts[3]: 'pv_estimate10' is a required property",
    ),
    "empty forecasts": (json_answer({"forecasts": []}), "forecasts: [] should be non-empty"),
    "no forecasts key": (json_answer({"estimated_actuals": []}), "'forecasts' is a required"),
    "watts not kW": (json_answer(broken(in_watts)), "is greater than the maximum of 1000"),
    "negative kW": (json_answer(broken(negative)), "-0.5 is less than the minimum of 0"),
    "naive period_end": (json_answer(broken(no_zone)), "has no time zone"),
    "odd period": (json_answer(broken(two_hours)), "forecasts[5].period: 'PT2H' is not a period"),
    # at 07:01 the capture ends 23 h 59 min ahead: not a day's forecast
    "short horizon": (json_answer(load("solcast", HOURS24)), "not now..+24h"),
}


@pytest.mark.parametrize("case", list(FAILURES))
async def test_a_failure_keeps_the_last_good_reading(
    api: FakeApi, make_site: MakeSite, case: str
) -> None:
    api.answer = json_answer(load("solcast", HOURS24))
    site = await make_site()
    good, _ = await site.run()

    answer, expected = FAILURES[case]
    api.answer = answer
    await site.clock.run_until(NEXT_SLOT)
    out, problem = await site.run()

    assert len(api.requests) >= 2  # it did ask again
    assert out == good
    assert problem is not None
    assert problem["provider"] == "solcast"
    assert problem["kept"] == good["issued_at"]
    assert expected in problem["error"]
    assert RID in problem["error"]  # where: which site answered badly
    assert site.globals("pv") == good
    health = input_status(site.globals("input_health")["pv"], NOW)
    assert health["failures"] == 1
    assert expected in health["last_error"]


async def test_a_first_failure_leaves_nothing(api: FakeApi, make_site: MakeSite) -> None:
    api.answer = text_answer("busy", 503)
    site = await make_site()
    out, problem = await site.run()

    assert out is None
    assert problem is not None and "HTTP 503" in problem["error"]
    assert problem["kept"] is None
    assert site.globals("pv") is None


async def test_a_timeout_is_a_problem_not_a_hang(api: FakeApi, make_site: MakeSite) -> None:
    api.answer = api.hang
    site = await make_site(timeout_s=0.2)
    out, problem = await site.run()

    assert out is None
    assert problem is not None and "no answer within 0.2 s" in problem["error"]
    assert len(api.requests) == 3  # the policy's attempts, minutes apart in virtual time
    gaps = [b.at - a.at for a, b in pairwise(api.requests)]
    assert gaps == [120.0, 240.0]


async def test_429_with_retry_after_blocks_until_then(api: FakeApi, make_site: MakeSite) -> None:
    api.answer = text_answer("Too many requests", 429, **{"Retry-After": "3600"})
    site = await make_site()
    out, problem = await site.run()

    assert out is None
    assert problem is not None and "429" in problem["error"]
    assert len(api.requests) == 1  # an hour is not waited out inside the fetch
    assert site.globals("input_health")["pv"]["blocked_until"] == NOW + 3600

    api.answer = json_answer(load("solcast", HOURS24))
    await site.clock.advance(45 * 60)
    await site.run()
    assert len(api.requests) == 1


async def test_429_without_retry_after_backs_off_for_minutes(
    api: FakeApi, make_site: MakeSite
) -> None:
    api.answer = text_answer("busy", 429)
    start = utc(2024, 12, 26, 17, 10)  # 03:10 in Brisbane; the next fetch time is 05:00
    site = await make_site(start=start)
    _, problem = await site.run()

    assert problem is not None and "HTTP 429" in problem["error"]
    assert [r.at - start for r in api.requests] == [0.0, 120.0, 360.0]

    # the failed fetch is not retried in a loop: not before retry_failed_after (30m)
    await site.clock.run_until(start + 20 * 60)
    await site.run()
    assert len(api.requests) == 3

    api.answer = json_answer(load("solcast", MULTIDAY))
    await site.clock.run_until(start + 31 * 60)
    out, problem = await site.run()
    assert len(api.requests) == 4
    assert problem is None and out["data"]["periods"]


async def test_the_api_key_never_leaks(
    api: FakeApi, make_site: MakeSite, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def echo(request: web.Request) -> web.StreamResponse:  # a server that echoes the key
        return web.Response(text=f"bad key {request.headers['Authorization']}", status=401)

    api.answer = echo
    caplog.set_level(logging.DEBUG)
    site = await make_site()
    _, problem = await site.run()

    assert problem is not None and "HTTP 401" in problem["error"]
    assert "Bearer ***" in problem["error"]
    assert API_KEY not in str(problem)
    assert API_KEY not in caplog.text
    assert api.requests[0].query.keys() == {"format", "hours", "period"}  # not in the URL

    api.answer = json_answer(load("solcast", HOURS24))
    await site.clock.run_until(utc(2022, 10, 24, 21))  # 07:00, the next fetch time
    out, _ = await site.run()
    assert out is not None
    await site.stop()

    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"Bearer ***" in stored  # the problem was stored (call log, traces)...
    assert API_KEY.encode() not in stored  # ...without the key


async def test_inputs_pv_uses_solcast_when_sources_say_so(
    api: FakeApi, make_site: MakeSite
) -> None:
    api.answer = json_answer(load("solcast", HOURS24))
    site = await make_site(node_type="inputs.pv")
    out, problem = await site.run()

    assert problem is None
    assert out["provider"] == "solcast"
    assert len(out["data"]["periods"]) == 49


async def test_settings_that_cannot_work_are_refused(api: FakeApi, tmp_path: Path) -> None:
    clock = VirtualClock(NOW)
    site = Site(clock, tmp_path, solcast_settings(api, resource_ids=["a", "b", "c"], daily_limit=2))
    with pytest.raises(ValueError, match="less than one call for each"):
        await site.start("solcast.pv")
    await site.stop()


def test_settings_checks_say_what_a_schema_cannot() -> None:
    assert check_settings({"resource_ids": ["a", "b"], "daily_limit": 10}) == []
    [few] = check_settings({"resource_ids": ["a", "b", "c"], "daily_limit": 2})
    assert few.path == ("solcast", "daily_limit")
    times = ["05:00", "07:00", "09:00", "11:00", "13:00", "15:00"]
    [many] = check_settings({"resource_ids": ["a", "b"], "fetch_times": times})
    assert many.path == ("solcast", "fetch_times")
    assert "6 times x 2 sites need 12 calls a day; daily_limit is 10" in many.message
    assert check_settings({}) == []  # not used: nothing to say
