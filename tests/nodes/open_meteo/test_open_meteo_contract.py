"""open_meteo.weather against a local Open-Meteo: the request, good data, and every failure.

After each failure the node's ``out`` carries the last good reading (or None),
``problem`` says what went wrong, and global.weather holds nothing invalid.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, run_to_end
from tests.nodes.open_meteo.fake_open_meteo import FakeOpenMeteo, Reply, fake_open_meteo, payload
from tests.nodes.storm.harness import forget, seen, start

T0 = datetime(2026, 1, 15, 6, 0, tzinfo=UTC).timestamp()
GOOD = Reply(body=payload("brisbane_hourly_unixtime.json"))

FLOW = """
flow: weather
connections:
  - {id: web, type: core.http}
nodes:
  - id: weather
    type: open_meteo.weather
    wires: {out: [out], problem: [problem]}
  - {id: out, type: test.collect}
  - {id: problem, type: test.collect}
"""


@dataclass
class Fetched:
    out: Any
    problem: Any
    in_context: Any


class Site:
    def __init__(self, engine: Engine, clock: VirtualClock) -> None:
        self.engine = engine
        self.clock = clock

    async def fetch(self, after_s: float = 0.0) -> Fetched:
        if after_s:
            await self.clock.advance(after_s)
        forget()
        trace = await run_to_end(self.engine, "weather")
        assert trace.outcome == "ok", trace.error
        (out,) = seen("out")
        problems = seen("problem")
        return Fetched(
            out,
            problems[0] if problems else None,
            self.engine.context.get("global", "weather"),
        )


@pytest.fixture
async def server(free_port: int) -> AsyncIterator[FakeOpenMeteo]:
    async with fake_open_meteo(free_port, GOOD) as fake:
        yield fake


@pytest.fixture
async def site(server: FakeOpenMeteo) -> AsyncIterator[Any]:
    engines: list[Engine] = []

    async def make(**section: Any) -> Site:
        clock = VirtualClock(T0)
        settings = {
            "site": {"latitude": -27.47, "longitude": 153.03},
            "open_meteo": {"base_url": server.url, "timeout_s": 5.0, **section},
        }
        engine = await start(FLOW, clock, settings)
        engines.append(engine)
        return Site(engine, clock)

    yield make
    for engine in engines:
        await engine.stop()
        engine.close()


async def test_asks_for_the_site_forecast_and_stores_the_hours(
    server: FakeOpenMeteo, site: Any
) -> None:
    fetched = await (await site()).fetch()
    assert server.paths == ["/v1/forecast"]
    query = server.queries[0]
    assert query["latitude"] == "-27.4700" and query["longitude"] == "153.0300"
    assert query["timeformat"] == "unixtime"
    assert query["forecast_days"] == "3"
    assert query["hourly"].split(",") == [
        "temperature_2m",
        "cloud_cover",
        "shortwave_radiation",
        "precipitation",
        "precipitation_probability",
        "cape",
        "weather_code",
        "wind_gusts_10m",
    ]
    assert fetched.problem is None
    assert fetched.out["kind"] == "weather" and fetched.out["provider"] == "open_meteo"
    assert len(fetched.out["data"]["hours"]) == 72
    assert fetched.in_context == fetched.out


async def test_fetches_hourly_by_default(server: FakeOpenMeteo, site: Any) -> None:
    weather = await site()
    await weather.fetch()
    await weather.fetch(after_s=1800)
    assert len(server.queries) == 1
    await weather.fetch(after_s=1800)
    assert len(server.queries) == 2


async def test_a_refused_request_surfaces_open_meteo_s_reason(
    server: FakeOpenMeteo, site: Any
) -> None:
    reason = "Latitude must be in range of -90 to 90°. Given: -127.47."
    server.answer(Reply(400, {"error": True, "reason": reason}))
    fetched = await (await site()).fetch()
    assert fetched.problem["error"] == f"open_meteo refused the request: {reason} (HTTP 400)"
    assert len(server.queries) == 1  # a wrong request is not repeated
    assert fetched.out is None and fetched.in_context is None


async def test_http_500_keeps_the_last_good_reading(server: FakeOpenMeteo, site: Any) -> None:
    weather = await site()
    good = (await weather.fetch()).out
    server.answer(Reply(500, "upstream down"))
    fetched = await weather.fetch(after_s=3600)
    assert fetched.problem["error"] == "HTTP 500: upstream down (after 3 attempts)"
    assert fetched.problem["kept"] == good["issued_at"]
    assert len(server.queries) == 1 + 3
    assert fetched.out == good and fetched.in_context == good


async def test_a_server_that_never_answers_times_out(server: FakeOpenMeteo, site: Any) -> None:
    server.answer(Reply(hang=True))
    weather = await site(timeout_s=0.2)
    fetched = await weather.fetch()
    assert fetched.problem["error"] == "no answer within 0.2 s (after 3 attempts)"
    assert weather.clock.time() == T0 + 2 + 4  # the backoff ran on the virtual clock
    assert fetched.out is None and fetched.in_context is None


async def test_waits_out_a_short_retry_after(server: FakeOpenMeteo, site: Any) -> None:
    server.answer(Reply(429, "slow down", {"Retry-After": "30"}), GOOD)
    weather = await site()
    fetched = await weather.fetch()
    assert fetched.problem is None
    assert weather.clock.time() == T0 + 30
    assert len(fetched.out["data"]["hours"]) == 72


async def test_a_long_retry_after_blocks_calls_until_then(server: FakeOpenMeteo, site: Any) -> None:
    server.answer(Reply(429, "quota", {"Retry-After": "7200"}), GOOD)
    weather = await site()
    fetched = await weather.fetch()
    assert "rate limited; retry after 7200 s" in fetched.problem["error"]
    fetched = await weather.fetch(after_s=3600)
    assert len(server.queries) == 1  # still blocked: no call made
    assert fetched.out is None
    fetched = await weather.fetch(after_s=3600)
    assert len(server.queries) == 2 and fetched.problem is None


def _edited(edit: str) -> dict[str, Any]:
    raw = payload("brisbane_hourly_unixtime.json")
    if edit == "fahrenheit":
        raw["hourly_units"]["temperature_2m"] = "°F"
    elif edit == "no hourly":
        del raw["hourly"]
    elif edit == "empty":
        raw["hourly"] = {name: [] for name in raw["hourly"]}
    elif edit == "uneven":
        raw["hourly"]["wind_gusts_10m"].pop()
    elif edit == "cloud over 100":
        raw["hourly"]["cloud_cover"][0] = 250
    return raw


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"latitude": -27.5, "hourly": {"time": [17684', "response is not JSON"),
        (_edited("fahrenheit"), "unexpected unit '°F'"),
        (_edited("no hourly"), "no hourly (or minutely_15) forecast"),
        (_edited("empty"), "payload.hourly.time: [] should be non-empty"),
        (_edited("uneven"), "payload.hourly.wind_gusts_10m: 71 values for 72 times"),
        (_edited("cloud over 100"), "cloud_cover[0]: 250 is greater than the maximum of 100"),
        ({"error": True, "reason": "No data is available for this location"}, "No data"),
    ],
)
async def test_unusable_payloads_never_replace_good_data(
    server: FakeOpenMeteo, site: Any, body: Any, says: str
) -> None:
    weather = await site()
    good = (await weather.fetch()).out
    server.answer(Reply(200, body))
    fetched = await weather.fetch(after_s=3600)
    assert says in fetched.problem["error"]
    assert fetched.problem["provider"] == "open_meteo"
    assert fetched.out == good and fetched.in_context == good


async def test_without_a_position_it_says_what_to_set(server: FakeOpenMeteo) -> None:
    clock = VirtualClock(T0)
    engine = await start(FLOW, clock, {"open_meteo": {"base_url": server.url}})
    try:
        forget()
        await run_to_end(engine, "weather")
        (problem,) = seen("problem")
        assert "set site.latitude and site.longitude" in problem["error"]
        assert server.queries == []
    finally:
        await engine.stop()
        engine.close()
