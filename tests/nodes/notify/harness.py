"""An engine with the notify node types on a virtual clock, and one sender flow."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowengine import Engine, VirtualClock, load_flow_text, run_to_end
from flowengine.secrets import attach_secrets
from flowengine.traces import RunTrace
from nodes import notify
from tests.flowengine.helpers import Collect
from tests.support.registry import registry

#: 2025-01-06 09:00 in Brisbane (UTC+10), a Monday.
T0 = 1736118000.0


def sender_flow(node_type: str, config: Mapping[str, Any] | None = None, http: bool = True) -> str:
    """A flow whose one sender passes what it sent to ``sent`` and what it held to ``held``."""
    connections = "connections:\n  - {id: web, type: core.http, config: {timeout_s: 5}}\n"
    return f"""
flow: send
{connections if http else ""}
nodes:
  - id: send
    type: {node_type}
    config: {json.dumps(dict(config or {}))}
    wires: {{out: [sent], suppressed: [held]}}
  - {{id: sent, type: test.collect}}
  - {{id: held, type: test.collect}}
"""


def site_settings(
    notify_section: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Site settings as load_site_config leaves them: every ``!secret`` bound."""
    settings: dict[str, Any] = {"site": {"timezone": "Australia/Brisbane"}}
    if notify_section is not None:
        settings["notify"] = dict(notify_section)
    assert attach_secrets(settings, dict(secrets or {})) == []
    return settings


@dataclass
class Outcome:
    trace: RunTrace
    sent: list[Any]
    held: list[Any]

    @property
    def error(self) -> str:
        assert self.trace.outcome == "error", "the run did not fail"
        return self.trace.error or ""


class Site:
    """One engine running a flow on a virtual clock; ``restart`` keeps its database."""

    def __init__(
        self, flow: str, settings: Mapping[str, Any], clock: VirtualClock, database: Path | str
    ) -> None:
        self.flow = flow
        self.settings = settings
        self.clock = clock
        self.database = database
        self.engine: Engine | None = None

    async def start(self) -> Site:
        reg = registry(*notify.NODE_TYPES)
        self.engine = Engine(reg, self.clock, self.database, settings=self.settings)
        await self.engine.start(load_flow_text(self.flow, reg))
        return self

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
            self.engine.close()
            self.engine = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def run(self, payload: Any = None, flow: str | None = None) -> Outcome:
        assert self.engine is not None
        Collect.seen = {}
        trace = await run_to_end(self.engine, flow or "send", payload)
        return Outcome(trace, Collect.seen.get("sent", []), Collect.seen.get("held", []))

    def status(self, node: str = "send") -> dict[str, Any]:
        assert self.engine is not None
        (flow,) = self.engine.describe()
        (found,) = [n for n in flow["nodes"] if n["id"] == node]
        return dict(found)


def notification(event: str = "inverter_offline", **changes: Any) -> dict[str, Any]:
    """A notification payload as notify.compose makes them."""
    return {
        "event": event,
        "title": "Inverter offline",
        "text": "3 failed Modbus exchanges in a row; last error: timed out.",
        "level": "critical",
        **changes,
    }
