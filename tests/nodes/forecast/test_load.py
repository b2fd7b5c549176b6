"""forecast.load (and history.record feeding it) inside a real Engine on virtual time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowengine import Engine, VirtualClock, load_flow_text
from nodes.core.connections import SqliteDatabase
from nodes.forecast import NODE_TYPES as FORECASTING_TYPES
from nodes.forecast.load import to_slots
from nodes.history import NODE_TYPES as HISTORY_TYPES
from nodes.history import seed_history
from tests.flowengine.helpers import Collect
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
    config: {connection: store, fallback_profile: %s, always: %s}
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
    tmp_path: Path, start: float, always: bool = False, tz: str = "Australia/Brisbane"
) -> tuple[Engine, VirtualClock]:
    reg = registry(*HISTORY_TYPES, *FORECASTING_TYPES)
    clock = VirtualClock(start)
    Collect.seen = {}
    engine = Engine(reg, clock, settings={"site": {"timezone": tz}}, data_dir=tmp_path)
    text = FLOWS % (STEPS, str(always).lower())
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
