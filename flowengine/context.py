"""The context store: how flows share state, persisted so a restart resumes.

Keys live in a scope: ``global`` or one flow's own. Values must be JSON. Each
``set`` is written through to SQLite (WAL) at once, so nothing set before a
power cut is lost; a change of value notifies listeners (the context trigger).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from flowengine import jsondata
from flowengine.clock import Clock

GLOBAL = "global"

Listener = Callable[[str, str, Any, Any], None]  # scope, key, new, old
_Watch = tuple[Listener, str | None, str | None]  # the listener, its scope and key (None: any)


@dataclass(frozen=True, slots=True)
class ContextRef:
    """A context key as flow files name it: ``global.override.until`` is the global key
    ``override`` and, inside its value, ``until``; ``flow.count`` is a flow's own key.

    Triggers, validation and flow tests all read key names through ``parse``, so a
    name means the same everywhere and a bad one is refused in the same words."""

    root: Literal["global", "flow"]
    key: str
    #: Where inside the key's value: mapping keys or list indices (``slots.0.mode``).
    path: tuple[str, ...] = ()

    @classmethod
    def parse(cls, name: str) -> ContextRef:
        """``global.<key>`` or ``flow.<key>``, then any fields inside it after dots."""
        root, _, rest = name.partition(".")
        key, *path = rest.split(".")
        if root not in ("global", "flow") or not key or not all(path):
            raise ValueError(
                f"'{name}' is not a context key: write global.<key> or flow.<key>, "
                "and any field inside it after a dot (global.override.until)"
            )
        return cls("global" if root == "global" else "flow", key, tuple(path))

    def scope(self, flow_id: str) -> str:
        """The store's scope for it, as seen from flow ``flow_id``."""
        return GLOBAL if self.root == "global" else flow_scope(flow_id)


def flow_scope(flow_id: str) -> str:
    """The store's scope of a flow's own keys (``flow.x`` in that flow's files)."""
    return f"flow:{flow_id}"


class ContextStore:
    def __init__(self, db: sqlite3.Connection, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        #: Decoded values, filled on first ``peek`` (most values set are never peeked,
        #: and decoding a 30 kB plan on every set is a cost worth skipping).
        self._values: dict[tuple[str, str], Any] = {}
        self._encoded: dict[tuple[str, str], str] = {}
        self._watches: list[_Watch] = []
        for scope, key, value in db.execute("SELECT scope, key, value FROM context"):
            self._encoded[(scope, key)] = value

    def get(self, scope: str, key: str, default: Any = None) -> Any:
        """A fresh copy of the value, so a caller's edits never leak into the store."""
        encoded = self._encoded.get((scope, key))
        return default if encoded is None else jsondata.loads(encoded)

    def peek(self, scope: str, key: str, default: Any = None) -> Any:
        """The stored value itself, not a copy: for hot readers that only read.

        Changing what it returns would change the store behind its back (and not on
        disk), so a caller that edits must use ``get``.
        """
        slot = (scope, key)
        if slot in self._values:
            return self._values[slot]
        encoded = self._encoded.get(slot)
        if encoded is None:
            return default
        value = self._values[slot] = jsondata.loads(encoded)
        return value

    def set(self, scope: str, key: str, value: Any) -> None:
        try:
            encoded = jsondata.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"context key '{key}' must hold JSON data: {exc}") from None
        slot = (scope, key)
        old_encoded = self._encoded.get(slot)
        if old_encoded == encoded:
            return
        watching = [w for w, s, k in self._watches if s in (None, scope) and k in (None, key)]
        old = self.peek(scope, key) if watching else None
        self._db.execute(
            "INSERT INTO context (scope, key, value, updated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, "
            "updated = excluded.updated",
            (scope, key, encoded, self._clock.time()),
        )
        self._values.pop(slot, None)
        self._encoded[slot] = encoded
        for listener in watching:
            listener(scope, key, value, old)

    def keys(self, scope: str) -> list[str]:
        return sorted(k for s, k in self._encoded if s == scope)

    def scope(self, scope: str) -> Scope:
        return Scope(self, scope)

    def listen(
        self, listener: Listener, scope: str | None = None, key: str | None = None
    ) -> Callable[[], None]:
        """Call ``listener`` on each change (of ``scope``/``key`` only, when given)."""
        watch = (listener, scope, key)
        self._watches.append(watch)
        return lambda: self._watches.remove(watch)


class Scope:
    """One scope of the store, as a node sees it (``ctx.flow`` / ``ctx.globals``)."""

    __slots__ = ("_name", "_store")

    def __init__(self, store: ContextStore, name: str) -> None:
        self._store = store
        self._name = name

    def get(self, key: str, default: Any = None) -> Any:
        return self._store.get(self._name, key, default)

    def peek(self, key: str, default: Any = None) -> Any:
        """Read-only: the stored value itself (see ``ContextStore.peek``)."""
        return self._store.peek(self._name, key, default)

    def set(self, key: str, value: Any) -> None:
        self._store.set(self._name, key, value)

    def keys(self) -> list[str]:
        return self._store.keys(self._name)
