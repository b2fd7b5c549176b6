"""The node reference in Markdown, made from the registry itself (``power-master nodes
--markdown``; docs/nodes.md is its output), so the docs cannot drift from the code."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flowengine.registry import Registry
from flowengine.schema import DURATION, TRIGGER_OPTIONS

HEADER = """# Node reference

Every node type, trigger type and connection type this installation knows, made
by `power-master nodes --markdown` from the registry (do not edit by hand; a test
checks it is current). How to write a flow and a node type of your own:
[writing-flows.md](writing-flows.md).
"""


def node_reference(registry: Registry) -> str:
    parts = [HEADER]
    by_package: dict[str, list[tuple[str, Any]]] = {}
    for name, kind in sorted(registry.nodes.items()):
        by_package.setdefault(name.split(".", 1)[0], []).append((name, kind))
    parts.append("## Node types\n")
    parts.append(" · ".join(f"[{p}](#{p})" for p in by_package) + "\n")
    for package, kinds in by_package.items():
        parts.append(f"### {package}\n")
        for name, kind in kinds:
            parts.append(_node(name, kind))
    parts.append("## Triggers\n")
    for name, options in sorted(_triggers(registry).items()):
        parts.append(f"### `{name}`\n\n{options['description']}\n")
        parts.append(_table(options.get("properties", {}), set(options.get("required", []))))
    parts.append("## Connections\n")
    for name, connection in sorted(registry.connections.items()):
        parts.append(f"### `{name}`\n\n{connection.description}\n")
        schema = getattr(connection, "config_schema", {}) or {}
        parts.append(_table(schema.get("properties", {}), set(schema.get("required", []))))
    return "\n".join(parts).rstrip() + "\n"


def _triggers(registry: Registry) -> dict[str, dict[str, Any]]:
    return {**TRIGGER_OPTIONS, **registry.trigger_options()}


def _node(name: str, kind: Any) -> str:
    lines = [f"#### `{name}`\n", f"{kind.description}\n"]
    if kind.takes:
        lines.append(f"- **takes**: {kind.takes}")
    for port, what in kind.gives.items():
        lines.append(f"- **gives** (`{port}`): {what}")
    for port, shape in kind.gives_schema.items():
        fields = ", ".join(
            f"`{name}`{'*' if name in shape.get('required', []) else ''} ({_type(prop)})"
            for name, prop in shape.get("properties", {}).items()
        )
        lines.append(f"- **shape** (`{port}`): {fields} (* always there)")
    for word, keys in (("reads", kind.reads), ("writes", kind.writes)):
        for key in keys:
            renamed = f" (another with `{key.option}`)" if key.option else ""
            lines.append(f"- **{word}** `global.{key.key}`{renamed}: {key.about}")
    schema = kind.config_schema or {}
    properties = schema.get("properties", {})
    lines.append("")
    lines.append(
        _table(properties, set(schema.get("required", []))) if properties else "No config.\n"
    )
    return "\n".join(lines)


def _table(properties: dict[str, Any], required: Iterable[str]) -> str:
    if not properties:
        return ""
    needed = set(required)
    rows = ["| config | type | required | what |", "|---|---|---|---|"]
    for key, prop in properties.items():
        what = prop.get("description", "")
        if "default" in prop:
            what = f"{what} (default `{json.dumps(prop['default'])}`)".strip()
        rows.append(
            f"| `{key}` | {_type(prop)} | {'yes' if key in needed else ''} | {_cell(what)} |"
        )
    return "\n".join(rows) + "\n"


def _type(prop: dict[str, Any]) -> str:
    alternatives = prop.get("anyOf", [])
    if any(isinstance(a, dict) and a.get("x-template") for a in alternatives):
        plain = [_type(a) for a in alternatives if not a.get("x-template")]
        return " or ".join([*plain, "`{{ }}` text giving one"])
    if prop.get("anyOf") == DURATION["anyOf"]:
        return "duration"
    if prop.get("x-expression"):
        return "expression"
    if prop.get("x-template"):
        return "text, `{{ }}` allowed"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    if "x-connection" in prop:
        return f"connection ({prop['x-connection']})"
    kind = prop.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind:
        return str(kind)
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    return "any"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
