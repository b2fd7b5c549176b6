"""What every notification channel is: its settings, its secrets, and how it sends.

A channel's options come from the site config's ``notify.<channel>`` section
(where ``!secret`` works) overlaid with the node's own config. Secrets are
revealed only while sending, and every error a channel raises has them masked
first: a server (or an HTTP library) may echo a token or a URL that holds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import aiohttp

from flowengine import MASK
from flowengine.clock import Clock
from flowengine.errors import NodeFailure
from flowengine.secrets import MissingSecret, is_secret, reveal
from nodes.notify.notice import Notice


class NotifyError(NodeFailure):
    """A notification that was not delivered, in words fit for a log (no secrets)."""


class ChannelConfigError(ValueError):
    """A channel's settings are incomplete or contradict each other."""


class Channel:
    """Base of the channels; subclasses declare their settings and implement ``send``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: JSON Schema properties of the channel's settings (site section and node config).
    properties: ClassVar[dict[str, Any]] = {}
    required: ClassVar[tuple[str, ...]] = ()
    #: Settings whose values must never appear anywhere (masked in every error).
    secret_fields: ClassVar[tuple[str, ...]] = ()
    uses_http: ClassVar[bool] = True

    def __init__(self, options: Mapping[str, Any], where: str) -> None:
        self.options = dict(options)
        self.where = where
        missing = [name for name in self.required if self.options.get(name) in (None, "", [])]
        if missing:
            raise ChannelConfigError(
                f"{where}: {', '.join(missing)} not set (set it under notify.{self.name} "
                f"in the site config, or in the node's config)"
            )

    async def send(self, notice: Notice, http: aiohttp.ClientSession | None, clock: Clock) -> str:
        """Deliver ``notice``; a short account of it (an id, a status), or ``NotifyError``."""
        raise NotImplementedError

    def secret(self, name: str) -> str | None:
        """The real value of a setting (a ``!secret`` revealed), None when it is not set."""
        value = self.options.get(name)
        if value is None or value == "":
            return None
        return self.reveal(value, name)

    def reveal(self, value: Any, name: str) -> str:
        """``value`` revealed; a ``!secret`` without a value is a ``NotifyError`` naming it."""
        try:
            return reveal(value)
        except MissingSecret as exc:
            raise NotifyError(
                f"{self.where}: {name}: {exc} (a !secret is bound only in the site config: "
                f"put it under notify.{self.name})"
            ) from None

    def scrub(self, text: str) -> str:
        """``text`` with every secret of this channel masked."""
        for value in self._secret_values():
            text = text.replace(value, MASK)
        return text

    def fail(self, reason: str) -> NotifyError:
        """The error to raise, secrets masked."""
        return NotifyError(self.scrub(f"{self.name}: {reason}"))

    def _secret_values(self) -> list[str]:
        found: list[Any] = [self.options.get(name) for name in self.secret_fields]
        found += [v for v in _walk(self.options) if is_secret(v)]
        found += self.more_secrets()
        values: list[str] = []
        for value in found:
            if value is None:
                continue
            try:
                text = reveal(value)
            except MissingSecret:
                continue
            if len(text) >= 3:  # masking "a" would shred every message
                values.append(text)
        return sorted(set(values), key=len, reverse=True)  # longest first: no partial leftovers

    def more_secrets(self) -> list[Any]:
        """Secret values beyond ``secret_fields`` (nested ones), for subclasses to name."""
        return []


def _walk(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in _walk(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _walk(item)]
    return [value]


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"
