"""The service on a virtual clock that a parent process moves: the SIGKILL ledger test's child.

Run as ``python -m tests.support.ledger_child FLOWS DATA_DIR HOST:PORT RESUME_AT``: it
says ``starting``, builds the real ``Service`` on a ``VirtualClock`` at ``RESUME_AT``
against the inverter at ``HOST:PORT``, starts it and says ``at T <telemetry>`` once
the start-up runs are done. Then each line ``T`` on stdin moves its clock to ``T``,
waits for the runs that woke to finish and says ``at T <telemetry>`` again
(``<telemetry>`` is the JSON of ``{timestamp, energy_kwh}`` the last tick read). At
the end of stdin it stops the service cleanly and exits 0.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

from flowengine.clock import VirtualClock
from powermaster.service import Options, Service


async def serve(flows: Path, data_dir: Path, inverter: str, resume_at: float) -> None:
    commands = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    print("starting", flush=True)
    clock = VirtualClock(resume_at)
    service = Service(
        Options(flows=flows, data_dir=data_dir, inverter=inverter, ui=False), clock=clock
    )
    await service.start()
    try:
        await service.engine.settle()
        report(service, clock)
        while line := (await commands.readline()).strip():
            await clock.run_until(float(line))
            await service.engine.settle()
            report(service, clock)
    finally:
        await service.stop()


def report(service: Service, clock: VirtualClock) -> None:
    telemetry = service.engine.context.get("global", "telemetry") or {}
    seen = {"timestamp": telemetry.get("timestamp"), "energy_kwh": telemetry.get("energy_kwh")}
    print(f"at {clock.time():.0f} {json.dumps(seen, sort_keys=True)}", flush=True)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    flows, data_dir, inverter, resume_at = argv
    asyncio.run(serve(Path(flows), Path(data_dir), inverter, float(resume_at)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
