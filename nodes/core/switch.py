"""``core.switch``: send the message to the port of the first rule it meets (Node-RED's
switch, Home Assistant's ``choose``), or to ``otherwise``.

A rule holds when every test it names holds: ``if`` (an expression), ``eq``,
``ne``, ``in``, ``above`` / ``below`` (with ``hysteresis``: once above 0.9 it
stays matched until the value falls to 0.9 minus the hysteresis), and ``time``
(a window of the day in the site's zone, on some weekdays). As in Home
Assistant's numeric_state, a value that is not a number makes above/below not
hold, with a warning in the log and the node's status; an expression that
names what is not there (``payload.soc`` of ``{}``) fails the run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flowengine.expressions import Expression, ExpressionError, Template, is_template, scope_for
from flowengine.message import Message
from flowengine.node import Node, NodeContext, Output
from flowengine.schema import EXPRESSION, ID_PATTERN, templated

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$", "description": "HH:MM"}
_NUMBER = templated({"type": "number"}, "a number, or {{ }} giving one")
TESTS = ("if", "eq", "ne", "in", "above", "below", "time")

RULE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "port": {
            "type": "string",
            "pattern": ID_PATTERN,
            "description": "the output port a match goes to",
        },
        "value": {
            **EXPRESSION,
            "description": "what eq/ne/in/above/below compare (default: the node's property)",
        },
        "if": {**EXPRESSION, "description": "holds when the expression is true"},
        "eq": {"description": "holds when the value equals this"},
        "ne": {"description": "holds when the value differs from this"},
        "in": {"type": "array", "description": "holds when the value is one of these"},
        "above": {**_NUMBER, "description": "holds when the value is more than this"},
        "below": {**_NUMBER, "description": "holds when the value is less than this"},
        "hysteresis": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "a matched above/below holds until the value is this "
            "far back past its threshold",
        },
        "time": {
            "type": "object",
            "properties": {
                "from": _CLOCK,
                "to": _CLOCK,
                "days": {"type": "array", "items": {"enum": list(WEEKDAYS)}, "minItems": 1},
            },
            "additionalProperties": False,
            "description": "holds from..to (wall time in the site's zone; may pass midnight) "
            "on these days",
        },
    },
    "required": ["port"],
    "additionalProperties": False,
}


class Switch(Node):
    type_name = "core.switch"
    description = "Routes the message to the port of the first rule it meets, else 'otherwise'."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "property": {
                **EXPRESSION,
                "default": "payload",
                "description": "the value rules compare",
            },
            "rules": {"type": "array", "items": RULE, "minItems": 1},
            "otherwise": {
                "anyOf": [{"type": "string", "pattern": ID_PATTERN}, {"const": False}],
                "default": "otherwise",
                "description": "the port when no rule holds; false drops the message",
            },
            "checking": {
                "enum": ["first", "all"],
                "default": "first",
                "description": "first: the first rule that holds; all: every one",
            },
        },
        "required": ["rules"],
        "additionalProperties": False,
    }
    takes = "any message"
    gives: ClassVar[dict[str, str]] = {
        "<rule's port>": "the message, when that rule holds",
        "otherwise": "the message, when no rule holds",
    }

    @classmethod
    def ports_for(cls, config: Mapping[str, Any]) -> tuple[str, ...]:
        rules = config.get("rules")
        ports = (
            [r["port"] for r in rules if isinstance(r, dict) and "port" in r]
            if isinstance(rules, list)
            else []
        )
        otherwise = config.get("otherwise", "otherwise")
        if otherwise is not False:
            ports.append(str(otherwise))
        return tuple(dict.fromkeys(ports))

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for index, rule in enumerate(config["rules"]):
            where: tuple[str | int, ...] = ("rules", index)
            if not any(test in rule for test in TESTS):
                problems.append(
                    (where, f"rule {index + 1} tests nothing: give one of {', '.join(TESTS)}")
                )
            if "hysteresis" in rule and not ("above" in rule or "below" in rule):
                problems.append(((*where, "hysteresis"), "hysteresis needs 'above' or 'below'"))
            if rule["port"] in ("error", config.get("otherwise", "otherwise")):
                problems.append(((*where, "port"), f"port '{rule['port']}' is reserved"))
            window = rule.get("time", {})
            if "time" in rule and not window:
                problems.append(((*where, "time"), "a time window needs 'from' and 'to' or 'days'"))
            if ("from" in window) != ("to" in window):
                problems.append(((*where, "time"), "a time window needs both 'from' and 'to'"))
        return problems

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._property = Expression(self.config["property"])
        self._rules = [_Rule(rule) for rule in self.config["rules"]]
        self._otherwise = self.config["otherwise"]
        self._all = self.config["checking"] == "all"
        self._warned = ""

    def process(self, msg: Message) -> Output:
        scope = scope_for(self.ctx, msg)
        self._warned = ""
        matched: list[str] = []
        for index, rule in enumerate(self._rules):
            if rule.holds(self, scope) and rule.port not in matched:
                matched.append(rule.port)
                if not self._all:
                    for skipped in self._rules[index + 1 :]:
                        skipped.latched = False  # not looked at: its band starts afresh
                    break
        if self._warned:
            self.ctx.status(self._warned, "warn")
        elif matched:
            self.ctx.status(f"→ {', '.join(matched)}")
        else:
            self.ctx.status("otherwise" if self._otherwise else "no rule held: dropped", "idle")
        if not matched:
            return {self._otherwise: msg} if self._otherwise is not False else None
        out: dict[str, Message] = {}
        for index, port in enumerate(matched):
            out[port] = msg if index == 0 else msg.copy()
        return out

    def value(self, scope: Mapping[str, Any]) -> Any:
        return self._property.evaluate(scope)

    @property
    def property_source(self) -> str:
        return self._property.source

    def warn(self, text: str) -> None:
        self.ctx.log.warning("%s", text)
        self._warned = text


class _Rule:
    """One rule, its expressions compiled once; remembers a hysteresis match."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.port: str = raw["port"]
        self.raw = raw
        self.test = Expression(raw["if"]) if "if" in raw else None
        self.value = Expression(raw["value"]) if "value" in raw else None
        self.above = _number_or_template(raw.get("above"))
        self.below = _number_or_template(raw.get("below"))
        self.hysteresis = float(raw.get("hysteresis", 0.0))
        self.window = raw.get("time")
        self.latched = False
        self.compares = any(k in raw for k in ("eq", "ne", "in", "above", "below"))

    def holds(self, node: Switch, scope: Mapping[str, Any]) -> bool:
        if (self.test is not None and not self.test.evaluate(scope)) or (
            self.window is not None and not _in_window(self.window, scope["now"], node.ctx)
        ):
            self.latched = False  # its other tests failed: the band starts afresh
            return False
        if not self.compares:
            return True
        value = self.value.evaluate(scope) if self.value is not None else node.value(scope)
        if "eq" in self.raw and value != self.raw["eq"]:
            return False
        if "ne" in self.raw and value == self.raw["ne"]:
            return False
        if "in" in self.raw and value not in self.raw["in"]:
            return False
        if self.above is None and self.below is None:
            return True
        try:
            number = _number(value, self.value.source if self.value else node.property_source)
        except ExpressionError as exc:  # Home Assistant's numeric_state: not a number, no match
            node.warn(f"rule '{self.port}' does not hold: {exc}")
            self.latched = False
            return False
        held = True
        if self.above is not None:
            threshold = _resolve(self.above, scope)
            held = number > threshold or (self.latched and number > threshold - self.hysteresis)
        if held and self.below is not None:
            threshold = _resolve(self.below, scope)
            held = number < threshold or (self.latched and number < threshold + self.hysteresis)
        self.latched = held
        return held


def _number_or_template(raw: Any) -> float | Template | None:
    if raw is None:
        return None
    return Template(raw) if is_template(raw) else float(raw)


def _resolve(threshold: float | Template, scope: Mapping[str, Any]) -> float:
    if isinstance(threshold, Template):
        return _number(threshold.render(scope), threshold.source)
    return threshold


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ExpressionError(f"{what} is {value!r}, not a number") from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise ExpressionError(f"{what} is {value!r}, not a number")
        return number
    return float(value)


def _in_window(window: Mapping[str, Any], now: datetime, ctx: NodeContext) -> bool:
    local = now.astimezone(ZoneInfo(ctx.timezone))
    if "days" in window and WEEKDAYS[local.weekday()] not in window["days"]:
        return False
    if "from" not in window:
        return True
    start, end = time.fromisoformat(window["from"]), time.fromisoformat(window["to"])
    clock = local.time().replace(tzinfo=None)
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end  # passes midnight
