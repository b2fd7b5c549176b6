"""The whole loop on the simulated site: read, plan, decide, command, over real Modbus TCP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flowengine import VirtualClock
from powermaster.service import Options, Service

# 2026-01-15 06:00 Brisbane: cheap night prices ending, sun coming up.
START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()


def service(tmp_path: Path, port: int, clock: VirtualClock) -> Service:
    options = Options(data_dir=tmp_path / "data", simulator_port=port, ui=False)
    return Service(options, clock=clock)


async def test_the_demo_site_runs_the_loop_end_to_end(tmp_path: Path, free_port: int) -> None:
    clock = VirtualClock(START)
    site = service(tmp_path, free_port, clock)
    await site.start()
    try:
        await clock.advance(1)
        assert site.health()["status"] == "ok"
        assert site.engine.context.get("global", "plan")["slots"]
        assert site.simulator is not None
        soc_before = site.simulator.model.soc
        await clock.advance(6 * 3600)
        ticks = [r for r in site.engine.traces.recent("control") if r["outcome"] == "ok"]
        assert len(ticks) >= 20  # capped by trace retention; every tick succeeded
        plans = site.engine.flows["plan"].nodes["store"].count
        # a tick every 5 minutes, and one more whenever a new plan lands
        assert site.engine.flows["control"].nodes["read"].count == 1 + 6 * 12 + plans
        state = site.state()
        assert state["level"] in ("plan", "safety")
        assert state["mode"] in (
            "self_use",
            "self_use_zero_export",
            "force_charge",
            "force_discharge",
            "hold",
        )
        assert site.health()["status"] == "ok"
        meter = site.simulator.model.meter.total
        assert meter.battery_charge + meter.battery_discharge > 0
        assert site.simulator.model.soc != soc_before
        assert abs(meter.imbalance()) < 1e-3
    finally:
        await site.stop()


async def test_soc_follows_a_forced_charge(tmp_path: Path, free_port: int) -> None:
    clock = VirtualClock(START)
    site = service(tmp_path, free_port, clock)
    site.settings["control"]["min_hold"] = 0  # about actuation: a new plan's mode at once
    await site.start()
    try:
        await clock.advance(1)
        assert site.simulator is not None
        soc = site.simulator.model.soc
        now = datetime.fromtimestamp(clock.time() - clock.time() % 1800, UTC).isoformat()
        site.engine.context.set(
            "global",
            "plan",
            {"slots": [{"start": now, "mode": "force_charge", "power_w": 3000, "reason": "test"}]},
        )
        run = site.engine.flows["control"].trigger()
        assert run is not None
        await run.wait()
        await clock.advance(600)
        decision = site.engine.context.get("global", "decision")
        assert decision["mode"] == "force_charge" and decision["level"] == "plan"
        gained_kwh = (site.simulator.model.soc - soc) * 10.4
        assert gained_kwh > 0.4  # ~3 kW for ~10 minutes at 95 % efficiency
    finally:
        await site.stop()


async def test_losing_the_inverter_degrades_then_hands_back(tmp_path: Path, free_port: int) -> None:
    clock = VirtualClock(START)
    site = service(tmp_path, free_port, clock)
    await site.start()
    try:
        await clock.advance(1)
        assert site.simulator is not None
        await site.simulator.stop()
        await clock.advance(1200)
        assert site.health()["status"] in ("degraded", "safety")
        assert site.engine.traces.recent("control", 1)[0]["outcome"] == "error"
        await clock.advance(3600)
        assert site.health()["status"] == "safety"
        await site.simulator.start()
        await clock.advance(900)
        assert site.health()["status"] == "ok"
    finally:
        await site.stop()
