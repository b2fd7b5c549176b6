"""The running demo, as the browser tests drive it: the real service on virtual time,
the simulated inverter, the UI on a free port, known secrets, and every log line kept.

``demo_site`` writes a site config with three secrets (``SECRETS``) bound from a
secrets.yaml, sets the owner's password the way ``power-master set-password``
does, and starts ``powermaster.service.Service``; the tests then search every
response and every log line for the secret values.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowengine import VirtualClock
from flows import SITE_CONFIG
from powermaster.service import Options, Service
from tests.support.mosquitto import free_port
from ui.auth import write_password

#: 2026-01-15 06:00 in Brisbane: a summer morning, the sun coming up.
START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()
PASSWORD = "demo owner password"
#: Values no page, API answer or log line may ever show.
SECRETS = {
    "amber_api_key": "psk_SECRETamber7f3a9c0d1e2b",
    "solcast_api_key": "SECRETsolcast5b8e1f",
    "mqtt_password": "SECRETmqtt-hunter2",
}
SECRET_CONFIG = """
amber:
  api_key: !secret amber_api_key
  site_id: 01JDEMOSITE
solcast:
  api_key: !secret solcast_api_key
  resource_ids: [abcd-1234]
"""
#: Added to the shipped config's mqtt section (its host stays empty: MQTT off).
MQTT_LOGIN = "mqtt:\n  username: owner\n  password: !secret mqtt_password\n"
#: Where screenshots go (CI keeps the folder as the tests' artifacts).
ARTIFACTS = Path(os.environ.get("PM_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))


class LogKeeper(logging.Handler):
    """Every log record, formatted as the service would print it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class DemoSite:
    service: Service
    url: str
    log: LogKeeper
    config: Path
    seen: list[str] = field(default_factory=list)  # every response body the tests read

    @property
    def clock(self) -> VirtualClock:
        clock = self.service.clock
        assert isinstance(clock, VirtualClock)
        return clock

    async def tick(self, seconds: float = 300) -> None:
        """Let ``seconds`` of virtual time pass and the flows come to rest."""
        await self.clock.advance(seconds)
        await self.service.engine.settle()

    def leaks(self) -> list[str]:
        """Secret values found in any response read or any log line."""
        texts = [*self.seen, *self.log.lines]
        return [
            f"{name} in {text[:120]!r}"
            for name, value in SECRETS.items()
            for text in texts
            if value in text
        ]


@asynccontextmanager
async def demo_site(
    tmp_path: Path, port: int | None = None, edit: Callable[[str], str] | None = None
) -> AsyncIterator[DemoSite]:
    """The demo service on virtual time with the UI on; ``edit`` changes the shipped
    site.yaml's text first (a test's own settings)."""
    config = tmp_path / "site.yaml"
    shipped, found = re.subn(r"^mqtt:.*\n", MQTT_LOGIN, SITE_CONFIG.read_text(), flags=re.M)
    assert found == 1, "the shipped site.yaml has one mqtt section"
    if edit is not None:
        shipped = edit(shipped)
    config.write_text(shipped + SECRET_CONFIG)
    (tmp_path / "secrets.yaml").write_text(
        "".join(f"{name}: {value}\n" for name, value in SECRETS.items())
    )
    data_dir = tmp_path / "data"
    write_password(data_dir, PASSWORD)
    keeper = LogKeeper()
    root = logging.getLogger()
    root.addHandler(keeper)
    level = root.level
    root.setLevel(logging.INFO)
    options = Options(
        config=config,
        data_dir=data_dir,
        simulator_port=free_port(),
        port=port or free_port(),
        ui=True,
    )
    service = Service(options, clock=VirtualClock(START))
    try:
        await service.start()
        await service.engine.settle()
        yield DemoSite(service, f"http://127.0.0.1:{options.port}", keeper, config)
    finally:
        await service.stop()
        root.removeHandler(keeper)
        root.setLevel(level)


Check = Callable[[Any], Awaitable[None]]
