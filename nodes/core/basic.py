"""Small building blocks: pass, set, read and write context, wait, log."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine import jsondata
from flowengine.durations import parse_duration
from flowengine.expressions import Expression, Template, plain, scope_for
from flowengine.message import Message
from flowengine.node import FLOW_LOG, KeyUse, Node, NodeContext
from flowengine.schema import DURATION, EXPRESSION, TEMPLATE_TEXT

DEFAULT_LOG_CHARS = 300

CONTEXT_KEY = {
    "type": "string",
    "pattern": r"^(global|flow)\.[^.].*$",
    "description": "'global.<key>' or 'flow.<key>'",
}


def _scope_and_key(node: Node, qualified: str) -> tuple[Any, str]:
    scope, _, key = qualified.partition(".")
    return (node.ctx.globals if scope == "global" else node.ctx.flow), key


class Passthrough(Node):
    type_name = "core.passthrough"
    description = "Passes each message on unchanged."

    def process(self, msg: Message) -> Message:
        return msg


class SetPayload(Node):
    type_name = "core.set"
    description = "Replaces the payload (and optionally the topic) with fixed values."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"payload": {}, "topic": {"type": "string"}},
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the message with the configured payload"}

    def process(self, msg: Message) -> Message:
        if "payload" in self.config:
            msg.payload = self.config["payload"]
        if "topic" in self.config:
            msg.topic = self.config["topic"]
        return msg


class ContextGet(Node):
    type_name = "core.context_get"
    description = "Puts a context value into the payload (whole, or under a field)."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"key": CONTEXT_KEY, "field": {"type": "string"}, "default": {}},
        "required": ["key"],
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the message carrying the value"}

    @classmethod
    def key_uses(cls, config: Mapping[str, Any]) -> tuple[list[KeyUse], list[KeyUse]]:
        return [KeyUse(config["key"], ("key",))], []

    def process(self, msg: Message) -> Message:
        scope, key = _scope_and_key(self, self.config["key"])
        value = scope.get(key, self.config.get("default"))
        field = self.config.get("field")
        if field:
            payload = msg.payload if isinstance(msg.payload, dict) else {}
            payload[field] = value
            msg.payload = payload
        else:
            msg.payload = value
        return msg


class ContextSet(Node):
    type_name = "core.context_set"
    description = "Stores the payload (or one field of it) under a context key."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"key": CONTEXT_KEY, "field": {"type": "string"}},
        "required": ["key"],
        "additionalProperties": False,
    }
    takes = "a payload that is JSON data"
    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged"}

    @classmethod
    def key_uses(cls, config: Mapping[str, Any]) -> tuple[list[KeyUse], list[KeyUse]]:
        return [], [KeyUse(config["key"], ("key",))]

    def process(self, msg: Message) -> Message:
        scope, key = _scope_and_key(self, self.config["key"])
        field = self.config.get("field")
        value = msg.payload.get(field) if field and isinstance(msg.payload, dict) else msg.payload
        scope.set(key, value)
        return msg


class Delay(Node):
    type_name = "core.delay"
    description = "Waits a while (on the engine's clock) before passing the message on."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"for": DURATION},
        "required": ["for"],
        "additionalProperties": False,
    }

    async def process(self, msg: Message) -> Message:
        await self.ctx.clock.sleep(parse_duration(self.config["for"]))
        return msg


class LogNode(Node):
    type_name = "core.log"
    description = "Writes a line to the service's log (and the node's status) from a template."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "level": {
                "enum": ["debug", "info", "warning", "error"],
                "description": "info and above always show; debug with power-master run -v",
            },
            "message": {
                **TEMPLATE_TEXT,
                "description": "the line, with {{ }} parts (default: the payload)",
            },
            "max_chars": {
                "type": "integer",
                "minimum": 20,
                "description": f"longer lines are cut here (default {DEFAULT_LOG_CHARS})",
            },
        },
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged"}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._level = getattr(logging, config.get("level", "info").upper())
        self._message = Template(config["message"]) if "message" in config else None
        self._max = int(config.get("max_chars", DEFAULT_LOG_CHARS))
        self._log = logging.getLogger(f"{FLOW_LOG}.{ctx.flow_id}.{ctx.node_id}")

    def process(self, msg: Message) -> Message:
        if self._message is None:
            text = msg.payload if isinstance(msg.payload, str) else json_text(msg.payload)
        else:
            rendered = self._message.render(scope_for(self.ctx, msg))
            text = rendered if isinstance(rendered, str) else json_text(rendered)
        line = text if len(text) <= self._max else text[: self._max - 1] + "…"
        self._log.log(self._level, "%s", line)
        self.ctx.status(line[:80], "warn" if self._level >= logging.WARNING else "ok")
        return msg


class Debug(Node):
    """Node-RED's debug node: what passes shows live in the Flows page's debug panel."""

    type_name = "core.debug"
    description = "Shows the message (or one value of it) live in the Flows page's debug panel."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "show": {**EXPRESSION, "description": "what to show (default: the payload)"},
        },
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged"}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._show = Expression(config.get("show", "payload"))

    def process(self, msg: Message) -> Message:
        value = plain(self._show.evaluate(scope_for(self.ctx, msg)))
        self.ctx.debug(value, msg.topic)
        self.ctx.status(_one_line(value)[:80])
        return msg


def json_text(value: Any) -> str:
    try:
        return jsondata.dumps(plain(value))
    except (TypeError, ValueError):
        return repr(value)


def _one_line(value: Any) -> str:
    return value if isinstance(value, str) else json_text(value)


class RunFlow(Node):
    """Node-RED's link call, one way: the payload starts a run of another flow."""

    type_name = "core.run_flow"
    description = "Starts a run of another flow with this message's payload."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"flow": {"type": "string", "description": "the flow to start"}},
        "required": ["flow"],
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged (meta.run_id: the new run)"}

    def process(self, msg: Message) -> Message:
        try:
            run_id = self.ctx.trigger_flow(self.config["flow"], payload=msg.payload)
        except KeyError:  # that flow is not loaded here (a backtest runs no notify flow)
            self.ctx.status(f"no flow {self.config['flow']!r} loaded", "idle")
            return msg
        msg.meta["run_id"] = run_id
        self.ctx.status(f"started {self.config['flow']}" if run_id else "dropped (run in progress)")
        return msg
