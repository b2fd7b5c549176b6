"""notify.webhook: the JSON it posts, its headers, and which answers count as delivered."""

from __future__ import annotations

import pytest

from flowengine.secrets import SecretRef
from tests.nodes.notify.conftest import MakeSite
from tests.nodes.notify.fake_services import FakeServices
from tests.nodes.notify.harness import T0, notification, sender_flow, site_settings

HOOK_KEY = "whsec_9f8e7d6c5b4a39281706f5e4"


async def test_the_notification_is_posted_as_json_with_the_configured_headers(
    services: FakeServices, make_site: MakeSite
) -> None:
    headers = {"Authorization": SecretRef("hook_key"), "X-Site": "brisbane"}
    section = {"url": f"{services.base}/hook", "headers": headers}
    site = await make_site(
        sender_flow("notify.webhook"), site_settings({"webhook": section}, {"hook_key": HOOK_KEY})
    )
    got = await site.run(notification(key="offline", data={"consecutive_errors": 3}))

    assert got.trace.outcome == "ok", got.trace.error
    (request,) = services.received
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.headers["Authorization"] == HOOK_KEY
    assert request.headers["X-Site"] == "brisbane"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "event": "inverter_offline",
        "key": "offline",
        "title": "Inverter offline",
        "text": "3 failed Modbus exchanges in a row; last error: timed out.",
        "level": "critical",
        "data": {"consecutive_errors": 3},
        "suppressed": 0,
        "at": T0,
    }
    assert got.sent[0]["detail"] == "HTTP 204"


@pytest.mark.parametrize("status", [200, 201, 202])
async def test_any_2xx_is_delivered(
    services: FakeServices, make_site: MakeSite, status: int
) -> None:
    services.webhook_status = status
    settings = site_settings({"webhook": {"url": f"{services.base}/hook"}})
    site = await make_site(sender_flow("notify.webhook"), settings)
    assert (await site.run(notification())).sent[0]["status"] == "sent"


async def test_another_status_fails_naming_the_host_and_not_the_url_or_headers(
    services: FakeServices, make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    services.webhook_status, services.webhook_body = 500, f"internal error (key {HOOK_KEY})"
    url = f"{services.base}/hook?token=abc123secret"
    section = {"url": SecretRef("hook_url"), "headers": {"Authorization": SecretRef("hook_key")}}
    settings = site_settings({"webhook": section}, {"hook_key": HOOK_KEY, "hook_url": url})
    site = await make_site(sender_flow("notify.webhook"), settings)
    got = await site.run(notification())

    assert got.error == (
        f"send: NotifyError: webhook: 127.0.0.1:{services.port} answered HTTP 500: "
        "internal error (key ••••••)"
    )
    assert HOOK_KEY not in caplog.text and "abc123secret" not in caplog.text
