"""notify.pushover against a local Pushover: the form it takes, its status answers."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest

from flowengine.secrets import SecretRef
from tests.nodes.notify.conftest import MakeSite
from tests.nodes.notify.fake_services import PUSHOVER_TOKEN, PUSHOVER_USER, FakeServices
from tests.nodes.notify.harness import notification, sender_flow, site_settings


def pushover_site(services: FakeServices, user: str = PUSHOVER_USER, **more: Any) -> dict[str, Any]:
    section = {
        "token": SecretRef("pushover_token"),
        "user": SecretRef("pushover_user"),
        "base_url": f"{services.base}/pushover",
        **more,
    }
    return site_settings(
        {"pushover": section}, {"pushover_token": PUSHOVER_TOKEN, "pushover_user": user}
    )


async def test_the_form_pushover_takes_and_its_status_1(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(sender_flow("notify.pushover"), pushover_site(services))
    got = await site.run(notification())

    assert got.trace.outcome == "ok", got.trace.error
    (request,) = services.received
    assert (request.method, request.path) == ("POST", "/pushover/1/messages.json")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode()) == {
        "token": [PUSHOVER_TOKEN],
        "user": [PUSHOVER_USER],
        "message": ["3 failed Modbus exchanges in a row; last error: timed out."],
        "title": ["Inverter offline"],
        "priority": ["1"],  # critical: high priority
    }
    (sent,) = got.sent
    assert sent["status"] == "sent" and sent["detail"].startswith("pushover request ")


@pytest.mark.parametrize(("level", "priority"), [("info", "-1"), ("warning", "0")])
async def test_levels_map_to_pushover_priorities(
    services: FakeServices, make_site: MakeSite, level: str, priority: str
) -> None:
    site = await make_site(sender_flow("notify.pushover"), pushover_site(services))
    assert (await site.run(notification(level=level))).trace.outcome == "ok"
    assert parse_qs(services.received[0].body.decode())["priority"] == [priority]


async def test_a_device_is_sent_only_when_set(services: FakeServices, make_site: MakeSite) -> None:
    site = await make_site(sender_flow("notify.pushover"), pushover_site(services, device="pixel"))
    assert (await site.run(notification())).trace.outcome == "ok"
    assert parse_qs(services.received[0].body.decode())["device"] == ["pixel"]


async def test_status_0_fails_with_pushovers_errors_and_no_keys(
    services: FakeServices, make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_user = "uWRONGWRONGWRONGWRONGWRONGWRO"
    site = await make_site(sender_flow("notify.pushover"), pushover_site(services, wrong_user))
    got = await site.run(notification())

    assert (
        got.error == "send: NotifyError: pushover: HTTP 400, status 0: user identifier is invalid"
    )
    for secret in (wrong_user, PUSHOVER_TOKEN):
        assert secret not in caplog.text and secret not in str(site.status())


async def test_long_messages_are_cut_to_pushovers_limits(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(sender_flow("notify.pushover"), pushover_site(services))
    got = await site.run(notification(title="T" * 300, text="x" * 2000))
    assert got.trace.outcome == "ok", got.trace.error
    form = parse_qs(services.received[0].body.decode())
    assert len(form["title"][0]) == 250 and len(form["message"][0]) == 1024


async def test_an_answer_that_is_not_pushovers_is_an_error(
    services: FakeServices, make_site: MakeSite
) -> None:
    section = {
        "token": "azGDORePK8gMaC0QOYAMyEEuzJnyUi",
        "user": PUSHOVER_USER,
        "base_url": f"{services.base}/hook",
    }
    services.webhook_status, services.webhook_body = 502, "<html>Bad gateway</html>"
    site = await make_site(sender_flow("notify.pushover"), site_settings({"pushover": section}))
    got = await site.run(notification())
    assert "pushover: HTTP 404, not a Pushover answer" in got.error
