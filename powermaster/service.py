"""Power Master as a running service: engine, flows, simulated site, web UI.

``Service`` is the wiring: it starts and stops the parts and hands each request to the
part whose job it is. It holds no control logic (that is in the flows), no views
(``powermaster.readmodel``: what the API reads) and no file handling
(``powermaster.applying``: the files at start, settings edits, reloads).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from flowengine import Engine, HandBack, RealClock, default_registry
from flowengine.clock import Clock
from flowengine.context import GLOBAL
from flowengine.registry import Registry
from flowengine.spec import FlowSet
from flows import SITE_CONFIG
from nodes.control import override_rules as manual
from nodes.control import planned
from nodes.control.site import control_mode
from nodes.replay import SiteMeterConnection
from nodes.replay.sample import sample_slot_prices
from powermaster import logs
from powermaster.applying import Applier
from powermaster.datadir import demo_site_config
from powermaster.logs import clock_time
from powermaster.options import Options as Options  # where the CLI and tests find it
from powermaster.readmodel import SITE_DB, STATE_KEYS, ReadModel
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.retailer import SimulatedRetailer
from powermaster.sim.site import SiteModel
from powermaster.simulator import inverter_server, site_model
from powermaster.timekeeping import Timekeeper
from powermaster.watch import NOT_FLOW_FILES as NOT_FLOW_FILES  # where the CLI finds it
from powermaster.watch import FileWatch
from ui.app import create_app
from ui.auth import Auth
from ui.server import WebServer

log = logging.getLogger("power_master")


def site_config_for(flows: Path, data_dir: Path | None = None) -> Path:
    """The site config a flows directory runs on unless told otherwise: the site.yaml in
    it if it has one (a user's own copy of flows/), else the shipped demo's: with a
    ``data_dir``, the copy of it there (never the repository's file, which Settings
    would rewrite)."""
    own = flows / "site.yaml"
    if own.is_file() and own.resolve() != SITE_CONFIG:
        return own
    return SITE_CONFIG if data_dir is None else demo_site_config(data_dir)


class Service:
    """One running site: what the UI's protocol (``ui.service.Service``) and the CLI call,
    each handed to the part whose job it is."""

    def __init__(
        self, options: Options, clock: Clock | None = None, registry: Registry | None = None
    ) -> None:
        self.options = options
        self.clock: Clock = clock or RealClock(options.speed)
        #: The files as they run (``registry`` adds to the installed node types).
        self.applier = Applier(options, registry or default_registry(), self.clock.time())
        self.settings = self.applier.settings
        #: The clock's record and check: time never runs backwards (powermaster/timekeeping.py).
        self.timekeeper = Timekeeper(
            options.data_dir, self._site_db_path(), self.settings["site"]["timezone"]
        )
        if clock is None and not options.inverter:  # the simulated site's time carries on
            self.clock = self.timekeeper.demo_clock(options.speed)
        self._timekeeping: asyncio.Task[None] | None = None
        self.simulator: FoxKHServer | None = None
        self.engine = Engine(
            self.applier.registry,
            self.clock,
            options.data_dir / "engine.db",
            self.settings,
            timezone=self.settings["site"]["timezone"],
            data_dir=options.data_dir,
        )
        self.views = ReadModel(self.engine, self.settings, self.applier.status)
        self._web: WebServer | None = None
        self.auth: Auth | None = Auth(options.data_dir) if options.ui else None
        self._watch: FileWatch | None = None

    @property
    def flowset(self) -> FlowSet:
        """The flows running now (a reload or a settings edit changes them)."""
        return self.applier.flowset

    def _site_db_path(self) -> Path | None:
        """The site database's file, as the flows' ``site_db`` connection names it."""
        spec = self.flowset.connections.get(SITE_DB)
        return None if spec is None else self.options.data_dir / spec.config.get("file", "site.db")

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        logs.in_site_zone(self.settings["site"]["timezone"])
        if not self.options.inverter:
            model = site_model(self.settings, self.clock)
            self.timekeeper.restore_site(model, self.clock.time())  # its SOC carries on
            meter = SimulatedRetailer(model, sample_slot_prices)  # sources.usage: sample
            self.engine.provide(SiteMeterConnection.of(meter, self.clock))
            self.simulator = inverter_server(
                model,
                self.clock,
                "127.0.0.1",
                self.options.simulator_port,
                self.settings["inverter"]["firmware"],
            )
            await self.simulator.start()
        self._loop = asyncio.get_running_loop()
        self._unlisten_state = self.engine.context.listen(self._state_changed, GLOBAL)
        self.timekeeper.check(self.engine.context, self.clock.time())  # before the first tick
        await self.engine.start(self.flowset)
        self._timekeeping = self._loop.create_task(
            self.timekeeper.keep(self.clock, self.engine.context, self._site_model),
            name="timekeeping",
        )
        if self.options.ui:
            await self._start_web()
        if self.options.watch:
            self._watch = FileWatch(self.applier.files, self.reload)
            await self._watch.start()
        log.info("started: %s", self._what_runs())

    def _what_runs(self) -> str:
        """The start line: the site, its inverter, shadow or live, the UI's address."""
        site = self.settings["site"].get("name") or "the site"
        inverter = (
            f"inverter {self.options.inverter}"
            if self.options.inverter
            else f"simulated Fox KH on 127.0.0.1:{self.options.simulator_port}"
        )
        parts = [str(site), inverter]
        if control_mode(self.settings) == "shadow":
            parts.append("shadow: deciding, not commanding (nothing is written to the inverter)")
        else:
            parts.append("live: commanding the inverter")
        parts.append(f"web UI on {self._web.url}/" if self._web is not None else "no web UI")
        if self._watch is not None:
            files = self.applier.files
            parts.append(f"reloading {files.flows} and {files.config.name} on change")
        if self.options.speed != 1.0:
            parts.append(f"clock at {self.options.speed:g}x")
        return ", ".join(parts)

    async def _start_web(self) -> None:
        assert self.auth is not None
        self._web = WebServer(create_app(self, self.auth), self.options.host, self.options.port)
        await self._web.start()

    async def stop(self) -> None:
        """Stop cleanly: the flows first (no tick may force again), then hand the
        inverter back: remote control off at once, its min-SOC backstop as configured."""
        if self._watch is not None:
            await self._watch.stop()
            self._watch = None
        timekeeping, self._timekeeping = self._timekeeping, None
        if timekeeping is not None:
            timekeeping.cancel()
            with suppress(asyncio.CancelledError):
                await timekeeping
        if self._unlisten_state is not None:
            self._unlisten_state()
            self._unlisten_state = None
        if self._web is not None:
            await self._web.stop()
        await self.engine.stop()
        handed_back = await self._hand_back()
        if timekeeping is not None:  # the time reached, and the simulated site as handed back
            self.timekeeper.save(self.clock.time(), self._site_model())
        if self.simulator is not None:
            await self.simulator.stop()
        self.engine.close()
        told = "; ".join(f"{name}: {handed.said}" for name, handed in handed_back)
        failed = any(not handed.ok for _, handed in handed_back)
        log.log(
            logging.WARNING if failed else logging.INFO,
            "stopped: %s",
            told or "no inverter to hand back",
        )

    def _site_model(self) -> SiteModel | None:
        return self.simulator.model if self.simulator is not None else None

    async def _hand_back(self) -> list[tuple[str, HandBack]]:
        """What each connection handed back (an inverter: remote control off), by name;
        the connections themselves know what that takes (``Connection.hand_back``)."""
        outcomes = []
        for name, connection in self.engine.connections.items():
            handed = await connection.hand_back()
            if handed is not None:
                outcomes.append((name, handed))
        return outcomes

    async def run_forever(self) -> None:
        """Run until SIGTERM (or SIGINT), then stop cleanly."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)
        for sig in signals:
            loop.add_signal_handler(sig, stopping.set)
        try:
            await self.start()
            await stopping.wait()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            await self.stop()

    # -- what the API reads (powermaster.readmodel; documented by ui.service) -----

    def health(self) -> dict[str, Any]:
        return self.views.health()

    def state(self) -> dict[str, Any]:
        return self.views.state()

    def override(self) -> dict[str, Any] | None:
        return self.views.override()

    async def preview_override(
        self,
        mode: Any,
        power_w: Any,
        duration: Any,
        reason: Any = None,
        start: Any = None,
        until: Any = None,
    ) -> dict[str, Any]:
        return await self.views.preview_override(mode, power_w, duration, reason, start, until)

    def planned_overrides(self) -> list[dict[str, Any]]:
        return self.views.planned_overrides()

    async def overview_chart(self, params: Mapping[str, str]) -> dict[str, Any]:
        return await self.views.overview_chart(params)

    def history(self, params: Mapping[str, str]) -> dict[str, Any]:
        return self.views.history(params)

    def pv_accuracy(self, params: Mapping[str, str]) -> dict[str, Any]:
        return self.views.pv_accuracy(params)

    def billing(self) -> dict[str, Any]:
        return self.views.billing()

    def span_bill(
        self, since: float, until: float, rows: Sequence[tuple[float, float]] = ()
    ) -> dict[str, Any]:
        return self.views.span_bill(since, until, rows)

    def ledger(self, params: Mapping[str, str]) -> dict[str, Any]:
        return self.views.ledger(params)

    def attribution(self, params: Mapping[str, str]) -> dict[str, Any]:
        return self.views.attribution(params)

    # -- live state for the UI: a ``state`` event when what ``state()`` shows changes --

    _unlisten_state: Callable[[], None] | None = None
    _state_pending = False
    _loop: asyncio.AbstractEventLoop | None = None

    def _state_changed(self, scope: str, key: str, new: Any, old: Any) -> None:
        """A key ``state()`` or ``health()`` reads changed: one ``state`` event on the bus
        after the current step, however many of them changed in it (the telemetry and
        the decision land in the same tick), and none while nobody listens."""
        if key not in STATE_KEYS or not self.engine.events.listening or self._state_pending:
            return
        if self._loop is None or self._loop.is_closed():
            return
        self._state_pending = True
        self._loop.call_soon_threadsafe(self._publish_state)

    def _publish_state(self) -> None:
        self._state_pending = False
        if self.engine.events.listening:
            self.engine.events.publish(
                {
                    "type": "state",
                    "state": self.state(),
                    "health": self.health(),
                    "at": self.clock.time(),
                }
            )

    # -- the files: settings edits and reloads (powermaster.applying) -------------

    def settings_view(self) -> dict[str, Any]:
        return self.applier.settings_view()

    async def apply_settings(self, patch: Any) -> dict[str, Any]:
        changed = await self.applier.apply_settings(self.engine, patch)
        return {**self.settings_view(), "changed": changed}

    async def reload(self) -> dict[str, Any]:
        return await self.applier.reload(self.engine)

    # -- the manual override (the API now, MQTT later) -------------------------
    # The control flow ticks on its change and again at its end, by its own triggers
    # (``context`` and ``at`` on global.override in flows/control.yaml).

    def set_override(
        self,
        mode: Any,
        power_w: Any,
        duration: Any,
        reason: Any = None,
        source: str = "api",
        start: Any = None,
        until: Any = None,
    ) -> dict[str, Any]:
        """Store a manual override (``InvalidOverride`` if refused) and act on it at once,
        or keep it until its window opens when ``start`` is still to come (flows/overrides.yaml
        starts it then)."""
        stored = planned.set_or_plan_override(
            self.engine.context,
            self.clock.time(),
            self.settings,
            mode,
            power_w,
            duration=duration,
            until=until,
            start=start,
            source=source,
            reason=reason,
        )
        zone, now = self.settings["site"]["timezone"], self.clock.time()
        log.info(
            "override from %s: %s %.0f W %suntil %s (%s)",
            manual.SOURCE_NAMES.get(source, source),
            stored["mode"],
            stored["power_w"],
            f"from {clock_time(stored['from'], zone, now)} " if "from" in stored else "",
            clock_time(stored["until"], zone, now),
            stored["reason"],
        )
        return stored

    def clear_override(self) -> dict[str, Any] | None:
        """End the override now and act on it at once; returns the one cleared, if any."""
        cleared = manual.clear_override(self.engine.context)
        if cleared is not None:
            log.info("override cleared: %s %s", cleared.get("mode"), cleared.get("reason"))
        return cleared

    def cancel_planned_override(self, override_id: str) -> dict[str, Any] | None:
        """Drop an override set ahead; the one dropped, if any."""
        dropped = planned.cancel_planned(self.engine.context, override_id, self.clock.time())
        if dropped is not None:
            log.info("override set ahead cancelled: %s %s", dropped["mode"], dropped["reason"])
        return dropped
