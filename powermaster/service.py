"""Power Master as a running service: engine, flows, simulated site, web UI.

``Service`` wires the parts; it holds no control logic of its own (that is in
the flows). Its ``health`` and ``state`` views read what the flows record in
the context store.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowengine import Engine, RealClock, default_registry, load_flow_dir
from flowengine.clock import Clock
from flowengine.durations import parse_duration
from flowengine.registry import Registry
from flows import FLOWS_DIR, SITE_CONFIG
from nodes.inputs.node import HEALTH_KEY, input_status
from nodes.planning.plan import slot_at
from powermaster.config import load_site_config
from powermaster.sim.fox_server import FoxKHServer
from powermaster.simulator import inverter_server, site_model

if TYPE_CHECKING:
    from ui.server import WebServer

log = logging.getLogger("power_master")

NOT_FLOW_FILES = ("site.yaml", "secrets.yaml")
TICK_SECONDS = 300


@dataclass
class Options:
    config: Path = SITE_CONFIG
    flows: Path = FLOWS_DIR
    data_dir: Path = Path("power-master-data")
    host: str = "127.0.0.1"
    port: int = 8080
    speed: float = 1.0
    inverter: str | None = None  # HOST:PORT of a real inverter; None runs the simulator
    simulator_port: int = 5020
    ui: bool = True
    extra_settings: dict[str, Any] = field(default_factory=dict)


class Service:
    def __init__(
        self, options: Options, clock: Clock | None = None, registry: Registry | None = None
    ) -> None:
        self.options = options
        self.clock: Clock = clock or RealClock(options.speed)
        self.registry = registry or default_registry()
        self.settings = load_site_config(options.config)
        self.settings.update(options.extra_settings)
        self.settings["data_dir"] = str(options.data_dir)
        self.simulator: FoxKHServer | None = None
        if options.inverter:
            host, _, port = options.inverter.rpartition(":")
            self.settings["inverter"].update(host=host or "127.0.0.1", port=int(port))
        else:
            self.settings["inverter"].update(host="127.0.0.1", port=options.simulator_port)
        self.flowset = load_flow_dir(options.flows, self.registry, exclude=NOT_FLOW_FILES)
        self.engine = Engine(
            self.registry,
            self.clock,
            options.data_dir / "engine.db",
            self.settings,
            timezone=self.settings["site"]["timezone"],
        )
        self._web: WebServer | None = None

    async def start(self) -> None:
        if not self.options.inverter:
            model = site_model(self.settings, self.clock)
            self.simulator = inverter_server(
                model,
                self.clock,
                "127.0.0.1",
                self.options.simulator_port,
                self.settings["inverter"]["firmware"],
            )
            await self.simulator.start()
            log.info("simulated Fox KH on 127.0.0.1:%d", self.options.simulator_port)
        await self.engine.start(self.flowset)
        if self.options.ui:
            await self._start_web()

    async def _start_web(self) -> None:
        from ui.app import create_app
        from ui.server import WebServer

        self._web = WebServer(create_app(self), self.options.host, self.options.port)
        await self._web.start()
        log.info("web UI on %s/flows", self._web.url)

    async def stop(self) -> None:
        if self._web is not None:
            await self._web.stop()
        await self.engine.stop()
        if self.simulator is not None:
            await self.simulator.stop()
        self.engine.close()

    async def run_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    # -- views for the UI and API ---------------------------------------------

    def health(self) -> dict[str, Any]:
        """ok / degraded / safety, with the checks that led there."""
        now = self.clock.time()
        context = self.engine.context
        telemetry = context.get("global", "telemetry")
        stale_after = parse_duration(self.settings["control"]["telemetry_stale_after"])
        checks: dict[str, Any] = {}
        status = "ok"
        if not telemetry:
            checks["telemetry"] = "no telemetry yet"
            status = "degraded"
        else:
            age = now - float(telemetry["timestamp"])
            checks["telemetry_age_s"] = round(age, 1)
            if age > stale_after:
                status = "safety"
            elif age > 2 * TICK_SECONDS:
                status = "degraded"
        control = self.engine.flows.get("control")
        if control is not None:
            runs = self.engine.traces.recent("control", 1)
            if runs:
                checks["last_tick"] = runs[0]["outcome"]
                if runs[0]["outcome"] == "error" and status == "ok":
                    status = "degraded"
        plan = context.get("global", "plan")
        checks["plan"] = plan.get("created_at") if plan else None
        inputs = input_ages(context.get("global", HEALTH_KEY) or {}, now)
        if inputs:
            checks["inputs"] = inputs
            if status == "ok" and any(i["stale"] for i in inputs.values()):
                status = "degraded"
        decision = context.get("global", "decision") or {}
        if decision.get("level") == "safety" and status == "ok":
            status = "degraded"
        return {
            "status": status,
            "time": self.clock.now().isoformat(),
            "checks": checks,
            "speed": getattr(self.clock, "speed", 1.0),
        }

    def state(self) -> dict[str, Any]:
        """What the site is doing now: SOC, power flows, mode, prices."""
        context = self.engine.context
        telemetry = context.get("global", "telemetry") or {}
        decision = context.get("global", "decision") or {}
        plan = context.get("global", "plan") or {}
        now = self.clock.time()
        slot = slot_at(plan, now)
        return {
            "time": self.clock.now().isoformat(),
            "soc": telemetry.get("soc"),
            "soc_pct": telemetry.get("soc_pct"),
            "pv_w": telemetry.get("pv_w"),
            "load_w": telemetry.get("load_w"),
            "battery_w": telemetry.get("battery_w"),
            "grid_w": telemetry.get("grid_w"),
            "mode": decision.get("mode"),
            "power_w": decision.get("power_w"),
            "level": decision.get("level"),
            "reason": decision.get("reason"),
            "import_price": slot.get("import_price") if slot else None,
            "export_price": slot.get("export_price") if slot else None,
            "plan_created_at": plan.get("created_at"),
            "telemetry_at": telemetry.get("timestamp"),
        }


def input_ages(health: dict[str, Any], now: float) -> dict[str, Any]:
    """Each input's provider, age now and staleness, from what the input nodes recorded."""
    return {kind: input_status(entry, now) for kind, entry in health.items()}
