"""The ``forecast.load`` node: fills a forecast's missing load from the site's own history.

Public holidays count as Sundays (``daytype.py``). When the forecast carries the
weather's temperatures (``temperature_c[]``, from ``sources.weather``), the
temperatures of the history come from the weather readings stored in the same
database, each half hour from the newest reading that covered it.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flowengine.message import Message
from flowengine.node import Node, NodeContext
from nodes.core.connections import node_database as database
from nodes.forecast.align import align
from nodes.forecast.daytype import holidays_between, region_for_timezone, region_problem
from nodes.forecast.predictor import DEFAULT_TUNING, SLOT_SECONDS, predict_load
from nodes.forecast.profile import DEFAULT_PROFILE, SLOTS_PER_DAY, check_profile
from nodes.history.store import load_history
from nodes.inputs.store import InputStore

#: A weather reading covers the few days from the day it was fetched.
READING_REACH = 4 * 86400

DEFAULT_TIMEZONE = "Australia/Brisbane"


def site_timezone(config: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """The node's timezone: its own config, else the site's, else Brisbane."""
    site = settings.get("site")
    from_site = site.get("timezone") if isinstance(site, Mapping) else None
    return str(config.get("timezone") or from_site or DEFAULT_TIMEZONE)


def to_slots(
    half_hours: list[float], first: int, start: float, slot_seconds: float, count: int
) -> list[float]:
    """Re-express 30-minute predictions (from ``first``) as ``count`` slots of another length.

    Each slot gets the time-weighted mean of the 30-minute values it overlaps.
    """
    out = []
    for i in range(count):
        lo, hi = start + i * slot_seconds, start + (i + 1) * slot_seconds
        total = 0.0
        k = int((lo - first) // SLOT_SECONDS)
        while k < len(half_hours) and first + k * SLOT_SECONDS < hi:
            a = max(lo, first + k * SLOT_SECONDS)
            b = min(hi, first + (k + 1) * SLOT_SECONDS)
            total += half_hours[k] * max(0.0, b - a)
            k += 1
        out.append(total / slot_seconds)
    return out


def _forecast_temperatures(forecast: Mapping[str, Any], first: int, n: int) -> dict[int, float]:
    """The forecast's ``temperature_c[]`` on the ``n`` 30-minute slots from ``first``: each
    slot takes the forecast slot holding its middle."""
    values = forecast.get("temperature_c")
    if not isinstance(values, list):
        return {}
    start = float(forecast.get("start", first))
    step = float(forecast.get("slot_seconds", SLOT_SECONDS))
    out = {}
    for k in range(n):
        t = first + k * SLOT_SECONDS
        i = math.floor((t + SLOT_SECONDS / 2 - start) / step)
        value = values[i] if 0 <= i < len(values) else None
        if isinstance(value, int | float) and math.isfinite(value):
            out[t] = float(value)
    return out


def _slot_temperatures(hours: list[Any]) -> dict[int, float]:
    """°C by 30-minute slot from a weather reading's periods."""
    periods = [h for h in hours if isinstance(h, dict) and h.get("temperature_c") is not None]
    if not periods:
        return {}
    begin = int(min(float(h["start"]) for h in periods) // SLOT_SECONDS) * SLOT_SECONDS
    end = max(float(h["end"]) for h in periods)
    count = math.ceil((end - begin) / SLOT_SECONDS)
    values = align(periods, "temperature_c", begin, SLOT_SECONDS, count)
    return {begin + k * SLOT_SECONDS: float(v) for k, v in enumerate(values) if v is not None}


class ForecastLoad(Node):
    type_name = "forecast.load"
    description = (
        "Fills the forecast's load (W per slot) with a prediction from this site's own "
        "recorded history, when nobody else forecast it."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": {"type": "string", "x-connection": "core.sqlite"},
            "fallback_profile": {
                "type": "array",
                "items": {"type": "number", "minimum": 0},
                "minItems": SLOTS_PER_DAY,
                "maxItems": SLOTS_PER_DAY,
                "description": "W per half hour from local midnight, used until there is history",
            },
            "timezone": {"type": "string", "description": "default: the site's timezone"},
            "always": {
                "default": False,
                "type": "boolean",
                "description": "predict even when the forecast already has a load",
            },
            "holidays": {
                "type": "string",
                "minLength": 2,
                "description": "public holidays that count as Sundays: a region as the "
                "holidays package names it (AU-QLD, NZ, GB-SCT), or none; default: an "
                "Australian site's state, from its timezone",
            },
            "temperature": {
                "default": True,
                "type": "boolean",
                "description": "follow the forecast's temperatures (temperature_c[]), once "
                "a week of history has recorded ones",
            },
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "forecast payload {start, slot_seconds, import_price[], ..., load_w[] or null}"
    gives: ClassVar[dict[str, str]] = {
        "out": 'the forecast with load_w[] filled and load_source "predicted" or "given"'
    }

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        region = config.get("holidays")
        problem = region_problem(region) if region and region != "none" else None
        return [(("holidays",), problem)] if problem else []

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self.profile = check_profile(config.get("fallback_profile", DEFAULT_PROFILE))
        timezone = site_timezone(config, ctx.settings)
        self.zone = ZoneInfo(timezone)
        region = config.get("holidays") or region_for_timezone(timezone)
        self.region = None if region == "none" else region
        #: Recorded temperatures (°C by 30-minute slot) and the newest reading they hold.
        self.temperatures: dict[int, float] = {}
        self.read_until: tuple[str, float] | None = None

    def process(self, msg: Message) -> Message:
        forecast = msg.payload
        if not isinstance(forecast, dict) or not isinstance(forecast.get("import_price"), list):
            raise ValueError("forecast.load needs a forecast payload with an import_price list")
        if forecast.get("load_w") is not None and not self.config["always"]:
            forecast["load_source"] = "given"
            self.ctx.status("load given by the forecast")
            return msg
        count = len(forecast["import_price"])
        start = float(forecast.get("start", self.ctx.clock.time()))
        slot_seconds = float(forecast.get("slot_seconds", SLOT_SECONDS))
        first = int(start // SLOT_SECONDS) * SLOT_SECONDS
        half_hours = math.ceil((start + count * slot_seconds - first) / SLOT_SECONDS)
        since = first - DEFAULT_TUNING.weeks * 7 * 86400
        db = database(self)
        history = load_history(db, since, first)
        holidays = self._holidays(since, first + half_hours * SLOT_SECONDS)
        temperatures = self._temperatures(db, forecast, since, first, half_hours)
        predicted = predict_load(
            history,
            first,
            half_hours,
            self.zone,
            self.profile,
            holidays=holidays,
            temperatures=temperatures,
        )
        if first == start and slot_seconds == SLOT_SECONDS:
            load = predicted[:count]
        else:
            load = to_slots(predicted, first, start, slot_seconds, count)
        forecast["load_w"] = [round(w, 1) for w in load]
        forecast["load_source"] = "predicted"
        days = len(history) / SLOTS_PER_DAY
        if len(history) < DEFAULT_TUNING.min_history_slots:
            self.ctx.status(f"fallback load profile ({days:.1f} days of history)", "warn")
        else:
            recorded = sum(t < first for t in temperatures) / SLOTS_PER_DAY
            weather = f", {recorded:.1f} days of temperatures" if temperatures else ""
            self.ctx.status(f"load predicted from {days:.1f} days of history{weather}")
        return msg

    def _holidays(self, since: float, until: float) -> frozenset[date]:
        if self.region is None:
            return frozenset()
        first, last = (datetime.fromtimestamp(t, self.zone).year for t in (since, until))
        return holidays_between(self.region, range(first, last + 1))

    def _temperatures(
        self, db: sqlite3.Connection, forecast: Mapping[str, Any], since: int, first: int, n: int
    ) -> dict[int, float]:
        """°C by 30-minute slot: recorded before ``first``, the forecast's from it on; none
        when the forecast has no temperatures (or the node is told not to use them)."""
        ahead = _forecast_temperatures(forecast, first, n)
        sources = forecast.get("sources")
        weather = sources.get("weather") if isinstance(sources, Mapping) else None
        provider = weather.get("provider") if isinstance(weather, Mapping) else None
        if not self.config["temperature"] or not ahead or not isinstance(provider, str):
            return {}
        self._read_readings(db, provider, since)
        past = {t: c for t, c in self.temperatures.items() if since <= t < first}
        return past | ahead

    def _read_readings(self, db: sqlite3.Connection, provider: str, since: int) -> None:
        """Add the stored weather readings not read yet to ``self.temperatures`` (the newest
        one read is read again: it may have been replaced by a fetch in the same second)."""
        if self.read_until is None or self.read_until[0] != provider:
            self.temperatures, self.read_until = {}, (provider, since - READING_REACH)
        readings = InputStore(db).issued_between("weather", provider, self.read_until[1], math.inf)
        for reading in readings:
            hours = reading.data.get("hours") if isinstance(reading.data, Mapping) else None
            if isinstance(hours, list):
                self.temperatures.update(_slot_temperatures(hours))
            self.read_until = (provider, reading.issued_at)
        self.temperatures = {t: c for t, c in self.temperatures.items() if t >= since}
