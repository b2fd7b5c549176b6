"""``core.split`` and ``core.join``: one message per item of a list, and back.

A split message carries ``meta.parts`` (the split's id, its index and the count);
``core.join`` gathers the parts of one split, in order, and sends the list on once
all have arrived (or ``count`` messages, when they did not come from a split)."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from flowengine.expressions import Expression, scope_for
from flowengine.message import Message
from flowengine.node import Node, NodeContext, Output
from flowengine.schema import EXPRESSION

MAX_PARTS = 10_000
#: Splits waiting for parts that may never come (a switch dropped some): the oldest go.
MAX_PENDING = 100


class Split(Node):
    type_name = "core.split"
    description = "Sends one message per item of a list (or per key of a mapping)."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "property": {**EXPRESSION, "default": "payload", "description": "the list to split"},
        },
        "additionalProperties": False,
    }
    takes = "a list, or a mapping (each part is then {key, value})"
    gives: ClassVar[dict[str, str]] = {
        "out": "a message per item: payload = the item; meta.parts = {id, index, count}"
    }

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._property = Expression(self.config["property"])
        self._splits = 0

    def process(self, msg: Message) -> Output:
        value = self._property.evaluate(scope_for(self.ctx, msg))
        if isinstance(value, dict):
            items: list[Any] = [{"key": k, "value": v} for k, v in value.items()]
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            raise ValueError(f"{self._property.source} is {type(value).__name__}, not a list")
        if len(items) > MAX_PARTS:
            raise ValueError(f"{len(items)} parts: at most {MAX_PARTS:,} at a time")
        self._splits += 1
        split_id = f"{self.ctx.node_id}:{msg.run_id}:{self._splits}"
        parts = []
        outer = msg.meta.get("parts")  # a split inside a split: its join gives it back
        for index, item in enumerate(items):
            part = msg.derive(copy.deepcopy(item))  # never the stored context's own object
            part.meta = {
                **msg.meta,
                "parts": {"id": split_id, "index": index, "count": len(items), "outer": outer},
            }
            parts.append(part)
        self.ctx.status(f"{len(items)} parts")
        return {"out": parts}


class Join(Node):
    type_name = "core.join"
    description = "Gathers the parts of a split (or every `count` messages) into one list."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "count": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PARTS,
                "description": "without a split: send a list every this many messages",
            },
        },
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "payload = the list of the parts' payloads"}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._waiting: dict[str, dict[int, Any]] = {}
        self._loose: list[Any] = []

    def process(self, msg: Message) -> Message | None:
        parts = msg.meta.get("parts")
        if not isinstance(parts, dict):
            count = int(self.config.get("count", 0))
            if not count:
                raise ValueError("this message is not from a core.split; set 'count' to join")
            self._loose.append(msg.payload)
            if len(self._loose) < count:
                self.ctx.status(f"{len(self._loose)}/{count}", "busy")
                return None
            joined, self._loose = self._loose, []
            return self._send(msg, joined)
        if parts["id"] not in self._waiting and len(self._waiting) >= MAX_PENDING:
            del self._waiting[next(iter(self._waiting))]
        got = self._waiting.setdefault(parts["id"], {})
        got[int(parts["index"])] = msg.payload
        if len(got) < int(parts["count"]):
            self.ctx.status(f"{len(got)}/{parts['count']}", "busy")
            return None
        del self._waiting[parts["id"]]
        msg.meta = {k: v for k, v in msg.meta.items() if k != "parts"}
        if parts.get("outer"):
            msg.meta["parts"] = parts["outer"]
        return self._send(msg, [got[i] for i in sorted(got)])

    def _send(self, msg: Message, joined: list[Any]) -> Message:
        self.ctx.status(f"joined {len(joined)}")
        msg.payload = joined
        return msg
