"""Notifications: ntfy, Pushover, Telegram, a webhook and email, each behind a cooldown,
and ``notify.compose``, which turns Power Master's state into notifications when it changes."""

from __future__ import annotations

from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.notify import settings
from nodes.notify.channel import Channel, NotifyError
from nodes.notify.compose import Compose
from nodes.notify.notice import InvalidNotice, Notice
from nodes.notify.sender import (
    EmailSender,
    NtfySender,
    PushoverSender,
    Sender,
    TelegramSender,
    WebhookSender,
)

NODE_TYPES: list[Declared] = [
    Compose,
    NtfySender,
    PushoverSender,
    TelegramSender,
    WebhookSender,
    EmailSender,
]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"notify": settings.SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {"notify": settings.DEFAULTS}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, {}, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "Channel",
    "Compose",
    "EmailSender",
    "InvalidNotice",
    "Notice",
    "NotifyError",
    "NtfySender",
    "PushoverSender",
    "Sender",
    "TelegramSender",
    "WebhookSender",
]
