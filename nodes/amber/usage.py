"""Amber Electric's metered usage: ``GET /sites/{site}/usage``, what the bill is made of.

Each object is one interval of one meter channel, 5 or 30 minutes as the site
is billed: ``kwh`` (generation negative), ``cost`` in c incl. GST (negative = a
credit) and ``quality`` (``estimated`` until the metering company has a real
read, then ``billable``). The data arrives a day or so late, and Amber asks
that it be fetched about once a day. Here it becomes the ``usage`` shape the
ledger settles against (docs/ledger.md): per slot, kWh and $ each way,
billable only when every channel of the slot is.

What Amber accepts, as sites billed every 5 minutes show: no
``resolution`` (the spec allows only 30, which a 5-minute site refuses with
400; without it each site answers at its own), an ``endDate`` before today in
NEM time (today's is refused or empty), and at most 7 days per request (more
is a 500). So the last ``usage_days`` days up to yesterday are asked for in
windows of 7 days or less, oldest first, and their answers joined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import aiohttp

from flowengine.durations import parse_duration
from nodes.amber.intervals import slot_of
from nodes.amber.prices import AmberPrices, decode
from nodes.amber.schema import USAGE_SCHEMA
from nodes.inputs.fetch import FetchError
from nodes.inputs.provider import InvalidPayload

#: NEM time (protocols §0): Amber's dates are market days in UTC+10 all year.
NEM_TIME = timezone(timedelta(hours=10))
#: The most days one ``/usage`` request may span (both ends counted).
MAX_WINDOW_DAYS = 7


class AmberUsage(AmberPrices):
    kind = "usage"
    name = "amber"
    node_type = "amber.usage"
    description = (
        "Metered usage and its billed cost per interval (5 or 30 minutes, as the site is "
        "billed) from Amber Electric."
    )
    payload_schema = USAGE_SCHEMA
    default_every_s = 86400.0

    @property
    def every_s(self) -> float:
        return parse_duration(self.setting("usage_every"))

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> Any:
        if http is None:
            raise FetchError("amber needs an HTTP session (the node's http connection)")
        key = self._api_key()
        url = self._site_url("usage")
        yesterday = datetime.fromtimestamp(now, NEM_TIME).date() - timedelta(days=1)
        found: list[Any] = []
        for first, last in windows(yesterday, int(self.setting("usage_days"))):
            if self.clock.time() < self.quiet_until:
                raise FetchError(
                    f"amber rate limit used up before the usage from {first.isoformat()}",
                    retry_at=self.quiet_until,
                )
            params = {"startDate": first.isoformat(), "endDate": last.isoformat()}
            response = await self._request(http, url, key, params)
            self._note_quota(response.headers)
            payload = decode(response.text)
            if not isinstance(payload, list):
                raise InvalidPayload(
                    f"amber usage {first.isoformat()}..{last.isoformat()}: not a list but "
                    f"{str(payload)[:120]}"
                )
            found.extend(payload)
        return found

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        return now, {"intervals": to_usage(raw)}


def windows(last: date, days: int) -> list[tuple[date, date]]:
    """The ``days`` days up to ``last`` as (startDate, endDate) pairs, both ends included,
    none longer than ``MAX_WINDOW_DAYS``, oldest first."""
    found = []
    start = last - timedelta(days=days - 1)
    while start <= last:
        end = min(last, start + timedelta(days=MAX_WINDOW_DAYS - 1))
        found.append((start, end))
        start = end + timedelta(days=1)
    return found


def to_usage(raw: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Amber's per-channel list as one entry per slot, oldest first (``raw`` passed
    ``USAGE_SCHEMA``). General and controlled-load channels are imports; feed-in
    ``kwh`` is negative generation and its ``cost`` negative when it earned."""
    slots: dict[tuple[float, float], dict[str, Any]] = {}
    for index, item in enumerate(raw):
        start, end = slot_of(item, index)
        slot = slots.setdefault(
            (start, end),
            {
                "start": start,
                "end": end,
                "import_kwh": 0.0,
                "export_kwh": 0.0,
                "import_cost": 0.0,
                "export_revenue": 0.0,
                "quality": "billable",
            },
        )
        kwh, cost = float(item["kwh"]), float(item["cost"]) / 100
        if item["channelType"] == "feedIn":
            if kwh > 0:
                raise InvalidPayload(
                    f"amber usage[{index}]: a feedIn interval with positive kwh ({kwh}); "
                    "exports are negative"
                )
            slot["export_kwh"] += -kwh
            slot["export_revenue"] += -cost
        else:
            if kwh < 0:
                raise InvalidPayload(
                    f"amber usage[{index}]: a {item['channelType']} interval with negative "
                    f"kwh ({kwh}); imports are positive"
                )
            slot["import_kwh"] += kwh
            slot["import_cost"] += cost
        if item["quality"] != "billable":
            slot["quality"] = "estimated"
    return [slots[key] for key in sorted(slots)]
