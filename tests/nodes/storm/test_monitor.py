"""storm.monitor: BOM and Open-Meteo readings in, global.storm_reserve out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, run_to_end
from flowengine.node import with_defaults
from nodes.bom import BomStorm
from nodes.inputs.reading import Reading
from nodes.open_meteo import OpenMeteoWeather
from nodes.planning.plan import Planner
from nodes.storm.settings import StormSettings
from tests.nodes.bom.ftp_server import FIXTURES
from tests.nodes.open_meteo.fake_open_meteo import payload
from tests.nodes.storm.harness import forget, seen, start

T0 = datetime(2026, 1, 15, 6, 0, tzinfo=UTC).timestamp()  # 16:00 in Brisbane
H = 3600.0
SITE = {"site": {"timezone": "Australia/Brisbane", "latitude": -27.47, "longitude": 153.03}}

FLOW = """
flow: monitor
nodes:
  - id: monitor
    type: storm.monitor
    wires: [out]
  - {id: out, type: test.collect}
"""


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def storm(now: float, precis: bytes | None = None, **warnings: str) -> dict[str, Any]:
    """A BOM reading made by the provider's own parse from the fixture files."""
    raw = {
        "precis": precis or (FIXTURES / "IDQ11295.xml").read_bytes(),
        "warnings": {product: (FIXTURES / name).read_bytes() for product, name in warnings.items()},
    }
    issued, data = BomStorm({}, VirtualClock(now)).parse(raw, now)
    return Reading("storm", "bom", issued, now, data).as_dict()


def weather(now: float) -> dict[str, Any]:
    provider = OpenMeteoWeather(SITE, VirtualClock(now))
    raw = payload("brisbane_hourly_unixtime.json")
    provider.check(raw)
    issued, data = provider.parse(raw, now)
    return Reading("weather", "open_meteo", issued, now, data).as_dict()


FINE_PRECIS = (
    (FIXTURES / "IDQ11295.xml")
    .read_bytes()
    .replace(b'"forecast_icon_code">16<', b'"forecast_icon_code">3<')
    .replace(b"Possible storm this evening.", b"Partly cloudy.")
    .replace(b"Possible thunderstorm in the afternoon.", b"Cloudy.")
)


class Monitor:
    def __init__(self, engine: Engine, clock: VirtualClock) -> None:
        self.engine = engine
        self.clock = clock

    def given(self, **readings: Any) -> None:
        for key, value in readings.items():
            self.engine.context.set("global", key, value)

    async def evaluate(self, at: float | None = None, payload: Any = None) -> dict[str, Any]:
        if at is not None:
            await self.clock.run_until(at)
        forget()
        trace = await run_to_end(self.engine, "monitor", payload)
        assert trace.outcome == "ok", trace.error
        (reserve,) = seen("out")
        assert reserve == self.engine.context.get("global", "storm_reserve")
        return dict(reserve)

    @property
    def notifications(self) -> list[str]:
        return [n["text"] for n in self.engine.events.notifications]


@pytest.fixture
async def monitor(tmp_path: Path) -> AsyncIterator[Any]:
    engines: list[Engine] = []

    async def make(storm_settings: dict[str, Any] | None = None, at: float = T0) -> Monitor:
        clock = VirtualClock(at)
        settings = {**SITE, "storm": storm_settings or {}}
        engine = await start(FLOW, clock, settings, tmp_path / "site.db")
        engines.append(engine)
        return Monitor(engine, clock)

    yield make
    for engine in engines:
        await engine.stop()
        engine.close()


def planner_reserve(reserve: dict[str, Any], first: float, slots: int = 96) -> Any:
    """What the planner makes of it (nodes/planning/plan.py reads {soc, start, end})."""
    config = with_defaults({}, Planner.config_schema)  # as a built node has it
    node = SimpleNamespace(ctx=SimpleNamespace(globals={"storm_reserve": reserve}), config=config)
    starts = [datetime.fromtimestamp(first + i * 1800, UTC) for i in range(slots)]
    return Planner._reserve(node, starts, 1800)  # type: ignore[arg-type]


async def test_a_warning_for_our_area_arms_the_reserve_until_it_expires(monitor: Any) -> None:
    watch = await monitor()
    watch.given(storm=storm(T0, IDQ21033="warning_southeast_coast.xml"))
    reserve = await watch.evaluate()
    assert reserve["armed"] is True
    assert reserve["soc"] == 0.8
    assert (reserve["start"], reserve["end"]) == (T0, epoch(2026, 1, 15, 8, 50))
    assert reserve["probability"] == 0.9
    assert reserve["warnings"] == ["IDQ21033"]
    assert "Severe Thunderstorm Warning" in reserve["reason"]
    # The planner holds 80 % from now until the warning's expiry (slots 0-5 of 30 min).
    assert planner_reserve(reserve, T0) == [(range(0, 6), 0.8)]
    (note,) = watch.notifications
    assert note.startswith("Storm reserve armed: holding 80% SOC from Thu 16:00 to Thu 18:50")


async def test_a_warning_for_another_area_does_not(monitor: Any) -> None:
    watch = await monitor()
    watch.given(storm=storm(T0, IDQ21033="warning_central_highlands.xml"))
    reserve = await watch.evaluate()
    assert reserve["armed"] is False and reserve["soc"] == 0
    assert reserve["probability"] == 0.42  # the précis storm, below the arm threshold
    assert planner_reserve(reserve, T0) == []
    assert watch.notifications == []


async def test_the_weather_model_raises_a_precis_storm_over_the_threshold(monitor: Any) -> None:
    watch = await monitor()
    watch.given(storm=storm(T0))
    assert (await watch.evaluate())["armed"] is False  # précis alone: 0.42
    watch.given(weather=weather(T0))
    reserve = await watch.evaluate()
    assert reserve["armed"] is True
    # Only the hours the model shows a thunderstorm in (06:00-08:00 UTC), not the whole evening.
    assert (reserve["start"], reserve["end"]) == (T0, epoch(2026, 1, 15, 8, 0))
    assert reserve["probability"] == 0.72
    assert any(e.startswith("weather model: thunderstorm code 95") for e in reserve["evidence"])
    assert reserve["warnings"] == []


async def test_weather_without_a_precis_storm_stays_low(monitor: Any) -> None:
    watch = await monitor()
    watch.given(storm=storm(T0, precis=FINE_PRECIS), weather=weather(T0))
    reserve = await watch.evaluate()
    assert reserve["armed"] is False and reserve["probability"] == 0.3


async def test_a_cancelled_warning_disarms_and_says_so(monitor: Any) -> None:
    watch = await monitor()
    watch.given(storm=storm(T0, precis=FINE_PRECIS, IDQ21033="warning_southeast_coast.xml"))
    assert (await watch.evaluate())["armed"] is True
    later = epoch(2026, 1, 15, 7, 15)
    watch.given(
        storm=storm(later, precis=FINE_PRECIS, IDQ21033="warning_southeast_coast_cancelled.xml")
    )
    reserve = await watch.evaluate(at=later)
    assert reserve == {
        "armed": False,
        "soc": 0,
        "start": None,
        "end": None,
        "probability": 0.0,
        "reason": "no storm signal",
        "evidence": [],
        "warnings": [],
    }
    assert watch.notifications[-1] == "Storm reserve disarmed (storm risk now 0%)"


async def test_lead_starts_the_reserve_earlier(monitor: Any) -> None:
    watch = await monitor({"lead": "30m", "reserve_soc": 0.9})
    watch.given(storm=storm(T0), weather=weather(T0))
    reserve = await watch.evaluate()
    assert (reserve["start"], reserve["soc"]) == (T0 - 1800, 0.9)


async def test_thresholds_come_from_settings(monitor: Any) -> None:
    watch = await monitor({"arm_probability": 0.4, "disarm_probability": 0.2})
    watch.given(storm=storm(T0))
    reserve = await watch.evaluate()
    assert reserve["armed"] is True and reserve["end"] == epoch(2026, 1, 15, 14, 0)


async def test_a_storm_reading_in_the_message_is_used(monitor: Any) -> None:
    watch = await monitor()
    reserve = await watch.evaluate(payload=storm(T0, IDQ21033="warning_southeast_coast.xml"))
    assert reserve["armed"] is True


async def test_nothing_known_is_nothing_armed(monitor: Any) -> None:
    reserve = await (await monitor()).evaluate()
    assert reserve["armed"] is False and reserve["reason"] == "no storm signal"


async def test_a_restart_keeps_the_reserve_armed(monitor: Any) -> None:
    first = await monitor()
    first.given(storm=storm(T0, precis=FINE_PRECIS, IDQ21033="warning_southeast_coast.xml"))
    armed = await first.evaluate()
    await first.engine.stop()
    again = await monitor(at=T0 + 600)
    # Without a fresh storm reading the window stands until it has passed.
    again.given(storm=None)
    reserve = await again.evaluate()
    assert reserve == armed
    assert not any("disarmed" in n for n in again.notifications)


def test_disarm_above_arm_is_refused() -> None:
    with pytest.raises(ValueError, match="disarm_probability"):
        StormSettings.from_settings({"storm": {"arm_probability": 0.5, "disarm_probability": 0.6}})
