"""loads.manage in a flow on virtual time, switching real (local) Shelly Gen1 and Gen2 relays."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, load_flow_text
from flowengine.secrets import SecretRef, attach_secrets
from nodes.loads import NODE_TYPES, set_load_command
from tests.flowengine.helpers import registry
from tests.nodes.loads.conftest import unused_port
from tests.nodes.loads.fake_shelly import GEN1_POWER_W, GEN2_POWER_W, FakeShellyGen1, FakeShellyGen2
from tests.nodes.loads.manager_sim import local, plan

T0 = local("2025-06-10T10:00")  # 00:00 UTC: on a 5-minute boundary
MIDNIGHT = local("2025-06-10T00:00")
PASSWORD = "correct horse"

FLOW = """
flow: loads
mode: queued
max_runs: 1
triggers:
  - type: interval
    every: 5m
nodes:
  - id: manage
    type: loads.manage
    config: {http: web}
connections:
  - {id: web, type: core.http, config: {timeout_s: 10}}
"""


def site(pool: FakeShellyGen2, heater_port: int, **changes: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "site": {"timezone": "Australia/Brisbane"},
        "loads": {
            "pool": {
                "name": "Pool pump",
                "adapter": "shelly_gen2",
                "host": pool.host,
                "port": pool.port,
                "password": SecretRef("pool_shelly"),
                "power_w": 1800,
                "run_time": "4h",
                "timeout_s": 1,
            },
            "heater": {
                "adapter": "shelly_gen1",
                "host": "127.0.0.1",
                "port": heater_port,
                "power_w": 1800,
                "run_time": "2h",
                "timeout_s": 1,
                "min_run": "0s",
            },
            **changes,
        },
    }
    assert attach_secrets(settings, {"pool_shelly": PASSWORD}) == []
    return settings


class Site:
    """An engine running FLOW on virtual time; the plan runs the pool 10:00-12:00."""

    def __init__(
        self, tmp_path: Path, settings: dict[str, Any], clock: VirtualClock | None = None
    ) -> None:
        self.db = tmp_path / "engine.db"
        self.settings = settings
        self.clock = clock or VirtualClock(T0 - 60)
        self.engine: Engine | None = None

    async def start(self, first_plan: bool = True) -> None:
        reg = registry()
        reg.add_all(NODE_TYPES)
        self.engine = Engine(reg, self.clock, self.db, settings=self.settings)
        if first_plan:
            self.engine.context.set(
                "global", "plan", plan(MIDNIGHT, 48, pool=list(range(20, 24)), heater=[28, 29])
            )
        await self.engine.start(load_flow_text(FLOW, reg))

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
            self.engine.close()
            self.engine = None
            self.clock.settle_hook = None  # a next engine on this clock installs its own

    @property
    def context(self) -> Any:
        assert self.engine is not None
        return self.engine.context

    async def at(self, hhmm: str) -> dict[str, Any]:
        """Move time to HH:MM (ticks run on the way) and give global.loads."""
        await self.clock.run_until(local(f"2025-06-10T{hhmm}"))
        loads: dict[str, Any] = self.context.get("global", "loads")
        return loads

    def status(self) -> dict[str, Any]:
        assert self.engine is not None
        status: dict[str, Any] = self.engine.flows["loads"].nodes["manage"].status
        return status


@pytest.fixture
async def pool(free_port: int) -> AsyncIterator[FakeShellyGen2]:
    server = FakeShellyGen2(free_port, password=PASSWORD)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def heater() -> AsyncIterator[FakeShellyGen1]:
    server = FakeShellyGen1(unused_port())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Any]:
    sites: list[Site] = []

    async def build(
        settings: dict[str, Any], first_plan: bool = True, clock: VirtualClock | None = None
    ) -> Site:
        made = Site(tmp_path, settings, clock)
        await made.start(first_plan)
        sites.append(made)
        return made

    yield build
    for made in sites:
        await made.stop()


def sets(server: FakeShellyGen2) -> list[dict[str, Any]]:
    return [f["params"] for f in server.frames if f["method"] == "Switch.Set"]


async def test_the_plan_switches_the_pool_on_and_its_timer_is_renewed_not_resent(
    make: Any, pool: FakeShellyGen2, heater: FakeShellyGen1
) -> None:
    s = await make(site(pool, heater.port))
    loads = await s.at("10:00")

    assert loads["pool"] == {
        "name": "Pool pump",
        "state": "running",
        "on": True,
        "power_w": GEN2_POWER_W,
        "reason": "the plan runs it in this slot",
        "run_today_s": 0.0,
        "day_start": MIDNIGHT,
        "available": True,
        "last_error": None,
    }
    assert loads["heater"] == {
        "name": "heater",
        "state": "scheduled",
        "on": False,
        "power_w": 0.0,
        "reason": "planned from 14:00",
        "run_today_s": 0.0,
        "day_start": MIDNIGHT,
        "available": True,
        "last_error": None,
    }
    assert sets(pool) == [{"id": 0, "on": True, "toggle_after": 1800}]
    assert all("turn" not in query for _, query in heater.requests)  # off already: left alone
    assert all(check.ok for check in pool.digests) and pool.challenges == 1

    await s.at("10:10")
    assert len(sets(pool)) == 1  # on as wanted, timer fresh: nothing sent
    loads = await s.at("10:15")  # half the 30-minute safety timer has run: renew it
    assert sets(pool) == [{"id": 0, "on": True, "toggle_after": 1800}] * 2
    assert loads["pool"]["run_today_s"] == 900
    assert s.status() | {"at": None} == {"text": "1/2 on", "state": "ok", "at": None}


async def test_an_offline_device_is_unavailable_alone_and_comes_back(
    make: Any, pool: FakeShellyGen2, caplog: pytest.LogCaptureFixture
) -> None:
    port = unused_port()
    s = await make(
        site(
            pool,
            port,
            heater={
                "adapter": "shelly_gen1",
                "host": "127.0.0.1",
                "port": port,
                "power_w": 1800,
                "run_time": "2h",
                "timeout_s": 1,
                "min_run": "0s",
            },
        )
    )
    caplog.set_level(logging.INFO, logger="flow.loads.manage")
    await s.at("10:00")
    loads = await s.at("10:05")

    assert loads["pool"]["on"] is True and loads["pool"]["last_error"] is None
    heater = loads["heater"]
    assert (heater["state"], heater["on"], heater["available"]) == ("unavailable", None, False)
    assert heater["last_error"].startswith(
        f"load 'heater' (Shelly Gen1 at 127.0.0.1:{port} relay 0): not reachable"
    )
    assert heater["reason"].startswith("no answer: not reachable (")
    assert heater["reason"].endswith("); trying again next tick")
    assert s.status()["state"] == "warn" and "heater" in s.status()["text"]
    lost = [r for r in caplog.records if "heater" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelno == logging.WARNING  # once, not every tick

    device = FakeShellyGen1(port)
    await device.start()
    try:
        back = await s.at("10:10")
    finally:
        await device.stop()
    assert (back["heater"]["state"], back["heater"]["available"]) == ("scheduled", True)
    assert [r.getMessage() for r in caplog.records][-1] == "load 'heater' answers again"


async def test_a_device_that_does_not_do_as_told_is_reported_as_it_is(
    make: Any, pool: FakeShellyGen2, heater: FakeShellyGen1
) -> None:
    pool.relays[0].stuck = True
    s = await make(site(pool, heater.port))
    loads = await s.at("10:00")

    assert (loads["pool"]["state"], loads["pool"]["on"], loads["pool"]["power_w"]) == (
        "running",
        False,
        0.0,
    )
    assert loads["pool"]["last_error"] == (
        f"load 'pool' (Shelly Gen2+ at 127.0.0.1:{pool.port} relay 0): commanded on, "
        "but the device reports off"
    )
    pool.relays[0].stuck = False
    assert (await s.at("10:05"))["pool"]["on"] is True  # tried again


async def test_a_spike_sheds_the_pool_and_it_comes_back_after(
    make: Any, pool: FakeShellyGen2, heater: FakeShellyGen1
) -> None:
    s = await make(site(pool, heater.port))
    await s.at("10:00")
    # prices.spike's payload, stored as global.price_spike
    s.context.set(
        "global",
        "price_spike",
        {
            "spike": True,
            "status": "spike",
            "price": 1.85,
            "interval_start": local("2025-06-10T10:00"),
        },
    )
    shed = await s.at("10:05")
    s.context.set("global", "price_spike", {"spike": False, "interval_start": None})
    back = await s.at("10:10")

    assert (shed["pool"]["on"], shed["pool"]["reason"]) == (False, "shed: the price spikes")
    assert back["pool"]["on"] is True
    assert [p["on"] for p in sets(pool)] == [True, False, True]


async def test_a_stored_spike_from_long_ago_is_over_but_the_message_says_now(
    make: Any, pool: FakeShellyGen2, heater: FakeShellyGen1
) -> None:
    s = await make(site(pool, heater.port))
    s.context.set(
        "global", "price_spike", {"spike": True, "interval_start": local("2025-06-10T07:30")}
    )
    assert (await s.at("10:00"))["pool"]["on"] is True  # the prices flow went quiet hours ago

    assert s.engine is not None
    handle = s.engine.start_run("loads", {"spike": True})
    assert handle is not None
    trace = await handle.wait()
    assert trace.outcome == "ok", trace.error
    assert s.context.get("global", "loads")["pool"]["reason"] == "shed: the price spikes"


async def test_a_manual_command_switches_the_heater_until_it_expires(
    make: Any, pool: FakeShellyGen2, heater: FakeShellyGen1
) -> None:
    settings = site(pool, heater.port)
    s = await make(settings)
    await s.at("10:00")
    set_load_command(s.context, s.clock, "heater", "on", local("2025-06-10T10:20"), "api", settings)
    manual = await s.at("10:05")

    assert manual["heater"] | {"power_w": None} == {
        "name": "heater",
        "state": "manual",
        "on": True,
        "power_w": None,
        "reason": "manual on from api until 10:20",
        "run_today_s": 0.0,
        "day_start": MIDNIGHT,
        "available": True,
        "last_error": None,
    }
    assert manual["heater"]["power_w"] == GEN1_POWER_W
    assert ("/relay/0", {"turn": "on", "timer": "1800"}) in heater.requests
    after = await s.at("10:20")
    assert (after["heater"]["state"], after["heater"]["on"]) == ("scheduled", False)
    assert after["heater"]["run_today_s"] == 900  # 10:05-10:20 by hand counts
    assert s.context.get("global", "load_commands") == {}  # the expired command is gone


async def test_the_surplus_comes_from_recent_telemetry(
    make: Any, pool: FakeShellyGen2, heater: FakeShellyGen1
) -> None:
    s = await make(
        site(
            pool,
            heater.port,
            heater={
                "adapter": "shelly_gen1",
                "host": "127.0.0.1",
                "port": heater.port,
                "power_w": 1800,
                "priority": "opportunistic",
                "timeout_s": 1,
            },
        )
    )
    s.context.set(
        "global",
        "telemetry",
        {"pv_w": 4000, "load_w": 1500, "timestamp": local("2025-06-10T09:00")},
    )
    old = await s.at("10:00")
    s.context.set(
        "global", "telemetry", {"pv_w": 4000, "load_w": 1500, "timestamp": s.clock.time()}
    )
    fresh = await s.at("10:05")

    assert old["heater"]["on"] is False
    assert old["heater"]["reason"].endswith("no PV reading for the surplus")
    assert (fresh["heater"]["on"], fresh["heater"]["reason"]) == (
        True,
        "on solar surplus (2500 W spare for 1800 W)",
    )


async def test_a_restart_resumes_the_days_run_time(
    make: Any, pool: FakeShellyGen2, heater: FakeShellyGen1
) -> None:
    settings = site(pool, heater.port)
    first = await make(settings)
    await first.at("10:10")
    await first.stop()

    # The same database (plan and memory kept), time going on where it was.
    again = await make(settings, first_plan=False, clock=first.clock)
    loads = await again.at("10:15")
    assert loads["pool"]["run_today_s"] == 900
