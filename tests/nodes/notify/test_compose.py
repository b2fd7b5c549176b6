"""notify.compose: each of the six events told once, when it happens, and not after a restart."""

from __future__ import annotations

import json
from typing import Any

from tests.nodes.notify.conftest import MakeSite
from tests.nodes.notify.fake_services import FakeServices
from tests.nodes.notify.harness import T0, Site, site_settings

HOUR = 3600.0


def compose_flow(**config: Any) -> str:
    return f"""
flow: send
nodes:
  - id: compose
    type: notify.compose
    config: {json.dumps(config)}
    wires: [sent]
  - {{id: sent, type: test.collect}}
"""


def put(site: Site, key: str, value: Any) -> None:
    assert site.engine is not None
    site.engine.context.set("global", key, value)


async def told(site: Site, payload: Any = None, at: float | None = None) -> list[dict[str, Any]]:
    """The notifications one run of the flow makes (at ``at`` seconds after T0)."""
    if at is not None:
        await site.clock.run_until(T0 + at)
    got = await site.run(payload)
    assert got.trace.outcome == "ok", got.trace.error
    return got.sent


def health(state: str, *reasons: str) -> dict[str, Any]:
    return {"state": state, "reasons": list(reasons), "since": T0, "at": T0, "checks": {}}


async def test_health_is_told_when_it_changes_and_only_then(make_site: MakeSite) -> None:
    site = await make_site(compose_flow(events=["health_degraded"]), site_settings())
    put(site, "health", health("ok"))
    assert await told(site) == []
    put(site, "health", health("degraded", "telemetry 11 min old"))
    assert await told(site) == [
        {
            "event": "health_degraded",
            "key": "degraded",
            "level": "warning",
            "title": "Health degraded",
            "text": (
                "telemetry 11 min old. Control keeps an extra SOC margin and does no arbitrage."
            ),
            "data": {"state": "degraded", "was": "ok", "reasons": ["telemetry 11 min old"]},
        }
    ]
    assert await told(site) == []  # still degraded: nothing new
    put(site, "health", health("safety", "telemetry 16 min old", "3 Modbus errors in a row"))
    (safety,) = await told(site)
    assert (safety["key"], safety["level"]) == ("safety", "critical")
    assert safety["text"].startswith("telemetry 16 min old; 3 Modbus errors in a row. Control")
    put(site, "health", health("ok"))
    (ok,) = await told(site)
    assert (ok["title"], ok["level"], ok["text"]) == (
        "Health ok again",
        "info",
        "Every check passes again (was safety).",
    )


async def test_a_restart_does_not_tell_it_again(make_site: MakeSite) -> None:
    site = await make_site(compose_flow(events=["health_degraded"]), site_settings())
    put(site, "health", health("degraded", "plan 3 h old"))
    assert len(await told(site)) == 1
    await site.restart()
    assert await told(site) == []


async def test_the_storm_reserve_armed_and_cleared(make_site: MakeSite) -> None:
    site = await make_site(compose_flow(events=["storm_reserve"]), site_settings())
    calm = {
        "armed": False,
        "soc": 0,
        "start": None,
        "end": None,
        "probability": 0.1,
        "reason": "no storm signal",
    }
    put(site, "storm_reserve", calm)
    assert await told(site) == []
    put(
        site,
        "storm_reserve",
        {
            "armed": True,
            "soc": 0.8,
            "start": T0 + 5 * HOUR,
            "end": T0 + 17 * HOUR,
            "probability": 0.75,
            "reason": "BOM severe thunderstorm warning",
        },
    )
    (armed,) = await told(site)
    assert (armed["event"], armed["key"], armed["level"]) == ("storm_reserve", "armed", "warning")
    assert armed["text"] == (
        "Holding 80% SOC from Mon 14:00 to Tue 02:00 (storm risk 75%: "
        "BOM severe thunderstorm warning)."
    )
    assert await told(site) == []
    put(site, "storm_reserve", {**calm, "probability": 0.3})
    (cleared,) = await told(site)
    assert (cleared["key"], cleared["level"], cleared["text"]) == (
        "cleared",
        "info",
        "Storm risk is down to 30%; the battery follows the plan again.",
    )


async def test_the_inverter_offline_after_three_errors_and_back_after_a_good_exchange(
    make_site: MakeSite,
) -> None:
    site = await make_site(compose_flow(events=["inverter_offline"]), site_settings())

    def link(errors: int) -> dict[str, Any]:
        return {
            "ok_at": T0 - 600,
            "error_at": T0,
            "error": "timed out reading 31020",
            "consecutive_errors": errors,
        }

    notices = []
    for errors in (0, 1, 2, 3, 4, 1):  # the streak's 1 after 4 never happens; it stays offline
        put(site, "inverter_link", link(errors))
        notices.append(await told(site))
    assert [len(n) for n in notices] == [0, 0, 0, 1, 0, 0]
    (offline,) = notices[3]
    assert (offline["key"], offline["level"]) == ("offline", "critical")
    assert offline["text"] == (
        "3 failed Modbus exchanges in a row (last good exchange Mon 08:50); last error: timed "
        "out reading 31020. The inverter runs on its own fallback mode."
    )
    put(site, "inverter_link", link(0))
    (online,) = await told(site)
    assert (online["key"], online["level"], online["title"]) == (
        "online",
        "info",
        "Inverter back online",
    )


def spike_result(spike: bool, status: str = "spike", price: float = 14.5) -> dict[str, Any]:
    reason = "price spike: $14.50/kWh 17:30-18:00 (amber: flagged spike)" if spike else ""
    return {
        "spike": spike,
        "status": status,
        "price": price,
        "interval_start": T0,
        "reason": reason,
        "new": spike,
        "ended": not spike,
    }


async def test_a_price_spike_from_the_spike_nodes_result(make_site: MakeSite) -> None:
    site = await make_site(compose_flow(events=["price_spike"]), site_settings())
    assert await told(site, spike_result(False, "none", 0.3)) == []
    (start,) = await told(site, spike_result(True))
    assert start == {
        "event": "price_spike",
        "key": "start",
        "level": "warning",
        "title": "Price spike: $14.50/kWh",
        "text": "Price spike: $14.50/kWh 17:30-18:00 (amber: flagged spike)",
        "data": {
            "price": 14.5,
            "interval_start": T0,
            "status": "spike",
            "reason": "price spike: $14.50/kWh 17:30-18:00 (amber: flagged spike)",
        },
    }
    assert await told(site, spike_result(True, price=12.0)) == []  # the next slot, still a spike
    assert await told(site, spike_result(False, "unknown")) == []  # no price now: no news
    assert await told(site, None) == []  # a plain trigger says nothing of prices
    (end,) = await told(site, spike_result(False, "none", 0.31))
    assert (end["key"], end["text"]) == ("end", "The import price is back to $0.31/kWh.")


def telemetry(at: float) -> dict[str, Any]:
    return {
        "timestamp": at,
        "soc": 0.62,
        "energy_today_kwh": {
            "pv": 24.3,
            "load": 17.8,
            "grid_import": 3.1,
            "grid_export": 9.4,
            "battery_charge": 6.2,
            "battery_discharge": 5.7,
            "inverter_output": 15.0,
        },
    }


async def test_the_daily_summary_once_a_day_from_its_time(make_site: MakeSite) -> None:
    site = await make_site(compose_flow(events=["daily_summary"]), site_settings())
    put(site, "telemetry", telemetry(T0))
    assert await told(site) == []  # 09:00: not yet
    put(site, "telemetry", telemetry(T0 + 12 * HOUR - 60))
    put(site, "bill", {"today": {"net": 2.345}})
    (summary,) = await told(site, at=12 * HOUR)  # 21:00 Brisbane
    assert summary == {
        "event": "daily_summary",
        "level": "info",
        "title": "Power Master daily summary 2025-01-06",
        "text": "Today: PV 24.3 kWh, load 17.8 kWh, imported 3.1 kWh, exported 9.4 kWh, "
        "battery charged 6.2 kWh, battery discharged 5.7 kWh.\n"
        "Battery now at 62%.\nBill today: $2.35.",
        "data": {
            "date": "2025-01-06",
            "bill": 2.345,
            "energy_kwh": {
                "pv": 24.3,
                "load": 17.8,
                "grid_import": 3.1,
                "grid_export": 9.4,
                "battery_charge": 6.2,
                "battery_discharge": 5.7,
            },
        },
    }
    assert await told(site, at=12 * HOUR + 300) == []
    await site.restart()
    assert await told(site, at=14 * HOUR) == []  # 23:00, after a restart: already told

    put(site, "bill", {"today": -0.8})
    (next_day,) = await told(site, at=36 * HOUR)  # Tuesday 21:00, telemetry stuck on Monday
    assert (
        next_day["text"] == "No telemetry from today (last at Mon 20:59).\nBill today: "
        "-$0.80 (a credit)."
    )


async def test_the_summary_time_can_be_set(make_site: MakeSite) -> None:
    site = await make_site(
        compose_flow(events=["daily_summary"], summary_at="08:30"), site_settings()
    )
    (summary,) = await told(site)  # 09:00 is past 08:30
    assert summary["text"] == "No telemetry from today."


def check(*findings: tuple[str, str], commanded: bool = True) -> dict[str, Any]:
    """global.command_check as control.compare keeps it."""
    return {
        "state": "degraded" if findings else "ok",
        "reasons": [reason for _, reason in findings],
        "findings": [{"check": c, "reason": r, "since": T0} for c, r in findings],
        "commanded": {"mode": "force_charge", "setpoint_w": -3000} if commanded else None,
        "actual": {"work_mode": 1},
    }


async def test_the_inverter_not_doing_what_it_was_told_once_per_new_departure(
    make_site: MakeSite,
) -> None:
    site = await make_site(compose_flow(events=["command_check"]), site_settings())
    put(site, "command_check", check())
    assert await told(site) == []
    mode = ("work_mode", "work mode (41000) is Feed-in First (1), not Self Use (0) as set")
    put(site, "command_check", check(mode))
    (changed,) = await told(site)
    assert (changed["event"], changed["key"], changed["level"]) == (
        "command_check",
        "work_mode",
        "warning",
    )
    assert changed["title"] == "Inverter: work mode changed by someone else"
    assert changed["text"].startswith("Work mode (41000) is Feed-in First (1), not Self Use")
    assert await told(site) == []  # still so: nothing new
    dropped = ("remote_control", "remote control dropped: 44000 reads 0")
    put(site, "command_check", check(mode, dropped))
    (also,) = await told(site)
    assert (also["key"], also["title"]) == ("remote_control", "Inverter: remote control lost")
    put(site, "command_check", check(commanded=False))  # a restart: nothing judged yet
    assert await told(site) == []
    put(site, "command_check", check())
    (again,) = await told(site)
    assert (again["key"], again["level"], again["title"]) == (
        "ok",
        "info",
        "Inverter doing what it is told again",
    )


async def test_several_events_in_one_run_each_make_a_message(make_site: MakeSite) -> None:
    site = await make_site(compose_flow(), site_settings())  # every event watched
    put(site, "health", health("degraded", "prices stale"))
    put(site, "inverter_link", {"consecutive_errors": 5, "error": "refused"})
    notices = await told(site, spike_result(True))
    assert [n["event"] for n in notices] == ["price_spike", "inverter_offline", "health_degraded"]


FLAP_FLOW = """
flow: send
nodes:
  - {id: compose, type: notify.compose, config: {events: [inverter_offline]}, wires: [ntfy]}
  - id: ntfy
    type: notify.ntfy
    config: {http: web}
    wires: {out: [sent], suppressed: [held]}
  - {id: sent, type: test.collect}
  - {id: held, type: test.collect}
connections:
  - {id: web, type: core.http}
"""


async def test_a_link_flapping_every_minute_sends_one_offline_and_one_online(
    services: FakeServices, make_site: MakeSite
) -> None:
    services.ntfy_access = None
    settings = site_settings({"ntfy": {"server": f"{services.base}/ntfy", "topic": "pm"}})
    site = await make_site(FLAP_FLOW, settings)
    held = 0
    for minute in range(20):
        put(site, "inverter_link", {"consecutive_errors": 3 if minute % 2 == 0 else 0})
        await site.clock.run_until(T0 + 60 * minute)
        held += len((await site.run()).held)
    titles = [r.headers["Title"] for r in services.received]
    assert titles == ["Inverter offline", "Inverter back online"]
    assert held == 18
