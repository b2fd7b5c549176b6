"""The BOM town précis (IDQ11295, protocols.md 5.3): our location's forecast periods.

A period forecasts a storm when its icon is 16 ("storm") or its précis text
says storm or thunderstorm; its rain chance scales how much that counts.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from nodes.bom import elements as el
from nodes.inputs.provider import InvalidPayload
from nodes.storm.risk import mentions_storm

STORM_ICON = 16
_PERCENT = re.compile(r"^\s*(\d{1,3})\s*%?\s*$")


def parse_precis(
    data: bytes, product: str, location_aac: str
) -> tuple[float | None, list[dict[str, Any]]]:
    """(issue time, periods for ``location_aac``) from one précis product file."""
    where = f"bom {product}"
    root = el.parse(data, where)
    if el.local(root.tag) != "product":
        raise InvalidPayload(f"{where}: root is <{el.local(root.tag)}>, not a BOM <product>")
    amoc = el.child(root, "amoc")
    issued = el.epoch(el.text(amoc, "issue-time-utc"), f"{where} issue-time-utc")
    forecast = el.child(root, "forecast")
    if forecast is None:
        raise InvalidPayload(f"{where}: no <forecast> in the <product>")
    area = _area(forecast, location_aac)
    if area is None:
        raise InvalidPayload(
            f"{where}: no area {location_aac} in the précis (check bom.location_aac)"
        )
    where = f"{where} area {location_aac}"
    periods = [_period(p, where) for p in el.children(area, "forecast-period")]
    return issued, sorted(periods, key=lambda p: p["start"])


def _area(forecast: ET.Element, aac: str) -> ET.Element | None:
    wanted = aac.casefold()
    return next(
        (a for a in el.children(forecast, "area") if (a.get("aac") or "").casefold() == wanted),
        None,
    )


def _period(period: ET.Element, where: str) -> dict[str, Any]:
    where = f"{where} forecast-period {period.get('index', '?')}"
    start = el.epoch(period.get("start-time-utc"), f"{where} start-time-utc")
    end = el.epoch(period.get("end-time-utc"), f"{where} end-time-utc")
    if start is None or end is None:
        raise InvalidPayload(f"{where}: no start-time-utc/end-time-utc")
    if end <= start:
        raise InvalidPayload(f"{where}: ends before it starts")
    icon = _number(el.typed_text(period, "element", "forecast_icon_code"), f"{where} icon")
    text = el.typed_text(period, "text", "precis")
    chance = _number(
        el.typed_text(period, "text", "probability_of_precipitation"), f"{where} rain chance"
    )
    if chance is not None and not 0 <= chance <= 100:
        raise InvalidPayload(f"{where}: rain chance {chance}% is outside 0-100%")
    return {
        "start": start,
        "end": end,
        "icon": icon,
        "text": text,
        "rain_chance_pct": chance,
        "storm": icon == STORM_ICON or (text is not None and mentions_storm(text)),
    }


def _number(value: str | None, where: str) -> int | None:
    if value is None:
        return None
    match = _PERCENT.match(value)
    if match is None:
        raise InvalidPayload(f"{where}: {value!r} is not a whole number")
    return int(match.group(1))
