"""The ``open_meteo`` section of site.yaml."""

from __future__ import annotations

from typing import Any

from flowengine.schema import DURATION

DEFAULTS: dict[str, Any] = {
    "base_url": "https://api.open-meteo.com",
    "forecast_days": 3,
    "every": "1h",
    "timeout_s": 20.0,
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The Open-Meteo weather forecast (no key needed for non-commercial use).",
    "properties": {
        "base_url": {"type": "string", "description": "API root (https://api.open-meteo.com)"},
        "latitude": {
            "type": "number",
            "minimum": -90,
            "maximum": 90,
            "description": "forecast latitude (default: site.latitude)",
        },
        "longitude": {
            "type": "number",
            "minimum": -180,
            "maximum": 180,
            "description": "forecast longitude (default: site.longitude)",
        },
        "forecast_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": 16,
            "description": "days of forecast to ask for (3)",
        },
        "every": {**DURATION, "description": "fetch this often (1h)"},
        "timeout_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "seconds to wait for an answer",
        },
    },
    "additionalProperties": False,
}
