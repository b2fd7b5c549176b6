"""Moving a virtual clock under client calls and nodes that wait on it.

The client reads a wrong readback again once the readback lag has passed, on its
clock. A service's engine moves a virtual clock when its runs wait on it; a test
that calls the client directly does it with ``drive``, or ``settle_with`` for
tasks that run alongside (the watchdog keeper).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from flowengine.clock import VirtualClock

T = TypeVar("T")


async def drive(clock: VirtualClock, call: Awaitable[T]) -> T:
    """``call``'s result; whenever it waits on ``clock``, time moves to the next deadline."""
    task = asyncio.ensure_future(call)
    while not task.done():
        if task in clock.sleeping_tasks:
            deadline = clock.next_deadline()
            assert deadline is not None
            await clock.run_until(deadline)
            continue
        watcher = clock.next_sleeper()  # real I/O until it sleeps on the clock or ends
        either: set[asyncio.Future[Any]] = {task, watcher}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
    return task.result()


def settle_with(clock: VirtualClock, tasks: set[asyncio.Task[Any]]) -> None:
    """After each wake-up ``clock`` waits until every task in ``tasks`` (it may grow) is
    done or waiting on it again, as a service's engine does for its runs: a refresh's
    real Modbus round trip ends before time moves on."""

    async def settled() -> None:
        while busy := [t for t in tasks if not t.done() and t not in clock.sleeping_tasks]:
            watcher = clock.next_sleeper()
            try:
                await asyncio.wait({*busy, watcher}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                watcher.cancel()

    clock.settle_hook = settled
