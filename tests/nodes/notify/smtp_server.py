"""A real SMTP server (aiosmtpd) on a local port, keeping what it received.

Plain, plain with AUTH (as a relay on the local network may offer), STARTTLS,
or implicit TLS; the TLS variants use a self-signed certificate made with the
``openssl`` command for the test.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import ssl
import subprocess
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USERNAME = "powermaster@home.example"
PASSWORD = "correct-horse-battery-staple"
UNKNOWN_RECIPIENT = "nobody@home.example"


@dataclass
class Delivery:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: bytes | None
    tls: bool


@dataclass
class Mailbox:
    """The server's handler: takes every message (but for UNKNOWN_RECIPIENT), keeps it."""

    deliveries: list[Delivery] = field(default_factory=list)
    logins: list[tuple[bytes, bool]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == UNKNOWN_RECIPIENT:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        tls = server.transport is not None and server.transport.get_extra_info("ssl_object")
        self.deliveries.append(
            Delivery(str(envelope.mail_from), list(envelope.rcpt_tos), message, login, bool(tls))
        )
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        good = data.login.decode() == USERNAME and data.password.decode() == PASSWORD
        self.logins.append((data.login, good))
        return AuthResult(success=good, handled=False, auth_data=data)


class SmtpServer:
    """An aiosmtpd server in its own thread; ``mode`` is plain, auth, starttls or tls."""

    def __init__(self, port: int, mode: str, certificate: Path | None = None) -> None:
        self.port = port
        self.mailbox = Mailbox()
        kwargs: dict[str, Any] = {}
        if mode in ("auth", "starttls", "tls"):
            kwargs["authenticator"] = self.mailbox.authenticate
            kwargs["auth_require_tls"] = mode != "auth"
        if mode in ("starttls", "tls"):
            assert certificate is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certificate, certificate.with_suffix(".key"))
            if mode == "starttls":
                kwargs["tls_context"] = context
                kwargs["require_starttls"] = True
            else:
                kwargs["ssl_context"] = context
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=port, **kwargs)

    async def start(self) -> None:
        await asyncio.to_thread(self.controller.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self.controller.stop)


def make_certificate(folder: Path) -> Path | None:
    """A self-signed certificate for 127.0.0.1 (and its key beside it), or None without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = folder / "smtp.pem", folder / "smtp.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext",
            "keyUsage=critical,digitalSignature,keyCertSign",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
        check=True,
        capture_output=True,
    )
    return cert
