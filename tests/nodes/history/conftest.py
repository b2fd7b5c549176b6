"""A real WAL SQLite file per test, and telemetry shaped as nodes/foxess gives it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowengine.database import open_database

COUNTERS = ("pv", "load", "grid_import", "grid_export", "battery_charge", "battery_discharge")


def energy(*values: float) -> dict[str, float]:
    """``energy_kwh`` counters in COUNTERS order."""
    return dict(zip(COUNTERS, values, strict=True))


def sample(
    t: float,
    load: float,
    pv: float = 0.0,
    soc: float = 0.5,
    counters: dict[str, float] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "timestamp": t,
        "soc": soc,
        "pv_w": pv,
        "load_w": load,
        "battery_w": 0.0,
        "grid_w": load - pv,
    }
    if counters is not None:
        payload["energy_kwh"] = counters
    return payload


@pytest.fixture
def site_db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = open_database(tmp_path / "site.db", schema="")
    yield conn
    conn.close()
