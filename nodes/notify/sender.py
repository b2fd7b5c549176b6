"""The sender nodes: one per channel, each a cooldown in front of its channel.

A sender takes a notification, holds it back when the same event key was sent
within its cooldown (counting it, so the next one sent says how many were
held), and otherwise delivers it. Its cooldown memory lives in the flow's
context, so a restart keeps the cooldowns in force. A failed delivery raises:
the engine marks the run failed and routes the error (its ``error`` port, or
the flow's ``on_error`` flow), and the cooldown does not start, so the next
one tries again.

A channel with no ``notify.<channel>`` section in the site config and nothing
in the node's config is off: the node passes nothing and says so in its status,
so the shipped flows can wire every channel and a site turns on the ones it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import aiohttp

from flowengine.durations import parse_duration
from flowengine.message import Message
from flowengine.node import Node
from nodes.notify.channel import Channel, NotifyError
from nodes.notify.cooldown import Cooldowns
from nodes.notify.mail import Email
from nodes.notify.notice import Notice
from nodes.notify.ntfy import Ntfy
from nodes.notify.pushover import Pushover
from nodes.notify.settings import COOLDOWN, COOLDOWNS, DEFAULT_COOLDOWN, cooldown_for
from nodes.notify.telegram import Telegram
from nodes.notify.webhook import Webhook

#: Node config keys that belong to the node, not to its channel's settings.
NODE_KEYS = ("http", "cooldown", "cooldowns")


def sender_schema(channel: type[Channel]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        **channel.properties,
        "cooldown": COOLDOWN,
        "cooldowns": COOLDOWNS,
    }
    if channel.uses_http:
        properties["http"] = {
            "type": "string",
            "x-connection": "core.http",
            "description": "the shared HTTP connection to send with (web)",
        }
    return {"type": "object", "properties": properties, "additionalProperties": False}


class Sender(Node):
    """Base of the sender node types; each subclass sets ``channel``."""

    channel: ClassVar[type[Channel]]
    takes = (
        "payload {event, title, text, level: info|warning|critical, key?, data?}: a "
        "notification (notify.compose makes them)"
    )
    gives: ClassVar[dict[str, str]] = {
        "out": "payload {channel, event, key, status: sent, suppressed, detail}: delivered "
        "(suppressed: how many like it the cooldown held back before it)",
        "suppressed": "payload {channel, event, key, status: suppressed, suppressed, "
        "resumes_at}: held back by the cooldown",
    }

    @property
    def state_key(self) -> str:
        return f"notify.{self.ctx.node_id}"

    @property
    def where(self) -> str:
        return f"{self.type_name} node '{self.ctx.node_id}'"

    async def process(self, msg: Message) -> dict[str, Message | None] | None:
        options = self.options()
        if options is None:
            self.ctx.status(f"off: no notify.{self.channel.name} in the site config", "idle")
            return None
        channel = self.channel(options, self.where)
        notice = Notice.from_payload(msg.payload, self.where)
        now = self.ctx.clock.time()
        default_s, overrides = self.cooldowns()
        cooldown_s = cooldown_for(notice.event, notice.event_key, default_s, overrides)
        memory = Cooldowns(self.ctx.flow.get(self.state_key))
        verdict = memory.check(notice.event_key, now, cooldown_s)
        if not verdict.send:
            self.ctx.flow.set(self.state_key, memory.as_state())
            self.ctx.status(f"held back {notice.event_key} ({verdict.suppressed} so far)")
            held = self._result(notice, "suppressed", verdict.suppressed)
            msg.payload = {**held, "resumes_at": verdict.resumes_at}
            return {"suppressed": msg}
        notice = notice.after_suppressed(verdict.suppressed, verdict.since_last_s)
        http = self.session() if channel.uses_http else None
        detail = await channel.send(notice, http, self.ctx.clock)
        memory = Cooldowns(self.ctx.flow.get(self.state_key))  # as it is now, after the wait
        memory.sent(notice.event_key, now)
        memory.prune(now, max([default_s, *(parse_duration(v) for v in overrides.values())]))
        self.ctx.flow.set(self.state_key, memory.as_state())
        self.ctx.status(f"sent {notice.event_key}: {detail}"[:120])
        msg.payload = {**self._result(notice, "sent", notice.suppressed), "detail": detail}
        return {"out": msg}

    def options(self) -> dict[str, Any] | None:
        """The channel's settings: the site's ``notify.<channel>`` under the node's own."""
        section = (self.ctx.settings.get("notify") or {}).get(self.channel.name) or {}
        own = {key: value for key, value in self.config.items() if key not in NODE_KEYS}
        if not section and not own:
            return None
        return {**section, **own}

    def cooldowns(self) -> tuple[float, Mapping[str, Any]]:
        """The default cooldown (seconds) and the per-event ones: the node's over the site's."""
        site = self.ctx.settings.get("notify") or {}
        default = self.config.get("cooldown", site.get("cooldown", DEFAULT_COOLDOWN))
        overrides = {**(site.get("cooldowns") or {}), **(self.config.get("cooldowns") or {})}
        return parse_duration(default), overrides

    def session(self) -> aiohttp.ClientSession:
        name = str(self.config.get("http", "web"))
        try:
            connection = self.ctx.connection(name)
        except KeyError:
            raise NotifyError(
                f"{self.where}: no connection '{name}': declare {{id: {name}, type: core.http}} "
                "under connections, or name yours in the node's http"
            ) from None
        session = getattr(connection, "session", None)
        if not isinstance(session, aiohttp.ClientSession) or session.closed:
            raise NotifyError(f"{self.where}: connection '{name}' is not an open core.http session")
        return session

    def _result(self, notice: Notice, status: str, suppressed: int) -> dict[str, Any]:
        return {
            "channel": self.channel.name,
            "event": notice.event,
            "key": notice.key or None,
            "status": status,
            "suppressed": suppressed,
        }


class NtfySender(Sender):
    type_name = "notify.ntfy"
    description = "Sends notifications to an ntfy topic, each event at most once per cooldown."
    channel = Ntfy
    config_schema: ClassVar[dict[str, Any]] = sender_schema(Ntfy)


class PushoverSender(Sender):
    type_name = "notify.pushover"
    description = "Sends notifications through Pushover, each event at most once per cooldown."
    channel = Pushover
    config_schema: ClassVar[dict[str, Any]] = sender_schema(Pushover)


class TelegramSender(Sender):
    type_name = "notify.telegram"
    description = "Sends notifications from a Telegram bot, each event at most once per cooldown."
    channel = Telegram
    config_schema: ClassVar[dict[str, Any]] = sender_schema(Telegram)


class WebhookSender(Sender):
    type_name = "notify.webhook"
    description = "POSTs notifications as JSON to a URL, each event at most once per cooldown."
    channel = Webhook
    config_schema: ClassVar[dict[str, Any]] = sender_schema(Webhook)


class EmailSender(Sender):
    type_name = "notify.email"
    description = (
        "Emails notifications through an SMTP server, each event at most once per cooldown."
    )
    channel = Email
    config_schema: ClassVar[dict[str, Any]] = sender_schema(Email)


SENDERS: list[type[Sender]] = [
    NtfySender,
    PushoverSender,
    TelegramSender,
    WebhookSender,
    EmailSender,
]
