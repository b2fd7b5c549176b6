"""The names an expression in a node sees, made only when used: the message, the context
(read-only), ``now`` in the site's zone, the settings and the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

ENV_PREFIX = "POWER_MASTER_"


class ContextView(Mapping[str, Any]):
    """One context scope, read-only: ``global.telemetry.soc``; a missing key is undefined."""

    __slots__ = ("_scope", "label")

    def __init__(self, scope: Any, label: str = "global") -> None:
        self._scope = scope
        self.label = label  # not reachable from an expression: names after a dot are keys

    def __getitem__(self, key: str) -> Any:
        missing = object()
        value = self._scope.peek(key, missing)
        if value is missing:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._scope.keys())

    def __len__(self) -> int:
        return len(self._scope.keys())


def environment_view() -> dict[str, str]:
    return {k[len(ENV_PREFIX) :]: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}


class Scope(Mapping[str, Any]):
    """The names an expression in a node sees, each made only when one is used: the
    message, the context, ``now`` in the site's zone, the settings, the environment."""

    NAMES = ("payload", "topic", "msg", "flow", "global", "now", "settings", "env")
    __slots__ = ("_ctx", "_made", "_msg")

    def __init__(self, ctx: Any, msg: Any = None, extra: Mapping[str, Any] | None = None):
        self._ctx = ctx
        self._msg = msg
        self._made: dict[str, Any] = dict(extra or {})

    def __getitem__(self, name: str) -> Any:
        made = self._made
        if name in made:
            return made[name]
        if name not in self.NAMES:
            raise KeyError(name)
        value = made[name] = self._make(name)
        return value

    def _make(self, name: str) -> Any:
        ctx, msg = self._ctx, self._msg
        if name == "payload":
            return getattr(msg, "payload", None)
        if name == "topic":
            return getattr(msg, "topic", "")
        if name == "msg":
            return {"payload": self["payload"], "topic": self["topic"]}
        if name in ("flow", "global"):
            return ContextView(ctx.flow if name == "flow" else ctx.globals, name)
        if name == "now":
            zone = ZoneInfo(getattr(ctx, "timezone", None) or "UTC")
            return datetime.fromtimestamp(ctx.clock.time(), zone)
        if name == "settings":
            return ctx.settings
        return environment_view()

    def __contains__(self, name: object) -> bool:
        return name in self._made or name in self.NAMES

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.NAMES, *self._made]))

    def __len__(self) -> int:
        return len(list(iter(self)))


def scope_for(ctx: Any, msg: Any = None, **extra: Any) -> Scope:
    """The names an expression in a node sees (made as they are used)."""
    return Scope(ctx, msg, extra)
