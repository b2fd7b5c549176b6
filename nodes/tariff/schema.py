"""The JSON Schema of the site config's ``tariff:`` section.

The schema checks shapes (a time is HH:MM, a price is a number in $/kWh);
``nodes.tariff.check`` then checks what a schema cannot: that every minute of
every day has exactly one import price and one feed-in price.
"""

from __future__ import annotations

from typing import Any

from flowengine.schema import DURATION

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_GROUPS = ("all", "weekdays", "weekends")

#: 00:00 to 23:59; a band may also end at 24:00 (midnight at the end of its day).
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
END_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
DATE_PATTERN = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
SEASON_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"

PRICE: dict[str, Any] = {
    "type": "number",
    "minimum": -1,
    "maximum": 5,
    "description": "$/kWh including GST (0.45 for 45 c/kWh, not 45)",
}

DAYS: dict[str, Any] = {
    "description": "the days the band starts on: all (the default), weekdays, weekends, "
    "one day (mon..sun) or a list of days",
    "anyOf": [
        {"enum": [*DAY_GROUPS, *DAY_NAMES]},
        {
            "type": "array",
            "items": {"enum": list(DAY_NAMES)},
            "minItems": 1,
            "uniqueItems": True,
        },
    ],
}


def _band(what: str, name_required: bool) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"one {what} price for a daily time window, in the site's local time; "
        "a window whose 'to' is earlier than its 'from' runs past midnight into the next day",
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "description": "what the retailer calls it (peak, shoulder, off-peak, "
                "solar sponge); shown as the interval's descriptor",
            },
            "price": PRICE,
            "from": {
                "type": "string",
                "pattern": TIME_PATTERN,
                "description": "local wall time HH:MM the band starts (inclusive)",
            },
            "to": {
                "type": "string",
                "pattern": END_PATTERN,
                "description": "local wall time HH:MM the band ends (exclusive); 24:00 is "
                "midnight at the end of the day",
            },
            "days": DAYS,
        },
        "required": ["name", "price", "from", "to"] if name_required else ["price", "from", "to"],
        "additionalProperties": False,
    }


IMPORT_BANDS: dict[str, Any] = {
    "type": "array",
    "description": "import prices by time window; together with the all-year bands, every "
    "minute of every day needs exactly one",
    "items": _band("import", name_required=True),
}

EXPORT: dict[str, Any] = {
    "description": "feed-in: what we earn per kWh exported, one flat $/kWh or prices by time "
    "window (every minute of every day needs exactly one); none given means 0",
    "anyOf": [PRICE, {"type": "array", "items": _band("feed-in", name_required=False)}],
}

SEASON: dict[str, Any] = {
    "type": "object",
    "description": "a date range (both ends included; 'to' before 'from' wraps the new year) "
    "with bands of its own, added to the all-year bands on its dates",
    "properties": {
        "from": {"type": "string", "pattern": DATE_PATTERN, "description": "first day, MM-DD"},
        "to": {
            "type": "string",
            "pattern": DATE_PATTERN,
            "description": "last day, MM-DD (02-28 includes 29 February in leap years)",
        },
        "import": IMPORT_BANDS,
        "export": EXPORT,
    },
    "required": ["from", "to"],
    "additionalProperties": False,
}

TARIFF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A static time-of-use tariff (sources.prices: tariff), for a retailer "
    "that is not Amber. Prices are $/kWh including GST, times are the site's local wall time "
    "(site.timezone). Bands outside seasons apply all year.",
    "properties": {
        "import": IMPORT_BANDS,
        "export": EXPORT,
        "seasons": {
            "type": "object",
            "description": "named date ranges (summer: {from: '12-01', to: '02-28', import: "
            "[...]}) with bands that apply only then; seasons may not share a day",
            "propertyNames": {"pattern": SEASON_NAME_PATTERN},
            "additionalProperties": SEASON,
        },
        "supply_charge": {
            "type": "number",
            "minimum": 0,
            "description": "daily supply charge, $/day including GST",
        },
        "monthly_fee": {
            "type": "number",
            "minimum": 0,
            "description": "retailer's monthly fee, $/month including GST",
        },
        "every": {**DURATION, "description": "recompute the prices this often (default 30m)"},
    },
    "additionalProperties": False,
}
