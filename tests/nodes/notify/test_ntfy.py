"""notify.ntfy against a local ntfy: the request ntfy takes, and its answers."""

from __future__ import annotations

import base64
from email.header import decode_header, make_header
from typing import Any

import pytest

from flowengine.secrets import SecretRef
from tests.nodes.notify.conftest import MakeSite
from tests.nodes.notify.fake_services import NTFY_TOKEN, FakeServices
from tests.nodes.notify.harness import notification, sender_flow, site_settings

TOPIC = "pm-alerts-7f3kq"


def ntfy_site(services: FakeServices, **section: Any) -> dict[str, Any]:
    base = {"server": f"{services.base}/ntfy", "topic": TOPIC, "token": SecretRef("ntfy_token")}
    secrets = {"ntfy_token": NTFY_TOKEN, "ntfy_password": "s3cret-pass"}
    return site_settings({"ntfy": {**base, **section}}, secrets)


async def test_a_notification_is_published_with_title_priority_tags_and_token(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(sender_flow("notify.ntfy"), ntfy_site(services, tags=["zap"]))
    got = await site.run(
        notification(
            "storm_reserve",
            key="armed",
            level="warning",
            title="Storm reserve armed",
            text="Holding 80% SOC from Tue 14:00.",
        )
    )

    assert got.trace.outcome == "ok", got.trace.error
    (request,) = services.received
    assert (request.method, request.path) == ("POST", f"/ntfy/{TOPIC}")
    assert request.headers["Title"] == "Storm reserve armed"
    assert request.headers["Priority"] == "4"
    assert request.headers["Tags"] == "warning,zap"
    assert request.headers["Authorization"] == f"Bearer {NTFY_TOKEN}"
    assert request.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert request.body == b"Holding 80% SOC from Tue 14:00."
    assert got.sent == [
        {
            "channel": "ntfy",
            "event": "storm_reserve",
            "key": "armed",
            "status": "sent",
            "suppressed": 0,
            "detail": "ntfy message sPs71M8A101",
        }
    ]
    assert got.held == []


@pytest.mark.parametrize(
    ("level", "priority", "tags"),
    [("info", "3", None), ("warning", "4", "warning"), ("critical", "5", "rotating_light")],
)
async def test_each_level_has_its_priority_and_emoji(
    services: FakeServices, make_site: MakeSite, level: str, priority: str, tags: str | None
) -> None:
    site = await make_site(sender_flow("notify.ntfy"), ntfy_site(services))
    assert (await site.run(notification(level=level))).trace.outcome == "ok"
    (request,) = services.received
    assert request.headers["Priority"] == priority
    assert request.headers.get("Tags") == tags


async def test_priorities_can_be_set_per_level(services: FakeServices, make_site: MakeSite) -> None:
    site = await make_site(sender_flow("notify.ntfy"), ntfy_site(services, priorities={"info": 1}))
    assert (await site.run(notification(level="info"))).trace.outcome == "ok"
    assert services.received[0].headers["Priority"] == "1"


async def test_a_title_that_is_not_ascii_is_sent_rfc2047_encoded(
    services: FakeServices, make_site: MakeSite
) -> None:
    title = "Price spike — $14.50/kWh ⚡"
    site = await make_site(sender_flow("notify.ntfy"), ntfy_site(services, tags=["⚡"]))
    got = await site.run(notification(title=title, text="Prix élevé: 14,50 $/kWh"))

    assert got.trace.outcome == "ok", got.trace.error
    (request,) = services.received
    assert request.headers["Title"].startswith("=?UTF-8?B?")
    assert str(make_header(decode_header(request.headers["Title"]))) == title
    assert str(make_header(decode_header(request.headers["Tags"]))) == "rotating_light,⚡"
    assert request.body.decode("utf-8") == "Prix élevé: 14,50 $/kWh"


async def test_a_long_text_is_cut_to_ntfys_4096_bytes(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(sender_flow("notify.ntfy"), ntfy_site(services))
    assert (await site.run(notification(text="é" * 3000))).trace.outcome == "ok"
    body = services.received[0].body
    assert len(body) <= 4096 and body.decode("utf-8").endswith("…")  # whole characters only


async def test_basic_auth_instead_of_a_token(services: FakeServices, make_site: MakeSite) -> None:
    services.ntfy_access = "basic"
    settings = ntfy_site(
        services, token=None, username="powermaster", password=SecretRef("ntfy_password")
    )
    site = await make_site(sender_flow("notify.ntfy"), settings)
    got = await site.run(notification())

    assert got.trace.outcome == "ok", got.trace.error
    expected = base64.b64encode(b"powermaster:s3cret-pass").decode()
    assert services.received[0].headers["Authorization"] == f"Basic {expected}"


async def test_a_wrong_token_fails_the_run_with_ntfys_reason_and_never_the_token(
    services: FakeServices, make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    settings = site_settings(
        {
            "ntfy": {
                "server": f"{services.base}/ntfy",
                "topic": TOPIC,
                "token": SecretRef("ntfy_token"),
            }
        },
        {"ntfy_token": "tk_wrongwrongwrongwrongwrong123"},
    )
    site = await make_site(sender_flow("notify.ntfy"), settings)
    got = await site.run(notification())

    assert got.error == "send: NotifyError: ntfy: HTTP 401: unauthorized (ntfy code 40101)"
    assert got.sent == [] and got.held == []
    assert "tk_wrong" not in caplog.text and "tk_wrong" not in str(site.status())


async def test_an_open_topic_needs_no_auth_and_a_protected_one_says_forbidden(
    services: FakeServices, make_site: MakeSite
) -> None:
    settings = site_settings({"ntfy": {"server": f"{services.base}/ntfy", "topic": TOPIC}})
    site = await make_site(sender_flow("notify.ntfy"), settings)
    refused = await site.run(notification())
    assert refused.error == "send: NotifyError: ntfy: HTTP 403: forbidden (ntfy code 40301)"
    assert "Authorization" not in services.received[0].headers

    services.ntfy_access = None
    assert (await site.run(notification())).trace.outcome == "ok"
