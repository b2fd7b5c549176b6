"""Amber Electric's live prices: ``GET /sites/{site}/prices/current`` every minute.

Amber re-publishes every 5 minutes and the current interval's price moves as
5-minute prices settle, so, like Home Assistant, we ask every 60 s (well inside
the ~50 calls per 5 minutes Amber allows; when its ``RateLimit-Remaining``
header says none are left, we wait out ``RateLimit-Reset``).

``issued_at`` is the fetch time. Amber states no issue time, and the newest
settled interval's end (``nemTime``) is no substitute: at 30-minute resolution
it is up to 30 minutes older than prices Amber refreshes every 5, and with
``previous: 0`` there is none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from flowengine.clock import Clock
from flowengine.secrets import MissingSecret, reveal
from nodes.amber.intervals import to_prices
from nodes.amber.schema import PAYLOAD_SCHEMA, SETTINGS_DEFAULTS
from nodes.inputs.fetch import FetchError, Response, fetch
from nodes.inputs.provider import CallLog, InvalidPayload, Provider
from nodes.inputs.reading import Reading

log = logging.getLogger(__name__)

#: The longest ``RateLimit-Reset`` we honour (Amber's window is 5 minutes).
MAX_QUOTA_WAIT_S = 600.0


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

    def due(self, now: float, last: Reading | None, calls: CallLog) -> bool:
        return now >= self.quiet_until and super().due(now, last, calls)

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
            "next": int(self.setting("next")),
            "previous": int(self.setting("previous")),
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
            return await fetch(http, url, self.clock, params=params, headers=headers,
                               policy=self.retry)  # fmt: skip
        except FetchError as exc:
            message = str(exc)
            if key not in message:
                raise
            # A server that echoes the request back must not put the key in our errors.
            raise FetchError(message.replace(key, "<api key>"), exc.status, exc.retry_at) from None

    def _note_quota(self, headers: Mapping[str, str]) -> None:
        found = {name.lower(): value for name, value in headers.items()}
        remaining, reset = found.get("ratelimit-remaining"), found.get("ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            left, wait = int(remaining), min(MAX_QUOTA_WAIT_S, max(0.0, float(reset)))
        except ValueError:
            return
        if left <= 0:
            self.quiet_until = self.clock.time() + wait
            log.warning("amber rate limit used up; next call in %.0f s", wait)


def decode(text: str) -> Any:
    """JSON as Amber sends it; NaN and Infinity, which Python would accept, are not prices."""

    def refuse(constant: str) -> Any:
        raise InvalidPayload(f"amber payload: {constant} where a number belongs")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise InvalidPayload(f"amber payload is not JSON: {exc}") from None
