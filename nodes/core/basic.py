"""Small building blocks: pass, set, read and write context, wait, log."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine import json_dumps
from flowengine.durations import parse_duration
from flowengine.expressions import Expression, Template, plain, scope_for
from flowengine.message import Message
from flowengine.node import FLOW_LOG, KeyUse, Node, NodeContext
from flowengine.schema import DURATION, EXPRESSION, TEMPLATE_TEXT
from nodes.core.paths import Place

DEFAULT_LOG_CHARS = 300
DEFAULT_CALL_TIMEOUT = "30s"

CONTEXT_KEY = {
    "type": "string",
    "pattern": r"^(global|flow)\.[^.].*$",
    "description": "'global.<key>' or 'flow.<key>' (global.<key>.<field> reaches inside)",
}


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

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._place = Place.parse(self.config["key"])

    def process(self, msg: Message) -> Message:
        value = self._place.get(msg, self.ctx, self.config.get("default"))
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

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._place = Place.parse(self.config["key"])

    def process(self, msg: Message) -> Message:
        field = self.config.get("field")
        value = msg.payload.get(field) if field and isinstance(msg.payload, dict) else msg.payload
        self._place.set(msg, self.ctx, value)
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
                "default": "info",
                "description": "info and above always show; debug with power-master run -v",
            },
            "message": {
                **TEMPLATE_TEXT,
                "description": "the line, with {{ }} parts (default: the payload)",
            },
            "max_chars": {
                "type": "integer",
                "minimum": 20,
                "default": DEFAULT_LOG_CHARS,
                "description": "longer lines are cut here",
            },
        },
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged"}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._level = getattr(logging, self.config["level"].upper())
        self._message = Template(config["message"]) if "message" in config else None
        self._max = int(self.config["max_chars"])
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
            "show": {**EXPRESSION, "default": "payload", "description": "what to show"},
        },
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged"}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._show = Expression(self.config["show"])

    def process(self, msg: Message) -> Message:
        value = plain(self._show.evaluate(scope_for(self.ctx, msg)))
        self.ctx.debug(value, msg.topic)
        self.ctx.status(_one_line(value)[:80])
        return msg


def json_text(value: Any) -> str:
    try:
        return json_dumps(plain(value))
    except (TypeError, ValueError):
        return repr(value)


def _one_line(value: Any) -> str:
    return value if isinstance(value, str) else json_text(value)


class RunFlow(Node):
    """Node-RED's link call: the payload starts a run of another flow; with ``wait``, the
    message goes on carrying what that flow's ``core.reply`` answered."""

    type_name = "core.run_flow"
    description = "Starts a run of another flow; with wait, goes on with its reply."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "flow": {"type": "string", "description": "the flow to start"},
            "wait": {
                "type": "boolean",
                "default": False,
                "description": "wait for its core.reply and carry that on",
            },
            "timeout": {**DURATION, "description": f"with wait: how long ({DEFAULT_CALL_TIMEOUT})"},
        },
        "required": ["flow"],
        "additionalProperties": False,
    }
    gives: ClassVar[dict[str, str]] = {
        "out": "the message, unchanged (meta.run_id: the new run); with wait, carrying the "
        "called flow's reply"
    }

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        if "timeout" in config and not config.get("wait"):
            return [(("<key>timeout",), "a timeout needs wait: true")]
        return []

    async def process(self, msg: Message) -> Message:
        flow = self.config["flow"]
        if self.config["wait"]:
            timeout = parse_duration(self.config.get("timeout", DEFAULT_CALL_TIMEOUT))
            self.ctx.status(f"waiting for {flow}", "busy")
            msg.payload = await self.ctx.call_flow(flow, msg.payload, timeout)
            self.ctx.status(f"{flow} replied")
            return msg
        try:
            run_id = self.ctx.trigger_flow(flow, payload=msg.payload)
        except KeyError:  # that flow is not loaded here (a backtest runs no notify flow)
            self.ctx.status(f"no flow {flow!r} loaded", "idle")
            return msg
        msg.meta["run_id"] = run_id
        self.ctx.status(f"started {flow}" if run_id else "dropped (run in progress)")
        return msg


class Reply(Node):
    """The end of a called flow: its payload goes back to the core.run_flow that waits."""

    type_name = "core.reply"
    description = "Answers the core.run_flow (with wait) that called this run."
    gives: ClassVar[dict[str, str]] = {}

    def process(self, msg: Message) -> None:
        self.ctx.reply(msg)
        self.ctx.status("replied")
