"""The BMS disconnected under a forced charge: the whole service over real Modbus TCP.

While the KH reads its BMS as not connected (and the battery as 0 %, 0 W, 0 °C),
the control tick forces nothing and says why; once the BMS answers again, the
plan's charge resumes.
"""

from __future__ import annotations

from pathlib import Path

from flowengine import VirtualClock
from tests.powermaster.test_faults import (
    MINUTE,
    START,
    TICK,
    force_a_charge,
    model,
    simulator,
    start_service,
)


async def test_a_disconnected_bms_stops_forcing_says_why_and_resumes(
    tmp_path: Path, free_port: int
) -> None:
    clock = VirtualClock(START)
    site = start_service(tmp_path, free_port, clock)
    await site.start()
    context = site.engine.context
    try:
        await clock.advance(1)
        await force_a_charge(site, clock)

        simulator(site).disconnect_bms()
        await clock.advance(TICK + MINUTE)  # the next control tick
        decision = context.get("global", "decision")
        assert (decision["mode"], decision["level"]) == ("self_use", "safety")
        assert decision["reason"].startswith("BMS disconnected"), decision
        assert not model(site).remote.enabled  # handed back at once, not at the watchdog
        telemetry = context.get("global", "telemetry")
        assert telemetry["bms_connected"] is False and telemetry["soc"] is None
        assert site.state()["reason"] == decision["reason"]  # what /api/state shows
        assert site.engine.traces.recent("control", 1)[0]["outcome"] == "ok"
        await clock.advance(3 * TICK)  # it stays so, tick after tick
        assert not model(site).remote.enabled
        assert context.get("global", "decision")["reason"].startswith("BMS disconnected")

        simulator(site).reconnect_bms()
        for _ in range(4):  # the next tick, or the one after the minimum hold
            await clock.advance(TICK)
            if model(site).remote.enabled:
                break
        decision = context.get("global", "decision")
        assert model(site).remote.enabled, decision
        assert (decision["mode"], decision["level"]) == ("force_charge", "plan")
        assert context.get("global", "telemetry")["bms_connected"] is True
    finally:
        await site.stop()
