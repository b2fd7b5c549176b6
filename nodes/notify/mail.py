"""Email over SMTP: STARTTLS, implicit TLS, or plain for a relay on the local network.

The standard library's ``smtplib`` in a worker thread (``asyncio.to_thread``),
not ``aiosmtplib``: a few messages a day do not need an async client, and a
runtime dependency less is worth more on a Pi. The thread keeps the blocking
exchange off the event loop, so flows run on while a slow server answers.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Any, ClassVar

import aiohttp

from flowengine.clock import Clock
from nodes.notify.channel import Channel, ChannelConfigError
from nodes.notify.notice import Notice

SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_SUBJECT_PREFIX = "[Power Master] "
DEFAULT_TIMEOUT_S = 20.0


class Email(Channel):
    name = "email"
    description = "Sends each notification as a plain-text email through an SMTP server."
    uses_http = False
    properties: ClassVar[dict[str, Any]] = {
        "host": {"type": "string", "minLength": 1, "description": "the SMTP server"},
        "port": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535,
            "description": "default by security: starttls 587, tls 465, none 25",
        },
        "security": {
            "enum": list(SECURITY),
            "description": "starttls (default), tls (implicit TLS, often port 465), or none "
            "(plain: only for a relay on your own network)",
        },
        "username": {"type": "string", "description": "to log in with (optional)"},
        "password": {"type": "string", "description": "to log in with (use !secret)"},
        "from": {"type": "string", "pattern": "@", "description": "the sender address"},
        "to": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "pattern": "@"},
            "description": "recipient addresses",
        },
        "subject_prefix": {
            "type": "string",
            "description": f"put before each title in the subject ({DEFAULT_SUBJECT_PREFIX!r})",
        },
        "ca_file": {
            "type": "string",
            "description": "a CA bundle (or a server's self-signed certificate) to trust "
            "instead of the system's",
        },
        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "description": "20 s"},
        "helo": {"type": "string", "description": "name to greet with (this host's name)"},
    }
    required = ("host", "from", "to")
    secret_fields = ("password",)

    def __init__(self, options: Mapping[str, Any], where: str) -> None:
        super().__init__(options, where)
        if bool(self.options.get("username")) != bool(self.options.get("password")):
            raise ChannelConfigError(f"{where}: username and password go together")
        self.security = str(self.options.get("security") or "starttls")
        if self.security not in SECURITY:
            raise ChannelConfigError(
                f"{where}: security {self.security!r} is not one of {', '.join(SECURITY)}"
            )
        self.host = str(self.options["host"])
        self.port = int(self.options.get("port") or DEFAULT_PORTS[self.security])
        recipients = self.options["to"]
        self.to = [recipients] if isinstance(recipients, str) else [str(r) for r in recipients]

    async def send(self, notice: Notice, http: aiohttp.ClientSession | None, clock: Clock) -> str:
        message = self.compose(notice, clock)
        password = self.secret("password")
        try:
            refused = await asyncio.to_thread(self._deliver, message, password)
        except smtplib.SMTPNotSupportedError as exc:
            raise self.fail(f"{self._server()}: {exc} (check security: {self.security})") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self.fail(f"{self._server()}: {_describe(exc)}") from None
        if refused:
            refusals = ", ".join(
                f"{rcpt} ({_response(*answer)})" for rcpt, answer in refused.items()
            )
            return f"sent to {len(self.to) - len(refused)} of {len(self.to)}; refused {refusals}"
        return f"sent to {len(self.to)} recipient{'s' if len(self.to) > 1 else ''}"

    def compose(self, notice: Notice, clock: Clock) -> EmailMessage:
        sender = str(self.options["from"])
        prefix = str(self.options.get("subject_prefix", DEFAULT_SUBJECT_PREFIX))
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(self.to)
        message["Subject"] = prefix + notice.title
        message["Date"] = clock.now()  # the engine's time: a backtest's mail is dated in it
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid("power-master", domain=domain)
        message["X-Power-Master-Event"] = notice.event_key
        message.set_content(notice.body)
        return message

    def _deliver(self, message: EmailMessage, password: str | None) -> dict[str, tuple[int, bytes]]:
        """The blocking exchange (in a worker thread): the recipients the server refused."""
        timeout = float(self.options.get("timeout_s") or DEFAULT_TIMEOUT_S)
        helo = str(self.options.get("helo") or socket.gethostname())  # getfqdn may hang on DNS
        context = ssl.create_default_context(cafile=self.options.get("ca_file"))
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, local_hostname=helo, timeout=timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, local_hostname=helo, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.options.get("username") and password is not None:
                smtp.login(str(self.options["username"]), password)
            return smtp.send_message(message)

    def _server(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "every recipient refused: " + ", ".join(
            f"{rcpt} ({_response(*answer)})" for rcpt, answer in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {_response(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _response(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(words.split())}"
