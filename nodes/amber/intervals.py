"""Amber's flat interval list as Power Master prices: one entry per slot, both channels merged.

Amber sends every channel in one list in no promised order, prices in c/kWh
from the bill's point of view (a feed-in price below zero is money earned), and
start times one second past the slot (``17:00:01Z``). Here that becomes
docs/inputs.md's prices shape: $/kWh, ``export_price`` as what exporting
earns (the feed-in price negated, never ``abs()``ed: a feed-in price above zero
means exporting costs money), slots ``[endTime - duration, endTime)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from nodes.inputs.provider import InvalidPayload

TYPES = {"ActualInterval": "actual", "CurrentInterval": "current", "ForecastInterval": "forecast"}

Slot = tuple[float, float]


def to_prices(raw: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The slots that have both a general and a feed-in price, sorted by start.

    ``raw`` has passed ``PAYLOAD_SCHEMA``. A slot with only one of the two
    channels is left out (a plan needs both); controlled-load prices are not used.
    """
    if not raw:
        raise InvalidPayload("amber payload: an empty list (Amber has no prices for this site)")
    general = _channel(raw, "general")
    feed_in = _channel(raw, "feedIn")
    slots = sorted(general.keys() & feed_in.keys())
    if not slots:
        raise InvalidPayload(
            f"amber payload: no interval has both a general and a feedIn price "
            f"({len(general)} general, {len(feed_in)} feedIn)"
        )
    return [_merge(slot, general[slot], feed_in[slot]) for slot in slots]


def slot_of(item: Mapping[str, Any], index: int) -> Slot:
    """``[endTime - duration, endTime)``, checked against ``startTime`` taken to the minute."""
    end = _epoch(item["endTime"])
    start = end - float(item["duration"]) * 60
    stated = _epoch(item["startTime"])
    if stated - stated % 60 != start:
        raise InvalidPayload(
            f"amber payload[{index}]: startTime {item['startTime']} is not endTime "
            f"{item['endTime']} less {item['duration']} min"
        )
    return start, end


def price_c(item: Mapping[str, Any]) -> float:
    """c/kWh: Amber's own forecast (``advancedPrice.predicted``) for a forecast slot when it
    gives one, else ``perKwh`` (what is, or will be, billed)."""
    advanced = item.get("advancedPrice")
    if item["type"] == "ForecastInterval" and isinstance(advanced, Mapping):
        predicted = advanced.get("predicted")
        if predicted is not None:
            return float(predicted)
    return float(item["perKwh"])


def _channel(raw: Sequence[Mapping[str, Any]], channel: str) -> dict[Slot, Mapping[str, Any]]:
    found: dict[Slot, Mapping[str, Any]] = {}
    for index, item in enumerate(raw):
        if item["channelType"] != channel:
            continue
        slot = slot_of(item, index)
        if slot in found:
            raise InvalidPayload(
                f"amber payload[{index}]: a second {channel} interval starting {item['startTime']}"
            )
        found[slot] = item
    return found


def _merge(slot: Slot, general: Mapping[str, Any], feed_in: Mapping[str, Any]) -> dict[str, Any]:
    kind = TYPES[general["type"]]
    # Whether the price can still change: a settled one cannot, a forecast can.
    estimate = kind == "forecast" or (kind == "current" and bool(general.get("estimate", True)))
    return {
        "start": slot[0],
        "end": slot[1],
        "import_price": _dollars(price_c(general)),
        "export_price": _dollars(-price_c(feed_in)),
        "type": kind,
        "estimate": estimate,
        "spike": general["spikeStatus"],
        "descriptor": general.get("descriptor"),
        "renewables": general.get("renewables"),
    }


def _dollars(cents: float) -> float:
    return round(cents / 100, 9) + 0.0  # + 0.0: no "-0.0" for a free slot


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
