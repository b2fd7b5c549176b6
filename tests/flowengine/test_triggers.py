"""What starts runs, on virtual time: intervals on their grid, cron in the site's zone
across daylight-saving changes, context keys that change, and a flow's start."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest

from flowengine import Engine, Message, Node, Registry, VirtualClock, load_flow_text
from tests.flowengine.helpers import registry

SYDNEY = ZoneInfo("Australia/Sydney")  # daylight saving ends in April, starts in October
START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()  # midnight: on a five-minute grid


class Stamp(Node):
    type_name = "test.stamp"
    description = "Remembers when it ran, on the engine's clock, and with what payload."
    seen: ClassVar[dict[str, list[tuple[float, Any]]]] = {}

    def process(self, msg: Message) -> None:
        Stamp.seen.setdefault(self.ctx.node_id, []).append((self.ctx.clock.time(), msg.payload))


class DozingClock(VirtualClock):
    """A virtual clock on a machine that dozes off: after ``doze(seconds)`` the next
    wake-up comes that much late, as after a Pi stalls or a laptop's lid is shut."""

    def __init__(self, start: float | datetime) -> None:
        super().__init__(start)
        self._late = 0.0

    def doze(self, seconds: float) -> None:
        self._late = seconds

    async def sleep_until(self, timestamp: float) -> None:
        late, self._late = self._late, 0.0
        await super().sleep_until(timestamp + late)


def reg() -> Registry:
    types = registry()
    types.add_all([Stamp])
    return types


async def start(text: str, clock: VirtualClock, timezone: str = "UTC") -> Engine:
    Stamp.seen = {}
    engine = Engine(reg(), clock, timezone=timezone)
    await engine.start(load_flow_text(text, reg()))
    return engine


def times(node: str = "stamp") -> list[float]:
    return [at for at, _ in Stamp.seen.get(node, [])]


def payloads(node: str = "stamp") -> list[Any]:
    return [payload for _, payload in Stamp.seen.get(node, [])]


def local(timestamps: list[float]) -> list[str]:
    """Sydney's wall-clock times, with the offset in force then."""
    return [datetime.fromtimestamp(t, SYDNEY).isoformat(timespec="minutes") for t in timestamps]


def every(period: str, **options: str) -> str:
    extra = "".join(f", {k}: {v}" for k, v in options.items())
    return f"""
flow: tick
triggers: [{{type: interval, every: {period}{extra}}}]
nodes:
  - {{id: stamp, type: test.stamp}}
"""


def cron(expression: str, **options: str) -> str:
    extra = "".join(f", {k}: {v}" for k, v in options.items())
    return f"""
flow: timed
triggers: [{{type: cron, cron: "{expression}"{extra}}}]
nodes:
  - {{id: stamp, type: test.stamp}}
"""


# -- interval -------------------------------------------------------------------------


async def test_an_interval_fires_on_whole_multiples_of_its_period() -> None:
    clock = VirtualClock(START + 10)
    engine = await start(every("7m"), clock)
    await clock.advance(3600)
    assert all(at % 420 == 0 for at in times())  # since the epoch, not since the start
    assert START + 10 < times()[0] <= START + 10 + 420
    assert all(b - a == 420 for a, b in itertools.pairwise(times()))
    assert START + 3610 - 420 < times()[-1] <= START + 3610
    await engine.stop()


async def test_an_interval_started_on_its_grid_waits_one_period_before_firing() -> None:
    clock = VirtualClock(START)
    engine = await start(every("5m"), clock)
    await clock.advance(299)
    assert times() == []
    await clock.advance(1)
    assert times() == [START + 300]
    await engine.stop()


async def test_an_unaligned_interval_counts_from_its_start() -> None:
    clock = VirtualClock(START + 10)
    engine = await start(every("5m", align="false"), clock)
    await clock.advance(900)
    assert times() == [START + 310, START + 610, START + 910]
    await engine.stop()


async def test_a_late_tick_fires_once_and_the_next_is_back_on_the_grid() -> None:
    """Fell behind (the machine dozed): skip the ticks missed, never a burst of them."""
    clock = DozingClock(START)
    engine = await start(every("5m"), clock)
    await clock.advance(300)
    clock.doze(1000)  # the wait after the next tick (for START + 900) ends at START + 1900
    await clock.advance(2100)
    assert [at - START for at in times()] == [300, 600, 1900, 2100, 2400]
    await engine.stop()


async def test_a_stopped_trigger_leaves_nothing_waiting_on_the_clock() -> None:
    clock = VirtualClock(START)
    engine = await start(every("5m"), clock)
    await clock.advance(0)
    assert clock.next_deadline() == START + 300
    await engine.stop()
    assert clock.next_deadline() is None
    await clock.advance(3600)
    assert times() == []


# -- cron -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_day", "expected", "hours_between"),
    [
        (  # daylight saving ends on 5 April at 03:00: a 25-hour day
            "2026-04-04",
            ["2026-04-04T06:30+11:00", "2026-04-05T06:30+10:00", "2026-04-06T06:30+10:00"],
            [25, 24],
        ),
        (  # daylight saving starts on 4 October at 02:00: a 23-hour day
            "2026-10-03",
            ["2026-10-03T06:30+10:00", "2026-10-04T06:30+11:00", "2026-10-05T06:30+11:00"],
            [23, 24],
        ),
    ],
)
async def test_cron_keeps_its_wall_clock_time_in_the_sites_zone_across_daylight_saving(
    first_day: str, expected: list[str], hours_between: list[int]
) -> None:
    clock = VirtualClock(datetime.fromisoformat(f"{first_day}T00:00").replace(tzinfo=SYDNEY))
    engine = await start(cron("30 6 * * *"), clock, timezone="Australia/Sydney")
    await clock.advance(3 * 86400)
    assert local(times()) == expected
    assert [(b - a) / 3600 for a, b in itertools.pairwise(times())] == hours_between
    await engine.stop()


async def test_cron_in_the_hour_skipped_in_spring_fires_once_just_after_the_gap() -> None:
    clock = VirtualClock(datetime(2026, 10, 3, 12, tzinfo=SYDNEY))
    engine = await start(cron("30 2 * * *"), clock, timezone="Australia/Sydney")
    await clock.advance(2 * 86400)
    assert local(times()) == ["2026-10-04T03:00+11:00", "2026-10-05T02:30+11:00"]
    await engine.stop()


async def test_a_frequent_cron_fires_every_real_half_hour_through_the_repeated_hour() -> None:
    """02:00 to 03:00 happens twice on 5 April: both count, no gap and no double."""
    clock = VirtualClock(datetime(2026, 4, 5, 1, 10, tzinfo=SYDNEY))
    engine = await start(cron("*/30 * * * *"), clock, timezone="Australia/Sydney")
    await clock.advance(4 * 3600)
    assert local(times()) == [
        "2026-04-05T01:30+11:00",
        "2026-04-05T02:00+11:00",
        "2026-04-05T02:30+11:00",
        "2026-04-05T02:00+10:00",
        "2026-04-05T02:30+10:00",
        "2026-04-05T03:00+10:00",
        "2026-04-05T03:30+10:00",
        "2026-04-05T04:00+10:00",
    ]
    assert {b - a for a, b in itertools.pairwise(times())} == {1800}
    await engine.stop()


@pytest.mark.xfail(
    strict=True,
    reason="issue 19: a daily cron time in the repeated hour fires twice; cron(8) runs a "
    "job of a fixed time once ('jobs that fall into the repeated time will not be re-run')",
)
async def test_a_daily_cron_in_the_repeated_autumn_hour_fires_once() -> None:
    clock = VirtualClock(datetime(2026, 4, 4, 12, tzinfo=SYDNEY))
    engine = await start(cron("30 2 * * *"), clock, timezone="Australia/Sydney")
    await clock.advance(2 * 86400)
    assert local(times()) == ["2026-04-05T02:30+11:00", "2026-04-06T02:30+10:00"]
    await engine.stop()


async def test_a_cron_with_its_own_zone_ignores_the_sites() -> None:
    clock = VirtualClock(START)  # 2026-01-05 00:00 UTC
    engine = await start(cron("0 17 * * *", timezone="Australia/Sydney"), clock)
    await clock.advance(86400)
    assert local(times()) == ["2026-01-05T17:00+11:00"]
    await engine.stop()


# -- context --------------------------------------------------------------------------


def watching(key: str) -> str:
    return f"""
flow: watcher
mode: queued
triggers: [{{type: context, key: {key}}}]
nodes:
  - {{id: stamp, type: test.stamp}}
"""


async def test_a_context_trigger_on_a_dotted_key_fires_when_that_field_changes_only() -> None:
    clock = VirtualClock(START)
    engine = await start(watching("global.telemetry.soc"), clock)
    context = engine.context
    context.set("global", "telemetry", {"soc": 0.5, "pv_w": 100})
    context.set("global", "telemetry", {"soc": 0.5, "pv_w": 900})  # another field moved
    context.set("global", "telemetry", {"soc": 0.5, "pv_w": 900})  # nothing moved
    context.set("global", "telemetry", {"pv_w": 900, "soc": 0.6})
    context.set("global", "telemetry", {"pv_w": 900})  # the field is gone
    await clock.advance(1)
    assert payloads() == [
        {"key": "global.telemetry.soc", "value": 0.5, "old": None},
        {"key": "global.telemetry.soc", "value": 0.6, "old": 0.5},
        {"key": "global.telemetry.soc", "value": None, "old": 0.6},
    ]
    await engine.stop()


async def test_a_dotted_key_may_index_a_list() -> None:
    clock = VirtualClock(START)
    engine = await start(watching("global.plan.slots.0.mode"), clock)
    engine.context.set("global", "plan", {"slots": [{"mode": "charge"}, {"mode": "hold"}]})
    engine.context.set("global", "plan", {"slots": [{"mode": "charge"}, {"mode": "sell"}]})
    engine.context.set("global", "plan", {"slots": [{"mode": "hold"}]})
    await clock.advance(1)
    assert [p["value"] for p in payloads()] == ["charge", "hold"]
    await engine.stop()


async def test_a_flow_key_is_the_watching_flows_own() -> None:
    clock = VirtualClock(START)
    engine = await start(watching("flow.count"), clock)
    engine.context.set("global", "count", 1)
    engine.context.set("flow:other", "count", 2)
    engine.context.set("flow:watcher", "count", 3)
    await clock.advance(1)
    assert payloads() == [{"key": "flow.count", "value": 3, "old": None}]
    await engine.stop()


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("global.car.battery.soc", None),
        ("global.car", "battery.soc"),
        ("global.car.battery", "soc"),
    ],
)
async def test_a_field_option_reads_as_the_rest_of_a_dotted_key(
    key: str, field: str | None
) -> None:
    clock = VirtualClock(START)
    flow = watching(key) if field is None else watching(f"{key}, field: {field}")
    engine = await start(flow, clock)
    for soc, plugged in [(0.5, False), (0.5, True), (0.7, True)]:
        engine.context.set("global", "car", {"battery": {"soc": soc}, "plugged": plugged})
    await clock.advance(1)
    assert [(p["value"], p["old"]) for p in payloads()] == [(0.5, None), (0.7, 0.5)]
    await engine.stop()


# -- start ----------------------------------------------------------------------------


async def test_a_start_trigger_fires_once_as_the_flow_starts_into_the_nodes_it_names() -> None:
    clock = VirtualClock(START)
    engine = await start(
        """
flow: boot
triggers: [{type: start, to: [second], payload: {hello: 1}}]
nodes:
  - {id: first, type: test.stamp}
  - {id: second, type: test.stamp}
""",
        clock,
    )
    await clock.advance(86400)
    assert Stamp.seen == {"second": [(START, {"hello": 1})]}
    assert [run["trigger"] for run in engine.traces.recent("boot")] == ["start"]
    await engine.stop()
