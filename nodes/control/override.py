"""``control.override``: a flow sets or ends the manual override, as the web API and
Home Assistant do (nodes/control/override_rules.py holds the rules all three follow),
sets one ahead (``from``: nodes/control/planned.py), or starts the planned override
whose window has opened (``action: start_planned``, flows/overrides.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine.expressions import Template, is_template, scope_for, to_epoch
from flowengine.message import Message
from flowengine.node import ContextKey, Node, NodeContext
from flowengine.schema import DURATION, TEMPLATE_TEXT, templated
from nodes.control.decision import MODES
from nodes.control.override_rules import OVERRIDE_KEY, InvalidOverride
from nodes.control.planned import PLANNED_KEY, set_or_plan_override, start_due


class OverrideNode(Node):
    type_name = "control.override"
    description = (
        "Sets the manual override (mode, power, for or until; from: set ahead), clears it, "
        "or starts the override set ahead whose window has opened."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "action": {
                "enum": ["set", "clear", "start_planned"],
                "default": "set",
                "description": "set, clear, or start_planned: the override set ahead whose "
                "window has opened becomes the one in force (those past are dropped)",
            },
            "mode": templated({"enum": list(MODES)}, "the mode to force"),
            "power_w": templated({"type": "number", "minimum": 0}, "watts"),
            "for": templated(DURATION, "how long it lasts (or give until)"),
            "until": templated(
                {"type": "string", "format": "date-time"},
                "when it ends: ISO 8601, or {{ now + 1h }}",
            ),
            "from": templated(
                {"type": "string", "format": "date-time"},
                "when it starts, if later than now: ISO 8601 (kept until then)",
            ),
            "reason": {**TEMPLATE_TEXT, "description": "shown with the decision; {{ }} allowed"},
        },
        "additionalProperties": False,
    }
    writes: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("override", "the manual override the control hierarchy follows"),
        ContextKey("planned_overrides", "overrides set ahead, until their window opens"),
    )
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("planned_overrides", "overrides set ahead (start_planned)"),
    )
    takes = "any message (the config's {{ }} parts may read it)"
    gives: ClassVar[dict[str, str]] = {"out": "the message carrying the override as stored"}

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        action = config.get("action", "set")
        if action in ("clear", "start_planned"):
            extra = [k for k in config if k != "action"]
            what = "a clear" if action == "clear" else action
            return [((f"<key>{extra[0]}",), f"{what} takes no other keys")] if extra else []
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for key in ("mode", "power_w"):
            if key not in config:
                problems.append(((), f"an override needs '{key}'"))
        if "for" not in config and "until" not in config:
            problems.append(((), "an override needs an end: give 'for' or 'until'"))
        elif "for" in config and "until" in config:
            problems.append((("<key>until",), "give 'for' or 'until', not both"))
        return problems

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._action = self.config["action"]
        self._fields = {
            key: Template(value) if is_template(value) else value
            for key, value in config.items()
            if key in ("mode", "power_w", "for", "until", "from", "reason")
        }

    def process(self, msg: Message) -> Message:
        if self._action == "start_planned":
            started = start_due(self.ctx.globals, self.ctx.clock.time())
            waiting = self.ctx.globals.peek(PLANNED_KEY) or []
            self.ctx.status(
                f"started {started['mode']}; {len(waiting)} ahead"
                if started
                else f"{len(waiting)} ahead"
            )
            msg.payload = started
            return msg
        if self._action == "clear":
            self.ctx.globals.set(OVERRIDE_KEY, None)
            self.ctx.status("cleared")
            msg.payload = None
            return msg
        scope = scope_for(self.ctx, msg)
        values = {
            key: value.render(scope) if isinstance(value, Template) else value
            for key, value in self._fields.items()
        }
        now = self.ctx.clock.time()
        until, start = values.get("until"), values.get("from")
        try:
            override = set_or_plan_override(
                self.ctx.globals,
                now,
                self.ctx.settings,
                values.get("mode"),
                values.get("power_w"),
                duration=values.get("for"),
                source="flow",
                reason=values.get("reason") or f"set by flow {self.ctx.flow_id}",
                until=to_epoch(until) if until is not None else None,
                start=to_epoch(start) if start is not None else None,
            )
        except InvalidOverride as exc:
            raise ValueError(
                "override refused: " + "; ".join(f"{p.field} {p.message}" for p in exc.problems)
            ) from None
        ahead = " (set ahead)" if "from" in override else ""
        self.ctx.status(f"{override['mode']} {override['power_w']:g} W{ahead}")
        msg.payload = override
        return msg
