"""JSON Schemas of flow files.

``structure_schema`` checks the shape every flow file shares; node configs are
checked one node at a time against their type's own schema, so an error can
name the node. ``editor_schema`` folds both into one document for YAML language
servers, so an editor completes node types and config keys as you type.
"""

from __future__ import annotations

from typing import Any

from flowengine.durations import DURATION_PATTERN
from flowengine.registry import Registry
from flowengine.spec import RUN_MODES

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"

DURATION: dict[str, Any] = {
    "description": "seconds, or text such as 30s, 5m, 1h30m",
    "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}],
}

EXPRESSION: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "x-expression": True,
    "description": "an expression such as payload.soc > 0.9 (docs/writing-flows.md)",
}


def templated(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    """``schema``, or text holding ``{{ }}`` that gives such a value when the node runs."""
    text = {"type": "string", "pattern": r"\{\{|\{%", "x-template": True}
    alternatives = [schema, text] if schema else [text]
    out: dict[str, Any] = {"anyOf": alternatives}
    if description or "description" in schema:
        out["description"] = description or schema["description"]
    return out


#: Text that may hold ``{{ }}`` parts (a message, a topic).
TEMPLATE_TEXT: dict[str, Any] = {"type": "string", "x-template": True}

#: A context key a trigger watches: the same option for ``context`` and ``at``.
CONTEXT_KEY: dict[str, Any] = {
    "type": "string",
    "pattern": r"^(global|flow)\.[^.].*$",
    "description": "global.<key> or flow.<key>; global.telemetry.soc watches "
    "the soc field of global.telemetry",
}

TRIGGER_OPTIONS: dict[str, dict[str, Any]] = {
    "interval": {
        "description": "every so often, aligned to whole multiples of the period by default",
        "properties": {"every": DURATION, "align": {"type": "boolean"}},
        "required": ["every"],
    },
    "cron": {
        "description": "on a cron schedule (five fields), in the engine's time zone",
        "properties": {"cron": {"type": "string"}, "timezone": {"type": "string"}},
        "required": ["cron"],
    },
    "start": {"description": "once, when the flow starts", "properties": {}, "required": []},
    "context": {
        "description": "whenever a context key changes value ('global.key' or 'flow.key'); "
        "with above/below, when its number enters that range (and stays there 'for' a while)",
        "properties": {
            "key": CONTEXT_KEY,
            "field": {
                "type": "string",
                "pattern": r"^[^.\s]+(\.[^.\s]+)*$",
                "description": "a field inside the key's value, e.g. soc or car.soc",
            },
            "above": {"type": "number", "description": "fire when the value rises above this"},
            "below": {"type": "number", "description": "fire when the value falls below this"},
            "for": {**DURATION, "description": "only once it has stayed in range this long"},
        },
        "required": ["key"],
    },
    "at": {
        "description": "when the clock reaches the time (epoch seconds) in a context key, "
        "e.g. global.override.until; armed again whenever the key changes, and a time "
        "already past fires nothing",
        "properties": {"key": CONTEXT_KEY},
        "required": ["key"],
    },
    "webhook": {
        "description": "a POST to /api/webhook/<webhook_id>; the payload is its JSON body",
        "properties": {
            "webhook_id": {
                "type": "string",
                "pattern": r"^[A-Za-z0-9_-]{16,}$",
                "description": "at least 16 letters, digits, - or _: the only key, so "
                "make it random",
            },
        },
        "required": ["webhook_id"],
    },
}

_TRIGGER_COMMON: dict[str, Any] = {
    "type": {"type": "string"},
    "to": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "payload": {},
}


def trigger_schema(trigger_options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Schema of one trigger; its own options are checked by ``type``."""
    options: dict[str, Any] = {}
    for spec in trigger_options.values():
        options.update(spec["properties"])
    return {
        "type": "object",
        "required": ["type"],
        "properties": {**_TRIGGER_COMMON, **options},
        "additionalProperties": False,
    }


def structure_schema(
    trigger_options: dict[str, dict[str, Any]] = TRIGGER_OPTIONS,
) -> dict[str, Any]:
    """The shape shared by every flow file (node configs are checked separately)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "flowengine flow file",
        "type": "object",
        "properties": {
            "flow": {"type": "string", "pattern": ID_PATTERN, "description": "the flow's id"},
            "description": {"type": "string"},
            "mode": {
                "enum": list(RUN_MODES),
                "description": "what a new trigger does while a run is going",
            },
            "max_runs": {"type": "integer", "minimum": 1},
            "on_error": {"type": "string", "description": "the flow that gets failed runs' errors"},
            "triggers": {"type": "array", "items": trigger_schema(trigger_options)},
            "nodes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "type"],
                    "properties": {
                        "id": {"type": "string", "pattern": ID_PATTERN},
                        "type": {"type": "string"},
                        "name": {"type": "string"},
                        "config": {"type": "object"},
                        "timeout": DURATION,
                        "wires": {
                            "anyOf": [
                                {"type": "array", "items": {"type": "string"}},
                                {
                                    "type": "object",
                                    "additionalProperties": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                    },
                                },
                            ]
                        },
                    },
                    "additionalProperties": False,
                },
            },
            "context": {
                "type": "object",
                "description": "global keys written by something other than a flow (the web "
                "API, another program over MQTT), and by what",
                "propertyNames": {"pattern": r"^global\.[^.\s]+$"},
                "additionalProperties": {"type": "string"},
            },
            "use_blueprint": {
                "type": "object",
                "description": "this flow is a blueprint's, with these inputs",
                "properties": {
                    "path": {"type": "string", "description": "the blueprint file, relative"},
                    "input": {"type": "object", "description": "input name: value"},
                },
                "required": ["path"],
                "additionalProperties": False,
            },
            "connections": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "type"],
                    "properties": {
                        "id": {"type": "string", "pattern": ID_PATTERN},
                        "type": {"type": "string"},
                        "config": {"type": "object"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }


def editor_schema(
    registry: Registry, trigger_options: dict[str, dict[str, Any]] = TRIGGER_OPTIONS
) -> dict[str, Any]:
    """One schema for editors: node types as an enum, each type's config by type."""
    trigger_options = {**trigger_options, **registry.trigger_options()}
    schema = structure_schema(trigger_options)
    schema["title"] = "Power Master flow file"
    props = schema["properties"]
    node_item = props["nodes"]["items"]
    node_item["properties"]["type"] = {
        "enum": sorted(registry.nodes),
        "description": "the node type (see `power-master nodes`)",
    }
    node_item["allOf"] = [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {
                "properties": {"config": kind.config_schema},
                "description": kind.description,
            },
        }
        for name, kind in sorted(registry.nodes.items())
    ]
    conn_item = props["connections"]["items"]
    conn_item["properties"]["type"] = {"enum": sorted(registry.connections)}
    conn_item["allOf"] = [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {"properties": {"config": kind.config_schema}},
        }
        for name, kind in sorted(registry.connections.items())
    ]
    trigger_item = props["triggers"]["items"]
    trigger_item["properties"]["type"] = {"enum": sorted(trigger_options)}
    trigger_item["allOf"] = [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {"required": spec["required"], "description": spec["description"]},
        }
        for name, spec in sorted(trigger_options.items())
    ]
    return schema
