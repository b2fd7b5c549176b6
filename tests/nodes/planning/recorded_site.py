"""A day written into a site database the way the flows write it: telemetry every five
minutes through the history's own store, prices and forecasts by issue, and the ledger's
cash entries; for the attribution tests here and the API's (tests/ui)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from nodes.history.days import day_bounds
from nodes.history.issues import record_forecast, record_prices
from nodes.history.store import record_sample
from nodes.ledger.store import ensure_schema as ensure_ledger
from nodes.ledger.store import post

SLOT = 1800
ZONE = ZoneInfo("Australia/Brisbane")
#: A summer Wednesday in Brisbane (no daylight saving: every day is 48 half hours).
DAY = date(2026, 1, 14)


def by_time(*spans: tuple[str, str, float], otherwise: float = 0.0) -> list[float]:
    """48 half hours: ``value`` from ``"HH:MM"`` up to ``"HH:MM"`` for each span."""
    values = [otherwise] * 48
    for begin, until, value in spans:
        first, last = _slot(begin), _slot(until)
        for k in range(first, last):
            values[k] = value
    return values


def _slot(text: str) -> int:
    hours, minutes = text.split(":")
    return (int(hours) * 60 + int(minutes)) // 30


@dataclass
class SiteDay:
    """What happened each half hour, and what was believed: the PV forecast (P50)
    ``pv_believed`` and, unless given, the load as it came, both issued two hours before
    the day; the prices issued then are the real ones. ``soc`` is recorded all day;
    ``bill`` is the ledger's (none: no ledger entry)."""

    import_price: Sequence[float]
    export_price: Sequence[float]
    pv_w: Sequence[float]
    load_w: Sequence[float]
    pv_believed: Sequence[float] | None = None
    load_believed: Sequence[float] | None = None
    soc: float = 0.1
    bill: float | None = None
    #: Half hours the service was down: no telemetry in them.
    down: set[int] = field(default_factory=set)


def record_day(db: sqlite3.Connection, site: SiteDay, day: date = DAY) -> tuple[int, int]:
    """Write ``site`` for ``day`` into ``db`` (from the half hour before it, whose last
    SOC starts the day); the day's bounds."""
    start, end = day_bounds(day, ZONE)
    for t in range(start - SLOT, end, 300):
        k = (t - start) // SLOT
        if k in site.down:
            continue
        pv, load = (site.pv_w[k], site.load_w[k]) if k >= 0 else (0.0, 0.0)
        values = {"pv_w": pv, "load_w": load, "battery_w": 0.0, "grid_w": load - pv}
        record_sample(db, float(t), {**values, "soc": site.soc}, zone=ZONE)
    issued = float(start - 2 * 3600)
    starts = [start + k * SLOT for k in range(48)]
    intervals = [
        {"start": s, "end": s + SLOT, "import_price": buy, "export_price": sell}
        for s, buy, sell in zip(starts, site.import_price, site.export_price, strict=True)
    ]
    stamps = {"provider": "amber", "issued_at": issued, "fetched_at": issued}
    record_prices(db, {**stamps, "data": {"intervals": intervals}})
    for what, provider, series in (
        ("pv", "solcast", site.pv_believed or site.pv_w),
        ("load", "predicted", site.load_believed or site.load_w),
    ):
        rows = [(s, (s + SLOT, float(v), None, None)) for s, v in zip(starts, series, strict=True)]
        record_forecast(db, what, provider, issued, issued, rows)
    if site.bill is not None:
        ensure_ledger(db)
        entry = {"key": f"{end}/import_cost", "at": float(start), "kind": "import_cost"}
        post(db, [{**entry, "kwh": 1.0, "price": site.bill, "amount": -site.bill}])
    return start, end


def reissue_price(
    db: sqlite3.Connection, at: str, slot: str, import_price: float, day: date = DAY
) -> None:
    """A new issue fetched at ``at`` (local ``"HH:MM"``) changing one half hour's import
    price (its export price 0)."""
    start, _ = day_bounds(day, ZONE)
    when = float(start + _slot(at) * SLOT)
    s = start + _slot(slot) * SLOT
    interval = {"start": s, "end": s + SLOT, "import_price": import_price, "export_price": 0.0}
    record_prices(
        db,
        {
            "provider": "amber",
            "issued_at": when,
            "fetched_at": when,
            "data": {"intervals": [interval]},
        },
    )
