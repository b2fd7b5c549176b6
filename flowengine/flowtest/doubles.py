"""Stand-ins a flow test puts in place of the outside world.

- ``StubNode``: a node that is not run; it gives canned payloads (or fails).
- ``CountRuns``: the one node of a flow that is not under test, so a run started
  on it (``trigger_flow``, ``on_error``) is counted and its payload kept.
- ``offline``: a connection type that is never opened, as if its peer were
  unreachable (every connection must cope with that).
- ``no_network``: refuses every TCP connection while tests run.
- ``ManualStart``: ``start`` triggers fire only when a test's input names them.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from flowengine.flowtest.conditions import with_times
from flowengine.message import Message
from flowengine.node import Connection, Node, NodeContext, Output
from flowengine.triggers import StartTrigger


class StubError(Exception):
    """What a stub told to fail raises: the run routes it like any node's failure."""


class StubNode(Node):
    """Gives its test's canned payloads instead of running the node it replaces.

    ``stubbing`` makes one per replaced node type, with that type's ports, so
    the flow's wiring stays as it is."""

    type_name = "flowtest.stub"
    description = "A node replaced by a flow test's canned outputs."
    config_schema: ClassVar[dict[str, Any]] = {"type": "object"}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self.calls = 0

    def process(self, msg: Message) -> Output:
        behaviours = self.config["calls"]
        behaviour = behaviours[min(self.calls, len(behaviours) - 1)]
        self.calls += 1
        now = self.ctx.clock.time()
        if "error" in behaviour:
            self.ctx.status(behaviour["error"], "error")
            raise StubError(behaviour["error"])
        self.ctx.status(f"stub, call {self.calls}")
        if "output" in behaviour:
            return msg.derive(with_times(copy.deepcopy(behaviour["output"]), now))
        return {
            port: msg.derive(with_times(copy.deepcopy(payload), now))
            for port, payload in behaviour.get("ports", {}).items()
        }


def stubbing(kind: type[Node], stubs: Mapping[tuple[str, str], dict[str, Any]]) -> type[Node]:
    """``kind``, except that the nodes in ``stubs`` (by flow and node id) are built as stubs
    with its ports, given their stub config. The flows keep their node types, so traces and
    error payloads name the type the flow file names."""
    stub: type[StubNode] = type(f"Stub{kind.__name__}", (StubNode,), {"gives": dict(kind.gives)})

    def build(cls: type[Node], ctx: NodeContext, config: dict[str, Any]) -> Node:
        stub_config = stubs.get((ctx.flow_id, ctx.node_id))
        if stub_config is None:
            node: Node = object.__new__(cls)
            return node
        return stub(ctx, stub_config)  # not a ``cls``: Python runs no ``cls.__init__`` on it

    return type(kind.__name__, (kind,), {"__new__": build, "__module__": kind.__module__})


class CountRuns(Node):
    type_name = "flowtest.count_runs"
    description = "Stands for a flow that is not under test: its runs are counted, not run."
    gives: ClassVar[dict[str, str]] = {}

    def process(self, msg: Message) -> None:
        return None


def offline(kind: type[Connection]) -> type[Connection]:
    """``kind``, but never opened or closed: as if its peer were unreachable."""

    async def open(self: Connection) -> None:
        return None

    async def close(self: Connection) -> None:
        return None

    return type(f"Offline{kind.__name__}", (kind,), {"open": open, "close": close})


class ManualStart(StartTrigger):
    """A ``start`` trigger that waits for a test's ``input: {trigger: start}``."""

    async def start(self) -> None:
        return None


@contextmanager
def no_network() -> Iterator[None]:
    """Refuse every TCP connection (to any host) until the block ends."""
    connect = socket.socket.connect

    def refuse(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            where = ":".join(str(part) for part in address[:2])
            raise ConnectionRefusedError(f"flow tests reach no network ({where}): stub the node")
        connect(sock, address)

    socket.socket.connect = refuse  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        socket.socket.connect = connect  # type: ignore[method-assign]


def stub_config(calls: tuple[Mapping[str, Any], ...]) -> dict[str, Any]:
    return {"calls": [dict(call) for call in calls]}
