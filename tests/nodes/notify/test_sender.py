"""What every sender does besides sending: off when unset, clear errors, errors routed."""

from __future__ import annotations

import pytest

from tests.flowengine.helpers import Collect
from tests.nodes.notify.conftest import MakeSite
from tests.nodes.notify.fake_services import FakeServices
from tests.nodes.notify.harness import notification, sender_flow, site_settings


@pytest.mark.parametrize("channel", ["ntfy", "pushover", "telegram", "webhook", "email"])
async def test_a_channel_with_no_settings_is_off_and_says_so(
    make_site: MakeSite, channel: str
) -> None:
    site = await make_site(sender_flow(f"notify.{channel}"), site_settings())
    got = await site.run(notification())
    assert got.trace.outcome == "ok" and got.sent == [] and got.held == []
    assert site.status()["status"]["text"] == f"off: no notify.{channel} in the site config"


async def test_a_missing_setting_is_named_with_where_to_set_it(make_site: MakeSite) -> None:
    site = await make_site(
        sender_flow("notify.telegram"), site_settings({"telegram": {"token": "x"}})
    )
    got = await site.run(notification())
    assert got.error == (
        "send: ChannelConfigError: notify.telegram node 'send': chat_id not set (set it under "
        "notify.telegram in the site config, or in the node's config)"
    )


@pytest.mark.parametrize(
    ("channel", "section", "error"),
    [
        ("ntfy", {"topic": "has space"}, "ntfy: topic must be 1-64 letters, digits, - or _"),
        (
            "webhook",
            {"url": "ftp://files.local/x"},
            "webhook: url must start with http:// or https://",
        ),
    ],
)
async def test_values_a_secret_may_hide_are_checked_when_revealed(
    services: FakeServices, make_site: MakeSite, channel: str, section: dict[str, str], error: str
) -> None:
    site = await make_site(sender_flow(f"notify.{channel}"), site_settings({channel: section}))
    got = await site.run(notification())
    assert got.error == f"send: NotifyError: {error}"
    assert services.received == []


async def test_username_without_password_is_refused(make_site: MakeSite) -> None:
    settings = site_settings({"ntfy": {"topic": "pm", "username": "sam"}})
    got = await (await make_site(sender_flow("notify.ntfy"), settings)).run(notification())
    assert got.error.endswith("notify.ntfy node 'send': username and password go together")


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("boom", "takes a notification {event, title, text, level, data}, not str"),
        ({"title": "x"}, "the notification has no event"),
        ({"event": "x", "level": "loud"}, "level 'loud' is not one of info, warning, critical"),
        ({"event": "x", "data": [1]}, "data must be a mapping, not list"),
        ({"event": "x", "text": 3}, "text must be text, not int"),
        ({"event": "x", "colour": "red"}, "unknown notification field(s) ['colour']"),
    ],
)
async def test_a_payload_that_is_not_a_notification_is_named(
    services: FakeServices, make_site: MakeSite, payload: object, error: str
) -> None:
    settings = site_settings({"webhook": {"url": f"{services.base}/hook"}})
    got = await (await make_site(sender_flow("notify.webhook"), settings)).run(payload)
    assert got.error == f"send: InvalidNotice: notify.webhook node 'send': {error}"
    assert services.received == []


async def test_title_and_text_default_and_warn_means_warning(
    services: FakeServices, make_site: MakeSite
) -> None:
    settings = site_settings({"webhook": {"url": f"{services.base}/hook"}})
    site = await make_site(sender_flow("notify.webhook"), settings)
    assert (await site.run({"event": "daily_summary", "level": "warn"})).sent
    body = services.received[0].json()
    assert (body["title"], body["text"], body["level"]) == (
        "Daily summary",
        "Daily summary",
        "warning",
    )


async def test_no_http_connection_is_a_clear_error(
    services: FakeServices, make_site: MakeSite
) -> None:
    settings = site_settings({"webhook": {"url": f"{services.base}/hook"}})
    site = await make_site(sender_flow("notify.webhook", http=False), settings)
    got = await site.run(notification())
    assert got.error == (
        "send: NotifyError: notify.webhook node 'send': no connection 'web': declare "
        "{id: web, type: core.http} under connections, or name yours in the node's http"
    )


async def test_a_secret_with_no_value_says_where_secrets_are_bound(
    services: FakeServices, make_site: MakeSite
) -> None:
    # A !secret in a flow file is never bound (only the site config's are).
    flow = sender_flow("notify.ntfy", {"server": f"{services.base}/ntfy", "topic": "pm"})
    flow = flow.replace('"topic": "pm"', '"topic": "pm", "token": !secret ntfy_token')
    site = await make_site(flow, site_settings())
    got = await site.run(notification())
    assert got.error == (
        "send: NotifyError: notify.ntfy node 'send': token: secret 'ntfy_token' has no value in "
        "secrets.yaml (a !secret is bound only in the site config: put it under notify.ntfy)"
    )
    assert services.received == []


async def test_the_nodes_config_overrides_the_site_section(
    services: FakeServices, make_site: MakeSite
) -> None:
    services.ntfy_access = None
    settings = site_settings({"ntfy": {"server": f"{services.base}/ntfy", "topic": "site-topic"}})
    site = await make_site(sender_flow("notify.ntfy", {"topic": "own-topic"}), settings)
    assert (await site.run(notification())).sent
    assert services.received[0].path == "/ntfy/own-topic"


ERROR_FLOW = """
flow: send
connections:
  - {id: web, type: core.http}
nodes:
  - id: send
    type: notify.webhook
    wires: {out: [sent], error: [failed]}
  - {id: sent, type: test.collect}
  - {id: failed, type: test.collect}
"""


async def test_a_failure_goes_out_of_the_error_port(
    services: FakeServices, make_site: MakeSite
) -> None:
    services.webhook_status = 503
    settings = site_settings({"webhook": {"url": f"{services.base}/hook"}})
    site = await make_site(ERROR_FLOW, settings)
    got = await site.run(notification())

    assert got.trace.outcome == "error"
    (failure,) = Collect.seen["failed"]
    assert failure["node"] == "send" and failure["type"] == "notify.webhook"
    assert (
        failure["error"] == f"NotifyError: webhook: 127.0.0.1:{services.port} answered HTTP 503: "
    )
