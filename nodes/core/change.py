"""``core.change`` and ``core.template``: shape the message and the context in YAML.

``core.change`` applies its rules in order (Node-RED's change node): ``set`` a
place to a ``value`` (``{{ }}`` allowed) or to an ``expr``, ``move`` one place
to another, ``delete`` one. Places: ``payload``, ``payload.<field>``, ``topic``,
``flow.<key>``, ``global.<key>`` (nodes/core/paths.py). Results are stored as
JSON data: a datetime becomes ISO 8601 text, a duration its seconds.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine.expressions import Expression, Template, is_template, plain, scope_for
from flowengine.message import Message
from flowengine.node import KeyUse, Node, NodeContext
from flowengine.schema import EXPRESSION
from nodes.core.paths import PLACE, Place

_SET = {
    "type": "object",
    "properties": {
        "set": PLACE,
        "value": {
            "x-template": True,
            "description": "the value; text may hold {{ }} (a lone {{ x }} keeps x's type)",
        },
        "expr": {**EXPRESSION, "description": "an expression giving the value"},
    },
    "required": ["set"],
    "additionalProperties": False,
}
_MOVE = {
    "type": "object",
    "properties": {"move": PLACE, "to": PLACE},
    "required": ["move", "to"],
    "additionalProperties": False,
}
_DELETE = {
    "type": "object",
    "properties": {"delete": PLACE},
    "required": ["delete"],
    "additionalProperties": False,
}


class Change(Node):
    type_name = "core.change"
    description = "Sets, moves or deletes fields of the message and context keys, in order."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "rules": {"type": "array", "items": {"anyOf": [_SET, _MOVE, _DELETE]}, "minItems": 1},
        },
        "required": ["rules"],
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the message, changed"}

    @classmethod
    def key_uses(cls, config: Mapping[str, Any]) -> tuple[list[KeyUse], list[KeyUse]]:
        reads: list[KeyUse] = []
        writes: list[KeyUse] = []
        for index, rule in enumerate(config.get("rules", [])):
            for action in ("set", "delete", "to"):
                target = rule.get(action)
                if isinstance(target, str) and target.startswith(("global.", "flow.")):
                    writes.append(KeyUse(target, ("rules", index, action)))
            source = rule.get("move")
            if isinstance(source, str) and source.startswith(("global.", "flow.")):
                reads.append(KeyUse(source, ("rules", index, "move")))
        return reads, writes

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for index, rule in enumerate(config["rules"]):
            if "set" in rule and ("value" in rule) == ("expr" in rule):
                problems.append(
                    (("rules", index), "a 'set' rule needs exactly one of 'value' or 'expr'")
                )
        return problems

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._rules = [_compile(rule) for rule in config["rules"]]

    def process(self, msg: Message) -> Message:
        for action, place, source in self._rules:
            if action == "delete":
                place.delete(msg, self.ctx)
            elif action == "move":
                assert isinstance(source, Place)
                value = source.get(msg, self.ctx)
                source.delete(msg, self.ctx)
                place.set(msg, self.ctx, value)
            else:
                place.set(msg, self.ctx, _value(source, msg, self.ctx))
        return msg


def _compile(rule: dict[str, Any]) -> tuple[str, Place, Any]:
    if "delete" in rule:
        return "delete", Place.parse(rule["delete"]), None
    if "move" in rule:
        return "move", Place.parse(rule["to"]), Place.parse(rule["move"])
    if "expr" in rule:
        return "set", Place.parse(rule["set"]), Expression(rule["expr"])
    value = rule["value"]
    return "set", Place.parse(rule["set"]), Template(value) if is_template(value) else value


def _value(source: Any, msg: Message, ctx: NodeContext) -> Any:
    if isinstance(source, Expression):
        return plain(source.evaluate(scope_for(ctx, msg)))
    if isinstance(source, Template):
        return plain(source.render(scope_for(ctx, msg)))
    return copy.deepcopy(source)


class TemplateNode(Node):
    type_name = "core.template"
    description = "Renders a {{ }} template into the payload (or another place)."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "template": {
                "type": "string",
                "x-template": True,
                "description": "text with {{ }} parts and {% if %} blocks",
            },
            "to": {**PLACE, "default": "payload", "description": "where the text goes"},
        },
        "required": ["template"],
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the message carrying the rendered text"}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._template = Template(config["template"])
        self._to = Place.parse(self.config["to"])

    def process(self, msg: Message) -> Message:
        rendered = self._template.render(scope_for(self.ctx, msg))
        self._to.set(msg, self.ctx, plain(rendered))
        return msg
