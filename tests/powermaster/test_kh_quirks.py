"""A real KH's quirks against the whole service, over real Modbus TCP on the virtual clock.

For each quirk the simulator can show (44000 reading 0 while the setpoint is
honoured, the setpoint clamped to the inverter's rating, readbacks lagging the
writes, writes answered late): a forced charge holds through several control
ticks (the simulated battery charges at every minute, its watchdog never runs
out, control never hands back) and the control flow's trace says what was
tolerated.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flowengine import VirtualClock
from powermaster.service import Service
from powermaster.sim.fox_server import FoxKHServer
from tests.powermaster.test_faults import (
    MINUTE,
    START,
    force_a_charge,
    model,
    simulator,
    start_service,
)

#: Each quirk: how to turn it on, and what the command's trace then says (None: nothing).
QUIRKS: dict[str, tuple[Callable[[FoxKHServer], None], str | None]] = {
    "44000 reads 0": (
        lambda kh: kh.hide_remote_enable(),
        "register 44000 reads 0 while the AC port follows the setpoint",
    ),
    "setpoint clamped to 1.5 kW": (lambda kh: kh.clamp_setpoint(1500), "W (its rating)"),
    "readbacks lag 3 s": (
        lambda kh: kh.lag_readbacks(3),
        "at first, as written 5 s after the write",
    ),
    # wall seconds, inside the client's 0.25 s timeout: slow, not lost
    "writes answered late": (lambda kh: kh.slow_writes(0.02), None),
}


def traced_commands(site: Service, since: float) -> list[dict[str, Any]]:
    """The command results the control flow's runs since ``since`` recorded, oldest first."""
    traces = site.engine.traces
    found = []
    for brief in reversed(traces.recent("control")):
        run = traces.get("control", brief["run_id"])
        if run is None or run["started"] < since:
            continue
        for step in run["steps"]:
            if step["node"] == "command" and step["output"] is not None:
                found.append(step["output"]["out"])  # by port: what went on
    return found


@pytest.mark.parametrize("quirk", QUIRKS)
async def test_a_forced_charge_holds_through_a_real_khs_quirk(
    tmp_path: Path, free_port: int, quirk: str
) -> None:
    clock = VirtualClock(START)
    site = start_service(tmp_path, free_port, clock)
    await site.start()
    turn_on, note = QUIRKS[quirk]
    try:
        await clock.advance(1)
        turn_on(simulator(site))
        began = clock.time()
        await force_a_charge(site, clock)
        for minute in range(16):  # three control ticks and more
            await clock.advance(MINUTE)
            inverter = model(site)
            inverter.advance_to(clock.time())
            health = site.health()
            assert inverter.remote.enabled, (minute, health)  # never expired, never handed back
            assert inverter.flows().battery_w > 0, (minute, health)  # charging all along
            assert health["status"] != "safety", (minute, health)
        commands = traced_commands(site, began)
        assert len(commands) >= 3 and all(c["mode"] == "force_charge" for c in commands[-3:])
        assert all(c["verified"] for c in commands), commands
        tolerated = [n for c in commands for n in c["tolerated"]]
        if note is None:
            assert tolerated == []
        else:
            assert any(note in n for n in tolerated), tolerated
    finally:
        # Stopping releases the inverter; a lagging readback would then be read again 5 s
        # later on a virtual clock that nothing moves once the service stops.
        simulator(site).clear_faults()
        await site.stop()
