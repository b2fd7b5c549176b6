"""JSON views of flows and traces for the API, with secrets masked.

Everything the browser draws is computed here (layout, what each step got), so
the page's script stays a thin renderer.
"""

from __future__ import annotations

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
        nodes.append({
            **node,
            "description": kind.description if kind else "",
            "takes": kind.takes if kind else "",
            "gives": dict(kind.gives) if kind else {},
            "config": mask_secrets(spec.config),
            "timeout": spec.timeout,
            "layer": place.layer,
            "row": place.row,
            "y": place.y,
        })
    return {
        **described,
        "max_runs": flow.spec.max_runs,
        "on_error": flow.spec.on_error,
        "entry_nodes": list(flow.spec.entry_nodes),
        "nodes": nodes,
        "wires": wires,
        "layout": {"layers": places.layers, "rows": places.rows},
    }


def trace_view(trace: dict[str, Any], flow: FlowRuntime | None) -> dict[str, Any]:
    """A run trace, with each step's ``got`` filled in and the flow version masked."""
    steps = [dict(step) for step in trace.get("steps", [])]
    for step in steps:
        step["got"] = _got(step, steps, trace.get("trigger_payload"), flow)
    return {**trace, "steps": steps, "flow": mask_secrets(trace.get("flow"))}


def _got(step: dict[str, Any], steps: list[dict[str, Any]], trigger_payload: Any,
         flow: FlowRuntime | None) -> Any:
    """What a step got: the output of its source step on the port wired to it."""
    source = step.get("source", -1)
    if source < 0 or source >= len(steps):
        return trigger_payload
    given = steps[source].get("output") or {}
    if flow is not None and steps[source]["node"] in flow.nodes:
        wired = flow.nodes[steps[source]["node"]].spec.wires
        ports = [port for port, targets in wired.items()
                 if step["node"] in targets and port in given]
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
            found.append({"run_id": view["run_id"], "started": view.get("started"),
                          "got": step.get("got"), "gave": step.get("output"),
                          "error": step.get("error"), "duration_us": step.get("duration_us")})
            if len(found) >= limit:
                return found
    return found
