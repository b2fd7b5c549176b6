"""What differs between the flows running and a new ``FlowSet``: what a reload touches.

A flow is the same when its file and its body (the digest traces keep of each
flow version) are the same. Connections are compared by type and config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowengine.spec import ConnectionSpec, FlowSet
from flowengine.traces import flow_digest


@dataclass(frozen=True)
class FlowChanges:
    """Flow ids added, removed and changed, and connection ids whose spec differs."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    connections: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.connections)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
            "connections": list(self.connections),
        }

    def __str__(self) -> str:
        parts = [
            f"{word} {', '.join(ids)}"
            for word, ids in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
                ("connections changed", self.connections),
            )
            if ids
        ]
        return "; ".join(parts) or "nothing changed"


def compare(old: FlowSet, new: FlowSet) -> FlowChanges:
    """The flows and connections of ``new`` that are not as they are in ``old``."""
    changed = tuple(
        flow_id
        for flow_id, spec in new.flows.items()
        if flow_id in old.flows
        and (old.flows[flow_id].file, flow_digest(old.flows[flow_id].source))
        != (spec.file, flow_digest(spec.source))
    )
    connections = tuple(
        sorted(
            conn_id
            for conn_id in old.connections.keys() | new.connections.keys()
            if _body(old.connections.get(conn_id)) != _body(new.connections.get(conn_id))
        )
    )
    return FlowChanges(
        added=tuple(f for f in new.flows if f not in old.flows),
        removed=tuple(f for f in old.flows if f not in new.flows),
        changed=changed,
        connections=connections,
    )


def _body(spec: ConnectionSpec | None) -> tuple[str, str] | None:
    """What a connection is (where it is declared does not matter)."""
    if spec is None:
        return None
    return spec.type, flow_digest(spec.config)
