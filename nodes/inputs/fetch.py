"""HTTP fetches the way flaky public APIs need them: timeouts, backoff, ``Retry-After``.

Every wait happens on the engine's clock, so tests run retries in virtual time
and a backtest never stalls. Only failures worth repeating are retried (network
errors, timeouts, 5xx, 429); a 4xx other than 429 means the request is wrong and
fails at once with the server's own words. How long a 429 asks us to wait is
read from ``Retry-After`` unless the provider knows its API says it elsewhere
(Amber's ``RateLimit-Reset``, Forecast.Solar's ``retry-at`` in the body).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from flowengine.clock import Clock
from flowengine.errors import NodeFailure


class FetchError(NodeFailure):
    """A fetch that failed for good (after its retries). ``retry_at``: when the server allows
    the next try (from ``Retry-After``), if it said."""

    def __init__(self, message: str, status: int | None = None, retry_at: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_at = retry_at


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, the first backoff (doubling), and caps."""

    attempts: int = 3
    backoff_s: float = 2.0
    max_backoff_s: float = 60.0
    #: A ``Retry-After`` longer than this is not waited out: the fetch fails and says when.
    max_retry_after_s: float = 120.0
    timeout_s: float = 20.0


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # looked up case-insensitively, as HTTP names are
    text: str

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise FetchError(f"response is not JSON: {exc}", self.status) from None


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


#: Seconds a 429 answer asks us to wait from ``now`` (None: it does not say).
RateLimitWait = Callable[[Response, float], float | None]


def retry_after_header(response: Response, now: float) -> float | None:
    """The wait a 429 states in its ``Retry-After`` header (HTTP's own way to say it)."""
    return retry_after(response.headers.get("Retry-After"), now)


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    clock: Clock,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    policy: RetryPolicy = RetryPolicy(),
    rate_limit_wait: RateLimitWait = retry_after_header,
) -> Response:
    """GET ``url``; the 2xx response, or ``FetchError`` saying why not after the retries.

    A 429 is tried again no sooner than ``rate_limit_wait`` says; a wait longer than
    the policy's ``max_retry_after_s`` fails at once, its ``retry_at`` saying when."""
    last: FetchError | None = None
    for attempt in range(policy.attempts):
        wait = min(policy.max_backoff_s, policy.backoff_s * 2**attempt)
        try:
            response = await _get(session, url, params, headers, policy.timeout_s)
        except TimeoutError:
            last = FetchError(f"no answer within {policy.timeout_s:g} s")
        except aiohttp.ClientError as exc:
            last = FetchError(f"{type(exc).__name__}: {exc}")
        else:
            if 200 <= response.status < 300:
                return response
            detail = response.text.strip().replace("\n", " ")[:200]
            message = f"HTTP {response.status}" + (f": {detail}" if detail else "")
            if response.status == 429:
                delay = rate_limit_wait(response, clock.time())
                if delay is not None:
                    if delay > policy.max_retry_after_s:
                        raise FetchError(
                            f"{message} (rate limited; retry after {delay:.0f} s)",
                            429,
                            clock.time() + delay,
                        )
                    wait = delay
                last = FetchError(message, 429, None if delay is None else clock.time() + delay)
            elif response.status >= 500:
                last = FetchError(message, response.status)
            else:
                raise FetchError(message, response.status)
        if attempt + 1 < policy.attempts:
            await clock.sleep(wait)
    assert last is not None
    raise FetchError(f"{last} (after {policy.attempts} attempts)", last.status, last.retry_at)


async def _get(
    session: aiohttp.ClientSession,
    url: str,
    params: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None,
    timeout_s: float,
) -> Response:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with asyncio.timeout(timeout_s):
        async with session.get(url, params=params, headers=headers, timeout=timeout) as reply:
            text = await reply.text()
            return Response(reply.status, reply.headers.copy(), text)
