"""The ``forecast.load`` node: fills a forecast's missing load from the site's own history."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flowengine.message import Message
from flowengine.node import Node, NodeContext
from nodes.core.connections import node_database as database
from nodes.forecast.predictor import DEFAULT_TUNING, SLOT_SECONDS, predict_load
from nodes.forecast.profile import DEFAULT_PROFILE, SLOTS_PER_DAY, check_profile
from nodes.history.store import load_history

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
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "forecast payload {start, slot_seconds, import_price[], ..., load_w[] or null}"
    gives: ClassVar[dict[str, str]] = {
        "out": 'the forecast with load_w[] filled and load_source "predicted" or "given"'
    }

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self.profile = check_profile(config.get("fallback_profile", DEFAULT_PROFILE))
        self.zone = ZoneInfo(site_timezone(config, ctx.settings))

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
        history = load_history(database(self), since, first)
        predicted = predict_load(history, first, half_hours, self.zone, self.profile)
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
            self.ctx.status(f"load predicted from {days:.1f} days of history")
        return msg
