"""Which messages pass: ``core.filter`` (only changes: Node-RED's report-by-exception)
and ``core.throttle`` (a rate limit, or a debounce), both on the engine's clock."""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine.durations import parse_duration
from flowengine.expressions import Expression, scope_for
from flowengine.message import Message
from flowengine.node import Node, NodeContext
from flowengine.schema import DURATION, EXPRESSION


class Filter(Node):
    type_name = "core.filter"
    description = "Passes a message only when its value changed (or moved past a deadband)."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "property": {**EXPRESSION, "default": "payload", "description": "the value watched"},
            "deadband": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "pass only when the number moved at least this far from the "
                "last one passed (default: any change)",
            },
            "per_topic": {
                "type": "boolean",
                "default": True,
                "description": "one last value per topic",
            },
        },
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the message, when its value changed"}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._property = Expression(self.config["property"])
        self._deadband = self.config.get("deadband")  # none: any change passes
        self._per_topic = self.config["per_topic"]
        self._last: dict[str, Any] = {}

    def process(self, msg: Message) -> Message | None:
        value = self._property.evaluate(scope_for(self.ctx, msg))
        key = msg.topic if self._per_topic else ""
        missing = object()
        last = self._last.get(key, missing)
        if last is not missing and not self._moved(last, value):
            self.ctx.status(f"unchanged: {_short(value)}", "idle")
            return None
        self._last[key] = copy.deepcopy(value)  # a later node may change the message
        self.ctx.status(f"passed: {_short(value)}")
        return msg

    def _moved(self, last: Any, value: Any) -> bool:
        if self._deadband is None:
            return bool(last != value)
        if not (_is_number(last) and _is_number(value)):
            return bool(last != value)
        return abs(float(value) - float(last)) >= float(self._deadband)


class Throttle(Node):
    type_name = "core.throttle"
    description = "Passes at most `rate` messages `per` period, or only the last of a burst."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "rate": {"type": "integer", "minimum": 1, "description": "messages let through"},
            "per": {**DURATION, "description": "in any period this long"},
            "debounce": {
                **DURATION,
                "description": "pass a message once this long has gone by with no newer one "
                "(needs the flow's mode: parallel, so later messages can arrive)",
            },
        },
        "oneOf": [{"required": ["rate", "per"]}, {"required": ["debounce"]}],
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the messages that pass"}

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        if "debounce" in config and ("rate" in config or "per" in config):
            return [((), "give either 'rate' and 'per' or 'debounce', not both")]
        return []

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._debounce = parse_duration(config["debounce"]) if "debounce" in config else None
        self._rate = int(config.get("rate", 1))
        self._per = parse_duration(config.get("per", 0))
        self._passed: deque[float] = deque()
        self._latest = 0
        self.dropped = 0

    async def process(self, msg: Message) -> Message | None:
        if self._debounce is not None:
            self._latest += 1
            mine = self._latest
            await self.ctx.clock.sleep(self._debounce)
            if mine != self._latest:
                self._drop("a newer message came")
                return None
            self.ctx.status("passed (settled)")
            return msg
        now = self.ctx.clock.time()
        while self._passed and self._passed[0] <= now - self._per:
            self._passed.popleft()
        if len(self._passed) >= self._rate:
            self._drop(f"over {self._rate} per {self._per:g} s")
            return None
        self._passed.append(now)
        self.ctx.status(f"passed ({len(self._passed)}/{self._rate})")
        return msg

    def _drop(self, why: str) -> None:
        self.dropped += 1
        self.ctx.status(f"dropped {self.dropped}: {why}", "idle")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:39] + "…"
