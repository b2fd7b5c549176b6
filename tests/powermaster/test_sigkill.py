"""A service killed outright (SIGKILL) while forcing a charge leaves the inverter safe.

The simulated inverter and the service are two processes, as on a real site:
``power-master simulate`` serves the KH over Modbus TCP and prints a line at
each change of its control state; ``power-master run`` controls it. A manual
override through the API forces a charge; once the simulator reports remote
control charging the battery, the service is killed without a chance to clean
up. Nobody feeds the watchdog any more, and the inverter drops remote control by
itself when the watchdog runs out, back to the work mode held in 41000.

Both clocks run 60 times faster than wall time and the watchdog is 10 s, so
this takes seconds. Nothing sleeps: every wait reads the processes' output,
each bounded by one overall deadline.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp

from flowengine import VirtualClock
from powermaster.sim.reporter import report_changes
from powermaster.sim.site import ConstantProfile, SiteModel
from tests.support.child import Child
from tests.support.child import child as python_child
from tests.support.web import client, sign_in

SPEED = 60
WATCHDOG_S = 10
#: Wall seconds for the whole test: start-up, the plan, the override's minimum hold.
DEADLINE_S = 90.0
#: Wall-to-simulator time is mapped from the simulator's own clock line; allow for jitter.
MAPPING_SLACK_S = 1.0
PASSWORD = "kill-test-password"


def child(name: str, args: list[str], deadline: float) -> AbstractAsyncContextManager[Child]:
    """``power-master <args>`` as a ``Child``."""
    return python_child(name, ["-m", "powermaster.cli", *args], deadline)


async def decision_of(
    http: aiohttp.ClientSession, url: str, wanted: tuple[str, str], deadline: float
) -> dict[str, Any]:
    """/api/state once it shows the ``(level, mode)`` wanted; asked again until the deadline."""
    loop = asyncio.get_running_loop()
    while True:
        async with http.get(url) as response:
            state: dict[str, Any] = await response.json()
        if (state["level"], state["mode"]) == wanted:
            return state
        assert loop.time() < deadline, f"the state never showed {wanted}: {state}"


def another_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fields(line: str) -> dict[str, str]:
    """``inverter t=1 remote=on ...`` as {"t": "1", "remote": "on", ...}."""
    return dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)


def inverter_line(line: str) -> bool:
    return line.startswith("inverter ")


def charging_under_remote_control(line: str) -> bool:
    state = fields(line) if inverter_line(line) else {}
    return state.get("remote") == "on" and float(state.get("battery_w", 0)) > 2000


def remote_control_off(line: str) -> bool:
    return inverter_line(line) and fields(line)["remote"] == "off"


async def test_a_killed_service_leaves_the_inverter_to_its_fallback_mode(
    tmp_path: Path, free_port: int
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(f"inverter:\n  watchdog_s: {WATCHDOG_S}\nsimulator:\n  soc_initial: 0.4\n")
    ui_port = another_free_port()
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    simulate = ["simulate", "--config", str(site), "--port", str(free_port), "--speed", str(SPEED)]
    run = [
        "run",
        "--config",
        str(site),
        "--inverter",
        f"127.0.0.1:{free_port}",
        "--speed",
        str(SPEED),
        "--data-dir",
        str(tmp_path / "data"),
        "--port",
        str(ui_port),
    ]
    # A scripted install sets the UI's password before the first start.
    setup = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "powermaster.cli",
        "set-password",
        "--data-dir",
        str(tmp_path / "data"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[2],
    )
    said, _ = await asyncio.wait_for(setup.communicate(f"{PASSWORD}\n".encode()), 60)
    assert setup.returncode == 0, said.decode()
    async with child("the simulator", simulate, deadline) as inverter:
        await inverter.line(lambda s: s.startswith("simulated Fox KH on"), "listening")
        clock = fields(await inverter.line(lambda s: s.startswith("clock "), "its clock"))
        first = fields(await inverter.line(inverter_line, "its first state"))
        assert first["remote"] == "off"

        async with child("the service", run, deadline) as service:
            await service.line(lambda s: "web UI on" in s, "the web UI listening")
            draining = asyncio.create_task(service.drain())
            api = f"http://127.0.0.1:{ui_port}/api"
            async with client() as http:
                await sign_in(http, f"http://127.0.0.1:{ui_port}", PASSWORD)
                body = {"mode": "force_charge", "power_w": 3000, "duration": "1h"}
                async with http.post(f"{api}/override", json=body) as response:
                    assert response.status == 200, await response.text()
                    assert (await response.json())["mode"] == "force_charge"
                forcing = fields(
                    await inverter.line(
                        charging_under_remote_control, "a charge under remote control"
                    )
                )
                # The override is what forces the charge, and the state says so (the
                # tick stores its decision just after the command reaches the inverter).
                state = await decision_of(
                    http, f"{api}/state", ("override", "force_charge"), deadline
                )
            assert state["override"]["power_w"] == 3000 and "manual override" in state["reason"]
            assert forcing["timeout_s"] == str(WATCHDOG_S)
            service.process.send_signal(signal.SIGKILL)
            killed_at = time.time()
            assert await service.process.wait() == -signal.SIGKILL
            await draining

        fallback = fields(await inverter.line(remote_control_off, "remote control ending"))
        # The moment of the kill on the simulator's clock.
        kill_t = float(clock["t"]) + (killed_at - float(clock["wall"])) * SPEED
        off_at, last_feed = float(fallback["off_at"]), float(fallback["last_write"])
        assert fallback["remote_off_by"] == "watchdog"  # not written off: the service is gone
        assert abs(off_at - last_feed - WATCHDOG_S) < 0.002  # printed to the millisecond
        assert float(fallback["t"]) >= off_at
        # It was still charging when killed, and held on until the watchdog ran out.
        assert off_at > kill_t - MAPPING_SLACK_S
        assert off_at <= kill_t + WATCHDOG_S + MAPPING_SLACK_S
        # Back to the work mode the service set in 41000 before forcing: the configured
        # fallback (inverter.fallback_mode), self-use by default.
        assert fallback["work_mode"] == forcing["work_mode"] == "self_use"


async def test_the_simulator_report_tells_a_watchdog_expiry_from_a_release() -> None:
    """What the test above reads: the simulator's own report, here on virtual time."""
    clock = VirtualClock(1_767_225_600.0)
    model = SiteModel(ConstantProfile(pv_w=0.0, load_w=1000.0), clock.time())
    lines: list[str] = []
    reporting = asyncio.create_task(report_changes(model, clock, lines.append))
    try:
        await clock.settle()
        assert fields(lines[-1])["remote"] == "off" and "remote_off_by" not in lines[-1]
        fed_at = clock.time()
        model.write_remote(fed_at, enabled=True, timeout_s=WATCHDOG_S, setpoint_w=-3000)
        await clock.advance(1)
        on = fields(lines[-1])
        assert (on["remote"], on["setpoint_w"], on["battery_w"]) == ("on", "-3000", "3000")
        await clock.advance(WATCHDOG_S - 2)
        assert fields(lines[-1])["remote"] == "on"  # not yet: the watchdog still runs
        await clock.advance(2)
        expired = fields(lines[-1])
        assert (expired["remote"], expired["remote_off_by"]) == ("off", "watchdog")
        assert float(expired["off_at"]) == fed_at + WATCHDOG_S
        model.write_remote(clock.time(), enabled=True)
        await clock.advance(1)
        released_at = clock.time()
        model.write_remote(released_at, enabled=False)
        await clock.advance(1)
        released = fields(lines[-1])
        assert (released["remote_off_by"], float(released["off_at"])) == ("write", released_at)
        assert len(lines) == 5  # one line per change, none while nothing changes
    finally:
        reporting.cancel()
