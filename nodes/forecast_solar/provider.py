"""Forecast.Solar PV forecasts: the keyless public API, one call per roof plane.

``GET {base}/estimate/{lat}/{lon}/{dec}/{az}/{kwp}`` (https://doc.forecast.solar/api)
answers ``{"result": {"watts": {"2024-04-26 07:00:00": 270, ...},
"watt_hours_period": {...}, "watt_hours": {...}, "watt_hours_day": {...}},
"message": {"code": 0, "type": "success", "info": {"timezone": ..., "time": ...},
"ratelimit": {"period": 3600, "limit": 12, "remaining": 11}}}``.

- ``watts`` is the power *at* each moment, in W, at whole hours plus sunrise and
  sunset on the free tier. The moments are local time in
  ``message.info.timezone`` unless they carry an offset. Power runs linearly
  between the moments of one day (``watt_hours_period`` is exactly that
  trapezoid) and is zero at night, so each half-hour's mean power is the area
  under that curve divided by 30 minutes.
- The free tier forecasts today and tomorrow, so the forecast always reaches
  local midnight after tomorrow: at least 24 h ahead.
- There is no P10/P90: ``p10_w`` and ``p90_w`` are set equal to ``p50_w``. The
  planner then sees a forecast with no spread, which it is.
- Azimuth uses Forecast.Solar's convention, -180..180 with 0 = south, -90 = east,
  90 = west and ±180 = north (a north-facing roof in Australia is 180). From a
  compass bearing (0 = north, 90 = east) it is ``bearing - 180``.
- The free tier allows 12 calls an hour per IP address, and the forecast changes
  at most every 15 minutes: the default is one fetch an hour, never more than
  one every 15 minutes, whatever ``every`` says.
- Past the limit the answer is a 429 whose body says when to come back:
  ``{"message": {"code": 429, "type": "error", "text": ..., "ratelimit": {"zone": ...,
  "period": 3600, "limit": 12, "retry-at": "2026-01-15T07:00:00+10:00"}}}`` (as
  home-assistant-libs/forecast_solar reads it). No call is made before ``retry-at``;
  the input's health says when that is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp

from flowengine.clock import Clock
from flowengine.durations import parse_duration
from flowengine.schema import DURATION
from nodes.inputs.fetch import FetchError, Response, RetryPolicy, fetch, retry_after_header
from nodes.inputs.provider import CallLog, InvalidPayload, Provider
from nodes.inputs.reading import Reading
from nodes.solar.periods import SLOT_S, Bands, average_curve, require_cover, sum_sites
from nodes.solar.validation import SettingsProblem, check_each

#: Never fetch more often: Forecast.Solar's data changes no faster.
MIN_GAP_S = 900.0
#: Power above this multiple of a plane's kWp is not a forecast but a mistake.
MAX_PEAK_RATIO = 1.5
COVER_HOURS = 24.0

ESTIMATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["result", "message"],
    "properties": {
        "result": {
            "type": "object",
            "required": ["watts"],
            "properties": {
                "watts": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1e6},
                }
            },
        },
        "message": {
            "type": "object",
            "required": ["info"],
            "properties": {
                "info": {
                    "type": "object",
                    "required": ["timezone"],
                    "properties": {"timezone": {"type": "string"}, "time": {"type": "string"}},
                }
            },
        },
    },
}

PLANE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "declination": {
            "type": "number",
            "minimum": 0,
            "maximum": 90,
            "description": "tilt from horizontal: 0 flat, 90 vertical",
        },
        "azimuth": {
            "type": "number",
            "minimum": -180,
            "maximum": 180,
            "description": "0 south, -90 east, 90 west, 180 north (compass bearing - 180)",
        },
        "kwp": {"type": "number", "exclusiveMinimum": 0, "description": "panel peak power, kW"},
    },
    "required": ["declination", "azimuth", "kwp"],
    "additionalProperties": False,
}

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Forecast.Solar public-API PV forecasts (sources.pv: forecast_solar).",
    "properties": {
        "base_url": {
            "type": "string",
            "description": "API root; change it only for a proxy or a test server",
        },
        "latitude": {
            "type": "number",
            "minimum": -90,
            "maximum": 90,
            "description": "default: site.latitude",
        },
        "longitude": {
            "type": "number",
            "minimum": -180,
            "maximum": 180,
            "description": "default: site.longitude",
        },
        "planes": {
            "type": "array",
            "items": PLANE_SCHEMA,
            "description": "roof planes; each is one call per fetch, their forecasts are added up",
        },
        "every": {
            **DURATION,
            "description": "fetch this often (at least 15m; 12 calls an hour per IP address)",
        },
        "timeout_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "seconds to wait for each answer",
        },
    },
    "additionalProperties": False,
}

SETTINGS_DEFAULTS: dict[str, Any] = {
    "base_url": "https://api.forecast.solar",
    "planes": [],
    "every": "1h",
    "timeout_s": 20.0,
}

#: The free tier's calls per hour from one IP address.
CALLS_PER_HOUR = 12


def check_settings(section: Any) -> list[SettingsProblem]:
    """What the schema cannot say: the planes' calls must fit the hourly rate limit."""
    if not isinstance(section, Mapping):
        return []
    options = {**SETTINGS_DEFAULTS, **section}
    every = max(MIN_GAP_S, parse_duration(options["every"]))
    calls = len(options["planes"]) * 3600 / every
    if calls > CALLS_PER_HOUR:
        return [
            SettingsProblem(
                ("forecast_solar", "every"),
                f"{len(options['planes'])} planes every {every / 60:g} min make {calls:g} calls "
                f"an hour; the free tier allows {CALLS_PER_HOUR}",
            )
        ]
    return []


class ForecastSolarPv(Provider):
    kind = "pv"
    name = "forecast_solar"
    description = "PV forecast from the public Forecast.Solar API (no P10/P90: all equal P50)."
    settings_key = "forecast_solar"
    payload_schema: ClassVar[dict[str, Any] | None] = {
        "type": "array",
        "description": "one /estimate response per plane, in order",
        "items": ESTIMATE_SCHEMA,
    }
    default_every_s = 3600.0

    def __init__(self, settings: Mapping[str, Any], clock: Clock) -> None:
        super().__init__(settings, clock)
        options = {**SETTINGS_DEFAULTS, **self.section}
        site = settings.get("site") or {}
        self.base_url = str(options["base_url"]).rstrip("/")
        latitude = options.get("latitude", site.get("latitude"))
        longitude = options.get("longitude", site.get("longitude"))
        if latitude is None or longitude is None:
            raise ValueError("forecast_solar: set latitude and longitude (or site's)")
        self.latitude, self.longitude = float(latitude), float(longitude)
        self.planes = [dict(plane) for plane in options["planes"]]
        if not self.planes:
            raise ValueError("forecast_solar.planes: describe at least one roof plane")

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=2,
            backoff_s=30.0,
            timeout_s=float(self.section.get("timeout_s", SETTINGS_DEFAULTS["timeout_s"])),
        )

    @property
    def every_s(self) -> float:
        if "every" not in self.section:
            return self.default_every_s
        return max(MIN_GAP_S, super().every_s)

    def due(self, now: float, last: Reading | None, calls: CallLog) -> bool:
        """As often as ``every`` says, and never twice within 15 minutes (even after a failure)."""
        if calls.calls_since(self.name, now - MIN_GAP_S) > 0:
            return False
        return super().due(now, last, calls)

    def url(self, plane: Mapping[str, Any]) -> str:
        return (
            f"{self.base_url}/estimate/{_coordinate(self.latitude)}/{_coordinate(self.longitude)}"
            f"/{round(plane['declination'])}/{round(plane['azimuth'])}/{float(plane['kwp']):g}"
        )

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> Any:
        assert http is not None, "forecast_solar needs an HTTP session"
        payloads = []
        for index, plane in enumerate(self.planes):
            try:
                response = await fetch(
                    http,
                    self.url(plane),
                    self.clock,
                    headers={"Accept": "application/json"},
                    policy=self.retry,
                    rate_limit_wait=retry_at_wait,
                )
                payloads.append(response.json())
            except FetchError as exc:
                message = f"forecast_solar plane {index + 1}: {exc}"
                raise FetchError(message, exc.status, exc.retry_at) from None
        return payloads

    def check(self, raw: Any) -> None:
        labels = [f"forecast_solar plane {i + 1}" for i in range(len(self.planes))]
        check_each(labels, ESTIMATE_SCHEMA, raw)

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        planes: list[dict[float, Bands]] = []
        issued = []
        for index, (plane, payload) in enumerate(zip(self.planes, raw, strict=True)):
            who = f"forecast_solar plane {index + 1}"
            zone = _zone(payload["message"]["info"]["timezone"], who)
            points = _points(payload["result"]["watts"], zone, who)
            _check_peak(points, float(plane["kwp"]), who)
            segments, first, end = _curve(points, zone)
            curve = average_curve(segments, max(now - now % SLOT_S, first), end)
            require_cover(who, sum_sites([curve]), now, COVER_HOURS)
            planes.append(curve)
            issued.append(_issued(payload["message"]["info"].get("time"), now))
        periods = sum_sites(planes)
        require_cover("forecast_solar (all planes)", periods, now, COVER_HOURS)
        return min(issued), {"periods": periods}


def retry_at_wait(response: Response, now: float) -> float | None:
    """Seconds until the ``message.ratelimit.retry-at`` of a 429's body (a time with its
    offset), else its ``Retry-After`` header (else None: the usual backoff)."""
    try:
        text = json.loads(response.text)["message"]["ratelimit"]["retry-at"]
        when = datetime.fromisoformat(text)
    except (ValueError, KeyError, TypeError):
        return retry_after_header(response, now)
    if when.tzinfo is None:  # a wall time with no zone is no moment
        return retry_after_header(response, now)
    return max(0.0, when.timestamp() - now)


def _coordinate(value: float) -> str:
    """Degrees to 4 decimals (about 10 m, the API's own precision), no trailing zeros."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _zone(name: str, who: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidPayload(f"{who}: message.info.timezone {name!r} is not a time zone") from None


def _points(watts: Mapping[str, float], zone: ZoneInfo, who: str) -> list[tuple[datetime, float]]:
    """``(local time, W)`` sorted; naive moments are local to ``zone``."""
    points = []
    for key, value in watts.items():
        try:
            moment = datetime.fromisoformat(key)
        except ValueError:
            raise InvalidPayload(f"{who}: result.watts key {key!r} is not a time") from None
        moment = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
        points.append((moment, float(value)))
    return sorted(points, key=lambda point: point[0].timestamp())


def _check_peak(points: list[tuple[datetime, float]], kwp: float, who: str) -> None:
    limit = MAX_PEAK_RATIO * kwp * 1000
    for moment, watts in points:
        if watts > limit:
            raise InvalidPayload(
                f"{who}: result.watts[{moment.isoformat()}] = {watts:g} W is more than "
                f"{MAX_PEAK_RATIO:g} x the plane's {kwp:g} kWp"
            )


def _curve(
    points: list[tuple[datetime, float]], zone: ZoneInfo
) -> tuple[list[tuple[float, float, float, float]], float, float]:
    """Linear segments within each local day, and the span of whole days they cover."""
    segments = [
        (a.timestamp(), wa, b.timestamp(), wb)
        for (a, wa), (b, wb) in pairwise(points)
        if a.date() == b.date()
    ]
    first_day, last_day = points[0][0].date(), points[-1][0].date()
    start = datetime.combine(first_day, datetime.min.time(), zone).timestamp()
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), zone).timestamp()
    return segments, start, end


def _issued(text: str | None, now: float) -> float:
    """``message.info.time`` when it is a time with an offset, else the fetch time."""
    if not text:
        return now
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return now
    return now if moment.tzinfo is None else moment.timestamp()
