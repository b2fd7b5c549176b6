"""What starts runs: intervals, cron schedules, start-up, context changes, a time held
in the context.

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

from flowengine.context import ContextRef
from flowengine.dotted import MISSING, dig
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

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """What the schema cannot say is wrong with ``options``: (path, message) pairs."""
        return []

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
    """A context key changes; or, with ``above``/``below``, its number enters that range.

    The range form is Home Assistant's ``numeric_state``: it fires when the value
    (``field`` picks one inside the key's value) goes from outside the range to inside,
    and with ``for`` only once it has stayed inside that long on the engine's clock,
    carrying the value at that moment (``old``: the value before it entered).
    A value that is not a number is outside. A key already inside at start-up fires
    nothing until it has left and come back."""

    _unlisten: Callable[[], None] | None = None
    _timer: asyncio.Task[None] | None = None
    _inside = False

    @property
    def label(self) -> str:
        options = self.spec.options
        text = f"context {options['key']}" + (f".{options['field']}" if "field" in options else "")
        if "above" in options:
            text += f" above {options['above']:g}"
        if "below" in options:
            text += f" below {options['below']:g}"
        if "for" in options:
            text += f" for {options['for']:g}s"
        return text

    @property
    def _ranged(self) -> bool:
        return "above" in self.spec.options or "below" in self.spec.options

    async def start(self) -> None:
        ref = ContextRef.parse(self.spec.options["key"])
        scope, key = ref.scope(self.flow.id), ref.key
        store = self.flow.engine.context
        self._inside = self._ranged and self._in_range(self._pick(store.peek(scope, key)))

        def changed(changed_scope: str, changed_key: str, new: Any, old: Any) -> None:
            if changed_scope != scope or changed_key != key:
                return
            value, before = self._pick(new), self._pick(old)
            if not self._ranged:
                if not self._field or value != before:
                    self.fire(self._event(value, before))
                return
            inside = self._in_range(value)
            if inside and not self._inside:
                self._entered(value, before, lambda: self._pick(store.peek(scope, key)))
            elif not inside and self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._inside = inside

        self._unlisten = store.listen(changed, scope, key)

    def _entered(self, value: Any, before: Any, current: Callable[[], Any]) -> None:
        """Fire now, or once ``for`` has passed inside the range: with the value then
        (``current``), and as ``old`` the value before it entered."""
        wait = self.spec.options.get("for")
        if not wait:
            self.fire(self._event(value, before))
            return

        async def hold() -> None:
            await self.flow.engine.clock.sleep(float(wait))
            self._timer = None
            self.fire(self._event(current(), before))

        self._timer = asyncio.create_task(hold(), name=f"trigger:{self.flow.id}:{self.label}")

    def _event(self, value: Any, before: Any) -> dict[str, Any]:
        return {"key": self.spec.options["key"], "value": value, "old": before}

    def _pick(self, value: Any) -> Any:
        found = dig(value, self._field)
        return None if found is MISSING else found

    @property
    def _field(self) -> tuple[str, ...]:
        parts = ContextRef.parse(self.spec.options["key"]).path
        if "field" in self.spec.options:
            parts += tuple(self.spec.options["field"].split("."))
        return parts

    def _in_range(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return False
        above, below = self.spec.options.get("above"), self.spec.options.get("below")
        return (above is None or value > above) and (below is None or value < below)

    async def stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class AtTrigger(Trigger):
    """At the time held in a context key (epoch seconds, e.g. ``global.override.until``):
    fires once when the engine's clock reaches it, armed again whenever the key changes.

    A timer in the flow rather than in whoever set the key: a flow that must act the
    moment something set elsewhere runs out (an override, a hold) says so itself, and
    a restart or reload re-arms it from the stored value. A time not after now when
    armed has passed, so it fires nothing; neither does a value that is not a number."""

    _unlisten: Callable[[], None] | None = None
    _timer: asyncio.Task[None] | None = None

    @property
    def label(self) -> str:
        return f"at {self.spec.options['key']}"

    async def start(self) -> None:
        ref = ContextRef.parse(self.spec.options["key"])
        scope, key, fields = ref.scope(self.flow.id), ref.key, ref.path
        store = self.flow.engine.context
        self._arm(dig(store.peek(scope, key), fields))

        def changed(changed_scope: str, changed_key: str, new: Any, old: Any) -> None:
            if changed_scope == scope and changed_key == key:
                self._arm(dig(new, fields))

        self._unlisten = store.listen(changed, scope, key)

    def _arm(self, at: Any) -> None:
        """Wait for ``at`` instead of whatever was waited for (nothing if it is not a
        time still to come)."""
        self._disarm()
        clock = self.flow.engine.clock
        if isinstance(at, bool) or not isinstance(at, int | float) or not at > clock.time():
            return

        async def wait() -> None:
            await clock.sleep_until(float(at))
            self._timer = None
            self.fire({"key": self.spec.options["key"], "at": at})

        self._timer = asyncio.create_task(wait(), name=f"trigger:{self.flow.id}:{self.label}")

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self._disarm()


class WebhookTrigger(Trigger):
    """A POST to ``/api/webhook/<webhook_id>`` starts a run (Home Assistant's webhook).

    The id is the only key, as in Home Assistant: make it long and random (or
    ``!env``). The run's payload is the request's JSON body (or its text), its
    topic ``webhook/<webhook_id>``."""

    @property
    def label(self) -> str:
        return "webhook"

    async def start(self) -> None:
        hooks = self.flow.engine.webhooks
        hook_id = str(self.spec.options["webhook_id"])
        if hook_id in hooks and hooks[hook_id] is not self:
            raise ValueError(f"webhook id {hook_id!r} is already used by flow {hooks[hook_id]}")
        hooks[hook_id] = self

    async def stop(self) -> None:
        hooks = self.flow.engine.webhooks
        hook_id = str(self.spec.options["webhook_id"])
        if hooks.get(hook_id) is self:
            del hooks[hook_id]

    def receive(self, payload: Any) -> str | None:
        """Start a run with ``payload``; its run id, or None when the run mode drops it."""
        handle = self.flow.trigger(
            payload if payload is not None else self.spec.payload,
            source="webhook",
            to=self.spec.to or None,
            topic=f"webhook/{self.spec.options['webhook_id']}",
        )
        return handle.run_id if handle is not None else None

    def __str__(self) -> str:
        return self.flow.id


TRIGGER_TYPES: dict[str, type[Trigger]] = {
    "interval": IntervalTrigger,
    "cron": CronTrigger,
    "start": StartTrigger,
    "context": ContextTrigger,
    "at": AtTrigger,
    "webhook": WebhookTrigger,
}


def _next_multiple(now: float, every: float) -> float:
    return (math.floor(now / every) + 1) * every
