"""Validated flow definitions: what a flow file means once it has passed checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RUN_MODES = ("single", "queued", "restart", "parallel")


@dataclass(frozen=True)
class TriggerSpec:
    type: str
    options: dict[str, Any]
    to: tuple[str, ...]
    payload: Any = None


@dataclass(frozen=True)
class NodeSpec:
    id: str
    type: str
    config: dict[str, Any]
    wires: dict[str, tuple[str, ...]]
    name: str = ""
    timeout: float | None = None


@dataclass(frozen=True)
class ConnectionSpec:
    id: str
    type: str
    config: dict[str, Any]
    file: str = ""


@dataclass(frozen=True)
class FlowSpec:
    """One validated flow: its triggers and its nodes with their wires, as its file said.

    Made by ``load_flow_dir``, ``load_flow_files`` and ``load_flow_text`` once the flow
    has passed validation, and found in ``FlowSet.flows`` by its ``id``. The engine runs
    it and the UI draws it; ``source`` is the flow's mapping as the file gave it, kept so
    a run's trace can show the version that ran.
    """

    id: str
    file: str
    description: str
    mode: str
    max_runs: int
    on_error: str | None
    triggers: tuple[TriggerSpec, ...]
    nodes: tuple[NodeSpec, ...]
    source: dict[str, Any] = field(default_factory=dict, compare=False)
    #: Global context keys its nodes and triggers read and write (the Flows page's edges).
    reads: tuple[str, ...] = field(default=(), compare=False)
    writes: tuple[str, ...] = field(default=(), compare=False)

    def node(self, node_id: str) -> NodeSpec:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    @property
    def entry_nodes(self) -> tuple[str, ...]:
        """Nodes nothing wires into: where a trigger without ``to`` starts."""
        wired = {t for n in self.nodes for targets in n.wires.values() for t in targets}
        return tuple(n.id for n in self.nodes if n.id not in wired)


@dataclass(frozen=True)
class FlowSet:
    """Every flow and connection from one directory, validated together."""

    flows: dict[str, FlowSpec]
    connections: dict[str, ConnectionSpec]
    #: Global keys written by something other than a flow, and by what (``context:``).
    outside: dict[str, str] = field(default_factory=dict)
