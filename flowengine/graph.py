"""A flow as a diagram: Mermaid (for Markdown) or Graphviz DOT."""

from __future__ import annotations

from flowengine.spec import FlowSpec


def to_mermaid(flow: FlowSpec) -> str:
    lines = ["flowchart LR"]
    if flow.triggers:
        labels = "<br/>".join(_trigger_label(t.type, t.options) for t in flow.triggers)
        lines.append(f'    trigger(["{_esc(labels)}"])')
        for target in _trigger_targets(flow):
            lines.append(f"    trigger --> {target}")
    for node in flow.nodes:
        lines.append(f'    {node.id}["{_esc(node.id)}<br/><small>{_esc(node.type)}</small>"]')
    for node in flow.nodes:
        for port, targets in node.wires.items():
            arrow = "-->" if port == "out" else f"-- {port} -->"
            if port == "error":
                arrow = "-. error .->"
            for target in targets:
                lines.append(f"    {node.id} {arrow} {target}")
    return "\n".join(lines) + "\n"


def to_dot(flow: FlowSpec) -> str:
    lines = [f'digraph "{flow.id}" {{', "    rankdir=LR;", "    node [shape=box, style=rounded];"]
    if flow.triggers:
        labels = "\\n".join(_trigger_label(t.type, t.options) for t in flow.triggers)
        lines.append(f'    "trigger" [shape=oval, label="{labels}"];')
        for target in _trigger_targets(flow):
            lines.append(f'    "trigger" -> "{target}";')
    for node in flow.nodes:
        lines.append(f'    "{node.id}" [label="{node.id}\\n{node.type}"];')
    for node in flow.nodes:
        for port, targets in node.wires.items():
            style = ", style=dashed" if port == "error" else ""
            label = f' [label="{port}"{style}]' if port != "out" else ""
            for target in targets:
                lines.append(f'    "{node.id}" -> "{target}"{label};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _trigger_targets(flow: FlowSpec) -> list[str]:
    targets: list[str] = []
    for trigger in flow.triggers:
        for target in trigger.to or flow.entry_nodes:
            if target not in targets:
                targets.append(target)
    return targets


def _trigger_label(kind: str, options: dict[str, object]) -> str:
    if kind == "interval":
        return f"every {options['every']:g}s"
    if kind == "cron":
        return f"cron {options['cron']}"
    if kind == "context":
        return f"on {options['key']}"
    if kind == "at":
        return f"at {options['key']}"
    return kind


def _esc(text: str) -> str:
    return text.replace('"', "#quot;")
