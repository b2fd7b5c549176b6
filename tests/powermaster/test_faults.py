"""Faults against the whole service, over real Modbus TCP on the virtual clock.

For each fault (the Modbus server stopped, slowed past the client's timeout,
answering exception codes, serving nonsense; a stale price feed; a failing
planner): the service stays up, its health goes degraded and then safety
within the configured times, the simulated inverter ends in its own self-use,
and everything is ok again once the fault clears. And a SIGTERM hands the
inverter back at once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine import VirtualClock
from flowengine.durations import parse_duration
from flows import FLOWS_DIR, SITE_CONFIG
from nodes.foxess.connection import FoxModbusConnection
from nodes.planning.solvers import PlanError
from powermaster.config import DEFAULTS, load_site_config
from powermaster.service import NOT_FLOW_FILES, Options, Service
from powermaster.sim.dispatch import WorkMode
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import SiteModel
from tests.nodes.amber.fake_amber import FakeAmber, Reply, payload
from tests.powermaster.test_inputs_end_to_end import START as AMBER_START
from tests.powermaster.test_inputs_end_to_end import site_config as amber_site_config

# 2026-01-15 06:00 Brisbane.
START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()
MINUTE = 60.0
TICK = 5 * MINUTE
CLIENT_TIMEOUT_S = 0.25  # real seconds: how long a slowed request costs the test

#: The health flow the service runs (flows/health.yaml once it is wired in).
HEALTH_FLOW = """\
flow: health
description: >
  Judges every minute whether control is sound (telemetry age, Modbus errors,
  each input's staleness, the plan's age) and keeps global.health: ok,
  degraded or safety, with the reasons. The control hierarchy and the watchdog
  obey it. It reads only the context, so it keeps judging while the inverter
  is unreachable.
mode: single
on_error: errors
triggers:
  - type: start
  - type: interval
    every: 1m
nodes:
  - id: check
    type: control.health
"""


def flows_with_health(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    target.mkdir()
    for file in FLOWS_DIR.glob("*.yaml"):
        if file.name not in NOT_FLOW_FILES:
            shutil.copy(file, target / file.name)
    (target / "health.yaml").write_text(HEALTH_FLOW)
    return target


def start_service(
    tmp_path: Path,
    port: int,
    clock: VirtualClock,
    config: Path = SITE_CONFIG,
    health: dict[str, Any] | None = None,
) -> Service:
    site = load_site_config(config)
    options = Options(
        config=config,
        flows=flows_with_health(tmp_path),
        data_dir=tmp_path / "data",
        simulator_port=port,
        ui=False,
        extra_settings={
            "inverter": {**site["inverter"], "timeout_s": CLIENT_TIMEOUT_S},
            "health": {**DEFAULTS["health"], **(health or {})},
        },
    )
    return Service(options, clock=clock)  # the installed node types, control.health among them


def simulator(site: Service) -> FoxKHServer:
    assert site.simulator is not None
    return site.simulator


def model(site: Service) -> SiteModel:
    return simulator(site).model


async def force_a_charge(site: Service, clock: VirtualClock, created_at: str | None = None) -> None:
    """A plan that charges at 3 kW for the next hours, and wait until the inverter is forced."""
    now = clock.time()
    first = now - now % 1800
    slots = [
        {
            "start": datetime.fromtimestamp(first + i * 1800, UTC).isoformat(),
            "mode": "force_charge",
            "power_w": 3000,
            "battery_w": 3000,
            "reason": "test: charge",
        }
        for i in range(12)
    ]
    plan = {"created_at": created_at or clock.now().isoformat(), "slots": slots}
    site.engine.context.set("global", "plan", plan)
    for _ in range(15):  # a minimum hold time may keep the previous mode a while
        await site.engine.settle()
        if model(site).remote.enabled:
            return
        await clock.advance(MINUTE)
    raise AssertionError(f"never forced: {site.engine.context.get('global', 'decision')}")


@dataclass
class Timeline:
    """Every minute from when a fault began: (seconds since, status, reasons, forced), where
    forced says whether the inverter was under remote control then."""

    began: float
    seen: list[tuple[float, str, list[str], bool]]

    def first(self, status: str) -> float | None:
        return next((t for t, s, *_ in self.seen if s == status), None)

    def statuses(self) -> list[str]:
        return [s for _, s, *_ in self.seen]

    def forced_while(self, status: str) -> list[bool]:
        return [forced for _, s, _, forced in self.seen if s == status]

    def reasons(self) -> str:
        return " ".join(self.seen[-1][2])


async def watch(
    site: Service,
    clock: VirtualClock,
    minutes: int,
    began: float | None = None,
    until: Callable[[str], bool] = lambda status: False,
) -> Timeline:
    timeline = Timeline(clock.time() if began is None else began, [])
    for _ in range(minutes):
        await clock.advance(MINUTE)
        health = site.health()
        forced = model(site).remote.enabled
        timeline.seen.append(
            (clock.time() - timeline.began, health["status"], health["reasons"], forced)
        )
        if until(health["status"]):
            break
    return timeline


def assert_degraded_then_safety(timeline: Timeline, degraded_by: float, safety_by: float) -> None:
    degraded, safety = timeline.first("degraded"), timeline.first("safety")
    assert degraded is not None and degraded <= degraded_by, timeline.seen
    assert safety is not None and safety <= safety_by, timeline.seen
    assert degraded < safety, timeline.seen
    after_fault = timeline.statuses()[timeline.statuses().index("degraded") :]
    assert "ok" not in after_fault, timeline.seen  # no flapping back while the fault lasts


def assert_up(site: Service, paused: tuple[str, ...] = ()) -> None:
    """The service stays up: every flow running (but those the test paused), the health
    check still judging."""
    assert all(flow.running for flow in site.engine.flows.values() if flow.id not in paused)
    assert site.engine.traces.recent("health", 1)[0]["outcome"] == "ok"


def assert_inverter_on_its_own(site: Service) -> None:
    """Remote control off (watchdog or command): the inverter runs its fallback, self-use."""
    inverter = model(site)
    assert not inverter.remote.enabled
    assert inverter.settings.work_mode is WorkMode.SELF_USE
    assert inverter.settings.min_soc_on_grid_pct >= round(inverter.battery.soc_min * 100)


async def assert_recovers(site: Service, clock: VirtualClock, within: float) -> None:
    timeline = await watch(site, clock, int(within // MINUTE) + 1, until=lambda s: s == "ok")
    assert timeline.statuses()[-1] == "ok", timeline.seen
    settled = await watch(site, clock, 10)
    assert set(settled.statuses()) == {"ok"}, settled.seen
    assert site.health()["reasons"] == []
    assert site.engine.traces.recent("control", 1)[0]["outcome"] == "ok"


Fault = Callable[[FoxKHServer], Awaitable[None] | None]


async def _stop(server: FoxKHServer) -> None:
    await server.stop_serving()


async def _resume(server: FoxKHServer) -> None:
    await server.resume_serving()


MODBUS_FAULTS: dict[str, tuple[Fault, Fault]] = {
    "server stopped": (_stop, _resume),
    "replies slowed past the timeout": (lambda s: s.slow_replies(30), FoxKHServer.clear_faults),
    "exception codes": (lambda s: s.answer_exceptions(), FoxKHServer.clear_faults),
    "nonsense values": (lambda s: s.serve_nonsense(), FoxKHServer.clear_faults),
}


async def apply(fault: Fault, server: FoxKHServer) -> None:
    outcome = fault(server)
    if outcome is not None:
        await outcome


@pytest.mark.parametrize("fault", MODBUS_FAULTS)
async def test_a_modbus_fault_degrades_hands_back_and_recovers(
    tmp_path: Path, free_port: int, fault: str
) -> None:
    clock = VirtualClock(START)
    site = start_service(tmp_path, free_port, clock)
    await site.start()
    inject, clear = MODBUS_FAULTS[fault]
    try:
        await clock.advance(1)
        assert site.health()["status"] == "ok"
        await force_a_charge(site, clock)

        await apply(inject, simulator(site))
        timeline = await watch(site, clock, 20)
        limits = DEFAULTS["health"]
        # The first failed exchange (a watchdog refresh, or the next tick's read) degrades;
        # three in a row, or telemetry too old, is safety; the health check runs each minute.
        assert_degraded_then_safety(
            timeline,
            degraded_by=TICK + MINUTE,
            safety_by=parse_duration(limits["telemetry_safety_after"]) + MINUTE,
        )
        reasons = timeline.reasons()
        assert "Modbus" in reasons
        if fault == "nonsense values":
            assert "implausible telemetry" in reasons
        assert_up(site)
        assert site.engine.traces.recent("control", 1)[0]["outcome"] == "error"
        assert_inverter_on_its_own(site)
        telemetry = site.engine.context.get("global", "telemetry")
        assert 0 <= telemetry["soc"] <= 1  # nonsense never reached the context

        await apply(clear, simulator(site))
        await assert_recovers(site, clock, within=TICK + 2 * MINUTE)
    finally:
        await site.stop()


@pytest.fixture
def modbus_port() -> int:
    """A second free port, beside ``free_port`` (the fake Amber's)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def amber(free_port: int) -> Any:
    fake = FakeAmber(free_port)
    await fake.start()
    yield fake
    await fake.stop()


async def test_a_stale_price_feed_degrades_hands_back_and_recovers(
    tmp_path: Path, amber: FakeAmber, modbus_port: int
) -> None:
    clock = VirtualClock(AMBER_START)
    health = {"input_safety_after": {"prices": "20m"}}  # the default is 2h
    site = start_service(
        tmp_path, modbus_port, clock, amber_site_config(tmp_path, amber.url), health
    )
    site.settings["inputs"]["stale_after"]["prices"] = "15m"  # a site on 5-minute Amber
    await site.start()
    try:
        await clock.advance(MINUTE)
        prices = site.engine.context.get("global", "prices")
        assert prices["provider"] == "amber" and site.health()["status"] == "ok"
        # The replan flow would rebuild the plan (prices still last good) as the forced
        # charge strays from it; this test wants a forced inverter when safety comes.
        await site.engine.flows["replan"].stop()

        amber.reply = Reply(500, "internal error")
        await force_a_charge(site, clock)
        stale_after = parse_duration(site.settings["inputs"]["stale_after"]["prices"])
        timeline = await watch(site, clock, 25, began=prices["fetched_at"])
        assert_degraded_then_safety(
            timeline, degraded_by=stale_after + MINUTE, safety_by=20 * MINUTE + MINUTE
        )
        assert "prices stale" in timeline.reasons() and "HTTP 500" in timeline.reasons()
        # degraded keeps control (a charge is no arbitrage); safety hands the inverter back
        assert timeline.forced_while("degraded")[0], timeline.seen
        assert not timeline.forced_while("safety")[-1], timeline.seen
        assert_up(site, paused=("replan",))
        assert_inverter_on_its_own(site)

        amber.reply = Reply(200, payload("current_30min"))
        await assert_recovers(site, clock, within=5 * MINUTE + MINUTE)  # the next retry
        assert site.engine.context.get("global", "prices")["fetched_at"] > prices["fetched_at"]
    finally:
        await site.stop()


async def test_a_failing_planner_degrades_hands_back_and_recovers(
    tmp_path: Path, free_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = VirtualClock(START)
    health = {"plan_degraded_after": "1h", "plan_safety_after": "90m"}
    site = start_service(tmp_path, free_port, clock, health=health)
    await site.start()
    try:
        await clock.advance(1)
        built = site.engine.context.get("global", "plan")["created_at"]
        assert site.health()["status"] == "ok"

        def infeasible(*args: Any) -> Any:
            raise PlanError("Infeasible", "highs")

        monkeypatch.setattr("nodes.planning.plan.solve_plan", infeasible)
        await force_a_charge(site, clock, created_at=built)  # as if that plan charged
        began = datetime.fromisoformat(built).timestamp()
        timeline = await watch(site, clock, 100, began=began, until=lambda s: s == "safety")
        assert_degraded_then_safety(timeline, degraded_by=61 * MINUTE, safety_by=91 * MINUTE)
        assert "the planner is failing" in timeline.reasons()
        assert timeline.forced_while("degraded")[0], timeline.seen
        plans = [r for r in site.engine.traces.recent("plan") if r["outcome"] == "error"]
        assert plans and "no optimal plan (status Infeasible)" in plans[0]["error"]
        await watch(site, clock, 2)  # a tick in safety, and the watchdog's last minute
        assert_up(site)
        assert_inverter_on_its_own(site)

        monkeypatch.undo()
        await assert_recovers(site, clock, within=30 * MINUTE + MINUTE)  # the next plan
    finally:
        await site.stop()


async def test_sigterm_hands_the_inverter_back_at_once(tmp_path: Path, free_port: int) -> None:
    """A clean stop does not wait for the watchdog: remote control off by command, now,
    and a storm reserve written to the inverter's own floor goes back to the configured one."""
    clock = VirtualClock(START)
    site = start_service(tmp_path, free_port, clock)
    running = asyncio.create_task(site.run_forever())
    for _ in range(10_000):  # the start is real I/O (the simulator's port): let it happen
        if site.engine.started:
            break
        await asyncio.sleep(0)
    assert site.engine.started
    await clock.advance(1)
    await force_a_charge(site, clock)
    inverter = site.engine.connections["inverter"]
    assert isinstance(inverter, FoxModbusConnection)
    await inverter.command("force_charge", 3000, min_soc=0.8)  # as the storm reserve would
    assert model(site).settings.min_soc_on_grid_pct == 80
    assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)  # ours, not death
    stopped_at = clock.time()

    os.kill(os.getpid(), signal.SIGTERM)
    await running

    assert clock.time() == stopped_at  # no watchdog ran out: it was released
    assert not site.engine.started
    assert_inverter_on_its_own(site)
    assert model(site).settings.min_soc_on_grid_pct == 10  # battery.soc_min, as configured
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler went with it
