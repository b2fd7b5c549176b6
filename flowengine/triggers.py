"""What starts runs: intervals, cron schedules, start-up, context changes.

Every trigger waits on the engine's clock, so the same flow ticks every five
minutes in service, every second at ``--speed 300``, and instantly in tests.
(Any flow can also be started by hand through the engine's API.)
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from croniter import croniter

from flowengine.context import GLOBAL
from flowengine.spec import TriggerSpec

if TYPE_CHECKING:
    from flowengine.runtime import FlowRuntime


class Trigger:
    """Base class: ``start`` begins watching, ``stop`` ends it.

    A package adds a trigger type by listing a subclass among its ``NODE_TYPES``
    with ``type_name``, ``description`` and ``options`` (its keys as JSON Schema
    ``properties`` and ``required``), as ``mqtt`` does in ``nodes.mqtt``.
    """

    type_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    options: ClassVar[dict[str, Any]] = {"properties": {}, "required": []}

    def __init__(self, spec: TriggerSpec, flow: FlowRuntime) -> None:
        self.spec = spec
        self.flow = flow
        self._task: asyncio.Task[None] | None = None

    @property
    def label(self) -> str:
        return self.spec.type

    def fire(self, payload: Any = None, topic: str = "") -> None:
        self.flow.trigger(
            self.spec.payload if payload is None else payload,
            source=self.label,
            to=self.spec.to or None,
            topic=topic,
        )

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"trigger:{self.flow.id}:{self.label}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _loop(self) -> None:
        """Timer-driven triggers override this."""


class IntervalTrigger(Trigger):
    @property
    def label(self) -> str:
        return f"interval {self.spec.options['every']:g}s"

    async def _loop(self) -> None:
        clock = self.flow.engine.clock
        every = float(self.spec.options["every"])
        align = self.spec.options.get("align", True)
        next_at = _next_multiple(clock.time(), every) if align else clock.time() + every
        while True:
            await clock.sleep_until(next_at)
            self.fire()
            now = clock.time()
            next_at += every
            if next_at <= now:  # fell behind (machine asleep): skip, never burst
                next_at = _next_multiple(now, every) if align else now + every


class CronTrigger(Trigger):
    @property
    def label(self) -> str:
        return f"cron {self.spec.options['cron']}"

    async def _loop(self) -> None:
        clock = self.flow.engine.clock
        zone = ZoneInfo(self.spec.options.get("timezone") or self.flow.engine.timezone)
        expression = self.spec.options["cron"]
        schedule = croniter(expression, datetime.fromtimestamp(clock.time(), zone))
        while True:
            next_at = schedule.get_next(datetime).timestamp()
            if next_at <= clock.time():  # fell behind (machine asleep): skip, never burst
                schedule = croniter(expression, datetime.fromtimestamp(clock.time(), zone))
                continue
            await clock.sleep_until(next_at)
            self.fire()


class StartTrigger(Trigger):
    async def start(self) -> None:
        self.fire()


class ContextTrigger(Trigger):
    _unlisten: Callable[[], None] | None = None

    @property
    def label(self) -> str:
        return f"context {self.spec.options['key']}"

    async def start(self) -> None:
        scope_word, _, key = self.spec.options["key"].partition(".")
        scope = GLOBAL if scope_word == "global" else f"flow:{self.flow.id}"

        def changed(changed_scope: str, changed_key: str, new: Any, old: Any) -> None:
            if changed_scope == scope and changed_key == key:
                self.fire({"key": self.spec.options["key"], "value": new, "old": old})

        self._unlisten = self.flow.engine.context.listen(changed, scope, key)

    async def stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None


TRIGGER_TYPES: dict[str, type[Trigger]] = {
    "interval": IntervalTrigger,
    "cron": CronTrigger,
    "start": StartTrigger,
    "context": ContextTrigger,
}


def _next_multiple(now: float, every: float) -> float:
    return (math.floor(now / every) + 1) * every
