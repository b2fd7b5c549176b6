"""A site.db with hand-made history for the calibration tests: PV forecasts recorded as
issued (``record_forecast``, as the history flow stores them) and 5-minute telemetry
(``record_sample``, as the control tick stores it), through the real history code."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from nodes.history.issues import record_forecast
from nodes.history.schema import ensure_schema
from nodes.history.store import record_sample

TZ = ZoneInfo("Australia/Brisbane")
#: Local midnight of the day the tests learn for (Brisbane has no DST).
TODAY = datetime(2025, 3, 10, tzinfo=TZ).timestamp()
DAY = 86400.0
HALF_HOUR = 1800.0
#: The demo site's limits (flows/site.yaml): 5 kW charge, 5 kW export, SOC up to 100 %.
SETTINGS = {
    "site": {"timezone": TZ.key},
    "battery": {"soc_max": 1.0, "max_charge_w": 5000},
    "grid": {"max_export_w": 5000},
}


def open_site(db: sqlite3.Connection) -> sqlite3.Connection:
    ensure_schema(db)
    return db


def issue(
    db: sqlite3.Connection,
    start: float,
    p50_w: float,
    fetched: float,
    minutes: int = 30,
    provider: str = "solcast",
) -> None:
    """One raw issue, fetched at ``fetched``, of one period from ``start``."""
    period = (start, (start + minutes * 60, p50_w, None, None))
    record_forecast(db, "pv", provider, fetched, fetched, [period])


def record(
    db: sqlite3.Connection,
    start: float,
    pv_w: float,
    soc: float = 0.5,
    grid_w: float = 0.0,
    battery_w: float = 0.0,
) -> None:
    """A half hour of 5-minute samples from ``start``: PV, SOC, grid and battery steady."""
    for k in range(6):
        values = {"pv_w": pv_w, "soc": soc, "grid_w": grid_w, "battery_w": battery_w}
        record_sample(db, start + k * 300, values, zone=TZ)


def half_hour(
    db: sqlite3.Connection,
    start: float,
    forecast_w: float,
    actual_w: float,
    **recorded: float,
) -> None:
    """A half hour forecast an hour ahead as ``forecast_w`` and recorded as ``actual_w``."""
    issue(db, start, forecast_w, start - 3600)
    record(db, start, actual_w, **recorded)
