"""notify.email against a real SMTP server (aiosmtpd): plain, AUTH, STARTTLS, implicit TLS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from flowengine.secrets import SecretRef
from tests.nodes.notify.conftest import MakeSite
from tests.nodes.notify.harness import notification, sender_flow, site_settings
from tests.nodes.notify.smtp_server import (
    PASSWORD,
    UNKNOWN_RECIPIENT,
    USERNAME,
    SmtpServer,
    make_certificate,
)

FROM = "Power Master <powermaster@home.example>"
TO = ["sam@home.example", "alex@home.example"]

StartSmtp = Callable[..., Awaitable[SmtpServer]]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cert = make_certificate(tmp_path_factory.mktemp("tls"))
    if cert is None:
        pytest.skip("no openssl command to make a test certificate with")
    return cert


@pytest.fixture
async def smtp(free_port: int, tmp_path: Path) -> AsyncIterator[StartSmtp]:
    servers: list[SmtpServer] = []

    async def start(mode: str, certificate: Path | None = None) -> SmtpServer:
        server = SmtpServer(free_port, mode, certificate)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


def email_settings(port: int, security: str = "none", **more: Any) -> dict[str, Any]:
    section = {
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "from": FROM,
        "to": TO,
        "timeout_s": 5,
        **more,
    }
    return site_settings(
        {"email": section}, {"smtp_password": PASSWORD, "wrong_password": "not-the-password"}
    )


async def test_a_plain_relay_gets_the_message_with_its_headers_and_body(
    smtp: StartSmtp, make_site: MakeSite, free_port: int
) -> None:
    server = await smtp("plain")
    site = await make_site(sender_flow("notify.email", http=False), email_settings(free_port))
    got = await site.run(notification(key="offline"))

    assert got.trace.outcome == "ok", got.trace.error
    (delivery,) = server.mailbox.deliveries
    assert delivery.mail_from == "powermaster@home.example"
    assert delivery.rcpt_tos == TO
    assert (delivery.login, delivery.tls) == (None, False)
    message = delivery.message
    assert message["From"] == FROM
    assert message["To"] == "sam@home.example, alex@home.example"
    assert message["Subject"] == "[Power Master] Inverter offline"
    assert message["Date"] == "Sun, 05 Jan 2025 23:00:00 +0000"  # T0, on the engine's clock
    assert message["X-Power-Master-Event"] == "inverter_offline:offline"
    assert message["Message-ID"].endswith("@home.example>")
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "3 failed Modbus exchanges in a row; last error: timed out.\r\n"
    assert got.sent[0]["detail"] == "sent to 2 recipients"


async def test_auth_over_plain_logs_in_with_the_revealed_password(
    smtp: StartSmtp, make_site: MakeSite, free_port: int
) -> None:
    server = await smtp("auth")
    settings = email_settings(free_port, username=USERNAME, password=SecretRef("smtp_password"))
    site = await make_site(sender_flow("notify.email", http=False), settings)
    got = await site.run(notification(title="Bill — today ⚡", text="Prix élevé"))

    assert got.trace.outcome == "ok", got.trace.error
    assert server.mailbox.logins == [(USERNAME.encode(), True)]
    (delivery,) = server.mailbox.deliveries
    assert delivery.login == USERNAME.encode()
    assert delivery.message["Subject"] == "[Power Master] Bill — today ⚡"
    assert delivery.message.get_content() == "Prix élevé\r\n"


async def test_a_wrong_password_fails_with_the_servers_answer_and_never_the_password(
    smtp: StartSmtp, make_site: MakeSite, free_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    server = await smtp("auth")
    settings = email_settings(free_port, username=USERNAME, password=SecretRef("wrong_password"))
    site = await make_site(sender_flow("notify.email", http=False), settings)
    got = await site.run(notification())

    assert got.error == (
        f"send: NotifyError: email: 127.0.0.1:{free_port} (none): SMTPAuthenticationError: "
        "535 5.7.8 Authentication credentials invalid"
    )
    assert server.mailbox.deliveries == []
    assert "not-the-password" not in caplog.text and "not-the-password" not in str(site.status())


async def test_a_refused_recipient_is_reported_and_the_others_get_it(
    smtp: StartSmtp, make_site: MakeSite, free_port: int
) -> None:
    server = await smtp("plain")
    settings = email_settings(free_port, to=["sam@home.example", UNKNOWN_RECIPIENT])
    site = await make_site(sender_flow("notify.email", http=False), settings)
    got = await site.run(notification())

    assert got.trace.outcome == "ok", got.trace.error
    assert server.mailbox.deliveries[0].rcpt_tos == ["sam@home.example"]
    assert got.sent[0]["detail"] == (
        f"sent to 1 of 2; refused {UNKNOWN_RECIPIENT} (550 5.1.1 No such user here)"
    )


async def test_every_recipient_refused_is_an_error(
    smtp: StartSmtp, make_site: MakeSite, free_port: int
) -> None:
    await smtp("plain")
    site = await make_site(
        sender_flow("notify.email", http=False), email_settings(free_port, to=[UNKNOWN_RECIPIENT])
    )
    got = await site.run(notification())
    assert got.error.endswith(
        f"every recipient refused: {UNKNOWN_RECIPIENT} (550 5.1.1 No such user here)"
    )


async def test_starttls_is_refused_clearly_by_a_server_without_it(
    smtp: StartSmtp, make_site: MakeSite, free_port: int
) -> None:
    await smtp("plain")
    site = await make_site(
        sender_flow("notify.email", http=False), email_settings(free_port, security="starttls")
    )
    got = await site.run(notification())
    assert got.error == (
        f"send: NotifyError: email: 127.0.0.1:{free_port} (starttls): STARTTLS extension not "
        "supported by server. (check security: starttls)"
    )


async def test_no_server_is_an_error_naming_where(make_site: MakeSite, free_port: int) -> None:
    site = await make_site(sender_flow("notify.email", http=False), email_settings(free_port))
    got = await site.run(notification())
    assert got.error.startswith(
        f"send: NotifyError: email: 127.0.0.1:{free_port} (none): ConnectionRefusedError"
    )


async def test_starttls_with_a_trusted_certificate_then_auth(
    smtp: StartSmtp, make_site: MakeSite, free_port: int, certificate: Path
) -> None:
    server = await smtp("starttls", certificate)
    settings = email_settings(
        free_port,
        security="starttls",
        ca_file=str(certificate),
        username=USERNAME,
        password=SecretRef("smtp_password"),
    )
    site = await make_site(sender_flow("notify.email", http=False), settings)
    got = await site.run(notification())

    assert got.trace.outcome == "ok", got.trace.error
    (delivery,) = server.mailbox.deliveries
    assert delivery.tls and delivery.login == USERNAME.encode()


async def test_implicit_tls(
    smtp: StartSmtp, make_site: MakeSite, free_port: int, certificate: Path
) -> None:
    server = await smtp("tls", certificate)
    settings = email_settings(free_port, security="tls", ca_file=str(certificate))
    site = await make_site(sender_flow("notify.email", http=False), settings)
    got = await site.run(notification())

    assert got.trace.outcome == "ok", got.trace.error
    assert server.mailbox.deliveries[0].tls


async def test_a_certificate_nobody_trusts_is_refused(
    smtp: StartSmtp, make_site: MakeSite, free_port: int, certificate: Path
) -> None:
    server = await smtp("tls", certificate)
    site = await make_site(
        sender_flow("notify.email", http=False), email_settings(free_port, security="tls")
    )
    got = await site.run(notification())

    assert "SSLCertVerificationError" in got.error and "certificate verify failed" in got.error
    assert server.mailbox.deliveries == []
