"""JSON views of flows and traces for the API, with secrets masked.

Everything the browser draws is computed here (layout, what each step got), so
the page's script stays a thin renderer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowengine.registry import Registry
from flowengine.runtime import FlowRuntime
from flowengine.summary import mask_secrets
from ui.layout import layout


def flow_view(flow: FlowRuntime, registry: Registry) -> dict[str, Any]:
    """One flow: its nodes (with type docs, masked config, status, layout) and wires."""
    described = flow.describe()
    wires = [
        {"from": node.id, "port": port, "to": target}
        for node in flow.spec.nodes
        for port, targets in node.wires.items()
        for target in targets
    ]
    places = layout([n.id for n in flow.spec.nodes], [(w["from"], w["to"]) for w in wires])
    nodes = []
    for node in described["nodes"]:
        spec = flow.spec.node(node["id"])
        kind = registry.nodes.get(spec.type)
        place = places.places[node["id"]]
        nodes.append(
            {
                **node,
                "description": kind.description if kind else "",
                "takes": kind.takes if kind else "",
                "gives": dict(kind.gives) if kind else {},
                "reads": [u.name for u in kind.key_uses(spec.config)[0]] if kind else [],
                "writes": [u.name for u in kind.key_uses(spec.config)[1]] if kind else [],
                "config": mask_secrets(spec.config),
                "timeout": spec.timeout,
                "layer": place.layer,
                "row": place.row,
                "y": place.y,
            }
        )
    return {
        **described,
        "reads": list(flow.spec.reads),
        "writes": list(flow.spec.writes),
        "ports": {node.id: list(node.ports) for node in flow.nodes.values()},
        "max_runs": flow.spec.max_runs,
        "on_error": flow.spec.on_error,
        "entry_nodes": list(flow.spec.entry_nodes),
        "nodes": nodes,
        "wires": wires,
        "layout": {"layers": places.layers, "rows": places.rows},
    }


#: The node standing for writers outside the flows (the web API, Home Assistant...).
OUTSIDE = "outside the flows"


def context_view(flows: Mapping[str, FlowRuntime], outside: Mapping[str, str]) -> dict[str, Any]:
    """Which flow's keys feed which flow: an edge per writer and reader, named by its keys.

    A flow that writes a key and also reads it draws no edge to itself; keys written from
    outside the flows (``context:`` in a flow file) come from one ``outside`` node."""
    writers: dict[str, list[str]] = {}
    readers: dict[str, list[str]] = {}
    for flow in flows.values():
        for key in flow.spec.writes:
            writers.setdefault(key, []).append(flow.id)
        for key in flow.spec.reads:
            readers.setdefault(key, []).append(flow.id)
    for key in outside:
        writers.setdefault(key, []).append(OUTSIDE)
    keys_between: dict[tuple[str, str], list[str]] = {}
    for key, reading in readers.items():
        for writer in writers.get(key, []):
            for reader in reading:
                if reader != writer:
                    keys_between.setdefault((writer, reader), []).append(key)
    ids = [i for i in [*flows, OUTSIDE] if any(i in pair for pair in keys_between)]
    places = layout(ids, list(keys_between))
    return {
        "nodes": [
            {
                "id": i,
                "outside": i == OUTSIDE,
                "layer": places.places[i].layer,
                "y": places.places[i].y,
                "writes": sorted(k for k, w in writers.items() if i in w),
                "reads": sorted(k for k, r in readers.items() if i in r),
                "about": {k: outside[k] for k in outside} if i == OUTSIDE else {},
            }
            for i in ids
        ],
        "edges": [
            {"from": a, "to": b, "keys": sorted(keys)} for (a, b), keys in keys_between.items()
        ],
        "layout": {"layers": places.layers, "rows": places.rows},
        "unwritten": sorted(k for k in readers if k not in writers),
    }


def trace_view(trace: dict[str, Any], flow: FlowRuntime | None) -> dict[str, Any]:
    """A run trace, with each step's ``got`` filled in and the flow version masked."""
    steps = [dict(step) for step in trace.get("steps", [])]
    for step in steps:
        step["got"] = _got(step, steps, trace.get("trigger_payload"), flow)
    return {**trace, "steps": steps, "flow": mask_secrets(trace.get("flow"))}


def _got(
    step: dict[str, Any],
    steps: list[dict[str, Any]],
    trigger_payload: Any,
    flow: FlowRuntime | None,
) -> Any:
    """What a step got: the output of its source step on the port wired to it."""
    source = step.get("source", -1)
    if source < 0 or source >= len(steps):
        return trigger_payload
    given = steps[source].get("output") or {}
    if flow is not None and steps[source]["node"] in flow.nodes:
        wired = flow.nodes[steps[source]["node"]].spec.wires
        ports = [
            port for port, targets in wired.items() if step["node"] in targets and port in given
        ]
        if len(ports) == 1:
            return given[ports[0]]
    return given


def node_messages(
    traces: Any, flow: FlowRuntime, node_id: str, limit: int = 5
) -> list[dict[str, Any]]:
    """The node's last ``limit`` steps in the runs still kept, newest first: what it got,
    what it gave (or its error) and how long it took, as the trace view shows them."""
    found: list[dict[str, Any]] = []
    for brief in traces.recent(flow.id):
        trace = traces.get(flow.id, brief["run_id"])
        if trace is None:
            continue
        view = trace_view(trace, flow)
        for step in reversed(view["steps"]):
            if step.get("node") != node_id:
                continue
            found.append(
                {
                    "run_id": view["run_id"],
                    "started": view.get("started"),
                    "got": step.get("got"),
                    "gave": step.get("output"),
                    "error": step.get("error"),
                    "duration_us": step.get("duration_us"),
                }
            )
            if len(found) >= limit:
                return found
    return found
