"""notify.telegram against a local Bot API, and the bot token kept out of every error."""

from __future__ import annotations

from typing import Any

import pytest

from flowengine.secrets import SecretRef
from flowengine.summary import MASK
from tests.nodes.notify.conftest import MakeSite
from tests.nodes.notify.fake_services import TELEGRAM_CHAT, TELEGRAM_TOKEN, FakeServices
from tests.nodes.notify.harness import notification, sender_flow, site_settings


def telegram_site(
    services: FakeServices, token: str = TELEGRAM_TOKEN, **more: Any
) -> dict[str, Any]:
    section = {
        "token": SecretRef("telegram_token"),
        "chat_id": TELEGRAM_CHAT,
        "base_url": f"{services.base}/telegram",
        **more,
    }
    return site_settings({"telegram": section}, {"telegram_token": token})


async def test_send_message_with_chat_id_and_text(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(sender_flow("notify.telegram"), telegram_site(services))
    got = await site.run(notification())

    assert got.trace.outcome == "ok", got.trace.error
    (request,) = services.received
    assert (request.method, request.path) == ("POST", f"/telegram/bot{TELEGRAM_TOKEN}/sendMessage")
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "chat_id": TELEGRAM_CHAT,
        "text": "Inverter offline\n3 failed Modbus exchanges in a row; last error: timed out.",
    }
    assert got.sent[0]["detail"] == "telegram message 101"
    assert TELEGRAM_TOKEN not in str(got.sent) and TELEGRAM_TOKEN not in str(site.status())


async def test_html_parse_mode_makes_the_title_bold_and_escapes_the_text(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(
        sender_flow("notify.telegram"), telegram_site(services, parse_mode="HTML")
    )
    got = await site.run(notification(title="SOC < 10%", text="grid & battery <lost>"))

    assert got.trace.outcome == "ok", got.trace.error
    assert services.received[0].json() == {
        "chat_id": TELEGRAM_CHAT,
        "parse_mode": "HTML",
        "text": "<b>SOC &lt; 10%</b>\ngrid &amp; battery &lt;lost&gt;",
    }


async def test_markdown_v2_escapes_what_it_must(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(
        sender_flow("notify.telegram"), telegram_site(services, parse_mode="MarkdownV2")
    )
    got = await site.run(notification(title="health_degraded", text="$1.20/kWh (spike)!"))

    assert got.trace.outcome == "ok", got.trace.error
    assert services.received[0].json()["text"] == r"*health\_degraded*" + "\n" + (
        r"$1\.20/kWh \(spike\)\!"
    )


async def test_an_unknown_chat_fails_with_telegrams_description(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(sender_flow("notify.telegram"), telegram_site(services, chat_id=42))
    got = await site.run(notification())
    assert got.error == "send: NotifyError: telegram: HTTP 400: Bad Request: chat not found"


async def test_a_wrong_token_never_shows_in_the_error_the_log_or_the_status(
    services: FakeServices, make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "7142336090:AAWRONGwrongWRONGwrongWRONGwrong12"
    site = await make_site(sender_flow("notify.telegram"), telegram_site(services, token=wrong))
    got = await site.run(notification())

    assert got.error == "send: NotifyError: telegram: HTTP 401: Unauthorized"
    assert services.received[0].path == f"/telegram/bot{wrong}/sendMessage"  # it was used
    assert wrong not in caplog.text and wrong not in str(site.status())


async def test_an_error_that_names_the_url_has_the_token_masked(
    services: FakeServices, make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    # An impossible port: aiohttp's error quotes the whole URL, token and all.
    settings = telegram_site(services, base_url="http://127.0.0.1:99999")
    site = await make_site(sender_flow("notify.telegram"), settings)
    got = await site.run(notification())

    assert got.error.startswith("send: NotifyError: telegram: cannot reach 127.0.0.1:99999: ")
    assert f"bot{MASK}/sendMessage" in got.error
    assert TELEGRAM_TOKEN not in got.error
    assert TELEGRAM_TOKEN not in caplog.text  # the traceback the engine logs too
    assert TELEGRAM_TOKEN not in str(site.status())


async def test_a_token_in_the_nodes_own_config_is_masked_too(
    services: FakeServices, make_site: MakeSite
) -> None:
    config = {"token": TELEGRAM_TOKEN, "chat_id": TELEGRAM_CHAT, "base_url": "http://127.0.0.1:0"}
    site = await make_site(sender_flow("notify.telegram", config), site_settings())
    got = await site.run(notification())
    assert "telegram: cannot reach" in got.error and TELEGRAM_TOKEN not in got.error


async def test_a_long_text_is_cut_to_telegrams_4096_characters(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(
        sender_flow("notify.telegram"), telegram_site(services, parse_mode="HTML")
    )
    got = await site.run(notification(text="<&>" * 3000))
    assert got.trace.outcome == "ok", got.trace.error
    text = services.received[0].json()["text"]
    assert len(text) <= 4096 and text.endswith("…") and "&lt;&amp;&gt;" in text
