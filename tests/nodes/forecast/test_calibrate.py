"""forecast.calibrate in a real Engine on virtual time, beside the history node that
records PV readings as the history flow does: the calibrated reading goes to its own
key, and what is recorded, and so learned from, stays the raw one."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, load_flow_text
from nodes.forecast import NODE_TYPES as FORECASTING_TYPES
from nodes.history import NODE_TYPES as HISTORY_TYPES
from tests.flowengine.helpers import Collect
from tests.nodes.forecast.recorded import (
    DAY,
    HALF_HOUR,
    SETTINGS,
    TODAY,
    half_hour,
    open_site,
    record,
)
from tests.support.registry import registry

TEN = 10 * 3600
FLOW = """
flow: site
connections: [{id: site_db, type: core.sqlite}]
triggers: [{type: context, key: global.pv, to: [record]}]
nodes:
  - {id: record, type: history.record_forecast, config: {connection: site_db, what: pv}}
  - {id: calibrate, type: forecast.calibrate, config: {connection: site_db}, wires: [seen]}
  - {id: seen, type: test.collect}
"""


def reading(p50_w: float = 2000.0) -> dict[str, Any]:
    """Solcast's reading of today's 10:00 and 12:00 half hours, fetched at 09:00."""
    periods = [
        {
            "start": TODAY + at,
            "end": TODAY + at + HALF_HOUR,
            "p50_w": p50_w,
            "p10_w": 1000.0,
            "p90_w": 2500.0,
        }
        for at in (TEN, 12 * 3600)
    ]
    stamp = TODAY + 9 * 3600
    return {
        "kind": "pv",
        "provider": "solcast",
        "issued_at": stamp,
        "fetched_at": stamp,
        "data": {"periods": periods},
    }


def a_week_at_four_fifths(path: Path) -> None:
    """Seven days on which 10:00-11:00 gave 80 % of the 2000 W forecast."""
    with sqlite3.connect(path, isolation_level=None) as db:
        open_site(db)
        for day in range(1, 8):
            for at in (TEN, TEN + HALF_HOUR):
                half_hour(db, TODAY - day * DAY + at, 2000.0, 1600.0)


async def calibrated(tmp_path: Path, enabled: bool) -> tuple[Engine, dict[str, Any]]:
    """Run the node once at 09:00 today, after the reading landed; its calibrated reading."""
    settings = {**SETTINGS, "pv_calibration": {"enabled": enabled}}
    reg = registry(*HISTORY_TYPES, *FORECASTING_TYPES)
    Collect.seen = {}
    engine = Engine(reg, VirtualClock(TODAY + 9 * 3600), settings=settings, data_dir=tmp_path)
    await engine.start(load_flow_text(FLOW, reg))
    engine.context.set("global", "pv", reading())
    await engine.settle()
    return engine, await calibrate(engine)


async def calibrate(engine: Engine) -> Any:
    """One run of the node; the calibrated reading it left."""
    handle = engine.start_run("site", None, to=("calibrate",))
    assert handle is not None
    assert (await handle.wait()).outcome == "ok"
    return engine.context.get("global", "pv_calibrated")


async def test_on_the_forecast_is_scaled_and_the_raw_reading_is_what_gets_recorded(
    tmp_path: Path,
) -> None:
    a_week_at_four_fifths(tmp_path / "site.db")
    engine, out = await calibrated(tmp_path, enabled=True)
    # Seven days at 0.8, shrunk by seven days: 1 + 7/14 x (0.8 - 1) = 0.9 at 10:00;
    # nothing learned at noon.
    ten, noon = out["data"]["periods"]
    assert (ten["p50_w"], ten["p10_w"], ten["p90_w"]) == (1800.0, 900.0, 2250.0)
    assert (noon["p50_w"], noon["p10_w"]) == (2000.0, 1000.0)
    assert out["calibration"]["enabled"] and out["calibration"]["day"] == "2025-03-10"
    assert out["calibration"]["factors"][10] == pytest.approx(0.9)
    assert (out["provider"], out["issued_at"]) == ("solcast", reading()["issued_at"])
    assert engine.context.get("global", "pv") == reading()  # the raw reading, untouched
    with sqlite3.connect(tmp_path / "site.db") as db:
        (value,) = db.execute(
            "SELECT value_w FROM forecast_issues WHERE start = ?", (TODAY + TEN,)
        ).fetchone()
    assert value == 2000.0  # the history keeps the raw P50: tomorrow learns from it again
    await engine.stop()
    engine.close()


async def test_factors_are_learned_once_a_day_from_the_days_before_it(tmp_path: Path) -> None:
    a_week_at_four_fifths(tmp_path / "site.db")
    engine, out = await calibrated(tmp_path, enabled=True)
    assert out["data"]["periods"][0]["p50_w"] == 1800.0
    # Today's 10:00 gives 1600 W of the 2000 W its reading said: not learned from today...
    with sqlite3.connect(tmp_path / "site.db", isolation_level=None) as db:
        record(db, TODAY + TEN, 1600.0)
    assert await calibrate(engine) == out
    # ... but from tomorrow on: eight days, 1 + 8/15 x (0.8 - 1).
    clock = engine.clock
    assert isinstance(clock, VirtualClock)
    await clock.advance(DAY)
    tomorrow = await calibrate(engine)
    assert tomorrow["calibration"]["day"] == "2025-03-11"
    assert tomorrow["data"]["periods"][0]["p50_w"] == round(2000 * (1 - 0.2 * 8 / 15), 1)
    await engine.stop()
    engine.close()


async def test_off_the_reading_passes_as_issued(tmp_path: Path) -> None:
    a_week_at_four_fifths(tmp_path / "site.db")
    engine, out = await calibrated(tmp_path, enabled=False)
    assert out == {**reading(), "calibration": {"enabled": False}}
    assert Collect.seen["seen"]  # the message goes on to the aggregator
    await engine.stop()
    engine.close()


async def test_a_new_site_with_no_history_plans_on_the_forecast_as_issued(tmp_path: Path) -> None:
    engine, out = await calibrated(tmp_path, enabled=True)
    assert out["data"] == reading()["data"]
    assert set(out["calibration"]["factors"]) == {1.0}
    await engine.stop()
    engine.close()
