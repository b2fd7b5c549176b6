"""Amber Electric's live prices: ``GET /sites/{site}/prices/current`` every minute.

Amber re-publishes every 5 minutes and the current interval's price moves as
5-minute prices settle, so, like Home Assistant, we ask every 60 s (well inside
the ~50 calls per 5 minutes Amber allows; when its ``RateLimit-Remaining``
header says none are left, we wait out ``RateLimit-Reset``).

``next`` and ``previous`` count intervals at the resolution asked for, so by
default they are 48 hours ahead and one hour back at either: 96 and 2 at 30
minutes, 576 and 12 at 5. A count set in site.yaml is at the configured
resolution and keeps its span if Amber refuses 5 minutes and 30 are asked for.

A 429 is not tried again before Amber's ``RateLimit-Reset`` (seconds until its
window resets, as amber-express reads it), plus a margin: a wait of more than a
few seconds fails the fetch with that moment as its ``retry_at``, so the input
keeps its last good prices, makes no call until then, and its health says when.

``issued_at`` is the fetch time. Amber states no issue time, and the newest
settled interval's end (``nemTime``) is no substitute: at 30-minute resolution
it is up to 30 minutes older than prices Amber refreshes every 5, and with
``previous: 0`` there is none.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from flowengine.clock import Clock
from flowengine.secrets import MissingSecret, reveal
from nodes.amber.intervals import to_prices
from nodes.amber.schema import PAYLOAD_SCHEMA, SETTINGS_DEFAULTS
from nodes.inputs.fetch import FetchError, Response, RetryPolicy, fetch, retry_after_header
from nodes.inputs.provider import CallLog, InvalidPayload, Provider
from nodes.inputs.reading import Reading

log = logging.getLogger(__name__)

#: The longest ``RateLimit-Reset`` we honour (Amber's window is 5 minutes).
MAX_QUOTA_WAIT_S = 600.0
#: Added to ``RateLimit-Reset``, whole seconds counted from when Amber answered (as
#: amber-express does), so the next call does not land just before the window turns.
RESET_MARGIN_S = 2.0
#: A 429 wait longer than this is not sat out inside the run: the input waits instead.
MAX_WAIT_IN_RUN_S = 10.0
#: How far ahead (``next``) and back (``previous``) to ask by default, at any resolution.
AHEAD_S = 48 * 3600.0
BEHIND_S = 3600.0
#: The most intervals Amber gives for ``next`` or ``previous``.
MAX_INTERVALS = 2048


class AmberPrices(Provider):
    kind = "prices"
    name = "amber"
    description = "Live import and feed-in prices and forecasts from Amber Electric."
    settings_key = "amber"
    payload_schema = PAYLOAD_SCHEMA
    default_every_s = 60.0

    def __init__(self, settings: Mapping[str, Any], clock: Clock) -> None:
        super().__init__(settings, clock)
        #: 30 once Amber refused 5-minute data (None: as configured).
        self._resolution: int | None = None
        #: No call before this moment: Amber said its rate-limit window is used up.
        self.quiet_until = 0.0

    def setting(self, name: str) -> Any:
        return self.section.get(name, SETTINGS_DEFAULTS.get(name))

    @property
    def resolution(self) -> int:
        return self._resolution or int(self.setting("resolution"))

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            max_retry_after_s=MAX_WAIT_IN_RUN_S,
            timeout_s=float(self.setting("timeout_s")),
        )

    def due(self, now: float, last: Reading | None, calls: CallLog) -> bool:
        return now >= self.quiet_until and super().due(now, last, calls)

    def intervals(self, name: str, resolution: int) -> int:
        """``next`` or ``previous`` at ``resolution``: as set (its span kept if the resolution
        is not the configured one), else 48 h ahead or 1 h back."""
        configured = self.section.get(name)
        if configured is None:
            span_s = AHEAD_S if name == "next" else BEHIND_S
        else:
            span_s = int(configured) * int(self.setting("resolution")) * 60.0
        return min(MAX_INTERVALS, math.ceil(span_s / (resolution * 60)))

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> Any:
        if http is None:
            raise FetchError("amber needs an HTTP session (the node's http connection)")
        key = self._api_key()
        url = self._site_url("prices/current")
        try:
            response = await self._get(http, url, key, self.resolution)
        except FetchError as exc:
            if exc.status != 400 or self.resolution != 5:
                raise
            log.warning("amber refused 5-minute prices (%s); asking for 30-minute ones", exc)
            self._resolution = 30
            response = await self._get(http, url, key, 30)
        self._note_quota(response.headers)
        return decode(response.text)

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        return now, {"intervals": to_prices(raw)}

    def _api_key(self) -> str:
        value = self.section.get("api_key")
        if not value:
            raise FetchError("amber.api_key is not set in site.yaml (use !secret amber_api_key)")
        try:
            return reveal(value)
        except MissingSecret as exc:
            raise FetchError(f"amber.api_key: {exc}") from None

    async def _get(
        self, http: aiohttp.ClientSession, url: str, key: str, resolution: int
    ) -> Response:
        params = {
            "next": self.intervals("next", resolution),
            "previous": self.intervals("previous", resolution),
            "resolution": resolution,
        }
        return await self._request(http, url, key, params)

    def _site_url(self, path: str) -> str:
        """``<base_url>/sites/<site_id>/<path>``; FetchError when no site is configured."""
        site = self.setting("site_id")
        if not site:
            raise FetchError("amber.site_id is not set in site.yaml (GET /sites lists yours)")
        base = str(self.setting("base_url")).rstrip("/")
        return f"{base}/sites/{quote(str(site), safe='')}/{path}"

    async def _request(
        self, http: aiohttp.ClientSession, url: str, key: str, params: Mapping[str, Any]
    ) -> Response:
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        try:
            return await fetch(
                http,
                url,
                self.clock,
                params=params,
                headers=headers,
                policy=self.retry,
                rate_limit_wait=reset_wait,
            )
        except FetchError as exc:
            message = str(exc)
            if key not in message:
                raise
            # A server that echoes the request back must not put the key in our errors.
            raise FetchError(message.replace(key, "<api key>"), exc.status, exc.retry_at) from None

    def _note_quota(self, headers: Mapping[str, str]) -> None:
        remaining, wait = headers.get("RateLimit-Remaining"), _reset_s(headers)
        if remaining is None or wait is None:
            return
        try:
            left = int(remaining)
        except ValueError:
            return
        if left <= 0:
            self.quiet_until = self.clock.time() + wait + RESET_MARGIN_S
            log.warning("amber rate limit used up; next call in %.0f s", wait)


def reset_wait(response: Response, now: float) -> float | None:
    """How long a 429 from Amber asks us to wait: its ``RateLimit-Reset`` plus a margin,
    else ``Retry-After`` (else None: the usual backoff)."""
    wait = _reset_s(response.headers)
    if wait is not None:
        return wait + RESET_MARGIN_S
    return retry_after_header(response, now)


def _reset_s(headers: Mapping[str, str]) -> float | None:
    """``RateLimit-Reset``: seconds until the window resets (bounded), None if absent or not
    a number."""
    value = headers.get("RateLimit-Reset")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    return min(MAX_QUOTA_WAIT_S, max(0.0, seconds))


def decode(text: str) -> Any:
    """JSON as Amber sends it; NaN and Infinity, which Python would accept, are not prices."""

    def refuse(constant: str) -> Any:
        raise InvalidPayload(f"amber payload: {constant} where a number belongs")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise InvalidPayload(f"amber payload is not JSON: {exc}") from None
