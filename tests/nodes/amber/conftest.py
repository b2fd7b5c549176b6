"""A fake Amber on a free local port, and a site whose amber.prices node asks it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, run_to_end
from flowengine.traces import RunTrace
from tests.flowengine.helpers import Collect
from tests.nodes.amber.fake_amber import FakeAmber
from tests.nodes.amber.harness import settings, start

#: Inside the current interval (17:00-17:30 UTC) of the captured 30-minute response.
T0 = datetime(2025, 4, 9, 17, 5, tzinfo=UTC).timestamp()

FETCH_FLOW = """
flow: fetch
connections:
  - {id: web, type: core.http}
  - {id: db, type: core.sqlite, config: {file: site.db}}
nodes:
  - id: prices
    type: amber.prices
    config: {database: db}
    wires: {out: [out], problem: [problem]}
  - {id: out, type: test.collect}
  - {id: problem, type: test.collect}
"""


@dataclass
class Fetched:
    out: Any  # the reading the node passed on (None: none good yet)
    problem: Any  # the problem port's payload, None when there was none
    in_context: Any  # global.prices afterwards


class Site:
    """An engine running FETCH_FLOW against the fake Amber, on a virtual clock."""

    def __init__(self, engine: Engine, clock: VirtualClock, data_dir: Path) -> None:
        self.engine = engine
        self.clock = clock
        self.db_file = data_dir / "site.db"
        self.last_trace: RunTrace | None = None

    async def fetch(self, after_s: float = 0.0) -> Fetched:
        """Move time on by ``after_s``, then run the flow once."""
        if after_s:
            await self.clock.advance(after_s)
        Collect.seen = {}
        trace = self.last_trace = await run_to_end(self.engine, "fetch")
        assert trace.outcome == "ok", trace.error
        (out,) = Collect.seen["out"]
        problems = Collect.seen.get("problem", [])
        assert len(problems) <= 1
        problem = problems[0] if problems else None
        return Fetched(out, problem, self.engine.context.get("global", "prices"))


@pytest.fixture
async def amber(free_port: int) -> AsyncIterator[FakeAmber]:
    server = FakeAmber(free_port)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_site(
    amber: FakeAmber, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Site]]]:
    engines: list[Engine] = []

    async def make(**section: Any) -> Site:
        clock = VirtualClock(T0)
        amber.clock = clock
        engine = await start([FETCH_FLOW], clock, settings(amber, **section), data_dir=tmp_path)
        engines.append(engine)
        return Site(engine, clock, tmp_path)

    yield make
    for engine in engines:
        await engine.stop()
        engine.close()
