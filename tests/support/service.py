"""The real service on virtual time with its UI on a free port, as the API tests use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from flowengine import VirtualClock
from powermaster.service import Options, Service
from tests.support.mosquitto import free_port


@asynccontextmanager
async def running_service(
    data_dir: Path, port: int, start: float, **options: Any
) -> AsyncIterator[Service]:
    """The demo site's service (simulated inverter on another free port), started and
    settled at ``start``; stopped when the block ends."""
    service = Service(
        Options(data_dir=data_dir, simulator_port=free_port(), port=port, **options),
        clock=VirtualClock(start),
    )
    await service.start()
    try:
        await service.engine.settle()
        yield service
    finally:
        await service.stop()
