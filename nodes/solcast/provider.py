"""Solcast rooftop-site PV forecasts (P10/P50/P90), within the hobbyist daily quota.

Protocol (docs/protocols §3): ``GET {base}/rooftop_sites/{id}/forecasts?format=json
&hours=48&period=PT30M`` with ``Authorization: Bearer <key>``. Each item gives
``pv_estimate`` (P50), ``pv_estimate10`` (P10) and ``pv_estimate90`` (P90) as the
average power in **kW** over the period that **ends** at ``period_end`` (UTC, seven
fractional digits). Solcast says nothing about when it made the forecast, so
the issue time is the fetch time.

Every site is a separate call and counts against the daily limit (10 on the free
tier), which starts again at 00:00 UTC. The input node logs one call per fetch,
so a fetch here counts as one call per site. Fetches follow the local schedule
of ``nodes.solcast.schedule`` and never go past the limit; with the site database
wired to the node, the count survives restarts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp

from flowengine.clock import Clock
from flowengine.durations import parse_duration
from flowengine.schema import DURATION
from flowengine.secrets import reveal
from nodes.inputs.fetch import FetchError, RetryPolicy, fetch
from nodes.inputs.provider import CallLog, InvalidPayload, Provider
from nodes.inputs.reading import Reading
from nodes.solar.periods import Bands, average_steps, require_cover, sum_sites
from nodes.solar.validation import SettingsProblem, check_each
from nodes.solcast import schedule

#: Above this a rooftop forecast is not a forecast but a unit mix-up (W sent as kW).
MAX_KW = 1000.0
#: How far ahead a forecast must reach to be usable.
COVER_HOURS = 24.0

KW: dict[str, Any] = {"type": "number", "minimum": 0, "maximum": MAX_KW}

#: One site's ``/forecasts`` response.
SITE_PAYLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["forecasts"],
    "properties": {
        "forecasts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["pv_estimate", "pv_estimate10", "pv_estimate90", "period_end"],
                "properties": {
                    "pv_estimate": KW,
                    "pv_estimate10": KW,
                    "pv_estimate90": KW,
                    "period_end": {"type": "string", "minLength": 1},
                    "period": {"type": "string", "pattern": "^PT[0-9]+[MH]$"},
                },
            },
        }
    },
}

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Solcast rooftop-site PV forecasts (sources.pv: solcast).",
    "properties": {
        "base_url": {
            "type": "string",
            "description": "API root; change it only for a proxy or a test server",
        },
        "api_key": {
            "type": "string",
            "description": "API key from the Solcast toolkit; write it as !secret solcast_api_key",
        },
        "resource_ids": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
            "description": "rooftop site ids (e.g. abcd-1234-ef56-7890); each is one call per "
            "fetch, and their forecasts are added up",
        },
        "daily_limit": {
            "type": "integer",
            "minimum": 1,
            "description": "API calls allowed per UTC day (10 on the free tier, 50 on some "
            "legacy accounts); never exceeded",
        },
        "hours": {
            "type": "integer",
            "minimum": 24,
            "maximum": 168,
            "description": "how far ahead to ask for (a call costs the same whatever the length)",
        },
        "timeout_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "seconds to wait for each answer",
        },
        "fetch_times": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$"},
            "uniqueItems": True,
            "description": "local times (site.timezone) to fetch at, HH:MM; default: chosen from "
            "daily_limit and the number of sites (05:00 and 15:00 first, then daylight)",
        },
        "retry_failed_after": {
            **DURATION,
            "description": "after a failed fetch, wait this long before trying again, and only "
            "with calls to spare beyond the rest of the day's schedule",
        },
    },
    "additionalProperties": False,
}

SETTINGS_DEFAULTS: dict[str, Any] = {
    "base_url": "https://api.solcast.com.au",
    "resource_ids": [],
    "daily_limit": 10,
    "hours": 48,
    "timeout_s": 20.0,
    "retry_failed_after": "30m",
}


def check_settings(section: Any) -> list[SettingsProblem]:
    """What the schema cannot say: the schedule must fit the daily limit."""
    if not isinstance(section, Mapping):
        return []
    options = {**SETTINGS_DEFAULTS, **section}
    sites, limit = len(options["resource_ids"]), int(options["daily_limit"])
    if sites and limit < sites:
        return [
            SettingsProblem(
                ("solcast", "daily_limit"),
                f"{limit} calls a day is less than one for each of the {sites} resource_ids",
            )
        ]
    times = options.get("fetch_times") or []
    if sites and len(times) * sites > limit:
        return [
            SettingsProblem(
                ("solcast", "fetch_times"),
                f"{len(times)} times x {sites} sites need {len(times) * sites} calls a day; "
                f"daily_limit is {limit}",
            )
        ]
    return []


_PERIOD = re.compile(r"^PT([0-9]+)([MH])$")


class SolcastPv(Provider):
    kind = "pv"
    name = "solcast"
    description = "PV forecast (P10/P50/P90) from Solcast rooftop sites, within the daily quota."
    settings_key = "solcast"
    payload_schema: ClassVar[dict[str, Any] | None] = {
        "type": "array",
        "description": "one /forecasts response per resource id, in order",
        "items": SITE_PAYLOAD_SCHEMA,
    }
    default_every_s = 7200.0  # unused: fetches follow the schedule

    def __init__(self, settings: Mapping[str, Any], clock: Clock) -> None:
        super().__init__(settings, clock)
        options = {**SETTINGS_DEFAULTS, **self.section}
        self.base_url = str(options["base_url"]).rstrip("/")
        self.resource_ids = [str(rid) for rid in options["resource_ids"]]
        self.daily_limit = int(options["daily_limit"])
        self.hours = int(options["hours"])
        self.retry_failed_s = parse_duration(options["retry_failed_after"])
        if not self.resource_ids:
            raise ValueError("solcast.resource_ids: name at least one rooftop site")
        if self.section.get("api_key") is None:
            raise ValueError("solcast.api_key is not set (write it as !secret solcast_api_key)")
        if self.daily_limit < len(self.resource_ids):
            raise ValueError(
                f"solcast.daily_limit {self.daily_limit} is less than one call for each of "
                f"the {len(self.resource_ids)} resource_ids"
            )
        site = settings.get("site") or {}
        self.zone = ZoneInfo(str(site.get("timezone") or "Australia/Brisbane"))
        given = options.get("fetch_times")
        self.times = (
            schedule.parse_times(list(given))
            if given
            else schedule.fetch_times(self.daily_limit, len(self.resource_ids))
        )

    @property
    def retry(self) -> RetryPolicy:
        # 429 also means "busy": try again a few minutes later, never in a tight loop.
        return RetryPolicy(
            attempts=3,
            backoff_s=120.0,
            max_backoff_s=600.0,
            timeout_s=float(self.section.get("timeout_s", SETTINGS_DEFAULTS["timeout_s"])),
        )

    def due(self, now: float, last: Reading | None, calls: CallLog) -> bool:
        """Fetch once per scheduled time, within the day's calls; retry a failure sparingly.

        Due when a scheduled time has passed since the last good fetch, nothing was
        tried since that time, and the calls spent since 00:00 UTC plus one per site
        stay within ``daily_limit``. A time whose fetch failed is tried again after
        ``retry_failed_after``, and only if that leaves a call per site for every
        scheduled time still to come before the count starts again. With a forecast
        in hand, a time from before 00:00 UTC is not made up after it: that late
        fetch would spend a call of the new day and push the schedule late for good.
        """
        slot = schedule.latest(self.times, self.zone, now)
        day_start = schedule.utc_day_start(now)
        if slot is None:
            return False
        if last is not None and (last.fetched_at >= slot or slot < day_start):
            return False  # had it, or a time of the quota day before: not made up late
        sites = len(self.resource_ids)
        spent = calls.calls_since(self.name, day_start) * sites
        needed = sites
        if calls.calls_since(self.name, slot) > 0:  # tried since the slot and failed
            if calls.calls_since(self.name, now - self.retry_failed_s) > 0:
                return False
            still_to_come = schedule.occurrences(
                self.times, self.zone, now, day_start + schedule.DAY_S
            )
            needed += sites * len(still_to_come)
        return spent + needed <= self.daily_limit

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> Any:
        assert http is not None, "solcast needs an HTTP session"
        key = reveal(self.section["api_key"])
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        params = {"format": "json", "hours": str(self.hours), "period": "PT30M"}
        payloads = []
        for rid in self.resource_ids:
            url = f"{self.base_url}/rooftop_sites/{quote(rid, safe='')}/forecasts"
            try:
                response = await fetch(
                    http, url, self.clock, params=params, headers=headers, policy=self.retry
                )
                payloads.append(response.json())
            except FetchError as exc:
                message = f"solcast site {rid}: {_scrub(str(exc), key)}"
                raise FetchError(message, exc.status, exc.retry_at) from None
        return payloads

    def check(self, raw: Any) -> None:
        check_each([f"solcast site {rid}" for rid in self.resource_ids], SITE_PAYLOAD_SCHEMA, raw)

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        sites = []
        for rid, payload in zip(self.resource_ids, raw, strict=True):
            site = average_steps(_steps(rid, payload["forecasts"]))
            ahead = [p for p in sum_sites([site]) if p["end"] > now]
            require_cover(f"solcast site {rid}", ahead, now, COVER_HOURS)
            sites.append(site)
        periods = [p for p in sum_sites(sites) if p["end"] > now]
        require_cover("solcast (all sites)", periods, now, COVER_HOURS)
        return now, {"periods": periods}


def _steps(rid: str, forecasts: list[dict[str, Any]]) -> list[tuple[float, float, Bands]]:
    """Each item as ``(start, end, (p50, p10, p90) in W)``; its period ends at period_end."""
    steps = []
    for index, item in enumerate(forecasts):
        where = f"solcast site {rid}: payload.forecasts[{index}]"
        end = _utc(item["period_end"], where)
        length = _period_s(item.get("period", "PT30M"), where)
        bands = (
            item["pv_estimate"] * 1000,
            item["pv_estimate10"] * 1000,
            item["pv_estimate90"] * 1000,
        )
        steps.append((end - length, end, bands))
    return steps


def _utc(text: str, where: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidPayload(f"{where}.period_end: {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InvalidPayload(f"{where}.period_end: {text!r} has no time zone (expected UTC)")
    return moment.timestamp()


def _period_s(text: str, where: str) -> float:
    match = _PERIOD.match(text)
    seconds = 0.0 if match is None else int(match[1]) * (60.0 if match[2] == "M" else 3600.0)
    if not 300 <= seconds <= 3600:
        raise InvalidPayload(f"{where}.period: {text!r} is not a period of 5 to 60 minutes")
    return seconds


def _scrub(text: str, secret: str) -> str:
    """``text`` without ``secret`` in it, should a server ever echo the key back."""
    return text.replace(secret, "***") if secret else text
