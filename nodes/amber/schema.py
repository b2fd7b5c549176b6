"""The shapes at Amber's edge: our ``amber:`` settings section and Amber's price payload.

Prices on the wire are c/kWh including GST. The bound on them is there to
catch a payload in some other unit or plain garbage, not to judge the market:
the NEM market price cap is $20,300/MWh from July 2025 (2,030 c/kWh wholesale,
about 2,300 c/kWh to a customer with GST and network charges, rising a little
each year), and real South Australian prices reached 1,965 c/kWh on
2025-02-01. So 5,000 c/kWh ($50/kWh) either way is beyond any price a customer
can see, yet it rejects prices sent in $/MWh or tenths of a cent during any
spike. (A payload in $/kWh, a hundred times too small, cannot be told from a
cheap day; that one is not caught.)
"""

from __future__ import annotations

from typing import Any

from flowengine.schema import DURATION

#: The largest price magnitude (c/kWh) accepted on any channel.
MAX_C_PER_KWH = 5000.0

DEFAULT_BASE_URL = "https://api.amber.com.au/v1"

SETTINGS_DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "resolution": 30,
    "every": "60s",
    "timeout_s": 20.0,
    "usage_every": "24h",
    "usage_days": 7,
}

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Amber Electric live prices (used when sources.prices is amber).",
    "properties": {
        "base_url": {
            "type": "string",
            "description": f"Amber's API root (default {DEFAULT_BASE_URL})",
        },
        "api_key": {
            "type": "string",
            "description": "API key from app.amber.com.au/developers; write it as "
            "!secret amber_api_key so it stays in secrets.yaml",
        },
        "site_id": {"type": "string", "description": "the site id (GET /sites lists yours)"},
        "resolution": {
            "enum": [5, 30],
            "description": "price interval length in minutes; ask for what the site is billed "
            "at (default 30; if Amber refuses 5 with HTTP 400, 30 is used). Usage always "
            "comes at the site's own",
        },
        "next": {
            "type": "integer",
            "minimum": 0,
            "maximum": 2048,
            "description": "forecast intervals to ask for, at the configured resolution "
            "(default 48 h: 96 at 30 min, 576 at 5 min); Amber returns what exists",
        },
        "previous": {
            "type": "integer",
            "minimum": 0,
            "maximum": 2048,
            "description": "past (settled) intervals to ask for, at the configured resolution "
            "(default 1 h: 2 at 30 min, 12 at 5 min)",
        },
        "every": {
            **DURATION,
            "description": "fetch at most this often (default 60s; Amber updates every 5 min "
            "and allows about 50 calls per 5 min)",
        },
        "timeout_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "seconds to wait for an answer (default 20)",
        },
        "usage_every": {
            **DURATION,
            "description": "fetch the metered usage (sources.usage: amber) at most this often "
            "(default 24h, as Amber advises: the meter's data arrives a day or so late)",
        },
        "usage_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": 90,
            "description": "days of usage to ask for each time, ending yesterday (NEM time), "
            "in requests of 7 days at most (default 7; Amber keeps 90)",
        },
    },
    "additionalProperties": False,
}

_PRICE = {"type": "number", "minimum": -MAX_C_PER_KWH, "maximum": MAX_C_PER_KWH}
_UTC_TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
}

#: One interval object as Amber sends it (only what we read is checked; more is allowed).
INTERVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "type",
        "duration",
        "perKwh",
        "startTime",
        "endTime",
        "channelType",
        "spikeStatus",
    ],
    "properties": {
        "type": {"enum": ["ActualInterval", "CurrentInterval", "ForecastInterval"]},
        "duration": {"enum": [5, 15, 30]},
        "perKwh": _PRICE,
        "startTime": _UTC_TIME,
        "endTime": _UTC_TIME,
        "channelType": {"enum": ["general", "controlledLoad", "feedIn"]},
        "spikeStatus": {"enum": ["none", "potential", "spike"]},
        "descriptor": {"type": ["string", "null"]},
        "renewables": {"type": ["number", "null"]},
        "estimate": {"type": "boolean"},
        "advancedPrice": {
            "type": ["object", "null"],
            "properties": {"low": _PRICE, "predicted": _PRICE, "high": _PRICE},
        },
    },
}

#: ``/prices/current`` (and ``/prices``): one flat list with every channel in it.
PAYLOAD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "items": INTERVAL_SCHEMA,
}

#: One ``/usage`` object: an interval of one meter channel, what it metered and cost.
#: kWh are bounded to catch garbage (a 30-minute slot through a 100 A main is ~12 kWh);
#: cost in c incl. GST, within the price bound times that.
_KWH = {"type": "number", "minimum": -1000, "maximum": 1000}
USAGE_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "duration",
        "startTime",
        "endTime",
        "channelType",
        "channelIdentifier",
        "kwh",
        "quality",
        "cost",
    ],
    "properties": {
        "type": {"enum": ["Usage"]},
        "duration": {"enum": [5, 15, 30]},
        "startTime": _UTC_TIME,
        "endTime": _UTC_TIME,
        "channelType": {"enum": ["general", "controlledLoad", "feedIn"]},
        "channelIdentifier": {"type": "string"},
        "kwh": _KWH,
        "quality": {"enum": ["estimated", "billable"]},
        "cost": {
            "type": "number",
            "minimum": -MAX_C_PER_KWH * 1000,
            "maximum": MAX_C_PER_KWH * 1000,
        },
        "perKwh": _PRICE,
    },
}

#: ``/sites/{id}/usage``: every channel's intervals in one list (general, controlled load,
#: feed-in, in that order, though we group by channelType as the spec advises).
USAGE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "items": USAGE_ITEM_SCHEMA,
}
