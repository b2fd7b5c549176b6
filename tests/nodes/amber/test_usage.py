"""Amber's metered usage: fetched from a local server keeping Amber's rules, checked by hand.

The server (fake_amber.py) refuses what Amber refuses: ``resolution=30`` on a site
billed every 5 minutes, an ``endDate`` of today, more than 7 days at once there.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, run_to_end
from nodes.amber.usage import MAX_WINDOW_DAYS, to_usage, windows
from nodes.inputs.provider import InvalidPayload
from nodes.inputs.refresh import input_status
from tests.flowengine.helpers import Collect
from tests.nodes.amber.fake_amber import RATE_LIMITED, SITE_ID, FakeAmber, Reply, payload
from tests.nodes.amber.harness import settings, start

#: 2025-02-02 09:00 NEM time: the day after the 30-minute fixture's intervals.
T0 = datetime(2025, 2, 1, 23, 0, tzinfo=UTC).timestamp()
#: 2025-04-11 09:00 NEM time: the day after the 5-minute fixture's intervals.
T0_5MIN = datetime(2025, 4, 10, 23, 0, tzinfo=UTC).timestamp()

#: Per site interval length: its usage payload, a moment the day after it, and that day.
SITES = {
    30: ("usage_20250201", T0, date(2025, 2, 2)),
    5: ("usage_5min_20250410", T0_5MIN, date(2025, 4, 11)),
}

USAGE_FLOW = """
flow: usage
connections:
  - {id: web, type: core.http}
  - {id: db, type: core.sqlite, config: {file: site.db}}
nodes:
  - id: usage
    type: amber.usage
    config: {database: db}
    wires: {out: [out], problem: [problem]}
  - {id: out, type: test.collect}
  - {id: problem, type: test.collect}
"""


def test_channels_become_one_slot_each_way() -> None:
    usage = to_usage(payload("usage_20250201"))
    assert len(usage) == 8
    spike = next(u for u in usage if u["end"] == datetime(2025, 2, 1, 8, tzinfo=UTC).timestamp())
    # 1.21 kWh exported at a feed-in price of -512.57323 c/kWh (earning $5.13/kWh).
    assert spike["export_kwh"] == pytest.approx(1.21)
    assert spike["export_revenue"] == pytest.approx(1.21 * 5.1257323)
    assert spike["import_kwh"] == 0.0 and spike["quality"] == "billable"
    assert spike["end"] - spike["start"] == 1800
    assert usage[-1]["quality"] == "estimated"  # one channel estimated: the slot is


def test_five_minute_usage_keeps_its_five_minute_slots() -> None:
    usage = to_usage(payload("usage_5min_20250410"))
    assert len(usage) == 6 and {u["end"] - u["start"] for u in usage} == {300}
    first = usage[0]  # 16:50-16:55 UTC: 0.04 kWh general + 0.25 kWh hot water
    assert first["start"] == datetime(2025, 4, 9, 16, 50, tzinfo=UTC).timestamp()
    assert first["import_kwh"] == pytest.approx(0.29)
    assert first["import_cost"] == pytest.approx((0.04 + 0.25) * 0.2419947)
    assert first["export_kwh"] == 0.0
    assert [u["quality"] for u in usage] == ["billable"] * 5 + ["estimated"]


def test_controlled_load_is_an_import_and_a_credit_is_revenue() -> None:
    base = payload("usage_20250201")[0]
    general = {**base, "channelType": "general", "kwh": 0.5, "cost": 12.0}
    controlled = {
        **base,
        "channelType": "controlledLoad",
        "channelIdentifier": "E2",
        "kwh": 1.0,
        "cost": 15.0,
    }
    feed_in = {
        **base,
        "channelType": "feedIn",
        "channelIdentifier": "B1",
        "kwh": -2.0,
        "cost": -10.0,
    }
    [slot] = to_usage([general, controlled, feed_in])
    assert (slot["import_kwh"], slot["import_cost"]) == (1.5, pytest.approx(0.27))
    assert (slot["export_kwh"], slot["export_revenue"]) == (2.0, pytest.approx(0.10))
    with pytest.raises(InvalidPayload, match=r"usage\[0\]: a feedIn interval with positive kwh"):
        to_usage([{**feed_in, "kwh": 2.0}])


@pytest.mark.parametrize("days", [1, 6, 7, 8, 20, 90])
def test_windows_cover_the_days_up_to_the_last_in_weeks_at_most(days: int) -> None:
    last = date(2025, 2, 1)
    found = windows(last, days)
    assert found[0][0] == last - timedelta(days=days - 1)
    assert sum((b - a).days + 1 for a, b in found) == days
    assert found[-1][1] == last
    assert all(0 <= (b - a).days < MAX_WINDOW_DAYS for a, b in found)
    assert all((c - b).days == 1 for (_, b), (c, _) in itertools.pairwise(found))


def test_windows_of_twenty_days() -> None:
    assert windows(date(2025, 2, 1), 20) == [
        (date(2025, 1, 13), date(2025, 1, 19)),
        (date(2025, 1, 20), date(2025, 1, 26)),
        (date(2025, 1, 27), date(2025, 2, 1)),
    ]


class UsageSite:
    def __init__(self, engine: Engine, clock: VirtualClock) -> None:
        self.engine, self.clock = engine, clock

    async def fetch(self, after_s: float = 0.0) -> tuple[Any, Any]:
        if after_s:
            await self.clock.advance(after_s)
        Collect.seen.clear()
        await run_to_end(self.engine, "usage")
        out, problem = Collect.seen.get("out", [None]), Collect.seen.get("problem", [None])
        return out[-1], problem[-1]

    def health(self) -> dict[str, Any]:
        entry: dict[str, Any] = self.engine.context.get("global", "input_health")["usage"]
        return entry


MakeUsage = Callable[..., Awaitable[UsageSite]]


@pytest.fixture
async def make_usage(amber: FakeAmber, tmp_path: Path) -> AsyncIterator[MakeUsage]:
    """A site billed every ``interval`` minutes, its clock at ``at`` (default: the day after
    its fixture's intervals, 09:00 NEM time)."""
    engines: list[Engine] = []

    async def make(interval: int = 30, at: float | None = None, **section: Any) -> UsageSite:
        name, start_at, _ = SITES[interval]
        amber.interval_length = interval
        amber.usage = Reply(body=payload(name))
        clock = VirtualClock(start_at if at is None else at)
        amber.clock = clock
        data_dir = tmp_path / f"site{len(engines)}"
        data_dir.mkdir()
        engine = await start(
            [USAGE_FLOW], clock, settings(amber, **section), data_dir / "engine.db", data_dir
        )
        engines.append(engine)
        return UsageSite(engine, clock)

    yield make
    for engine in engines:
        await engine.stop()
        engine.close()


@pytest.mark.parametrize("interval", [30, 5])
async def test_a_week_up_to_yesterday_without_a_resolution(
    amber: FakeAmber, make_usage: MakeUsage, interval: int
) -> None:
    name, _, today = SITES[interval]
    site = await make_usage(interval)
    reading, problem = await site.fetch()
    assert problem is None
    [request] = amber.usage_requests
    assert request.site == SITE_ID
    yesterday, week = today - timedelta(days=1), today - timedelta(days=7)
    assert request.query == {"startDate": week.isoformat(), "endDate": yesterday.isoformat()}
    assert reading["kind"] == "usage" and reading["provider"] == "amber"
    intervals = reading["data"]["intervals"]
    assert intervals == to_usage(payload(name))
    assert {i["end"] - i["start"] for i in intervals} == {interval * 60}
    # Once a day, as Amber asks: a run an hour later spends no call.
    await site.fetch(after_s=3600)
    assert len(amber.usage_requests) == 1


@pytest.mark.parametrize("interval", [30, 5])
async def test_a_long_backfill_is_asked_for_a_week_at_a_time(
    amber: FakeAmber, make_usage: MakeUsage, interval: int
) -> None:
    name, _, today = SITES[interval]
    site = await make_usage(interval, usage_days=20)
    reading, problem = await site.fetch()
    assert problem is None
    asked = [(r.query["startDate"], r.query["endDate"]) for r in amber.usage_requests]
    yesterday = today - timedelta(days=1)
    assert asked == [(a.isoformat(), b.isoformat()) for a, b in windows(yesterday, 20)]
    assert len(asked) == 3 and all("resolution" not in r.query for r in amber.usage_requests)
    assert reading["data"]["intervals"] == to_usage(payload(name))


@pytest.mark.parametrize(
    ("utc", "yesterday"),
    [
        (datetime(2025, 2, 1, 13, 59, tzinfo=UTC), "2025-01-31"),  # 23:59 NEM, 1 February
        (datetime(2025, 2, 1, 14, 0, tzinfo=UTC), "2025-02-01"),  # 00:00 NEM, 2 February
    ],
)
async def test_yesterday_is_the_nem_day_before_today(
    amber: FakeAmber, make_usage: MakeUsage, utc: datetime, yesterday: str
) -> None:
    site = await make_usage(5, at=utc.timestamp())
    _, problem = await site.fetch()
    assert problem is None
    assert amber.usage_requests[0].query["endDate"] == yesterday


@pytest.mark.parametrize("interval", [30, 5])
async def test_a_429_waits_out_rate_limit_reset_before_asking_again(
    amber: FakeAmber, make_usage: MakeUsage, interval: int
) -> None:
    name, start_at, _ = SITES[interval]
    amber.usage_queue.append(Reply(429, {"message": "Too Many Requests"}, dict(RATE_LIMITED)))
    site = await make_usage(interval)
    reading, problem = await site.fetch()
    assert reading is None and "HTTP 429" in problem["error"]
    assert len(amber.usage_requests) == 1  # not tried again within the run
    retry_at = start_at + 187 + 2  # RateLimit-Reset, and a margin
    assert site.health()["blocked_until"] == retry_at
    assert input_status(site.health(), site.clock.time())["retry_at"] == retry_at

    await site.fetch(after_s=180)
    assert len(amber.usage_requests) == 1  # the window has not reset yet
    reading, problem = await site.fetch(after_s=120)  # past it, and the failed try's gap
    assert problem is None and [r.at - start_at for r in amber.usage_requests] == [0, 300]
    assert reading["data"]["intervals"] == to_usage(payload(name))
    assert input_status(site.health(), site.clock.time())["retry_at"] is None


async def test_garbage_usage_never_reaches_the_ledger(
    amber: FakeAmber, make_usage: MakeUsage
) -> None:
    site = await make_usage()
    broken = copy.deepcopy(payload("usage_20250201"))
    broken[3]["kwh"] = "0.08"
    amber.usage.body = broken
    reading, problem = await site.fetch()
    assert reading is None
    assert "amber payload[3].kwh" in problem["error"]


async def test_a_window_answered_with_no_list_is_named(
    amber: FakeAmber, make_usage: MakeUsage
) -> None:
    site = await make_usage(usage_days=10)
    amber.usage_queue.append(Reply(body=payload("usage_20250201")))
    amber.usage_queue.append(Reply(body={"message": "oops"}))
    reading, problem = await site.fetch()
    assert reading is None
    assert problem["error"].startswith("amber usage 2025-01-30..2025-02-01: not a list")
