"""Per-event cooldowns: one message for a flapping fault, the count of what was held, restarts."""

from __future__ import annotations

import json
from typing import Any

from nodes.notify.cooldown import Cooldowns
from tests.nodes.notify.conftest import MakeSite
from tests.nodes.notify.fake_services import FakeServices
from tests.nodes.notify.harness import T0, Site, notification, sender_flow, site_settings


def open_ntfy(services: FakeServices, **notify: Any) -> dict[str, Any]:
    services.ntfy_access = None
    return site_settings({"ntfy": {"server": f"{services.base}/ntfy", "topic": "pm"}, **notify})


async def at(site: Site, offset_s: float) -> None:
    await site.clock.run_until(T0 + offset_s)


async def test_a_flapping_fault_sends_one_message_then_the_count_after_the_cooldown(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(sender_flow("notify.ntfy"), open_ntfy(services))
    first = await site.run(notification())
    assert first.sent[0]["suppressed"] == 0
    held = []
    for minute in range(1, 10):  # offline, online, offline... every minute
        await at(site, 60 * minute)
        got = await site.run(notification())
        assert got.sent == []
        held += got.held
    assert len(services.received) == 1
    assert [h["suppressed"] for h in held] == list(range(1, 10))
    assert held[-1] == {
        "channel": "ntfy",
        "event": "inverter_offline",
        "key": None,
        "status": "suppressed",
        "suppressed": 9,
        "resumes_at": T0 + 1800,
    }
    assert "held back inverter_offline (9 so far)" in site.status()["status"]["text"]

    await at(site, 1800)  # the default cooldown, 30 minutes, is over
    after = await site.run(notification())
    assert after.sent[0]["suppressed"] == 9
    assert (
        services.received[-1]
        .body.decode()
        .endswith(
            "timed out.\n\n(9 similar messages were suppressed since the last one, 30 min ago.)"
        )
    )
    await at(site, 1860)  # a new cooldown, and a new count
    again = await site.run(notification())
    assert again.held[0]["suppressed"] == 1 and len(services.received) == 2


async def test_a_restart_keeps_the_cooldown_and_the_count(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(sender_flow("notify.ntfy"), open_ntfy(services))
    assert (await site.run(notification())).sent
    await site.restart()
    await at(site, 300)
    assert (await site.run(notification())).held[0]["suppressed"] == 1
    await site.restart()
    await at(site, 1800)
    assert (await site.run(notification())).sent[0]["suppressed"] == 1
    assert (
        services.received[-1]
        .body.decode()
        .endswith("(1 similar message was suppressed since the last one, 30 min ago.)")
    )
    assert len(services.received) == 2


async def test_each_event_and_key_has_its_own_cooldown(
    services: FakeServices, make_site: MakeSite
) -> None:
    site = await make_site(sender_flow("notify.ntfy"), open_ntfy(services))
    sent = [
        await site.run(notification("health_degraded", key="degraded")),
        await site.run(notification("health_degraded", key="safety")),
        await site.run(notification("inverter_offline")),
        await site.run(notification("health_degraded", key="degraded")),
    ]
    assert [len(got.sent) for got in sent] == [1, 1, 1, 0]


async def test_the_cooldown_per_node_and_per_event(
    services: FakeServices, make_site: MakeSite
) -> None:
    settings = open_ntfy(services, cooldowns={"price_spike": 0, "health_degraded:safety": "2h"})
    site = await make_site(sender_flow("notify.ntfy", {"cooldown": "10m"}), settings)
    spikes = [await site.run(notification("price_spike")) for _ in range(3)]
    assert [len(got.sent) for got in spikes] == [1, 1, 1]  # no cooldown at all

    await site.run(notification())
    await site.run(notification("health_degraded", key="safety"))
    await at(site, 600)
    assert (await site.run(notification())).sent  # 10 minutes for this node
    await at(site, 3600)
    assert (await site.run(notification("health_degraded", key="safety"))).held  # 2 h for this
    await at(site, 7200)
    assert (await site.run(notification("health_degraded", key="safety"))).sent


async def test_a_failed_delivery_starts_no_cooldown(
    services: FakeServices, make_site: MakeSite
) -> None:
    settings = site_settings({"ntfy": {"server": f"{services.base}/ntfy", "topic": "pm"}})
    site = await make_site(sender_flow("notify.ntfy"), settings)
    assert "forbidden" in (await site.run(notification())).error
    services.ntfy_access = None  # the topic opens
    await at(site, 60)
    assert (await site.run(notification())).sent[0]["status"] == "sent"


def test_the_memory_is_json_and_forgets_what_no_longer_matters() -> None:
    memory = Cooldowns()
    assert memory.check("a", 100.0, 60.0).send
    memory.sent("a", 100.0)
    memory.sent("b", 100.0)
    verdict = memory.check("b", 130.0, 60.0)
    assert (verdict.send, verdict.suppressed, verdict.since_last_s, verdict.resumes_at) == (
        False,
        1,
        30.0,
        160.0,
    )
    memory = Cooldowns(json.loads(json.dumps(memory.as_state())))  # as the context keeps it
    memory.prune(now=200.0, keep_s=60.0)
    assert memory.as_state() == {"b": {"sent_at": 100.0, "suppressed": 1}}  # it owes a count


def test_a_clock_that_went_back_does_not_hold_messages() -> None:
    memory = Cooldowns({"a": {"sent_at": 5000.0, "suppressed": 0}, "junk": "not an entry"})
    assert list(memory.entries) == ["a"]
    assert memory.check("a", 1000.0, 600.0).send
