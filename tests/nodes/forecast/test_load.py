"""forecast.load (and history.record feeding it) inside a real Engine on virtual time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowengine import Engine, VirtualClock, load_flow_text
from nodes.core.connections import SqliteDatabase
from nodes.forecast import ForecastLoad
from nodes.forecast.load import to_slots
from nodes.history import NODE_TYPES as HISTORY_TYPES
from nodes.history import seed_history
from nodes.inputs.reading import Reading
from nodes.inputs.store import InputStore
from tests.flowengine.helpers import Collect, refusal
from tests.support.registry import registry

TZ = ZoneInfo("Australia/Brisbane")
#: Monday 2026-02-02 00:00 Brisbane.
MONDAY = datetime(2026, 2, 2, tzinfo=TZ).timestamp()
STEPS = [float(100 * (i % 48)) for i in range(48)]  # fallback: 0, 100, ... 4700 W

FLOWS = """
flow: site
connections:
  - id: store
    type: core.sqlite
nodes:
  - {id: rec, type: history.record, config: {connection: store}}
  - id: load
    type: forecast.load
    config: {connection: store, fallback_profile: %s, always: %s%s}
    wires: [seen]
  - {id: seen, type: test.collect}
"""


def habit(t: float) -> float:
    """2 kW from 18:00 to 20:00 local, 400 W otherwise."""
    return 2000.0 if 18 <= datetime.fromtimestamp(t, TZ).hour < 20 else 400.0


def forecast(start: float, slots: int = 96, load: list[float] | None = None) -> dict[str, Any]:
    return {
        "issued_at": start,
        "start": start,
        "slot_seconds": 1800,
        "import_price": [0.3] * slots,
        "export_price": [0.05] * slots,
        "pv_w": [0.0] * slots,
        "load_w": load,
    }


async def engine_at(
    tmp_path: Path,
    start: float,
    always: bool = False,
    tz: str = "Australia/Brisbane",
    extra: str = "",
) -> tuple[Engine, VirtualClock]:
    """An engine at ``start`` running FLOWS; ``extra`` adds keys to forecast.load's config."""
    reg = registry(*HISTORY_TYPES, ForecastLoad)
    clock = VirtualClock(start)
    Collect.seen = {}
    engine = Engine(reg, clock, settings={"site": {"timezone": tz}}, data_dir=tmp_path)
    text = FLOWS % (STEPS, str(always).lower(), extra and f", {extra}")
    await engine.start(load_flow_text(text, reg))
    return engine, clock


async def run(engine: Engine, payload: Any, node: str) -> Any:
    handle = engine.start_run("site", payload, to=(node,))
    assert handle is not None
    assert (await handle.wait()).outcome == "ok"
    return payload


def database(engine: Engine) -> Any:
    connection = engine.connections["store"]
    assert isinstance(connection, SqliteDatabase) and connection.db is not None
    return connection.db


async def test_fills_a_missing_load_from_seeded_history(tmp_path: Path) -> None:
    start = MONDAY + 14 * 86400
    engine, _ = await engine_at(tmp_path, start)
    slots = list(range(int(start) - 21 * 86400, int(start), 1800))
    seed_history(database(engine), slots, [habit(t) for t in slots])
    payload = await run(engine, forecast(start, 50), "load")
    await engine.stop()
    assert payload["load_source"] == "predicted"
    assert len(payload["load_w"]) == 50
    assert payload["load_w"][36] == pytest.approx(2000.0, rel=0.02)  # 18:00
    assert payload["load_w"][30] == pytest.approx(400.0, rel=0.02)  # 15:00
    assert Collect.seen["seen"] == [payload]


async def test_keeps_a_given_load_unless_told_always(tmp_path: Path) -> None:
    engine, _ = await engine_at(tmp_path, MONDAY)
    given = [123.0] * 4
    payload = await run(engine, forecast(MONDAY, 4, list(given)), "load")
    await engine.stop()
    assert payload["load_w"] == given and payload["load_source"] == "given"

    engine, _ = await engine_at(tmp_path, MONDAY, always=True)
    payload = await run(engine, forecast(MONDAY, 4, list(given)), "load")
    await engine.stop()
    assert payload["load_w"] == STEPS[:4] and payload["load_source"] == "predicted"


async def test_without_history_uses_the_fallback_profile_in_site_time(tmp_path: Path) -> None:
    perth_six = datetime(2026, 2, 2, 6, tzinfo=ZoneInfo("Australia/Perth")).timestamp()
    engine, _ = await engine_at(tmp_path, perth_six, tz="Australia/Perth")
    payload = forecast(perth_six, 3)
    del payload["load_w"]  # missing, not just null
    await run(engine, payload, "load")
    await engine.stop()
    assert payload["load_w"] == [1200.0, 1300.0, 1400.0]  # 06:00, 06:30, 07:00 Perth


async def test_recorded_telemetry_drives_the_prediction(tmp_path: Path) -> None:
    """Three virtual days of 5-minute telemetry through history.record, then a forecast."""
    engine, clock = await engine_at(tmp_path, MONDAY)
    for _ in range(3 * 288):
        t = clock.time()
        telemetry = {"timestamp": t, "soc": 0.5, "pv_w": 0.0, "battery_w": 0.0, "grid_w": habit(t)}
        await run(engine, telemetry, "rec")
        await clock.advance(300)
    assert clock.time() == MONDAY + 3 * 86400
    payload = await run(engine, forecast(clock.time(), 48), "load")
    await engine.stop()
    assert payload["load_source"] == "predicted"
    # Three days are thin data, so the (odd) fallback profile still pulls a little.
    assert payload["load_w"][37] == pytest.approx(2000.0, rel=0.05)  # Thursday 18:30
    assert payload["load_w"][10] == pytest.approx(400.0, rel=0.05)  # 05:00


def test_other_slot_lengths_average_the_half_hours() -> None:
    half_hours = [100.0, 200.0, 300.0, 400.0, 500.0]
    assert to_slots(half_hours, 0, 0, 3600, 2) == [150.0, 350.0]
    assert to_slots(half_hours, 0, 900, 900, 3) == [100.0, 200.0, 200.0]


def week_habit(t: float) -> float:
    """Weekdays: 400 W, 2 kW 18:00-20:00. Weekends: 1.2 kW 09:00-17:00, else 400 W."""
    local = datetime.fromtimestamp(t, TZ)
    if local.weekday() >= 5:
        return 1200.0 if 9 <= local.hour < 17 else 400.0
    return habit(t)


@pytest.mark.parametrize(("extra", "noon"), [("", 1200.0), ("holidays: none", 400.0)])
async def test_a_queensland_holiday_is_a_sunday_by_default(
    tmp_path: Path, extra: str, noon: float
) -> None:
    australia_day = datetime(2026, 1, 26, tzinfo=TZ).timestamp()  # a Monday
    engine, _ = await engine_at(tmp_path, australia_day, extra=extra)
    slots = list(range(int(australia_day) - 21 * 86400, int(australia_day), 1800))
    seed_history(database(engine), slots, [week_habit(t) for t in slots])
    payload = await run(engine, forecast(australia_day, 48), "load")
    await engine.stop()
    assert payload["load_w"][24] == pytest.approx(noon, rel=0.03)  # 12:00


def test_an_unknown_holiday_region_is_refused_at_load() -> None:
    text = FLOWS % (STEPS, "false", ", holidays: AU-XYZ")
    assert "does not have subdivision XYZ" in refusal(text, registry(ForecastLoad))


def weather_reading(day_start: float, temperature_c: float) -> Reading:
    """An Open-Meteo reading fetched at ``day_start``: that day's 24 hours at one temperature."""
    hours = [
        {
            "start": day_start + h * 3600,
            "end": day_start + (h + 1) * 3600,
            "temperature_c": temperature_c,
        }
        for h in range(24)
    ]
    return Reading("weather", "open_meteo", day_start, day_start, {"hours": hours})


def hot_or_mild(t: float) -> float:
    return 30.0 if int((t - MONDAY) // 86400) % 2 else 22.0


async def test_follows_the_forecast_temperature_with_the_recorded_weather(
    tmp_path: Path,
) -> None:
    """Three weeks of weather readings (mild and hot days by turns) and a household that
    adds 50 W a degree above 24 °C: a forecast 4 degrees hotter asks about 200 W more."""
    start = MONDAY + 21 * 86400
    engine, _ = await engine_at(tmp_path, start)
    db = database(engine)
    store = InputStore(db)
    days = [MONDAY + d * 86400 for d in range(21)]
    for day in days:
        store.save(weather_reading(day, hot_or_mild(day)))
    slots = list(range(int(MONDAY), int(start), 1800))
    seed_history(db, slots, [habit(t) + 50 * max(0.0, hot_or_mild(t) - 24) for t in slots])
    loads = {}
    for temperature in (28.0, 32.0):
        payload = forecast(start, 48)
        payload["temperature_c"] = [temperature] * 48
        payload["sources"] = {"weather": {"provider": "open_meteo"}}
        loads[temperature] = (await run(engine, payload, "load"))["load_w"]
    unsourced = forecast(start, 48)
    unsourced["temperature_c"] = [32.0] * 48  # no weather source: no history to learn from
    unsourced_load = (await run(engine, unsourced, "load"))["load_w"]
    plain = (await run(engine, forecast(start, 48), "load"))["load_w"]
    await engine.stop()
    assert loads[32.0][30] - loads[28.0][30] == pytest.approx(200.0, rel=0.02)  # 15:00
    assert loads[32.0][30] == pytest.approx(400.0 + 8 * 50, rel=0.02)
    assert loads[28.0][30] == pytest.approx(400.0 + 4 * 50, rel=0.02)
    assert unsourced_load == plain


async def test_the_temperature_term_can_be_switched_off(tmp_path: Path) -> None:
    start = MONDAY + 21 * 86400
    engine, _ = await engine_at(tmp_path, start, extra="temperature: false")
    db = database(engine)
    for d in range(21):
        InputStore(db).save(weather_reading(MONDAY + d * 86400, hot_or_mild(MONDAY + d * 86400)))
    slots = list(range(int(MONDAY), int(start), 1800))
    seed_history(db, slots, [habit(t) + 50 * max(0.0, hot_or_mild(t) - 24) for t in slots])
    hot = forecast(start, 48)
    hot["temperature_c"] = [32.0] * 48
    hot["sources"] = {"weather": {"provider": "open_meteo"}}
    predicted = (await run(engine, hot, "load"))["load_w"]
    plain = (await run(engine, forecast(start, 48), "load"))["load_w"]
    await engine.stop()
    assert predicted == plain
