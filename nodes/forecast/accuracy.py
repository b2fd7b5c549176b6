"""How far each PV provider's forecast was from what the panels gave, before and after
calibration, day by day (``GET /api/forecast/accuracy``, the Graphs page).

Each day is scored against the factors calibration had for that day (learned from
the days before it, as ``forecast.calibrate`` learns them), so "after" is what the
plan was given with calibration on, never a fit to the day itself. Only daylight
half hours whose PV was not held back count (``nodes/forecast/pv_pairs.py``);
the others are counted by why. Bias is the mean of forecast less actual (W; above
zero the forecast promised too much), MAE the mean of its size.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import local_iso
from flowengine.errors import FieldProblem, InvalidRequest
from nodes.forecast.calibrate import day_start
from nodes.forecast.calibration import DAY, Calibration, Pair, Tuning, learn
from nodes.forecast.pv_pairs import Limits, pv_pairs

PARAMETERS = ("days",)
MAX_DAYS = 90
DEFAULT_DAYS = 14
HALF_HOUR_H = 0.5


@dataclass(frozen=True)
class AccuracyQuery:
    """The last ``days`` local days, today so far included."""

    days: int = DEFAULT_DAYS

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> AccuracyQuery:
        problems = [
            FieldProblem(name, f"is not a parameter here (known: {', '.join(PARAMETERS)})")
            for name in params
            if name not in PARAMETERS
        ]
        text = params.get("days", "").strip()
        days = DEFAULT_DAYS
        if text:
            try:
                days = int(text)
            except ValueError:
                days = 0
            if not 1 <= days <= MAX_DAYS:
                problems.append(
                    FieldProblem("days", f"must be a whole number from 1 to {MAX_DAYS}")
                )
        if problems:
            raise InvalidRequest(problems)
        return cls(days)


def pv_accuracy(
    db: sqlite3.Connection,
    query: AccuracyQuery,
    settings: Mapping[str, Any],
    zone: ZoneInfo,
    now: float,
) -> dict[str, Any]:
    """Per provider: each day's figures, the span's, and today's factors."""
    section = settings.get("pv_calibration") or {}
    tuning = Tuning.from_settings(section)
    today = datetime.fromtimestamp(now, zone).date()
    days = [today - timedelta(days=n) for n in range(query.days - 1, -1, -1)]
    since = day_start(days[0], zone)
    pairs = pv_pairs(
        db, since - tuning.window_days * DAY, now, Limits.from_settings(settings), tuning.lead_s
    )
    providers = []
    for provider, found in sorted(pairs.items()):
        rows, scored = [], []
        for day in days:
            calibration = learn(found, day_start(day, zone), zone, tuning)
            row, usable = _day(day, found, calibration, zone, tuning, now)
            rows.append(row)
            scored.extend(usable)
        providers.append(
            {
                "provider": provider,
                "days": rows,
                "total": _figures(scored),
                "factors": learn(found, day_start(today, zone), zone, tuning).as_rows(),
            }
        )
    return {
        "timezone": zone.key,
        "since": local_iso(since, zone),
        "until": local_iso(now, zone),
        "enabled": bool(section.get("enabled")),
        "units": {"bias_w": "W", "mae_w": "W", "bias_pct": "%", "kwh": "kWh"},
        "providers": providers,
    }


def _day(
    day: date,
    pairs: Sequence[Pair],
    calibration: Calibration,
    zone: ZoneInfo,
    tuning: Tuning,
    now: float,
) -> tuple[dict[str, Any], list[tuple[float, float, float]]]:
    """One day's row, and its scored (raw, calibrated, actual) half hours."""
    start, end = day_start(day, zone), day_start(day + timedelta(days=1), zone)
    inside = [p for p in pairs if start <= p.start < end and not p.dark(tuning)]
    skipped: dict[str, int] = {}
    scored = []
    for pair in inside:
        if pair.skip:
            skipped[pair.skip] = skipped.get(pair.skip, 0) + 1
            continue
        k = calibration.factor_at(pair.start, zone)
        scored.append((pair.forecast_w, pair.forecast_w * k, pair.actual_w))
    row = {
        "date": day.isoformat(),
        "start": local_iso(start, zone),
        "end": local_iso(end, zone),
        "complete": end <= now,
        "skipped": skipped,
        **_figures(scored),
    }
    return row, scored


def _figures(scored: Sequence[tuple[float, float, float]]) -> dict[str, Any]:
    """Slots, actual kWh, and forecast kWh, bias and MAE before (raw) and after."""
    actual = sum(a for _, _, a in scored)
    out: dict[str, Any] = {
        "slots": len(scored),
        "actual_kwh": round(actual * HALF_HOUR_H / 1000, 3),
    }
    for name, index in (("raw", 0), ("calibrated", 1)):
        if not scored:
            out[name] = None
            continue
        errors = [s[index] - s[2] for s in scored]
        forecast = sum(s[index] for s in scored)
        out[name] = {
            "forecast_kwh": round(forecast * HALF_HOUR_H / 1000, 3),
            "bias_w": round(sum(errors) / len(errors), 1),
            "mae_w": round(sum(abs(e) for e in errors) / len(errors), 1),
            "bias_pct": round(100 * sum(errors) / actual, 1) if actual > 0 else None,
        }
    return out
