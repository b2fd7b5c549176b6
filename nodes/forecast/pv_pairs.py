"""The (raw PV forecast, recorded PV) pairs calibration learns from, read from site.db.

The forecast is the provider's own, as it was issued (``forecast_issues``, which
only ever holds raw readings: the calibrated one is never recorded), as believed
when the half hour began. The actual is the half hour's mean PV power
(``history_30min``). A half hour where the panels could have given more than was
recorded is marked, never dropped silently. Under remote control the KH gives
PV only up to the AC setpoint plus what the battery takes, and in its own modes
up to the export limit (``powermaster/sim/dispatch.py`` models both), so PV can
be held back only while the battery takes no more or export is at its limit:
``full`` when the battery reached its ceiling, ``curtailed`` when, at any
sample, it charged at its limit or export reached its limit. Past the raw
samples' retention the half hour's means stand in, and a price below zero
(the plan curtails PV then) counts as curtailed too.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nodes.forecast.calibration import Pair
from nodes.history.schema import SLOT_SECONDS

#: SOC within this of the battery's ceiling counts as full (the KH reports whole percent).
FULL_SOC_BAND = 0.005
#: Power within this (W) of a limit counts as at the limit.
AT_LIMIT_W = 100.0


@dataclass(frozen=True)
class Limits:
    """What tells a half hour whose PV was held back (from the site config)."""

    full_soc: float
    max_charge_w: float
    max_export_w: float

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Limits:
        battery, grid = settings["battery"], settings["grid"]
        return cls(
            float(battery["soc_max"]) - FULL_SOC_BAND,
            float(battery["max_charge_w"]),
            float(grid["max_export_w"]),
        )


def pv_pairs(
    db: sqlite3.Connection, since: float, until: float, limits: Limits, lead_s: float = 0.0
) -> dict[str, list[Pair]]:
    """Each provider's pairs for the recorded half hours starting in ``[since, until)``."""
    if not _has(db, "history_30min") or not _has(db, "forecast_issues"):
        return {}
    actual = _actual(db, since, until, limits)
    if not actual:
        return {}
    unsampled = [start for start, (_, _, sampled) in actual.items() if not sampled]
    negative = (
        _negative_prices(db, min(unsampled), max(unsampled) + SLOT_SECONDS)
        if unsampled and _has(db, "price_issues")
        else set()
    )
    out: dict[str, list[Pair]] = {}
    for provider in _providers(db, since, until):
        forecast = _forecast(db, provider, since, until, lead_s)
        pairs = []
        for start, (power, skip, sampled) in sorted(actual.items()):
            if start not in forecast:
                continue
            if not skip and not sampled and start in negative:
                skip = "curtailed"
            pairs.append(Pair(float(start), forecast[start], power, skip))
        if pairs:
            out[provider] = pairs
    return out


def _has(db: sqlite3.Connection, table: str) -> bool:
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return found is not None


def _actual(
    db: sqlite3.Connection, since: float, until: float, limits: Limits
) -> dict[int, tuple[float, str, bool]]:
    """Mean PV (W) per recorded half hour, why it may be less than the panels could give,
    and whether raw samples said so (else the half hour's means did)."""
    rows = db.execute(
        "SELECT h.slot_start, h.pv_w, h.soc_max, h.battery_w, h.grid_export_kwh, h.metered_s, "
        "s.most_export, s.most_charge FROM history_30min AS h LEFT JOIN ("
        f"  SELECT CAST(timestamp / {SLOT_SECONDS} AS INTEGER) * {SLOT_SECONDS} AS slot, "
        "  MAX(-grid_w) AS most_export, MAX(battery_w) AS most_charge "
        "  FROM telemetry_samples WHERE timestamp >= :since AND timestamp < :until GROUP BY slot"
        ") AS s ON s.slot = h.slot_start "
        "WHERE h.source = 'recorded' AND h.slot_start >= :since AND h.slot_start < :until "
        "AND h.pv_w IS NOT NULL",
        {"since": since, "until": until},
    ).fetchall()
    out = {}
    for start, pv, soc_max, battery, export_kwh, metered, most_export, most_charge in rows:
        sampled = most_export is not None
        if sampled:
            export, charge = float(most_export), float(most_charge or 0.0)
        else:
            metered_h = float(metered or 0) / 3600
            export = float(export_kwh) * 1000 / metered_h if export_kwh and metered_h else 0.0
            charge = float(battery or 0.0)
        skip = ""
        if soc_max is not None and soc_max >= limits.full_soc:
            skip = "full"
        elif (
            export >= limits.max_export_w - AT_LIMIT_W or charge >= limits.max_charge_w - AT_LIMIT_W
        ):
            skip = "curtailed"
        out[int(start)] = (float(pv), skip, sampled)
    return out


def _negative_prices(db: sqlite3.Connection, since: float, until: float) -> set[int]:
    """The half hours a price in force (an interval's last issue by its end) was below zero."""
    rows = db.execute(
        "SELECT provider, start, end, fetched_at, import_price, export_price FROM price_issues "
        "WHERE start < :until AND end > :since ORDER BY provider, start, issued_at",
        {"since": since, "until": until},
    ).fetchall()
    last: dict[tuple[str, float], tuple[float, float | None, float | None]] = {}
    for provider, start, end, fetched, buy, sell in rows:
        if fetched <= end:
            last[(provider, start)] = (end, buy, sell)
    out: set[int] = set()
    for (_, start), (end, buy, sell) in last.items():
        if min(buy if buy is not None else 0.0, sell if sell is not None else 0.0) < 0:
            first = int(start // SLOT_SECONDS) * SLOT_SECONDS
            out.update(range(first, int(end), SLOT_SECONDS))
    return out


def _providers(db: sqlite3.Connection, since: float, until: float) -> list[str]:
    rows = db.execute(
        "SELECT DISTINCT provider FROM forecast_issues WHERE what = 'pv' "
        "AND start < ? AND end > ? ORDER BY provider",
        (until, since),
    ).fetchall()
    return [str(row[0]) for row in rows]


def _forecast(
    db: sqlite3.Connection, provider: str, since: float, until: float, lead_s: float
) -> dict[int, float]:
    """P50 (W) per half hour as believed ``lead_s`` before each period began (the latest
    issue fetched by then), averaged over the half hour where periods are not half hours."""
    rows = db.execute(
        "SELECT start, end, fetched_at, value_w FROM forecast_issues WHERE what = 'pv' "
        "AND provider = ? AND start < ? AND end > ? ORDER BY start, issued_at",
        (provider, until, since),
    ).fetchall()
    believed: dict[float, tuple[float, float | None]] = {}
    for start, end, fetched, value in rows:
        if fetched <= start - lead_s:
            believed[start] = (end, value)
    energy: dict[int, float] = defaultdict(float)
    covered: dict[int, float] = defaultdict(float)
    for start, (end, value) in believed.items():
        if value is None:
            continue
        slot = int(start // SLOT_SECONDS) * SLOT_SECONDS
        while slot < end:
            overlap = min(end, slot + SLOT_SECONDS) - max(start, slot)
            if overlap > 0:
                energy[slot] += float(value) * overlap
                covered[slot] += overlap
            slot += SLOT_SECONDS
    return {
        slot: energy[slot] / SLOT_SECONDS
        for slot, seconds in covered.items()
        if seconds >= SLOT_SECONDS - 1e-6 and since <= slot < until
    }
