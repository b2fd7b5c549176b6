"""Is control sound? The health states and the checks that decide them, as pure logic.

Three states, worst wins:

- ``ok``: control runs as planned.
- ``degraded``: something is late or failing but control still has a grip; the
  hierarchy keeps an extra SOC margin and does no arbitrage.
- ``safety``: control has lost its grip; stop forcing and hand the inverter back
  to its own self-use (the watchdog is no longer fed).

The checks and why their defaults (site config ``health:``) are what they are:

- telemetry age (``global.telemetry``): degraded past 10 min (two control ticks
  missed), safety past 15 min (three missed: the battery may be anywhere).
- Modbus link (``global.inverter_link``, recorded by the foxess nodes): degraded
  from the first failed exchange, safety after 3 in a row (a retry is cheap, a
  dead link is not). Nonsense telemetry counts as a failed exchange.
- control deciding (``global.decision``): if telemetry is fresh but the tick has
  not decided for as long as the telemetry limits, control is stuck: same limits.
- each input (``global.input_health``, kept by the input nodes): stale past its
  ``inputs.stale_after`` while its fetches fail (or it never delivered, or it has
  been quiet three times that long) is degraded. Old but not failing is only a
  provider with nothing new to say (the sample prices change each half hour,
  Solcast is asked a few times a day). Prices older than 2 h are safety (four
  half-hour intervals unseen: a spike may come and go unnoticed, so forcing on
  old prices is no longer defensible). Other inputs only degrade: forecasts
  age gracefully, and the plan already covers their gaps. The retailer's usage
  data is shown but never judged: it only settles the accounts, and control
  does not depend on it.
- the plan (``global.plan``): older than 2 h (four re-plans failed) is degraded;
  older than 12 h is safety (it was built on half a day old SOC, prices and
  forecasts).
- the inverter doing what it was told (``global.command_check``, kept by the
  control tick's ``control.compare``): each departure it names (the work mode
  changed by someone else, remote control dropped, the battery's power or SOC
  astray) is degraded. Not safety: the inverter still answers, and the control
  tick commands it again each tick.
- the clock (``global.clock_check``, kept by the service: powermaster/timekeeping.py):
  reading earlier than the newest record (a Pi without a real-time clock booted
  into the past) is degraded until it catches up. Not safety: the inverter still
  answers and the site is controlled; only the books are wrong (no history or
  ledger rows are written meanwhile: they would be out of order), and nothing
  here can set the time (NTP does).

Something never seen yet (no telemetry, no plan) counts its age from when the
checker started, so a service that just started is ``ok`` until a check's
limit passes without it. Recovery is automatic: the state is recomputed from
scratch every time, so it is ``ok`` again as soon as every cause has cleared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flowengine.durations import parse_duration
from nodes.inputs.refresh import input_status

STATES = ("ok", "degraded", "safety")
#: Inputs that only settle the accounts: their age says nothing about control's health.
ACCOUNTING_ONLY = frozenset({"usage"})
#: An input quiet (not failing) this many times its stale limit is unhealthy all the same.
QUIET_FACTOR = 3.0
DEFAULT_INPUT_SAFETY = {"prices": "2h"}


@dataclass(frozen=True, slots=True)
class HealthLimits:
    """When each check turns degraded and safety (seconds, or consecutive errors)."""

    telemetry_degraded_s: float = 600.0
    telemetry_safety_s: float = 900.0
    modbus_degraded_errors: int = 1
    modbus_safety_errors: int = 3
    plan_degraded_s: float = 7200.0
    plan_safety_s: float = 43200.0
    input_safety_s: Mapping[str, float] = field(default_factory=lambda: {"prices": 7200.0})

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> HealthLimits:
        section = settings.get("health") or {}
        base = cls()

        def seconds(key: str, default: float) -> float:
            return parse_duration(section[key]) if key in section else default

        inputs = section.get("input_safety_after", DEFAULT_INPUT_SAFETY)
        return cls(
            telemetry_degraded_s=seconds("telemetry_degraded_after", base.telemetry_degraded_s),
            telemetry_safety_s=seconds("telemetry_safety_after", base.telemetry_safety_s),
            modbus_degraded_errors=int(
                section.get("modbus_degraded_after", base.modbus_degraded_errors)
            ),
            modbus_safety_errors=int(section.get("modbus_safety_after", base.modbus_safety_errors)),
            plan_degraded_s=seconds("plan_degraded_after", base.plan_degraded_s),
            plan_safety_s=seconds("plan_safety_after", base.plan_safety_s),
            input_safety_s={kind: parse_duration(limit) for kind, limit in inputs.items()},
        )


@dataclass(frozen=True, slots=True)
class Observed:
    """What the checker looks at: the context values the other flows keep."""

    now: float
    started_at: float  # things never seen count their age from here
    telemetry: Mapping[str, Any] | None = None
    link: Mapping[str, Any] | None = None
    decision: Mapping[str, Any] | None = None
    inputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    plan: Mapping[str, Any] | None = None
    command_check: Mapping[str, Any] | None = None
    clock_check: Mapping[str, Any] | None = None
    timezone: str = "UTC"  # the site's, for the times a reason names


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    state: str  # degraded or safety
    reason: str


@dataclass(frozen=True, slots=True)
class Assessment:
    state: str
    findings: list[Finding]
    checks: dict[str, Any]

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.findings]


def assess(seen: Observed, limits: HealthLimits, extra: Iterable[Finding] = ()) -> Assessment:
    """The state now: the worst finding of every check (and ``extra``), every reason, worst
    first."""
    checks: dict[str, Any] = {}
    findings = list(extra)
    for check in (_telemetry, _link, _deciding, _inputs, _plan, _commanded, _clock):
        findings += check(seen, limits, checks)
    findings.sort(key=lambda f: -STATES.index(f.state))
    state = findings[0].state if findings else "ok"
    return Assessment(state, findings, checks)


def _level(value: float, degraded: float, safety: float) -> str:
    if value >= safety:
        return "safety"
    return "degraded" if value >= degraded else "ok"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"


def _age(seen: Observed, at: float | None) -> float:
    return seen.now - (seen.started_at if at is None else at)


def _telemetry(seen: Observed, limits: HealthLimits, checks: dict[str, Any]) -> list[Finding]:
    at = _number((seen.telemetry or {}).get("timestamp"))
    age = _age(seen, at)
    checks["telemetry_age_s"] = None if at is None else round(age, 1)
    state = _level(age, limits.telemetry_degraded_s, limits.telemetry_safety_s)
    if state == "ok":
        return []
    if at is None:
        said = f"no telemetry since the start {_minutes(age)} ago"
    else:
        said = f"telemetry: {_minutes(age)} old"
    return [Finding("telemetry", state, said)]


def _link(seen: Observed, limits: HealthLimits, checks: dict[str, Any]) -> list[Finding]:
    link = seen.link or {}
    errors = int(link.get("consecutive_errors") or 0)
    checks["modbus"] = {
        "consecutive_errors": errors,
        "ok_at": link.get("ok_at"),
        "error_at": link.get("error_at"),
        "last_error": link.get("error"),
    }
    state = _level(errors, limits.modbus_degraded_errors, limits.modbus_safety_errors)
    if state == "ok":
        return []
    noun = "error" if errors == 1 else "errors in a row"
    return [Finding("modbus", state, f"Modbus: {errors} {noun} ({link.get('error')})")]


def _deciding(seen: Observed, limits: HealthLimits, checks: dict[str, Any]) -> list[Finding]:
    """Fresh telemetry but no decision for as long: the control tick is stuck after its read."""
    at = _number((seen.decision or {}).get("at"))
    age = _age(seen, at)
    checks["decision_age_s"] = None if at is None else round(age, 1)
    telemetry_at = _number((seen.telemetry or {}).get("timestamp"))
    if telemetry_at is None or _age(seen, telemetry_at) >= limits.telemetry_degraded_s:
        return []  # the telemetry check already speaks for a silent inverter
    state = _level(age, limits.telemetry_degraded_s, limits.telemetry_safety_s)
    if state == "ok":
        return []
    return [Finding("decision", state, f"control has not decided for {_minutes(age)}")]


def _inputs(seen: Observed, limits: HealthLimits, checks: dict[str, Any]) -> list[Finding]:
    statuses = {kind: input_status(entry, seen.now) for kind, entry in seen.inputs.items()}
    if statuses:
        checks["inputs"] = statuses
    findings = []
    for kind, status in statuses.items():
        if kind in ACCOUNTING_ONLY:
            continue
        if not _failing(status, float(seen.inputs[kind].get("stale_after_s") or 0)):
            continue
        age = status["age_s"] if status["age_s"] is not None else _age(seen, None)
        safety_after = limits.input_safety_s.get(kind)
        state = "safety" if safety_after is not None and age >= safety_after else "degraded"
        error = f"; last error: {status['last_error']}" if status["last_error"] else ""
        reason = f"{kind} stale: {_minutes(age)} old{error}"
        findings.append(Finding(f"inputs.{kind}", state, reason))
    return findings


def _failing(status: Mapping[str, Any], stale_after: float) -> bool:
    """Stale and not merely quiet: its fetches fail, it never delivered, or it is far overdue."""
    if not status["stale"]:
        return False
    age = status["age_s"]
    return age is None or bool(status["failures"]) or age > QUIET_FACTOR * stale_after


def _plan(seen: Observed, limits: HealthLimits, checks: dict[str, Any]) -> list[Finding]:
    created = (seen.plan or {}).get("created_at")
    at = _timestamp(created)
    age = _age(seen, at)
    checks["plan"] = created
    checks["plan_age_s"] = None if at is None else round(age, 1)
    state = _level(age, limits.plan_degraded_s, limits.plan_safety_s)
    if state == "ok":
        return []
    what = "no plan yet" if at is None else "plan"
    return [Finding("plan", state, f"{what}: {_minutes(age)} old (the planner is failing)")]


def _commanded(seen: Observed, limits: HealthLimits, checks: dict[str, Any]) -> list[Finding]:
    """The inverter not doing what it was told, as the control tick's compare found."""
    record = seen.command_check or {}
    if "state" not in record:
        return []
    checks["command"] = {"state": record.get("state"), "reasons": list(record.get("reasons") or [])}
    if record.get("state") != "degraded":
        return []
    return [Finding("command", "degraded", str(reason)) for reason in record.get("reasons") or []]


def _clock(seen: Observed, limits: HealthLimits, checks: dict[str, Any]) -> list[Finding]:
    """The clock behind the newest record, as the service found it and as it reads now
    (caught up since: over at once, whether or not the service has looked again)."""
    record = seen.clock_check or {}
    newest = _number(record.get("newest"))
    if newest is None:
        return []
    behind = bool(record.get("behind")) and seen.now < newest
    checks["clock"] = {"newest": newest, "behind_s": round(newest - seen.now, 1) if behind else 0}
    if not behind:
        return []
    return [Finding("clock", "degraded", clock_behind(seen.now, newest, seen.timezone))]


def clock_behind(now: float, newest: float, timezone: str = "UTC") -> str:
    """The reason, with both times on the site's clock."""
    zone = ZoneInfo(timezone)

    def moment(t: float) -> str:
        return datetime.fromtimestamp(t, zone).strftime("%Y-%m-%d %H:%M")

    return (
        f"the clock reads {moment(now)}, behind the newest record {moment(newest)}: "
        "waiting for the time to be set (NTP), or a data dir a --speed demo ran ahead: run "
        "with another --data-dir"
    )


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _timestamp(value: Any) -> float | None:
    """Epoch seconds from an ISO time (the plan's created_at) or a number."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return _number(value)
