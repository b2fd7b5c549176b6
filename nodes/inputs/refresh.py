"""The input node: fetch from a provider when due, keep the last good data, track its age.

One class serves every provider. ``inputs.prices`` (and ``inputs.pv``,
``inputs.weather``, ``inputs.storm``) use the provider the site config names
under ``sources:``; ``amber.prices``, ``solcast.pv`` and friends are the same
node pinned to one provider, for flows of your own.

Whatever a provider does (times out, rate-limits, returns garbage), the node
never passes on anything that did not validate: a failed fetch or an invalid
payload goes out of the ``problem`` port (and into the trace), and ``out``
carries the last good reading, older but sound. Its age is tracked in
``global.input_health`` (shared by every node of the same input, so a provider
is asked once however many flows read it); past ``inputs.stale_after.<kind>``
it is stale.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine import MASK
from flowengine.durations import parse_duration
from flowengine.message import Message
from flowengine.node import KeyUse, Node, NodeContext
from flowengine.schema import DURATION
from flowengine.secrets import MissingSecret, is_secret, reveal
from nodes.inputs.fetch import FetchError
from nodes.inputs.provider import InvalidPayload, Provider
from nodes.inputs.reading import Reading
from nodes.inputs.registry import providers
from nodes.inputs.store import InputStore

HEALTH_KEY = "input_health"
#: After a failed try, the next waits this long at most (or the provider's period).
RETRY_GAP_S = 300.0
#: Default age past which each kind of input is stale (prices: a replay or a half-hourly
#: tariff refreshes once a slot, so 15 minutes would call them stale half the time).
STALE_AFTER: dict[str, str] = {
    "prices": "45m",
    "pv": "8h",
    "weather": "6h",
    "storm": "1h",
    "usage": "3d",
}


class _MemoryCalls:
    """Call counting when no database is wired (tests, one-off flows)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def log_call(self, provider: str, at: float, ok: bool, status: int | None, error: str) -> None:
        self.calls.append((provider, at))

    def calls_since(self, provider: str, since: float) -> int:
        return sum(1 for name, at in self.calls if name == provider and at >= since)


#: A reading as the input nodes give it (nodes/inputs/reading.py's Reading.as_dict).
READING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"type": "string"},
        "provider": {"type": "string"},
        "issued_at": {"type": "number", "description": "epoch seconds the provider issued it"},
        "fetched_at": {"type": "number", "description": "epoch seconds we fetched it"},
        "data": {"type": "object", "description": "docs/inputs.md: the shape of each kind"},
    },
    "required": ["kind", "provider", "issued_at", "fetched_at", "data"],
}


class InputNode(Node):
    """Base of the input node types; subclasses set ``kind`` (and maybe ``provider``)."""

    kind: ClassVar[str] = ""
    #: Set on provider-specific node types; None means "as sources.<kind> says".
    provider_type: ClassVar[type[Provider] | None] = None
    takes = "any message (a trigger)"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = the reading in force {kind, provider, issued_at, fetched_at, data}",
        "new": "the same, only when this run fetched a new reading (for work worth doing "
        "once per reading, such as spike checks)",
        "problem": "payload {kind, provider, error, kept}: a fetch failed or its payload was "
        "invalid (out still carries the last good reading)",
    }

    gives_schema: ClassVar[dict[str, dict[str, Any]]] = {
        "out": {"anyOf": [READING_SCHEMA, {"type": "null"}]},  # none before the first reading
        "new": READING_SCHEMA,
        "problem": {
            "type": "object",
            "properties": {
                "kind": {"type": "string"},
                "provider": {"type": "string"},
                "error": {"type": "string"},
                "kept": {"description": "whether a last good reading is still in force"},
            },
            "required": ["kind", "provider", "error"],
        },
    }

    @classmethod
    def key_uses(cls, config: Mapping[str, Any]) -> tuple[list[KeyUse], list[KeyUse]]:
        """It writes its reading (global.<kind>, or ``key``) and each input's health."""
        named = config.get("key")
        reading = KeyUse(f"global.{named}", ("key",)) if named else KeyUse(f"global.{cls.kind}")
        return [], [reading, KeyUse(f"global.{HEALTH_KEY}")]

    @classmethod
    def schema_for(cls, kind: str, source: bool) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "http": {"type": "string", "x-connection": "core.http"},
            "database": {"type": "string", "x-connection": "core.sqlite"},
            "key": {"type": "string", "description": f"global key (default: {kind})"},
            "every": {**DURATION, "description": "fetch at most this often (provider default)"},
        }
        if source:
            properties["source"] = {
                "type": "string",
                "description": f"provider name (default: the site config's sources.{kind})",
            }
        return {"type": "object", "properties": properties, "additionalProperties": False}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self.provider: Provider | None = None
        self.last: Reading | None = None
        self.store: InputStore | None = None
        self.calls: InputStore | _MemoryCalls = _MemoryCalls()
        self.blocked_until = 0.0
        self.attempted_at = 0.0
        self.failures = 0
        self.last_error: str | None = None

    @property
    def key(self) -> str:
        return str(self.config.get("key", self.kind))

    async def start(self) -> None:
        self.provider = self._make_provider()
        if self.config.get("database"):
            self.store = InputStore(self.ctx.connection(self.config["database"]).db)
            self.calls = self.store
        if self.provider is None:
            return
        if self.store is not None:  # a restart starts from the last good data, no call spent
            self.last = self.store.latest(self.kind, self.provider.name)
        if self.last is None:
            kept = self.ctx.globals.get(self.key)
            if isinstance(kept, Mapping) and kept.get("provider") == self.provider.name:
                self.last = Reading.from_dict(dict(kept))

    def _make_provider(self) -> Provider | None:
        cls = self.provider_type
        if cls is None:
            sources = self.ctx.settings.get("sources") or {}
            name = self.config.get("source") or sources.get(self.kind)
            if not name or name == "none":
                return None
            known = providers(self.kind)
            if name not in known:
                raise ValueError(
                    f"sources.{self.kind}: no provider {name!r} (known: {', '.join(sorted(known))})"
                )
            cls = known[name]
        provider = cls(self.ctx.settings, self.ctx.clock)
        if "every" in self.config:
            provider.section = {**provider.section, "every": self.config["every"]}
        provider.connect(self.ctx)
        return provider

    async def process(self, msg: Message) -> dict[str, Message | None]:
        provider = self.provider
        if provider is None:
            self.ctx.status(f"off (sources.{self.kind} is none)", "idle")
            msg.payload = None
            return {"out": msg}
        now = self.ctx.clock.time()
        self._catch_up(provider)
        problem: dict[str, Any] | None = None
        fresh = False
        if self._may_try(provider, now) and provider.due(now, self.last, self.calls):
            self.attempted_at = now
            problem = await self._refresh(provider, now)
            fresh = problem is None
            self._report_health(provider)
        out = msg.copy() if problem else msg
        out.payload = self.last.as_dict() if self.last else None
        if problem is not None:
            msg.payload = problem
        return {
            "out": out,
            "new": out if fresh else None,  # the engine copies it if both ports are wired
            "problem": msg if problem is not None else None,
        }

    def _catch_up(self, provider: Provider) -> None:
        """Take what other nodes of this input (other flows) fetched or learnt meanwhile,
        so a provider is asked once however many flows read it."""
        shared = (self.ctx.globals.peek(HEALTH_KEY) or {}).get(self.kind) or {}  # read only
        if shared.get("provider") != provider.name:
            return
        self.blocked_until = max(self.blocked_until, float(shared.get("blocked_until") or 0))
        self.attempted_at = max(self.attempted_at, float(shared.get("attempted_at") or 0))
        fetched = shared.get("fetched_at")
        if fetched is not None and (self.last is None or fetched > self.last.fetched_at):
            kept = self.ctx.globals.peek(self.key)  # a reading is never changed once made
            if isinstance(kept, Mapping) and kept.get("provider") == provider.name:
                self.last = Reading.from_dict(dict(kept))

    def _may_try(self, provider: Provider, now: float) -> bool:
        """Not while rate-limited, and not again within a fetch period of a failed try."""
        if now < self.blocked_until:
            return False
        failed_since = self.last is None or self.attempted_at > self.last.fetched_at
        return not (failed_since and now - self.attempted_at < min(provider.every_s, RETRY_GAP_S))

    async def _refresh(self, provider: Provider, now: float) -> dict[str, Any] | None:
        http = None
        if provider.needs_http:
            http = self.ctx.connection(self.config.get("http", "web")).session
        status: int | None = None
        started = time.perf_counter()
        try:
            raw = await provider.fetch(http, now)
            provider.check(raw)
            issued_at, data = provider.parse(raw, now)
        except (FetchError, InvalidPayload) as exc:
            if isinstance(exc, FetchError):
                status = exc.status
                if exc.retry_at is not None:
                    self.blocked_until = exc.retry_at
            return self._failed(provider, now, str(exc), status)
        except (KeyError, TypeError, ValueError) as exc:  # a parse that met the unexpected
            return self._failed(provider, now, f"{provider.name} payload: {exc!r}", status)
        fetched_at = self.ctx.clock.time()
        reading = Reading(self.kind, provider.name, issued_at, fetched_at, data)
        if provider.needs_http or provider.keep_history:  # a call worth counting
            self.calls.log_call(provider.name, now, True, 200, "")
        if self.store is not None and provider.keep_history:
            self.store.save(reading)
        self.last, self.failures, self.last_error = reading, 0, None
        self.ctx.globals.set(self.key, reading.as_dict())
        ms = (time.perf_counter() - started) * 1000
        self.ctx.status(f"{provider.name}: new data ({ms:.0f} ms)")
        return None

    def _failed(
        self, provider: Provider, now: float, error: str, status: int | None
    ) -> dict[str, Any]:
        error = _scrub(error, provider.section)
        self.calls.log_call(provider.name, now, False, status, error)
        self.failures += 1
        self.last_error = error
        kept = self.last.issued_at if self.last else None
        self.ctx.log.warning(
            "%s %s: %s (keeping the last good data)", self.kind, provider.name, error
        )
        self.ctx.status(f"{provider.name}: {error}"[:120], "error")
        return {"kind": self.kind, "provider": provider.name, "error": error, "kept": kept}

    def _report_health(self, provider: Provider) -> None:
        """What every node of this input shares (and the health checks read): when it was
        last fetched and tried, what went wrong, when it goes stale."""
        limits = {**STALE_AFTER, **(self.ctx.settings.get("inputs", {}).get("stale_after") or {})}
        health = dict(self.ctx.globals.get(HEALTH_KEY) or {})
        health[self.kind] = {
            "provider": provider.name,
            "issued_at": self.last.issued_at if self.last else None,
            "fetched_at": self.last.fetched_at if self.last else None,
            "attempted_at": self.attempted_at or None,
            "stale_after_s": parse_duration(limits.get(self.kind, "1h")),
            "failures": self.failures,
            "last_error": self.last_error,
            "blocked_until": self.blocked_until or None,
        }
        self.ctx.globals.set(HEALTH_KEY, health)


def input_status(entry: Mapping[str, Any], now: float) -> dict[str, Any]:
    """One input's health now: its provider, age, whether it is stale, the last error, and
    while the provider has asked us to wait (a 429), the moment before which no call is made."""
    fetched = entry.get("fetched_at")
    age = None if fetched is None else round(now - float(fetched), 1)
    blocked = entry.get("blocked_until")
    return {
        "provider": entry.get("provider"),
        "age_s": age,
        "stale": age is None or age > float(entry.get("stale_after_s") or 0),
        "failures": entry.get("failures", 0),
        "last_error": entry.get("last_error"),
        "retry_at": float(blocked) if blocked is not None and float(blocked) > now else None,
    }


def _scrub(text: str, section: Mapping[str, Any]) -> str:
    """``text`` with any secret of the provider's section masked (a server may echo a key)."""
    for value in section.values():
        if is_secret(value):
            try:
                secret = reveal(value)
            except MissingSecret:
                continue
            if secret:
                text = text.replace(secret, MASK)
    return text


def kind_node(kind: str, description: str) -> type[InputNode]:
    """The ``inputs.<kind>`` node type: the provider named by ``sources.<kind>``."""
    return type(
        f"Inputs{kind.title()}",
        (InputNode,),
        {
            "kind": kind,
            "type_name": f"inputs.{kind}",
            "description": description,
            "config_schema": InputNode.schema_for(kind, source=True),
        },
    )


def provider_node(provider: type[Provider]) -> type[InputNode]:
    """The ``<provider>.<kind>`` node type: always this provider."""
    return type(
        f"{provider.__name__}Node",
        (InputNode,),
        {
            "kind": provider.kind,
            "provider_type": provider,
            "type_name": provider.node_type or f"{provider.name}.{provider.kind}",
            "description": provider.description,
            "config_schema": InputNode.schema_for(provider.kind, source=False),
        },
    )
