"""The ``notify`` section of site.yaml: each channel's account, and the cooldowns.

Channel credentials belong here rather than in flow files: this is where
``!secret`` values are bound (flow files are shown in the UI and kept in git).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowengine.durations import parse_duration
from flowengine.schema import DURATION
from nodes.notify.channel import Channel
from nodes.notify.mail import Email
from nodes.notify.ntfy import Ntfy
from nodes.notify.pushover import Pushover
from nodes.notify.telegram import Telegram
from nodes.notify.webhook import Webhook

CHANNELS: list[type[Channel]] = [Ntfy, Pushover, Telegram, Webhook, Email]
DEFAULT_COOLDOWN = "30m"

COOLDOWN: dict[str, Any] = {
    **DURATION,
    "description": f"send the same event (and key) at most once per this ({DEFAULT_COOLDOWN}); "
    "0 sends every one",
}
COOLDOWNS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": DURATION,
    "description": "a cooldown per event ('price_spike') or event and key "
    "('health_degraded:safety'), over the cooldown",
}

DEFAULTS: dict[str, Any] = {"cooldown": DEFAULT_COOLDOWN}


def channel_section(channel: type[Channel]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": channel.description,
        "properties": channel.properties,
        "required": list(channel.required),
        "additionalProperties": False,
    }


SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Notifications: the channels to send them through, and how often.",
    "properties": {
        "cooldown": COOLDOWN,
        "cooldowns": COOLDOWNS,
        **{channel.name: channel_section(channel) for channel in CHANNELS},
    },
    "additionalProperties": False,
}


def cooldown_for(
    event: str, event_key: str, default_s: float, overrides: Mapping[str, Any]
) -> float:
    """Seconds of cooldown for one notification: 'event:key', then 'event', then the default."""
    for name in (event_key, event):
        if name in overrides:
            return parse_duration(overrides[name])
    return default_s
