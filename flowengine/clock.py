"""One clock for all time.

Everything in the engine and its nodes asks the clock for the time and sleeps on
it, never on ``time`` or ``asyncio.sleep`` directly. That is what lets the same
flows run in service (real time), faster than real time (``--speed``), and in
tests and backtests (virtual time that only moves when told to).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time as _time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal, Protocol

#: How much of the time of day ``local_iso`` writes (``datetime.isoformat``'s ``timespec``).
TimeSpec = Literal["auto", "hours", "minutes", "seconds", "milliseconds", "microseconds"]


def local_iso(epoch: float, zone: tzinfo, timespec: TimeSpec = "auto") -> str:
    """``epoch`` (seconds since the Unix epoch, as ``Clock.time`` gives) as ISO 8601 text in
    ``zone`` with its UTC offset: ``2026-01-05T14:30:00+10:00``.

    How the API, the UI and node outputs write a moment for people and browsers: local
    time, so it reads as the site's clock does, and the offset, so it is unambiguous
    across a daylight-saving change. ``timespec`` as for ``datetime.isoformat``: "auto"
    (the default) adds microseconds only when there are some; "seconds" never does.
    """
    return datetime.fromtimestamp(epoch, zone).isoformat(timespec=timespec)


class Clock(Protocol):
    """What every part of the system may ask of time."""

    def time(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_until(self, timestamp: float) -> None: ...

    async def wait_for(self, done: asyncio.Future[Any], seconds: float) -> bool:
        """Wait until ``done`` is done or ``seconds`` pass; whether ``done`` is done."""
        ...


class RealClock:
    """Wall-clock time, optionally running ``speed`` times faster from its start.

    At speed 1 this is plain wall time. At speed 300 one real second is five
    virtual minutes, which is how the demo shows a day in under five minutes.
    """

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = speed
        self._real_origin = _time.time()
        self._origin = self._real_origin if start is None else start

    def time(self) -> float:
        return self._origin + (_time.time() - self._real_origin) * self.speed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    async def sleep_until(self, timestamp: float) -> None:
        await self.sleep(timestamp - self.time())

    async def wait_for(self, done: asyncio.Future[Any], seconds: float) -> bool:
        if not done.done():
            await asyncio.wait({done}, timeout=max(0.0, seconds) / self.speed)
        return done.done()


SettleHook = Callable[[], Awaitable[None]]


class VirtualClock:
    """Time that moves only when ``advance`` or ``run_until`` moves it.

    Sleepers wake in deadline order; after each wake-up the clock lets the event
    loop settle (by default a few loop turns; an engine can install a hook that
    waits until its runs are idle) before moving on, so work triggered at 10:00
    finishes before 10:05 begins.
    """

    def __init__(self, start: float | datetime = 1_700_000_000.0) -> None:
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self.settle_hook: SettleHook | None = None
        #: Tasks now blocked in ``sleep``: a settle hook can tell "waiting for
        #: time to move" apart from "still working".
        self.sleeping_tasks: set[asyncio.Task[object]] = set()
        self._sleep_watchers: list[asyncio.Future[None]] = []

    def time(self) -> float:
        return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, UTC)

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + max(0.0, seconds))

    async def sleep_until(self, timestamp: float) -> None:
        await self._until(timestamp, None)

    async def wait_for(self, done: asyncio.Future[Any], seconds: float) -> bool:
        """Sleep on this clock until ``done`` is done or ``seconds`` pass: the task counts
        as waiting for time (a settle hook moves on), and ``done`` wakes it early."""
        if not done.done():
            await self._until(self._now + max(0.0, seconds), done)
        return done.done()

    async def _until(self, timestamp: float, done: asyncio.Future[Any] | None) -> None:
        if timestamp <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (timestamp, next(self._seq), future))
        task = asyncio.current_task()
        if task is not None:
            self.sleeping_tasks.add(task)
        if self._sleep_watchers:
            watchers, self._sleep_watchers = self._sleep_watchers, []
            for watcher in watchers:
                if not watcher.done():
                    watcher.set_result(None)
        try:
            if done is None:
                await future
            else:
                # Once ``done`` is done the task is no longer waiting for time, though it
                # resumes only some loop turns later: said at once, or a settle hook would
                # see it asleep and move the clock on to the next deadline meanwhile.
                def awake(_: asyncio.Future[Any]) -> None:
                    if task is not None:
                        self.sleeping_tasks.discard(task)

                done.add_done_callback(awake)
                waiting: set[asyncio.Future[Any]] = {future, done}
                try:
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    done.remove_done_callback(awake)
        finally:
            if task is not None:
                self.sleeping_tasks.discard(task)
            if done is not None and not future.done():
                future.cancel()  # dropped from the heap as a cancelled sleeper

    def next_sleeper(self) -> asyncio.Future[None]:
        """Resolves when the next task starts waiting on this clock: how a settle hook
        learns that work has come to rest without polling (polling steals the GIL from
        a solver thread, and cost a month's backtest a fifth of its time)."""
        watcher: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleep_watchers.append(watcher)
        return watcher

    def next_deadline(self) -> float | None:
        """The earliest time anyone is waiting for, if anyone is."""
        self._drop_cancelled()
        return self._sleepers[0][0] if self._sleepers else None

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking every sleeper on the way."""
        await self.run_until(self._now + seconds)

    async def run_until(self, timestamp: float) -> None:
        """Move time to ``timestamp``, waking sleepers in deadline order."""
        await self.settle()
        while True:
            deadline = self.next_deadline()
            if deadline is None or deadline > timestamp:
                break
            self._now = max(self._now, deadline)
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():
                    future.set_result(None)
            await self.settle()
        self._now = max(self._now, timestamp)
        await self.settle()

    async def settle(self) -> None:
        """Let woken tasks run until they are waiting on the clock again."""
        for _ in range(3 if self.settle_hook is not None else 20):
            await asyncio.sleep(0)
        if self.settle_hook is not None:
            await self.settle_hook()
            await asyncio.sleep(0)

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
