"""Power Master as a running service: engine, flows, simulated site, web UI.

``Service`` wires the parts; it holds no control logic of its own (that is in
the flows). Its ``health`` and ``state`` views read what the flows record in
the context store.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import signal
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flowengine import Engine, RealClock, default_registry
from flowengine.changes import FlowChanges, compare
from flowengine.clock import Clock
from flowengine.context import GLOBAL
from flowengine.errors import InvalidFlows, Problem
from flowengine.local import fingerprint as local_fingerprint
from flowengine.local import with_local_types
from flowengine.registry import Registry
from flowengine.secrets import is_secret, reveal
from flowengine.spec import FlowSet
from flows import FLOWS_DIR, SITE_CONFIG
from nodes.control import override as manual
from nodes.control.deviation import WORK_MODES
from nodes.control.site import control_mode
from nodes.foxess.client import CommandResult, InverterError
from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.registers import REMOTE_ENABLE, WORK_MODE
from nodes.health.checks import Finding, HealthLimits, assess
from nodes.health.node import HEALTH_KEY, HealthCheck, health_record, observe
from nodes.history.query import HistoryQuery, NoHistory, history_rows
from nodes.ledger.billing import zone
from nodes.ledger.cycles import statement, window
from nodes.ledger.entries import EntryQuery, entries
from nodes.ledger.settings import BillingTerms
from nodes.ledger.store import NoLedger, require_schema
from nodes.planning.plan import slot_at
from nodes.planning.whatif import override_cost
from powermaster import overview
from powermaster import settings as site_settings
from powermaster.config import SITE_SCHEMA, load_site_config
from powermaster.datadir import default_data_dir, demo_site_config
from powermaster.lastgood import LastGood, Version
from powermaster.logs import clock_time
from powermaster.sampledata import sample_slot_prices
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.retailer import SimulatedRetailer
from powermaster.sim.site import SiteModel
from powermaster.simulator import inverter_server, site_model
from powermaster.timekeeping import Timekeeper
from powermaster.watch import NOT_FLOW_FILES as NOT_FLOW_FILES  # where the CLI finds it
from powermaster.watch import FileWatch, WatchedFiles
from ui.auth import Auth

if TYPE_CHECKING:
    from ui.server import WebServer

log = logging.getLogger("power_master")

#: The connection the flows keep the site database (history, the ledger) on.
SITE_DB = "site_db"
#: The context keys (global) that ``state()`` and ``health()`` show: a change publishes ``state``.
STATE_KEYS = frozenset(
    {"telemetry", "decision", "plan", "override", "storm_reserve", HEALTH_KEY, "input_health",
     "command_check", "would_command"}
)  # fmt: skip
#: Real seconds the runs in progress get to finish when the settings change.
RELOAD_GRACE_S = 5.0
#: A health record older than this means its flow has stopped judging (it runs every 5 min).
HEALTH_SILENT_S = 900.0


@dataclass
class Options:
    config: Path = SITE_CONFIG
    flows: Path = FLOWS_DIR
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8080
    speed: float = 1.0
    inverter: str | None = None  # HOST:PORT or /dev/tty... of a real inverter; None: simulator
    simulator_port: int = 5020
    mqtt: str | None = None  # HOST:PORT of an MQTT broker, over the site config's mqtt section
    ui: bool = True
    watch: bool = False  # reload the flows and the site config when their files change
    shadow: bool = False  # control.mode: shadow whatever the site config says (run --shadow)
    extra_settings: dict[str, Any] = field(default_factory=dict)


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
    def __init__(
        self, options: Options, clock: Clock | None = None, registry: Registry | None = None
    ) -> None:
        self.options = options
        self.clock: Clock = clock or RealClock(options.speed)
        #: The installed node types; ``registry`` adds the flows folder's own (nodes/*.py).
        self.installed = registry or default_registry()
        self.files = WatchedFiles(options.flows, options.config)
        self._local_seen = local_fingerprint(options.flows)
        self.registry = with_local_types(self.installed, options.flows)
        #: The last reload of the files (``reload``), for ``health()`` and the flows page.
        self.reload_status: dict[str, Any] | None = None
        self.last_good = LastGood(options.data_dir)
        #: What runs instead of the files since they were refused at start (None: the files).
        self._running_instead: str | None = None
        #: Flow files refused at start with no version of them kept: part of the site is
        #: not running, which health says (a refused edit, by contrast, is never judged).
        self._flows_missing = False
        config, self.flowset = self._load_at_start()
        self._config_seen = fingerprint(config)
        self.settings = self._as_run(config)
        #: The clock's record and check: time never runs backwards (powermaster/timekeeping.py).
        self.timekeeper = Timekeeper(
            options.data_dir, self._site_db_path(), self.settings["site"]["timezone"]
        )
        if clock is None and not options.inverter:  # the simulated site's time carries on
            self.clock = self.timekeeper.demo_clock(options.speed)
        self._timekeeping: asyncio.Task[None] | None = None
        self.started_at = self.clock.time()  # what is never seen counts its age from here
        self.simulator: FoxKHServer | None = None
        self.engine = Engine(
            self.registry,
            self.clock,
            options.data_dir / "engine.db",
            self.settings,
            timezone=self.settings["site"]["timezone"],
        )
        self._web: WebServer | None = None
        self.auth: Auth | None = Auth(options.data_dir) if options.ui else None
        self._watch: FileWatch | None = None

    def _site_db_path(self) -> Path | None:
        """The site database's file, as the flows' ``site_db`` connection names it."""
        spec = self.flowset.connections.get(SITE_DB)
        return None if spec is None else self.options.data_dir / spec.config.get("file", "site.db")

    def _load_at_start(self) -> tuple[dict[str, Any], FlowSet]:
        """The site config and flows to start with: the files, or if they are refused the
        last version that loaded, or the flow files that load on their own; never a crash
        loop over a file (``InvalidFlows`` only for a refused site config with nothing kept).
        Whatever was refused is logged and shown as health's ``checks.reload``."""
        version = Version.read(self.options.config, self.files.flow_files())
        try:
            config, flowset = version.load(self.registry)
        except InvalidFlows as exc:
            problems = exc.problems
        else:
            self.last_good.save(version, self.clock.time())
            return config, flowset
        kept = self.last_good.read()
        if kept is not None:
            try:
                config, flowset = kept.load(self.registry)
            except InvalidFlows as exc:
                log.error("the last good version does not load either: %s", exc.problems[0])
            else:
                site_zone = ZoneInfo(config["site"]["timezone"])
                kept_at = datetime.fromtimestamp(kept.saved_at or 0, site_zone)
                saved = kept_at.strftime("%Y-%m-%d %H:%M %Z")
                self._refused_at_start(problems, f"the last version that loaded (kept {saved})")
                return config, flowset
        refused = frozenset(problem.file for problem in problems)
        if str(self.options.config) in refused:
            raise InvalidFlows(problems)
        every_flow_file = frozenset(str(path) for path in version.flow_texts)
        try:
            config, flowset = version.load(self.registry, complete=False, leave_out=refused)
            running = "the flow files that load, without " + ", ".join(
                Path(file).name for file in sorted(refused)
            )
        except InvalidFlows:
            config, flowset = version.load(self.registry, leave_out=every_flow_file)
            running = "no flows"
        self._refused_at_start(problems, running)
        self._flows_missing = True
        return config, flowset

    def _refused_at_start(self, problems: list[Problem], running: str) -> None:
        log.error("the files were refused at start; running %s", running)
        for problem in problems:
            log.error("  %s", problem)
        self._running_instead = running
        self.reload_status = {
            "state": "refused", "at": self.clock.time(), "running": running,
            "problems": [str(problem) for problem in problems],
        }  # fmt: skip

    async def start(self) -> None:
        if not self.options.inverter:
            model = site_model(self.settings, self.clock)
            self.timekeeper.restore_site(model, self.clock.time())  # its SOC carries on
            self.settings["site_meter"] = SimulatedRetailer(model, sample_slot_prices)
            self.simulator = inverter_server(
                model,
                self.clock,
                "127.0.0.1",
                self.options.simulator_port,
                self.settings["inverter"]["firmware"],
            )
            await self.simulator.start()
        self._unlisten_override = self.engine.context.listen(
            self._override_changed, GLOBAL, manual.OVERRIDE_KEY
        )
        self._loop = asyncio.get_running_loop()
        self._unlisten_state = self.engine.context.listen(self._state_changed, GLOBAL)
        self.timekeeper.check(self.engine.context, self.clock.time())  # before the first tick
        await self.engine.start(self.flowset)
        self._timekeeping = self._loop.create_task(
            self.timekeeper.keep(self.clock, self.engine.context, self._site_model),
            name="timekeeping",
        )
        active = self.override()
        if active is not None:  # one stored before a restart still ends on time
            self._expire_override_at(float(active["until"]))
        if self.options.ui:
            await self._start_web()
        if self.options.watch:
            self._watch = FileWatch(self.files, self.reload)
            await self._watch.start()
        log.info("started: %s", self._what_runs())

    def _what_runs(self) -> str:
        """The start line: the site, its inverter, shadow or live, the UI's address."""
        site = self.settings["site"].get("name") or "the site"
        inverter = (
            f"inverter {self.options.inverter}" if self.options.inverter
            else f"simulated Fox KH on 127.0.0.1:{self.options.simulator_port}"
        )  # fmt: skip
        parts = [str(site), inverter]
        if control_mode(self.settings) == "shadow":
            parts.append("shadow: deciding, not commanding (nothing is written to the inverter)")
        else:
            parts.append("live: commanding the inverter")
        parts.append(f"web UI on {self._web.url}/" if self._web is not None else "no web UI")
        if self._watch is not None:
            parts.append(f"reloading {self.files.flows} and {self.files.config.name} on change")
        if self.options.speed != 1.0:
            parts.append(f"clock at {self.options.speed:g}x")
        return ", ".join(parts)

    async def _start_web(self) -> None:
        from ui.app import create_app
        from ui.server import WebServer

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
        self._cancel_override_expiry()
        if self._unlisten_override is not None:
            self._unlisten_override()
            self._unlisten_override = None
        if self._unlisten_state is not None:
            self._unlisten_state()
            self._unlisten_state = None
        if self._web is not None:
            await self._web.stop()
        await self.engine.stop()
        handed_back = await self._release_inverters()
        if timekeeping is not None:  # the time reached, and the simulated site as handed back
            self.timekeeper.save(self.clock.time(), self._site_model())
        if self.simulator is not None:
            await self.simulator.stop()
        self.engine.close()
        told = "; ".join(f"{name}: {outcome}" for name, outcome, _ in handed_back)
        failed = any(not ok for _, _, ok in handed_back)
        log.log(logging.WARNING if failed else logging.INFO, "stopped: %s",
                told or "no inverter to hand back")  # fmt: skip

    def _site_model(self) -> SiteModel | None:
        return self.simulator.model if self.simulator is not None else None

    async def _release_inverters(self) -> list[tuple[str, str, bool]]:
        """Each inverter handed back: its connection, the outcome, and whether it went well."""
        outcomes = []
        for name, connection in self.engine.connections.items():
            if not isinstance(connection, FoxModbusConnection):
                continue
            if connection.client.read_only:  # shadow mode: never commanded, nothing to undo
                outcomes.append((name, "hand-back not needed (shadow mode never commanded it)",
                                 True))  # fmt: skip
                await connection.close()
                continue
            try:
                result = await connection.release()
            except InverterError as exc:  # its own watchdog hands it back within watchdog_s
                watchdog = connection.client.watchdog_s
                outcomes.append((name, f"hand-back failed ({exc}); its own watchdog ends "
                                 f"remote control within {watchdog} s", False))  # fmt: skip
            else:
                outcomes.append((name, hand_back_outcome(result), result.verified))
            finally:
                await connection.close()
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

    # -- views for the UI and API ---------------------------------------------

    def health(self) -> dict[str, Any]:
        """ok / degraded / safety, why, since when and the checks: ``global.health``, as the
        health flow keeps it; judged here and now when no health flow is keeping it."""
        now = self.clock.time()
        context = self.engine.context
        record = context.get("global", HEALTH_KEY)
        if not isinstance(record, dict) or now - float(record.get("at", 0.0)) > HEALTH_SILENT_S:
            silent = Finding("health", "degraded", "the health check has stopped running")
            result = assess(
                observe(
                    context.scope("global"), now, self.started_at, self.settings["site"]["timezone"]
                ),
                HealthLimits.from_settings(self.settings),
                [silent] if self._judges_health() else [],  # a health flow that stopped judging
            )
            record = health_record(result, now, record)
        checks = dict(record.get("checks") or {})
        runs = self.engine.traces.recent("control", 1) if "control" in self.engine.flows else []
        if runs:
            checks["last_tick"] = runs[0]["outcome"]
        if self.reload_status is not None:  # shown, never judged: the running flows carry on
            checks["reload"] = self.reload_status
        status, reasons = record["state"], list(record.get("reasons") or [])
        if self._flows_missing:  # ... unless flows are missing since the start
            reasons.append(f"running {self._running_instead}: refused at start")
            status = "degraded" if status == "ok" else status
        return {
            "status": status,
            "reasons": reasons,
            "since": record.get("since"),
            "time": self.clock.now().isoformat(),
            "checks": checks,
            "speed": getattr(self.clock, "speed", 1.0),
        }

    def _judges_health(self) -> bool:
        return any(
            isinstance(node.node, HealthCheck)
            for flow in self.engine.flows.values()
            for node in flow.nodes.values()
        )

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
            "decided_at": decision.get("at"),
            "override": self.override(),
            "storm_reserve": storm_reserve_view(context.get("global", "storm_reserve"), now),
            "control": control_mode(self.settings),
            "would_command": would_command_view(
                context.get("global", "would_command"), control_mode(self.settings)
            ),
            "command_check": command_check_view(context.get("global", "command_check")),
        }

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

    # -- history for the overview and graphs pages (docs/history.md) -------------

    async def overview_chart(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The overview's chart: the last ``hours`` as recorded, the plan's ``ahead``;
        ``InvalidRequest`` for a bad query, ``NoHistory`` when none is kept. The plan is
        taken here, site.db is read in a worker thread on a connection of its own."""
        query = overview.ChartQuery.parse(params)
        plan, now = self.engine.context.get("global", "plan"), self.clock.time()
        tz = zone(self.settings["site"]["timezone"])

        def read() -> dict[str, Any]:
            with self._site_reader(NoHistory) as db:
                return overview.chart(db, query, plan, now, tz)

        return await asyncio.to_thread(read)

    def history(self, params: Mapping[str, str]) -> dict[str, Any]:
        """30-minute, daily or weekly rows of the site's history with the ledger's cash
        and the prices paid; ``InvalidRequest`` for a bad query, ``NoHistory`` if none."""
        tz = zone(self.settings["site"]["timezone"])
        now = self.clock.time()
        query = HistoryQuery.parse(params, tz, now)
        with self._site_reader(NoHistory) as db:
            return history_rows(db, query, tz, now)

    # -- the ledger: billing cycles and entries (docs/ledger.md) ---------------

    # Both read a snapshot of site.db through a read-only connection of their own, so
    # the API runs them in a worker thread: a month of entries takes a moment to add up.

    def billing(self) -> dict[str, Any]:
        """The open billing cycle so far and projected, and the closed ones, newest first."""
        terms = BillingTerms.from_settings(self.settings)
        with self._ledger_reader() as db:
            return statement(db, self.clock.time(), terms)

    def span_bill(
        self, since: float, until: float, rows: Sequence[tuple[float, float]] = ()
    ) -> dict[str, Any]:
        """A window's net bill so far, added up as /api/billing's spans are, and each
        row's fixed charges (``nodes.ledger.cycles.window``): the Graphs page's figures."""
        terms = BillingTerms.from_settings(self.settings)
        with self._ledger_reader() as db:
            return window(db, since, until, terms, rows)

    def ledger(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Ledger entries and gaps, newest first; ``InvalidRequest`` for a bad query."""
        tz = zone(self.settings["site"]["timezone"])
        query = EntryQuery.parse(params, tz)
        with self._ledger_reader() as db:
            return entries(db, query, tz)

    @contextmanager
    def _ledger_reader(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection to the site database the flows keep the ledger in;
        ``NoLedger`` when there is none."""
        with self._site_reader(NoLedger) as reader:
            require_schema(reader)
            yield reader

    @contextmanager
    def _site_reader(self, missing: type[LookupError]) -> Iterator[sqlite3.Connection]:
        """A read-only connection of its own to the site database (``missing`` if the
        flows keep none), for a worker thread."""
        path = getattr(self.engine.connections.get(SITE_DB), "path", None)
        if not isinstance(path, Path) or not path.exists():
            raise missing(f"no site database: the flows have no {SITE_DB!r} database open")
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as reader:
            yield reader

    # -- settings: the site config, edited live (the Settings page) -------------

    _settings_lock: asyncio.Lock | None = None

    def _as_run(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The site config as this process runs it: the command line's overrides on top."""
        options = self.options
        settings.update(options.extra_settings)
        settings["data_dir"] = str(options.data_dir)
        if options.shadow:
            settings["control"] = {**settings.get("control", {}), "mode": "shadow"}
        if options.inverter and not options.inverter.startswith("/"):
            host, _, port = options.inverter.rpartition(":")
            settings["inverter"].update(host=host or "127.0.0.1", port=int(port))
        elif options.inverter:  # a serial device: an RS485 adapter on this machine
            line = {**(settings["inverter"].get("serial") or {}), "port": options.inverter}
            settings["inverter"].update(transport="serial", serial=line)
        else:  # the simulator speaks Modbus TCP, whatever gateway the site names
            simulator = {"host": "127.0.0.1", "port": options.simulator_port, "transport": "tcp"}
            settings["inverter"].update(simulator)
        if options.mqtt:
            host, _, port = options.mqtt.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"--mqtt wants HOST:PORT, got {options.mqtt!r}")
            settings["mqtt"].update(host=host, port=int(port))
        return settings

    def started_with(self) -> dict[str, str]:
        """The site config fields the command line sets for this run, and what set each:
        the Settings page says an edit to them waits for a start without it."""
        options = self.options
        sources: dict[str, str] = {}
        if options.inverter and not options.inverter.startswith("/"):
            given = f"--inverter {options.inverter}"
            sources |= dict.fromkeys(("inverter.host", "inverter.port"), given)
        elif options.inverter:
            sources |= dict.fromkeys(
                ("inverter.transport", "inverter.serial.port"), f"--inverter {options.inverter}"
            )
        else:
            simulator = f"the simulator (run without --inverter, port {options.simulator_port})"
            fields = ("inverter.host", "inverter.port", "inverter.transport")
            sources |= dict.fromkeys(fields, simulator)
        if options.shadow:
            sources["control.mode"] = "--shadow"
        if options.mqtt:
            sources |= dict.fromkeys(("mqtt.host", "mqtt.port"), f"--mqtt {options.mqtt}")
        return sources

    def settings_view(self) -> dict[str, Any]:
        """The site config's schema and values for the form, every secret masked."""
        return site_settings.view(self.options.config, self.settings, self.started_with())

    async def apply_settings(self, patch: Any) -> dict[str, Any]:
        """Check an edit (a JSON merge patch of the site config) as loading does, write
        it and restart the flows on it without restarting the process; returns the new
        view. ``InvalidSettings`` changes nothing; if the flows cannot start on the new
        config, the files and the flows go back to the old one: ``SettingsNotApplied``."""
        async with self._lock():
            # In a worker: a large edit must not hold up the control tick.
            edit = await asyncio.to_thread(site_settings.prepare, self.options.config, patch)
            if edit.changed:
                edit.write()
                try:
                    await self._put_in_force(self._as_run(edit.settings), self.flowset)
                except Exception as exc:  # the flows are back on the old; so are the files
                    edit.undo()
                    raise site_settings.SettingsNotApplied(
                        f"the flows did not start on the new settings ({type(exc).__name__}); "
                        "the previous settings are back in force"
                    ) from exc
                self._remember_config()
                log.info("settings changed (%s): flows restarted", ", ".join(edit.changed))
        return {**self.settings_view(), "changed": edit.changed}

    def _lock(self) -> asyncio.Lock:
        """One change at a time: a settings edit, a reload of the files."""
        if self._settings_lock is None:
            self._settings_lock = asyncio.Lock()
        return self._settings_lock

    async def _put_in_force(self, settings: dict[str, Any], flowset: FlowSet) -> None:
        """Restart every flow on ``settings`` and ``flowset``; if they cannot start, the
        previous settings and flows are started again and the error is raised on."""
        previous, old_flows = dict(self.settings), self.flowset
        try:
            await self._restart_flows(settings, flowset)
        except Exception:  # put back below, and raised on with its cause
            log.exception("the flows did not start on the new settings: back to the old")
            await self._restart_flows(previous, old_flows)
            raise

    async def _restart_flows(self, settings: dict[str, Any], flowset: FlowSet) -> None:
        """Stop the flows (runs in progress get a moment to finish), put ``settings`` in
        place in the dict the engine and its nodes hold (keeping what this process adds:
        the data directory, the simulated meter...), start ``flowset``. The context store
        and the traces carry on."""
        await self.engine.stop(grace=RELOAD_GRACE_S)
        for key in [k for k in self.settings if k in SITE_SCHEMA["properties"]]:
            if key not in settings:
                del self.settings[key]
        self.settings.update(settings)
        self.engine.timezone = self.settings["site"]["timezone"]
        self.flowset = flowset
        await self.engine.start(flowset)

    def _remember_config(self) -> None:
        """What the site config file says now is what runs (after a Settings edit)."""
        try:
            self._config_seen = fingerprint(load_site_config(self.options.config))
        except InvalidFlows:  # written as checked; a reload reports it if it still differs
            log.warning("%s does not load as it was checked", self.options.config)

    # -- reload: the flow files and the site config, edited on a running system --------

    async def reload(self) -> dict[str, Any]:
        """Read the flow files and the site config again and put what changed in force: a
        changed site config restarts every flow, a changed flow file only its flows (see
        ``Engine.reload``). Files that do not validate are refused whole and the running
        version carries on; the problems are logged, shown in ``health()`` and published
        as a ``reload`` event, as is what changed. Returns ``reload_status``."""
        async with self._lock():
            local_seen = local_fingerprint(self.options.flows)
            version = Version.read(self.options.config, self.files.flow_files())
            try:
                registry = with_local_types(self.installed, self.options.flows)
                config, flowset = version.load(registry)
            except InvalidFlows as exc:
                return self._reloaded("refused", problems=[str(p) for p in exc.problems])
            problems: list[str] = []
            seen = fingerprint(config)
            settings_changed = seen != self._config_seen
            local_changed = local_seen != self._local_seen
            changes = compare(self.flowset, flowset)
            try:
                if settings_changed or local_changed:  # new code: every flow built afresh
                    self.engine.registry = registry
                    await self._put_in_force(self._as_run(config), flowset)
                elif changes:
                    changes = await self.engine.reload(flowset, grace=RELOAD_GRACE_S)
            except Exception as exc:  # the running version is back; reported as refused
                self.engine.registry = self.registry
                problems.append(f"the new version did not start: {type(exc).__name__}: {exc}")
                return self._reloaded("failed", problems=problems)
            self.last_good.save(version, self.clock.time())
            self._running_instead = None
            self._flows_missing = False
            self.flowset = flowset
            self.registry = registry
            self._config_seen = seen
            self._local_seen = local_seen
            settings_changed = settings_changed or local_changed
            if not (settings_changed or changes):
                return self._reloaded("unchanged")
            return self._reloaded("applied", changes=changes, settings=settings_changed)

    def _reloaded(
        self,
        state: str,
        problems: list[str] | None = None,
        changes: FlowChanges | None = None,
        settings: bool = False,
    ) -> dict[str, Any]:
        """Record, log and publish how a reload went."""
        previous = self.reload_status
        status: dict[str, Any] = {"state": state, "at": self.clock.time()}
        if problems and self._running_instead:
            status["running"] = self._running_instead
        if problems:
            status["problems"] = problems
            log.error(
                "%s: the running flows and settings carry on",
                "the edit was refused" if state == "refused" else "the edit could not be applied",
            )
            for problem in problems:
                log.error("  %s", problem)
        refused_before = previous is not None and previous["state"] in ("refused", "failed")
        if refused_before and not problems and state != "unchanged":  # (put back: said below)
            log.warning("the files load again: the refusal is over")
        if changes is not None:
            status["changed"] = {**changes.as_dict(), "settings": settings}
            restarted = "site config changed, every flow restarted; flows: " if settings else ""
            log.info("reloaded: %s%s", restarted, changes)
        if state == "unchanged" and (previous is None or previous["state"] == "unchanged"):
            return status  # nothing to say (a save without a change, or our own write)
        if state == "unchanged" and previous is not None and previous["state"] in (
            "refused",
            "failed",
        ):
            log.warning("the refused edit was undone: the files match the running version again")
            status["reverted"] = True
        self.reload_status = status
        self.engine.events.publish({"type": "reload", "ok": not problems, **status})
        return status

    # -- the manual override (the API now, MQTT later) -------------------------

    _override_expiry: asyncio.Task[None] | None = None
    _unlisten_override: Callable[[], None] | None = None

    def override(self) -> dict[str, Any] | None:
        """The manual override in force now, if any (an expired one is not)."""
        return manual.active_override(self.engine.context, self.clock.time())

    def set_override(
        self, mode: Any, power_w: Any, duration: Any, reason: Any = None, source: str = "api"
    ) -> dict[str, Any]:
        """Store a manual override (``InvalidOverride`` if refused) and act on it at once."""
        stored = manual.set_override(
            self.engine.context, self.clock, self.settings, mode, power_w, duration, source, reason
        )
        until = clock_time(stored["until"], self.settings["site"]["timezone"], self.clock.time())
        log.info(
            "override from %s: %s %.0f W until %s (%s)",
            manual.SOURCE_NAMES.get(source, source), stored["mode"], stored["power_w"], until,
            stored["reason"],
        )
        return stored  # the control flow ticks on the change; _override_changed times its end

    async def preview_override(
        self, mode: Any, power_w: Any, duration: Any, reason: Any = None
    ) -> dict[str, Any]:
        """What an override would cost against the plan in force, before it is set: the
        override as it would be stored, the cost from two solves of the rest of the plan
        (``nodes.planning.whatif``) and a sentence saying it. Nothing is stored."""
        now = self.clock.time()
        settings = self.settings
        checked = manual.checked_override(now, settings, mode, power_w, duration, "api", reason)
        said = manual.describe(checked, now)
        plan = self.engine.context.get("global", "plan")
        telemetry = self.engine.context.get("global", "telemetry") or {}
        soc = telemetry.get("soc") if isinstance(telemetry, dict) else None
        if not isinstance(plan, dict) or not plan.get("slots") or soc is None:
            why = "no plan yet" if soc is not None else "no SOC reading yet"
            return {"override": checked, "cost": None, "text": f"{said}: cost unknown ({why})"}
        try:
            cost = await asyncio.to_thread(
                override_cost, plan, self.settings, float(soc), now, checked["mode"],
                checked["power_w"], checked["until"],
            )  # fmt: skip
        except ValueError as exc:  # a plan with nothing left, a solve that failed
            return {"override": checked, "cost": None, "text": f"{said}: cost unknown ({exc})"}
        # The plan is the optimum from here: an override costs, or (within a cent) nothing.
        text = f"{said}: +${cost.delta:.2f} vs the plan" if cost.delta >= 0.005 else (
            f"{said}: the same as the plan"
        )
        if cost.shortfall_kwh >= 0.05:
            text += f" ({cost.shortfall_kwh:.1f} kWh of it the battery cannot take or give)"
        return {"override": checked, "cost": cost.as_dict(), "text": text}

    def clear_override(self) -> dict[str, Any] | None:
        """End the override now and act on it at once; returns the one cleared, if any."""
        cleared = manual.clear_override(self.engine.context)
        if cleared is not None:
            log.info("override cleared: %s %s", cleared.get("mode"), cleared.get("reason"))
        return cleared

    def _override_changed(self, scope: str, key: str, new: Any, old: Any) -> None:
        """Whoever changed the override (the API, Home Assistant over MQTT, a flow), the
        control flow ticks on the change by its own trigger; here its end gets a tick
        the moment it runs out, not up to a tick later."""
        self._cancel_override_expiry()
        if isinstance(new, dict) and new.get("until") is not None:
            self._expire_override_at(float(new["until"]))

    def _control_now(self, source: str) -> str | None:
        """A control tick now; a queued tick already waiting reads the same override."""
        if "control" not in self.engine.flows or not self.engine.started:
            return None
        return self.engine.trigger("control", source=source)

    def _expire_override_at(self, until: float) -> None:
        """Tick again the moment the override runs out, not up to a tick later."""
        self._cancel_override_expiry()

        async def expire() -> None:
            await self.clock.sleep_until(until)
            log.info("override over: back to the flows")
            self._control_now("override expired")

        self._override_expiry = asyncio.get_running_loop().create_task(
            expire(), name="override-expiry"
        )

    def _cancel_override_expiry(self) -> None:
        """Stop waiting for the override's end (on clear, a new override, or shutdown)."""
        if self._override_expiry is not None:
            self._override_expiry.cancel()
            self._override_expiry = None


def hand_back_outcome(result: CommandResult) -> str:
    """What releasing the inverter at shutdown did, as the stop line tells it."""
    if not result.verified:
        return "hand-back not verified (" + "; ".join(result.mismatches + result.failed) + ")"
    if REMOTE_ENABLE in result.written:
        told = "remote control released and read back"
    else:
        told = "hand-back not needed (this run never took remote control)"
    mode = result.readback.get(WORK_MODE)
    left = [] if mode is None else [f"work mode (41000) left at {WORK_MODES.get(mode, mode)}"]
    return "; ".join([told, *left, *result.tolerated])


def fingerprint(config: Any) -> str:
    """A digest of what a loaded site config says, its secrets' values included (a
    ``!secret`` compares by its name alone)."""

    def plain(value: Any) -> Any:
        if is_secret(value):
            return ["!secret", str.__str__(value), reveal(value)]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    body = json.dumps(plain(config), sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


#: What shadow mode shows of each decision: the command it would have sent, and why.
WOULD_COMMAND = (
    "mode", "power_w", "setpoint_w", "export_limit_w", "min_soc", "level", "reason", "at"
)  # fmt: skip


def would_command_view(decision: Any, mode: str) -> dict[str, Any] | None:
    """In shadow mode, the last decision as the command it would have sent (None: live)."""
    if mode != "shadow" or not isinstance(decision, dict):
        return None
    return {key: decision.get(key) for key in WOULD_COMMAND}


def command_check_view(record: Any) -> dict[str, Any] | None:
    """Whether the inverter does what it was told (control.compare's last verdict)."""
    if not isinstance(record, dict):
        return None
    keys = ("state", "reasons", "findings", "notes", "commanded", "at")
    return {key: record.get(key) for key in keys}


def storm_reserve_view(reserve: Any, now: float) -> dict[str, Any] | None:
    """The storm reserve as stored, and whether it holds a SOC right now."""
    if not isinstance(reserve, dict):
        return None
    start, end = reserve.get("start"), reserve.get("end")
    holding = bool(
        reserve.get("armed") and start is not None and end is not None and start <= now < end
    )
    return {**reserve, "holding": holding}
