"""What the API reads of the running site: the state, health, the override and its cost,
the history, the overview's chart, billing and the ledger.

Kept apart from ``Service`` so the views have one job: read what the flows record (the
context store, site.db) and say it. They judge nothing themselves: health is what the
health flow wrote in ``global.health``, never a second judgement made here.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import Engine, local_iso
from nodes.control import override_rules as manual
from nodes.control import planned
from nodes.control.health import HEALTH_KEY
from nodes.control.site import control_mode
from nodes.core.wallclock import site_zone
from nodes.forecast.accuracy import AccuracyQuery, pv_accuracy
from nodes.history.query import HistoryQuery, NoHistory, history_rows
from nodes.ledger.billing import zone
from nodes.ledger.cycles import statement, window
from nodes.ledger.entries import EntryQuery, entries
from nodes.ledger.settings import BillingTerms
from nodes.ledger.store import NoLedger, require_schema
from nodes.planning.days import DaysQuery, NoAttribution
from nodes.planning.days import report as attribution_report
from nodes.planning.result import slot_at
from nodes.planning.whatif import override_cost
from powermaster import overview
from powermaster.logs import clock_time

#: The connection the flows keep the site database (history, the ledger) on.
SITE_DB = "site_db"
#: The context keys (global) that ``state()`` and ``health()`` show: a change publishes ``state``.
STATE_KEYS = frozenset(
    {
        "telemetry",
        "decision",
        "plan",
        "override",
        "storm_reserve",
        HEALTH_KEY,
        "input_health",
        "command_check",
        "would_command",
    }
)
#: A health record older than this means its flow has stopped judging (it runs every 5 min).
HEALTH_SILENT_S = 900.0
#: ``health()``'s status before any health flow has judged: not a fourth state of control,
#: only the truth that nobody has said yet (the UI shows it as idle).
NOT_JUDGED = "unknown"


@dataclass
class FilesStatus:
    """How the files on disk stand against what runs: shown by ``health()``, kept by the
    settings and reload side (``powermaster.applying``) and the start."""

    #: The last reload of the files (or the refusal at start), for health and the flows page.
    reload: dict[str, Any] | None = None
    #: What runs instead of the files since they were refused at start (None: the files).
    running_instead: str | None = None
    #: Flow files refused at start with no version of them kept: part of the site is not
    #: running, which health says (a refused edit, by contrast, is never judged).
    flows_missing: bool = False


class ReadModel:
    """The views behind the API, over the engine's context and site.db. ``settings`` is
    the dict the engine runs on (a settings edit updates it in place)."""

    def __init__(self, engine: Engine, settings: Mapping[str, Any], files: FilesStatus) -> None:
        self.engine = engine
        self.settings = settings
        self.files = files

    def health(self) -> dict[str, Any]:
        """ok / degraded / safety, why, since when and the checks: ``global.health`` as the
        health flow wrote it. A record gone quiet is shown with that said (degraded at
        least); none at all is ``unknown``, not judged yet."""
        clock = self.engine.clock
        now = clock.time()
        record = self.engine.context.get("global", HEALTH_KEY)
        if isinstance(record, dict):
            status, reasons = str(record.get("state")), list(record.get("reasons") or [])
            at = float(record.get("at", 0.0))
            if now - at > HEALTH_SILENT_S:  # its flow stopped: its last word, and that
                last = clock_time(at, self.settings["site"]["timezone"], now)
                reasons.append(f"the health check has stopped running (last judged {last})")
                status = "degraded" if status == "ok" else status
            checks, since = dict(record.get("checks") or {}), record.get("since")
        else:
            status, reasons = NOT_JUDGED, ["not judged yet: no health check has run"]
            checks, since = {}, None
        runs = self.engine.traces.recent("control", 1) if "control" in self.engine.flows else []
        if runs:
            checks["last_tick"] = runs[0]["outcome"]
        if self.files.reload is not None:  # shown, never judged: the running flows carry on
            checks["reload"] = self.files.reload
        if self.files.flows_missing:  # ... unless flows are missing since the start
            reasons.append(f"running {self.files.running_instead}: refused at start")
            status = "degraded" if status in ("ok", NOT_JUDGED) else status
        return {
            "status": status,
            "reasons": reasons,
            "since": since,
            "time": local_iso(clock.time(), zone(self.settings["site"]["timezone"])),
            "checks": checks,
            "speed": getattr(clock, "speed", 1.0),
        }

    def state(self) -> dict[str, Any]:
        """What the site is doing now: SOC, power flows, mode, prices."""
        context = self.engine.context
        telemetry = context.get("global", "telemetry") or {}
        decision = context.get("global", "decision") or {}
        plan = context.get("global", "plan") or {}
        now = self.engine.clock.time()
        slot = slot_at(plan, now)
        return {
            "time": local_iso(now, zone(self.settings["site"]["timezone"])),  # as every page's
            "soc": telemetry.get("soc"),
            "soc_pct": telemetry.get("soc_pct"),
            "pv_w": telemetry.get("pv_w"),
            "load_w": telemetry.get("load_w"),
            "battery_w": telemetry.get("battery_w"),
            "grid_w": telemetry.get("grid_w"),
            "mode": decision.get("mode"),
            "power_w": decision.get("power_w"),
            # The battery power the decision holds (+ charging): power_w is the AC port's.
            "battery_target_w": decision.get("battery_w"),
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

    def override(self) -> dict[str, Any] | None:
        """The manual override in force now, if any (an expired one is not)."""
        return manual.active_override(self.engine.context, self.engine.clock.time())

    def planned_overrides(self) -> list[dict[str, Any]]:
        """The overrides set ahead whose window has not passed, by ``from``."""
        stored = self.engine.context.get("global", planned.PLANNED_KEY)
        return planned.planned(stored, self.engine.clock.time())

    async def preview_override(
        self,
        mode: Any,
        power_w: Any,
        duration: Any,
        reason: Any = None,
        start: Any = None,
        until: Any = None,
    ) -> dict[str, Any]:
        """What an override would cost against the plan in force, before it is set: the
        override as it would be stored, the cost from two solves of the rest of the plan
        (``nodes.planning.whatif``) and a sentence saying it. Nothing is stored."""
        now = self.engine.clock.time()
        settings = self.settings
        checked = planned.checked_request(
            now,
            settings,
            mode,
            power_w,
            duration=duration,
            until=until,
            start=start,
            reason=reason,
        )
        said = manual.describe(checked, now, site_zone(str(settings["site"]["timezone"])))
        plan = self.engine.context.get("global", "plan")
        telemetry = self.engine.context.get("global", "telemetry") or {}
        soc = telemetry.get("soc") if isinstance(telemetry, dict) else None
        if not isinstance(plan, dict) or not plan.get("slots") or soc is None:
            why = "no plan yet" if soc is not None else "no SOC reading yet"
            return {"override": checked, "cost": None, "text": f"{said}: cost unknown ({why})"}
        try:
            cost = await asyncio.to_thread(
                override_cost,
                plan,
                settings,
                float(soc),
                now,
                checked["mode"],
                checked["power_w"],
                checked["until"],
                checked.get("from"),
            )
        except ValueError as exc:  # a plan with nothing left, a solve that failed
            return {"override": checked, "cost": None, "text": f"{said}: cost unknown ({exc})"}
        # The plan is the optimum from here: an override costs, or (within a cent) nothing.
        text = (
            f"{said}: +${cost.delta:.2f} vs the plan"
            if cost.delta >= 0.005
            else (f"{said}: the same as the plan")
        )
        if cost.shortfall_kwh >= 0.05:
            text += f" ({cost.shortfall_kwh:.1f} kWh of it the battery cannot take or give)"
        return {"override": checked, "cost": cost.as_dict(), "text": text}

    # -- history for the overview and graphs pages (docs/history.md) -------------

    async def overview_chart(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The overview's chart: the last ``hours`` as recorded, the plan's ``ahead``;
        ``InvalidRequest`` for a bad query, ``NoHistory`` when none is kept. The plan is
        taken here, site.db is read in a worker thread on a connection of its own."""
        query = overview.ChartQuery.parse(params)
        plan, now = self.engine.context.get("global", "plan"), self.engine.clock.time()
        tz = ZoneInfo(self.settings["site"]["timezone"])  # checked when the config loaded

        def read() -> dict[str, Any]:
            with self._site_reader(NoHistory) as db:
                return overview.chart(db, query, plan, now, tz)

        return await asyncio.to_thread(read)

    def history(self, params: Mapping[str, str]) -> dict[str, Any]:
        """30-minute, daily or weekly rows of the site's history with the ledger's cash
        and the prices paid; ``InvalidRequest`` for a bad query, ``NoHistory`` if none."""
        tz = ZoneInfo(self.settings["site"]["timezone"])
        now = self.engine.clock.time()
        query = HistoryQuery.parse(params, tz, now)
        with self._site_reader(NoHistory) as db:
            return history_rows(db, query, tz, now)

    def pv_accuracy(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Each PV provider's forecast against the panels' output, day by day, before and
        after calibration; ``InvalidRequest`` for a bad query, ``NoHistory`` if none."""
        query = AccuracyQuery.parse(params)
        tz = ZoneInfo(self.settings["site"]["timezone"])
        with self._site_reader(NoHistory) as db:
            return pv_accuracy(db, query, self.settings, tz, self.engine.clock.time())

    # -- the ledger: billing cycles and entries (docs/ledger.md) ---------------

    # Both read a snapshot of site.db through a read-only connection of their own, so
    # the API runs them in a worker thread: a month of entries takes a moment to add up.

    def billing(self) -> dict[str, Any]:
        """The open billing cycle so far and projected, and the closed ones, newest first."""
        terms = BillingTerms.from_settings(self.settings)
        with self._ledger_reader() as db:
            return statement(db, self.engine.clock.time(), terms)

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

    def attribution(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Where each finished day's money went (``planning.attribute`` worked them out),
        each with its actual bill from the ledger; ``InvalidRequest`` for a bad query."""
        terms = BillingTerms.from_settings(self.settings)
        query = DaysQuery.parse(params, zone(terms.timezone), self.engine.clock.time())
        with self._site_reader(NoAttribution) as db:
            return attribution_report(db, query, terms)

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


#: What shadow mode shows of each decision: the command it would have sent, and why.
WOULD_COMMAND = (
    "mode",
    "power_w",
    "setpoint_w",
    "export_limit_w",
    "min_soc",
    "level",
    "reason",
    "at",
)


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
