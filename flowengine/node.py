"""What a node type is, and what a node may reach while it runs.

A node is small and knows only its message (Node-RED's rule): it gets a
``Message`` in ``process`` and returns what goes out of which port. Everything
else it needs (time, context, shared connections, settings, status) comes
through its ``NodeContext``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from flowengine.message import Message

if TYPE_CHECKING:
    from flowengine.clock import Clock

#: What ``process`` may return: nothing, one message for the first port, or a
#: mapping of port name to a message or a list of messages.
Output = None | Message | Mapping[str, "Message | list[Message] | None"]

#: Every node has this port besides its declared outputs: a node that raises
#: sends the error there when it is wired, otherwise to the flow's error flow.
ERROR_PORT = "error"

STATUS_STATES = ("idle", "ok", "busy", "warn", "error")

#: The logger a flow's own log lines go to (``flowlog.<flow>.<node>``, the core.log node):
#: an application shows them at info even when it hides the engine's own info lines.
FLOW_LOG = "flowlog"


class ContextScope(Protocol):
    """One scope (a flow's own keys, or the global keys) of the context store."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def peek(self, key: str, default: Any = None) -> Any:
        """The stored value itself, to read only (no copy: cheap for big values)."""
        ...

    def set(self, key: str, value: Any) -> None: ...

    def keys(self) -> list[str]: ...


@dataclass(frozen=True)
class ContextKey:
    """A global context key a node type reads or writes, as its declaration names it.

    ``option`` is the config option that names another key instead (``plan_key``)."""

    key: str
    about: str = ""
    option: str = ""


@dataclass(frozen=True)
class KeyUse:
    """One context key a node of a flow reads or writes: ``global.plan``, ``flow.count``.

    ``path`` is where in the node's config the flow file names it; a key the node type
    uses by default, named nowhere in the file, has none."""

    name: str
    path: tuple[str | int, ...] | None = None


class NodeContext(Protocol):
    """Everything outside its message that a node may use."""

    node_id: str
    flow_id: str
    clock: Clock
    log: logging.Logger
    #: The site's IANA time zone: wall-clock times in configs and ``now`` in expressions.
    timezone: str
    #: The host's data directory (``Engine(data_dir=...)``), where files the flows keep
    #: belong; not a settings key: the settings are the site config and nothing else.
    data_dir: Path

    @property
    def flow(self) -> ContextScope: ...

    @property
    def globals(self) -> ContextScope: ...

    @property
    def settings(self) -> Mapping[str, Any]: ...

    def connection(self, connection_id: str) -> Any:
        """The shared connection of that id: one the flows declare (``connections:``), or
        one the host provided (``Engine(provided=...)``: a live object such as a simulated
        site's meter). ``KeyError`` for neither."""
        ...

    def status(self, text: str, state: str = "ok") -> None: ...

    def trigger_flow(self, flow_id: str, payload: Any = None, reason: str = "") -> str | None:
        """Start a run of another flow; its run id, or None when its run mode drops it."""
        ...

    async def call_flow(self, flow_id: str, payload: Any, timeout: float) -> Any:
        """Run another flow and wait for its reply (a core.reply node), on the clock."""
        ...

    def reply(self, msg: Message) -> None:
        """Answer the run that called this one (``call_flow``) with ``msg.payload``."""
        ...

    def notify(self, text: str, level: str = "info", data: Any = None) -> None:
        """Tell the people watching (the UI's event stream, the log, later MQTT)."""
        ...

    def debug(self, value: Any, topic: str = "") -> None:
        """Show ``value`` in the UI's live debug panel (what a ``core.debug`` node does)."""
        ...


class Node:
    """Base class of every node type.

    Subclasses set the class attributes (they drive validation, ``power-master
    nodes``, the editor schema and the UI's node panel) and implement
    ``process``. ``process`` may be a plain function or a coroutine; plain ones
    cost less per hop.
    """

    type_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: JSON Schema of the node's ``config``. A string property carrying
    #: ``"x-connection": "<connection type>"`` names a shared connection.
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }
    #: Global context keys it reads and writes besides its message (drawn between flows
    #: on the Flows page; a key renamed in a flow file must have a writer).
    reads: ClassVar[tuple[ContextKey, ...]] = ()
    writes: ClassVar[tuple[ContextKey, ...]] = ()
    #: What the node takes on its input, in words.
    takes: ClassVar[str] = "any message"
    #: Output ports and, for each, what it gives in words.
    gives: ClassVar[dict[str, str]] = {"out": "the message"}
    #: The JSON Schema of the payload some ports give, where the node promises a shape:
    #: the reference shows it, and flow tests hold the node and any stub of it to it.
    gives_schema: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        self.ctx = ctx
        #: The config as written, with the ``default`` of each top-level key its schema
        #: declares filled in (so a default is said once, where docs and editors see it).
        self.config = with_defaults(config, self.config_schema)

    @classmethod
    def output_ports(cls) -> tuple[str, ...]:
        return tuple(cls.gives)

    @classmethod
    def ports_for(cls, config: Mapping[str, Any]) -> tuple[str, ...]:
        """The output ports of a node with this config (a switch's come from its rules)."""
        return cls.output_ports()

    @classmethod
    def key_uses(cls, config: Mapping[str, Any]) -> tuple[list[KeyUse], list[KeyUse]]:
        """The context keys a node with this config reads, and those it writes."""
        return _declared(cls.reads, config), _declared(cls.writes, config)

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """What the schema cannot say is wrong with ``config``: (path in it, message) pairs.

        Called by flow validation once the config matches ``config_schema``, so a node
        that would ignore part of its config says so at load, with FILE:LINE:COL."""
        return []

    async def start(self) -> None:
        """Called once when the flow starts, before any message arrives."""

    async def stop(self) -> None:
        """Called once when the flow stops."""

    def process(self, msg: Message) -> Output | Awaitable[Output]:
        raise NotImplementedError


def with_defaults(config: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with each absent top-level key that ``schema`` gives a ``default``."""
    properties = schema.get("properties", {})
    missing = {
        key: copy.deepcopy(prop["default"])
        for key, prop in properties.items()
        if key not in config and isinstance(prop, Mapping) and "default" in prop
    }
    return {**config, **missing} if missing else config


def _declared(keys: tuple[ContextKey, ...], config: Mapping[str, Any]) -> list[KeyUse]:
    uses = []
    for declared in keys:
        named = config.get(declared.option) if declared.option else None
        if isinstance(named, str) and named:
            uses.append(KeyUse(f"global.{named}", (declared.option,)))
        else:
            uses.append(KeyUse(f"global.{declared.key}"))
    return uses


@dataclass(frozen=True, slots=True)
class HandBack:
    """What a connection's ``hand_back`` did at shutdown (told in the stop line), and
    whether it went well (a failed one is told as a warning)."""

    said: str
    ok: bool = True


class Connection:
    """A shared connection (a Modbus client, an HTTP session, ...).

    Declared once in a flow file's ``connections:`` list and used by any node
    whose config names it, like Node-RED's config nodes. The engine builds each one the
    flows declare (``kind(connection_id, config, clock, settings)``), sets its
    ``data_dir``, opens it at start and closes it at stop.

    A host may instead hand the engine a connection it made itself, around a live
    object of its own (the simulated site's meter): ``Engine(provided=[...])``. The
    engine uses that instance under its ``connection_id`` (where the flows declare the
    id, in place of building one, and it must be of the declared type), and leaves
    opening and closing it to the host. So a live object reaches nodes as a
    connection, never through the settings.
    """

    type_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }
    #: The host's data directory (``Engine(data_dir=...)``): a connection that keeps a
    #: file keeps it here. Set by the engine before ``open``.
    data_dir: Path = Path(".")

    def __init__(
        self, connection_id: str, config: dict[str, Any], clock: Clock, settings: Mapping[str, Any]
    ) -> None:
        self.connection_id = connection_id
        self.config = config
        self.clock = clock
        self.settings = settings

    async def open(self) -> None:
        """Open it. Must not raise for a peer that is merely unreachable now."""

    async def close(self) -> None:
        """Release it."""

    async def hand_back(self) -> HandBack | None:
        """At shutdown, once every flow has stopped: give what it controls back to its
        own devices (an inverter back to its own work mode), then close. None: nothing to
        hand back, as for most connections. The service calls it on each connection, so
        it knows no device by name; a device that cannot be reached is said, not raised."""
        return None
