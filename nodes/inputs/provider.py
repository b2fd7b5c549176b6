"""What every data provider (Amber, Solcast, Open-Meteo, BOM, a tariff, a replay) is.

A provider knows three things: when a fetch is worth making (``due``), how to
get the raw payload (``fetch``), and how to turn a payload that passed its JSON
Schema into Power Master's own shape (``parse``). Everything else, retries,
storage, keeping the last good data, ages, is the input node's job
(``nodes.inputs.refresh``), so it is done once and the same way for all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import aiohttp
import jsonschema

from flowengine import NodeContext
from flowengine.clock import Clock
from flowengine.durations import parse_duration
from nodes.inputs.fetch import RetryPolicy
from nodes.inputs.reading import Reading


class InvalidPayload(ValueError):
    """A payload that cannot be used; the message says what is wrong and where."""


class CallLog(Protocol):
    """How many calls a provider made since a moment (persisted across restarts)."""

    def calls_since(self, provider: str, since: float) -> int: ...


class Provider:
    """Base class: subclasses set the class attributes and implement fetch and parse."""

    kind: ClassVar[str] = ""  # one of nodes.inputs.reading.KINDS
    name: ClassVar[str] = ""  # "amber", "solcast", ...
    description: ClassVar[str] = ""
    #: Its own node type's name (default "<name>.<kind>", e.g. "amber.prices").
    node_type: ClassVar[str] = ""
    #: The site config section with this provider's settings ("" for none).
    settings_key: ClassVar[str] = ""
    #: JSON Schema the raw payload must pass before ``parse`` sees it (None: no check).
    payload_schema: ClassVar[dict[str, Any] | None] = None
    #: Whether ``fetch`` needs the shared HTTP session.
    needs_http: ClassVar[bool] = True
    #: Whether readings are kept in the database (forecast accuracy, restarts).
    keep_history: ClassVar[bool] = True
    #: Default seconds between fetches (``every`` in the provider's section overrides it).
    default_every_s: ClassVar[float] = 300.0

    def __init__(self, settings: Mapping[str, Any], clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        section = settings.get(self.settings_key) if self.settings_key else None
        self.section: Mapping[str, Any] = section if isinstance(section, Mapping) else {}

    def connect(self, ctx: NodeContext) -> None:
        """Take the shared connections it reads (``ctx.connection(id)``): called once by its
        input node as it starts, before any fetch. Most read none (the HTTP session comes
        with each ``fetch``); the replay of the simulated site's meter reads the meter the
        host provides."""

    @property
    def every_s(self) -> float:
        every = self.section.get("every")
        return parse_duration(every) if every is not None else self.default_every_s

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(timeout_s=float(self.section.get("timeout_s", 20.0)))

    def due(self, now: float, last: Reading | None, calls: CallLog) -> bool:
        """Whether to fetch now; by default when there is nothing or it is ``every`` old."""
        return last is None or now - last.fetched_at >= self.every_s

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> Any:
        """The raw payload (parsed JSON, XML text, ...); raise FetchError on failure."""
        raise NotImplementedError

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        """(issued_at, data in Power Master's shape); raise InvalidPayload when unusable."""
        raise NotImplementedError

    def check(self, raw: Any) -> None:
        """Raise InvalidPayload naming the first place ``raw`` breaks ``payload_schema``."""
        if self.payload_schema is None:
            return
        validator = jsonschema.Draft202012Validator(self.payload_schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(raw))
        if error is not None:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
            raise InvalidPayload(f"{self.name} payload{where or ' (top level)'}: {error.message}")
