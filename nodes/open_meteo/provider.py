"""The Open-Meteo weather provider (protocols.md 4): hourly forecast for the site.

Radiation, precipitation and gusts stamped ``t`` describe the hour before it,
so each value lands in the period ``[t - 1 h, t)``, the same convention as
Solcast's ``period_end``. Instant values (temperature, cloud, CAPE) share that
period. A response with only ``minutely_15`` (as some callers ask for) is read
the same way with 15-minute periods.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from nodes.inputs.fetch import FetchError, fetch
from nodes.inputs.provider import InvalidPayload, Provider
from nodes.open_meteo.settings import DEFAULTS
from nodes.open_meteo.timeline import check_spacing, epochs

#: Open-Meteo variable -> (our field, the unit we accept).
VARIABLES: dict[str, tuple[str, str]] = {
    "temperature_2m": ("temperature_c", "°C"),
    "cloud_cover": ("cloud_cover_pct", "%"),
    "shortwave_radiation": ("shortwave_w_m2", "W/m²"),
    "precipitation": ("precipitation_mm", "mm"),
    "precipitation_probability": ("precipitation_probability_pct", "%"),
    "cape": ("cape_j_per_kg", "J/kg"),
    "weather_code": ("weather_code", "wmo code"),
    "wind_gusts_10m": ("wind_gust_kmh", "km/h"),
}
#: Blocks we read, best first, with their period length.
BLOCKS = (("hourly", 3600.0), ("minutely_15", 900.0))


def _series(minimum: float, maximum: float) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": ["number", "null"], "minimum": minimum, "maximum": maximum},
    }


_BLOCK: dict[str, Any] = {
    "type": "object",
    "required": ["time"],
    "properties": {
        "time": {"type": "array", "minItems": 1, "items": {"type": ["string", "number"]}},
        "temperature_2m": _series(-90, 60),
        "cloud_cover": _series(0, 100),
        "shortwave_radiation": _series(0, 1500),
        "precipitation": _series(0, 500),
        "precipitation_probability": _series(0, 100),
        "cape": _series(0, 10000),
        "weather_code": {
            "type": "array",
            "items": {"type": ["integer", "null"], "minimum": 0, "maximum": 99},
        },
        "wind_gusts_10m": _series(0, 500),
    },
}
_UNITS: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}

PAYLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "latitude": {"type": "number"},
        "longitude": {"type": "number"},
        "utc_offset_seconds": {"type": "integer"},
        "hourly": _BLOCK,
        "hourly_units": _UNITS,
        "minutely_15": _BLOCK,
        "minutely_15_units": _UNITS,
    },
    "dependentRequired": {"hourly": ["hourly_units"], "minutely_15": ["minutely_15_units"]},
}


class OpenMeteoWeather(Provider):
    kind = "weather"
    name = "open_meteo"
    description = (
        "Open-Meteo hourly forecast for the site: cloud, temperature, radiation, rain, "
        "CAPE, thunderstorm codes and gusts."
    )
    settings_key = "open_meteo"
    payload_schema = PAYLOAD_SCHEMA
    default_every_s = 3600.0

    def option(self, key: str) -> Any:
        return self.section.get(key, DEFAULTS[key])

    def position(self) -> tuple[float, float]:
        site = self.settings.get("site") or {}
        lat = self.section.get("latitude", site.get("latitude"))
        lon = self.section.get("longitude", site.get("longitude"))
        if lat is None or lon is None:
            raise FetchError(
                "open_meteo: no position; set site.latitude and site.longitude "
                "(or open_meteo.latitude and open_meteo.longitude)"
            )
        return float(lat), float(lon)

    def params(self) -> dict[str, Any]:
        lat, lon = self.position()
        return {
            "latitude": f"{lat:.4f}",
            "longitude": f"{lon:.4f}",
            "hourly": ",".join(VARIABLES),
            "timeformat": "unixtime",
            "forecast_days": int(self.option("forecast_days")),
        }

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> Any:
        assert http is not None
        url = str(self.option("base_url")).rstrip("/") + "/v1/forecast"
        try:
            response = await fetch(http, url, self.clock, params=self.params(), policy=self.retry)
        except FetchError as exc:
            raise _with_reason(exc) from None
        return response.json()

    def check(self, raw: Any) -> None:
        """Open-Meteo's own error, then a block, its units, the schema, equal lengths."""
        if isinstance(raw, Mapping) and raw.get("error"):
            raise InvalidPayload(f"open_meteo error: {raw.get('reason', 'no reason given')}")
        if not isinstance(raw, Mapping) or not any(name in raw for name, _ in BLOCKS):
            raise InvalidPayload("open_meteo payload: no hourly (or minutely_15) forecast")
        block, _ = _block(raw)
        _check_units(raw, block)  # before the ranges: 80 °F is a unit problem, not a range one
        super().check(raw)
        columns = raw[block]
        length = len(columns["time"])
        for variable, values in columns.items():
            if isinstance(values, list) and len(values) != length:
                raise InvalidPayload(
                    f"open_meteo payload.{block}.{variable}: {len(values)} values "
                    f"for {length} times"
                )

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        block, step = _block(raw)
        columns = raw[block]
        where = f"open_meteo payload.{block}.time"
        ends = epochs(columns["time"], float(raw.get("utc_offset_seconds", 0)), where)
        check_spacing(ends, step, where)
        hours = []
        for index, end in enumerate(ends):
            hour: dict[str, Any] = {"start": end - step, "end": end}
            for variable, (field, _) in VARIABLES.items():
                values = columns.get(variable)
                hour[field] = values[index] if values is not None else None
            if hour["weather_code"] is not None:
                hour["weather_code"] = int(hour["weather_code"])
            hours.append(hour)
        return now, {"hours": hours}


def _block(raw: Mapping[str, Any]) -> tuple[str, float]:
    return next((name, step) for name, step in BLOCKS if name in raw)


def _check_units(raw: Mapping[str, Any], block: str) -> None:
    units, columns = raw.get(f"{block}_units"), raw[block]
    if not isinstance(units, Mapping) or not isinstance(columns, Mapping):
        return  # the schema says what is wrong
    for variable, (_, expected) in VARIABLES.items():
        if variable not in columns:
            continue
        unit = units.get(variable)
        if unit != expected:
            raise InvalidPayload(
                f"open_meteo payload.{block}_units.{variable}: unexpected unit {unit!r}, "
                f"expected {expected!r}"
            )


def _with_reason(exc: FetchError) -> FetchError:
    """An HTTP 400 says why in ``{"error": true, "reason": ...}``: put the reason first."""
    text = str(exc)
    if exc.status != 400 or not text.startswith("HTTP 400: "):
        return exc
    body = text.removeprefix("HTTP 400: ")
    try:
        reason = json.loads(body).get("reason")
    except (json.JSONDecodeError, AttributeError):
        found = re.search(r'"reason"\s*:\s*"([^"]*)', body)  # the body was cut short
        reason = found.group(1) if found else None
    if not reason:
        return exc
    return FetchError(f"open_meteo refused the request: {reason} (HTTP 400)", 400, exc.retry_at)
