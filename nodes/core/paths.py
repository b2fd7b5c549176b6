"""Where a value lives, as flow files name it: ``payload.car.soc``, ``topic``,
``flow.last_price``, ``global.override.until``.

``core.change``, ``core.context_get`` and ``core.context_set`` read and write
through these, so every node names places the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowengine import MISSING, dig
from flowengine.message import Message
from flowengine.node import NodeContext

ROOTS = ("payload", "topic", "flow", "global")
#: JSON Schema of a place: payload or payload.<field>..., topic, flow.<key>..., global.<key>...
PLACE: dict[str, Any] = {
    "type": "string",
    "pattern": r"^(payload(\.[^.\s]+)*|topic|(flow|global)(\.[^.\s]+)+)$",
    "description": "payload, payload.<field>, topic, flow.<key> or global.<key> "
    "(deeper fields with dots: global.telemetry.soc)",
}


@dataclass(frozen=True)
class Place:
    root: str  # payload | topic | flow | global
    parts: tuple[str, ...]  # the context key first for flow/global, then fields

    @classmethod
    def parse(cls, text: str) -> Place:
        root, *parts = text.split(".")
        if (
            root not in ROOTS
            or (root in ("flow", "global") and not parts)
            or (root == "topic" and parts)
        ):
            raise ValueError(f"'{text}' is not a place: write {PLACE['description']}")
        return cls(root, tuple(parts))

    def __str__(self) -> str:
        return ".".join((self.root, *self.parts))

    def get(self, msg: Message, ctx: NodeContext, default: Any = None) -> Any:
        if self.root == "topic":
            return msg.topic
        if self.root == "payload":
            return _dig(msg.payload, self.parts, default)
        scope = ctx.globals if self.root == "global" else ctx.flow
        missing = object()
        stored = scope.get(self.parts[0], missing)
        if stored is missing:
            return default
        return _dig(stored, self.parts[1:], default)

    def set(self, msg: Message, ctx: NodeContext, value: Any) -> None:
        if self.root == "topic":
            msg.topic = "" if value is None else str(value)
        elif self.root == "payload":
            msg.payload = _put(msg.payload, self.parts, value)
        else:
            scope = ctx.globals if self.root == "global" else ctx.flow
            key, fields = self.parts[0], self.parts[1:]
            scope.set(key, _put(scope.get(key), fields, value) if fields else value)

    def delete(self, msg: Message, ctx: NodeContext) -> None:
        if self.root == "topic":
            msg.topic = ""
        elif self.root == "payload":
            if not self.parts:
                msg.payload = None
            else:
                _remove(msg.payload, self.parts)
        else:
            scope = ctx.globals if self.root == "global" else ctx.flow
            key, fields = self.parts[0], self.parts[1:]
            if not fields:
                scope.set(key, None)
            else:
                value = scope.get(key)
                _remove(value, fields)
                scope.set(key, value)


def _dig(value: Any, parts: tuple[str, ...], default: Any) -> Any:
    found = dig(value, parts)
    return default if found is MISSING else found


def _put(container: Any, parts: tuple[str, ...], value: Any) -> Any:
    """``container`` with ``value`` at ``parts``; mappings are made where none are."""
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    out = container if isinstance(container, dict) else {}
    out[head] = _put(out.get(head), rest, value)
    return out


def _remove(container: Any, parts: tuple[str, ...]) -> None:
    parent = _dig(container, parts[:-1], None)
    if isinstance(parent, dict):
        parent.pop(parts[-1], None)
