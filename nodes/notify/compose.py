"""The ``notify.compose`` node: Power Master's state, as notifications when it changes.

It reads what other flows keep in the global context (the storm reserve, the
Modbus link, health, the inverter doing what it was told, telemetry, a bill if
one is kept) and, when its input is a
``prices.spike`` result, the price spike. Each event is edge-triggered: the
state last seen is kept in this flow's context, so an event is sent when it
happens, once, and a restart does not send it again.
"""

from __future__ import annotations

from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flowengine.message import Message
from flowengine.node import ContextKey, Node
from nodes.control.health import HEALTH_KEY
from nodes.foxess.link import LINK_KEY
from nodes.notify import events
from nodes.notify.notice import KNOWN_EVENTS

DEFAULT_SUMMARY_AT = "21:00"
#: As many failed exchanges in a row as health's own safety limit (modbus_safety_after).
DEFAULT_OFFLINE_AFTER = 3
_KEY = {"type": "string", "minLength": 1}


class Compose(Node):
    type_name = "notify.compose"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("storm_reserve", "the storm reserve", "storm_key"),
        ContextKey("inverter_link", "the Modbus link", "link_key"),
        ContextKey("health", "control health", "health_key"),
        ContextKey("command_check", "the inverter doing what it was told", "command_check_key"),
        ContextKey("telemetry", "the inverter's reading", "telemetry_key"),
        ContextKey("bill", "the bill so far", "bill_key"),
    )
    description = (
        "Turns Power Master's state into notifications (price spike, storm reserve, inverter "
        "offline, health, the inverter not doing what it was told, daily summary), each once, "
        "when it changes."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "events": {
                "type": "array",
                "items": {"enum": list(KNOWN_EVENTS)},
                "uniqueItems": True,
                "description": "the events to watch (default: all six)",
            },
            "summary_at": {
                "type": "string",
                "pattern": r"^([01]\d|2[0-3]):[0-5]\d$",
                "description": f"local time of the daily summary ({DEFAULT_SUMMARY_AT})",
            },
            "offline_after": {
                "type": "integer",
                "minimum": 1,
                "description": "failed Modbus exchanges in a row that make the inverter "
                f"offline ({DEFAULT_OFFLINE_AFTER})",
            },
            "storm_key": {**_KEY, "description": "global key of the storm reserve"},
            "link_key": {**_KEY, "description": f"global key of the Modbus link ({LINK_KEY})"},
            "health_key": {**_KEY, "description": f"global key of health ({HEALTH_KEY})"},
            "command_check_key": {
                **_KEY,
                "description": "global key of control.compare's record (command_check)",
            },
            "telemetry_key": {**_KEY, "description": "global key of telemetry"},
            "bill_key": {
                **_KEY,
                "description": "global key of a bill {today: $ or {net: $}} (bill; "
                "left out of the summary when absent)",
            },
        },
        "additionalProperties": False,
    }
    takes = "any message (a trigger); a prices.spike result as payload gives the price spike"
    gives: ClassVar[dict[str, str]] = {
        "out": "one message per event that just happened: payload {event, key, title, text, "
        "level, data}, for the notify.* senders",
    }

    @property
    def state_key(self) -> str:
        return f"notify_compose.{self.ctx.node_id}"

    def process(self, msg: Message) -> dict[str, list[Message]] | None:
        seen: dict[str, Any] = dict(self.ctx.flow.get(self.state_key) or {})
        found: list[events.Payload] = []
        for name, (state, payload) in self._edges(msg.payload, seen).items():
            seen[name] = state
            if payload is not None:
                found.append(payload)
        self.ctx.flow.set(self.state_key, seen)  # written only when it changed
        if not found:
            self.ctx.status("nothing new")
            return None
        self.ctx.status(", ".join(f"{p['event']} {p.get('key', '')}".strip() for p in found)[:120])
        return {"out": [msg.derive(payload) for payload in found]}

    def _edges(
        self, payload: Any, seen: dict[str, Any]
    ) -> dict[str, tuple[Any, events.Payload | None]]:
        """Each watched event's state now, and its notification when it just changed."""
        watched = set(self.config.get("events", KNOWN_EVENTS))
        option = self.config.get
        peek = self.ctx.globals.peek  # read only: no copies every run
        zone = self._zone()
        edges: dict[str, tuple[Any, events.Payload | None]] = {}
        if "price_spike" in watched and events.is_spike_result(payload):
            edges["spiking"] = events.price_spike(payload, bool(seen.get("spiking")))
        if "storm_reserve" in watched:
            reserve = peek(option("storm_key", "storm_reserve"))
            edges["storm_armed"] = events.storm_reserve(
                reserve, bool(seen.get("storm_armed")), zone
            )
        if "inverter_offline" in watched:
            link = peek(option("link_key", LINK_KEY))
            after = int(option("offline_after", DEFAULT_OFFLINE_AFTER))
            was_offline = bool(seen.get("inverter_offline"))
            edges["inverter_offline"] = events.inverter_link(link, was_offline, after, zone)
        if "health_degraded" in watched:
            record = peek(option("health_key", HEALTH_KEY))
            edges["health"] = events.health(record, str(seen.get("health") or "ok"))
        if "command_check" in watched:
            check = peek(option("command_check_key", "command_check"))
            was = [str(c) for c in seen.get("command_check") or []]
            edges["command_check"] = events.command_check(check, was)
        if "daily_summary" in watched:
            hours, minutes = str(option("summary_at", DEFAULT_SUMMARY_AT)).split(":")
            edges["summary_date"] = events.daily_summary(
                peek(option("telemetry_key", "telemetry")),
                peek(option("bill_key", "bill")),
                self.ctx.clock.time(),
                zone,
                int(hours) * 60 + int(minutes),
                seen.get("summary_date"),
            )
        return edges

    def _zone(self) -> ZoneInfo:
        name = (self.ctx.settings.get("site") or {}).get("timezone") or "UTC"
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")
