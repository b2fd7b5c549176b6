"""The notification a sender takes: checked once, so every channel can trust it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

LEVELS = ("info", "warning", "critical")
#: What the engine's own notifications call their levels (``ctx.notify``), taken as ours.
LEVEL_ALIASES = {"warn": "warning", "error": "critical"}
#: The events Power Master composes itself; any other event name is welcome too.
KNOWN_EVENTS = (
    "price_spike",
    "storm_reserve",
    "inverter_offline",
    "health_degraded",
    "command_check",
    "daily_summary",
)


class InvalidNotice(ValueError):
    """A payload that is not a notification, naming the field and the node."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification: what happened (``event``, ``key``), said for people."""

    event: str
    title: str
    text: str
    level: str = "info"
    key: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    #: How many of the same event key the cooldown held back before this one.
    suppressed: int = 0
    #: Seconds since the last one of the same key was sent (when some were held back).
    since_last_s: float = 0.0

    @property
    def event_key(self) -> str:
        """What the cooldown counts by: the event, and its sub-kind when it has one."""
        return f"{self.event}:{self.key}" if self.key else self.event

    @property
    def body(self) -> str:
        """The text, saying how many like it were held back since the last one sent."""
        if not self.suppressed:
            return self.text
        many = "message was" if self.suppressed == 1 else "messages were"
        minutes = round(self.since_last_s / 60)
        return (
            f"{self.text}\n\n({self.suppressed} similar {many} suppressed since the last one, "
            f"{minutes} min ago.)"
        )

    def after_suppressed(self, count: int, since_last_s: float) -> Notice:
        return replace(self, suppressed=count, since_last_s=since_last_s)

    @classmethod
    def from_payload(cls, payload: Any, where: str) -> Notice:
        """Check a message payload; ``where`` names the node in the error."""
        if not isinstance(payload, Mapping):
            raise InvalidNotice(
                f"{where}: takes a notification {{event, title, text, level, data}}, "
                f"not {type(payload).__name__}"
            )
        unknown = set(payload) - {"event", "title", "text", "level", "key", "data"}
        if unknown:
            raise InvalidNotice(f"{where}: unknown notification field(s) {sorted(unknown)}")
        event = _text(payload, "event", where, required=True)
        level = str(payload.get("level") or "info")
        level = LEVEL_ALIASES.get(level, level)
        if level not in LEVELS:
            raise InvalidNotice(
                f"{where}: level {payload.get('level')!r} is not one of {', '.join(LEVELS)}"
            )
        data = payload.get("data")
        if data is not None and not isinstance(data, Mapping):
            raise InvalidNotice(f"{where}: data must be a mapping, not {type(data).__name__}")
        title = _text(payload, "title", where) or event.replace("_", " ").capitalize()
        text = _text(payload, "text", where) or title
        return cls(
            event=event,
            title=" ".join(title.split()),  # one line: it becomes a header or a subject
            text=text,
            level=level,
            key=_text(payload, "key", where),
            data=dict(data or {}),
        )


def _text(payload: Mapping[str, Any], name: str, where: str, required: bool = False) -> str:
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise InvalidNotice(f"{where}: the notification has no {name}")
        return ""
    if not isinstance(value, str):
        raise InvalidNotice(f"{where}: {name} must be text, not {type(value).__name__}")
    return value
