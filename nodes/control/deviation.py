"""Commanded versus actual: does the inverter do what it was told?

Each control tick holds the telemetry just read against the command put in
force before it (``Commanded``) and names each way the inverter departs from it:

- ``work_mode``: 41000 is not what the command set or read back, so someone
  else changed it (the Fox app, its cloud scheduler). Told at once, and the
  tick's command puts it back; the finding stands until ``work_mode_calm_ticks``
  ticks in a row find it left alone, so a scheduler rewriting it between ticks
  keeps the check degraded rather than flickering ok whenever a read falls
  between its writes.
- ``remote_control``: remote control (44000) reads 0 while a forced mode is held
  and the battery does not hold the setpoint either (a KH that reads 0 while it
  honours the setpoint has a firmware quirk, protocols §1.6: noted, not told);
  or it reads 1 though the inverter was handed back (someone else holds it).
  Told at once.
- ``power``: for ``power_ticks`` ticks in a row, the battery does what the
  setpoint cannot explain. Only what the inverter could have done is judged:
  the setpoint's battery power is first bounded by the battery's power limits, a
  full or empty battery, the grid's import and export limits and the PV there is;
  and the inverter may always do less of it in the same direction (the BMS's own
  current limits, a cold or hot battery: limits only it knows). Charging when
  told to discharge, or more than asked, is judged.
- ``soc``: SOC moves at least ``soc_step`` against the held battery power's
  direction over ``soc_ticks`` ticks.

Remote control lapsing for reasons of our own is not held against the inverter:
a command older than ``max_age_s`` (the watchdog flow stops feeding one that old),
a Modbus link that failed since the command (the watchdog could not be fed), or
health in safety (the watchdog is left to expire): the caller says which
(``excuse``), and it is noted instead. So is a command read after its own end
(``Commanded.until``: a discharge to a floor), which its watchdog was set to end.

Everything here is pure: ``compare`` takes the tick's telemetry, the command and
the memory of the ticks before, and gives the findings and the next memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nodes.foxess.registers import WORK_MODE_NAMES

#: Modes held by remote control (44000 = 1); self_use is the inverter's own.
REMOTE_MODES = frozenset({"self_use_zero_export", "force_charge", "force_discharge", "hold"})
#: Modes whose AC setpoint is exact, so the battery's power follows from it
#: (zero export's setpoint chases the load between ticks).
EXACT_MODES = frozenset({"force_charge", "force_discharge", "hold"})
CHECKS = ("work_mode", "remote_control", "power", "soc")
WORK_MODE = 41000


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How far and for how long before a departure is told (``control.compare``'s config)."""

    power_tolerance_w: float = 500.0
    power_ticks: int = 3
    soc_ticks: int = 3
    soc_step: float = 0.02
    #: A held battery power smaller than this asks SOC to go nowhere in particular.
    soc_min_power_w: float = 300.0
    #: A command older than this is no longer kept in force (the watchdog's hold_for).
    max_age_s: float = 720.0
    #: Ticks in a row that must find 41000 left alone after someone changed it.
    work_mode_calm_ticks: int = 3

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Thresholds:
        base = cls()
        return cls(
            power_tolerance_w=float(config.get("power_tolerance_w", base.power_tolerance_w)),
            power_ticks=int(config.get("power_ticks", base.power_ticks)),
            soc_ticks=int(config.get("soc_ticks", base.soc_ticks)),
            soc_step=float(config.get("soc_step", base.soc_step)),
            soc_min_power_w=float(config.get("soc_min_power_w", base.soc_min_power_w)),
            max_age_s=float(config.get("max_age_s", base.max_age_s)),
            work_mode_calm_ticks=int(config.get("work_mode_calm_ticks", base.work_mode_calm_ticks)),
        )


@dataclass(frozen=True, slots=True)
class Commanded:
    """A command the inverter took (``foxess.command``'s result) and when."""

    mode: str
    at: float
    setpoint_w: int | None = None
    #: 41000 as the command wrote or read it back (or an earlier one did).
    work_mode: int | None = None
    #: The inverter's own floor (41011) the decision asked for, a fraction.
    min_soc: float | None = None
    export_limit_w: float | None = None
    #: When the command ends by itself (the decision's ``until``): its watchdog lapses then.
    until: float | None = None

    @classmethod
    def from_result(
        cls,
        result: Mapping[str, Any],
        at: float,
        decision: Mapping[str, Any] | None = None,
        before: Commanded | None = None,
    ) -> Commanded:
        """From a command result; what it did not touch (41000 when only the watchdog was
        fed) is as ``before`` had it."""
        work_mode = _register(result.get("written"), WORK_MODE)
        if work_mode is None:
            work_mode = _register(result.get("readback"), WORK_MODE)
        if work_mode is None and before is not None:
            work_mode = before.work_mode
        setpoint = _number(result.get("setpoint_w"))
        taken = decision or {}
        return cls(
            mode=str(result.get("mode")),
            at=at,
            setpoint_w=None if setpoint is None else round(setpoint),
            work_mode=work_mode,
            min_soc=_number(taken.get("min_soc")),
            export_limit_w=_number(taken.get("export_limit_w")),
            until=_number(taken.get("until")),
        )

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: Any) -> Commanded | None:
        if not isinstance(data, Mapping) or not isinstance(data.get("mode"), str):
            return None
        at = _number(data.get("at"))
        if at is None:
            return None
        work_mode = data.get("work_mode")
        setpoint = _number(data.get("setpoint_w"))
        return cls(
            mode=data["mode"],
            at=at,
            setpoint_w=None if setpoint is None else round(setpoint),
            work_mode=work_mode if isinstance(work_mode, int) else None,
            min_soc=_number(data.get("min_soc")),
            export_limit_w=_number(data.get("export_limit_w")),
            until=_number(data.get("until")),
        )


@dataclass(frozen=True, slots=True)
class Memory:
    """What one tick hands the next: the command in force and the streaks."""

    commanded: Commanded | None = None
    #: Ticks in a row the battery's power was more than the setpoint can explain.
    power_off: int = 0
    #: +1 charging, -1 discharging, 0 neither: the direction the trail below was asked.
    direction: int = 0
    #: (time, SOC) of the ticks in a row that asked ``direction``.
    soc_trail: tuple[tuple[float, float], ...] = ()
    #: When each finding in force was first made.
    since: Mapping[str, float] = field(default_factory=dict)
    #: 41000 as someone else last set it, while the ticks since are counted.
    work_mode_found: int | None = None
    #: Ticks in a row since then that found 41000 as set.
    work_mode_calm: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "commanded": None if self.commanded is None else self.commanded.as_dict(),
            "power_off": self.power_off,
            "direction": self.direction,
            "soc_trail": [list(point) for point in self.soc_trail],
            "since": dict(self.since),
            "work_mode_found": self.work_mode_found,
            "work_mode_calm": self.work_mode_calm,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Memory:
        """The stored memory; anything unreadable starts afresh."""
        if not isinstance(data, Mapping):
            return cls()
        try:
            return cls(
                commanded=Commanded.from_dict(data.get("commanded")),
                power_off=int(data.get("power_off") or 0),
                direction=int(data.get("direction") or 0),
                soc_trail=tuple((float(t), float(s)) for t, s in data.get("soc_trail") or ()),
                since={str(k): float(v) for k, v in (data.get("since") or {}).items()},
                work_mode_found=_whole(data.get("work_mode_found")),
                work_mode_calm=int(data.get("work_mode_calm") or 0),
            )
        except (TypeError, ValueError):
            return cls()


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]
    #: What was seen and tolerated, or why something was not judged.
    notes: tuple[str, ...]
    #: The battery power (+ charging) the setpoint makes of this tick's PV and load.
    expected_battery_w: float | None
    memory: Memory
    #: False when the telemetry predates the command: nothing judged, the last verdict stands.
    judged: bool = True

    @property
    def degraded(self) -> bool:
        return bool(self.findings)


def compare(
    now: float,
    telemetry: Mapping[str, Any],
    settings: Mapping[str, Any],
    thresholds: Thresholds,
    memory: Memory,
    excuse: str | None = None,
) -> Verdict:
    """Hold ``telemetry`` against ``memory.commanded``; the findings and the next memory.
    ``excuse`` says why remote control may have lapsed on our side since the command."""
    commanded = memory.commanded
    if commanded is None:
        return Verdict((), ("nothing commanded yet",), None, replace(memory, since={}))
    read_at = _number(telemetry.get("timestamp"))
    if read_at is None or read_at <= commanded.at:
        return Verdict((), ("telemetry from before the command",), None, memory, judged=False)
    if now - commanded.at > thresholds.max_age_s:
        note = f"the last command is {(now - commanded.at) / 60:.0f} min old: no longer in force"
        return Verdict((), (note,), None, Memory(commanded=commanded))
    findings: list[Finding] = []
    notes: list[str] = []
    work_mode = telemetry.get("work_mode")
    if isinstance(work_mode, int) and commanded.work_mode not in (None, work_mode):
        findings.append(Finding("work_mode", _work_mode_changed(work_mode, commanded)))
        memory = replace(memory, work_mode_found=work_mode, work_mode_calm=0)
    elif memory.work_mode_found is not None and isinstance(work_mode, int):
        calm = memory.work_mode_calm + 1
        if calm < thresholds.work_mode_calm_ticks:
            findings.append(Finding("work_mode", _work_mode_watched(memory, calm, thresholds)))
            memory = replace(memory, work_mode_calm=calm)
        else:
            memory = replace(memory, work_mode_found=None, work_mode_calm=0)
    if telemetry.get("grid_lost"):
        notes.append("off grid: remote control and the battery's power not judged")
        return _verdict(now, findings, notes, None, replace(memory, power_off=0, soc_trail=()))
    target = target_battery_w(commanded, telemetry, settings)
    battery = _number(telemetry.get("battery_w"))
    tolerance = thresholds.power_tolerance_w
    honoured = None if target is None or battery is None else abs(battery - target) <= tolerance
    remote = telemetry.get("remote_enabled")
    lapsed = commanded.mode in REMOTE_MODES and remote is False and not honoured
    if lapsed and not excuse and commanded.until is not None and read_at >= commanded.until:
        excuse = "the command's end passed, so its watchdog handed back as it was set to"
    if lapsed and excuse:
        notes.append(f"remote control off, not held against the inverter: {excuse}")
        return _verdict(now, findings, notes, target, replace(memory, power_off=0, soc_trail=()))
    if commanded.mode in REMOTE_MODES and remote is False:
        if honoured:
            notes.append("44000 reads 0 while the setpoint is honoured (a KH firmware quirk)")
        else:
            findings.append(Finding("remote_control", _dropped(commanded)))
    elif commanded.mode not in REMOTE_MODES and remote is True:
        setpoint = _number(telemetry.get("remote_setpoint_w"))
        at = "" if setpoint is None else f", setpoint {setpoint:.0f} W"
        findings.append(
            Finding(
                "remote_control",
                f"remote control is on (44000 = 1{at}) though the inverter was handed back: "
                "someone else holds it",
            )
        )
    power_off = 0
    if target is not None and battery is not None:
        low, high = min(0.0, target) - tolerance, max(0.0, target) + tolerance
        power_off = 0 if low <= battery <= high else memory.power_off + 1
        if power_off >= thresholds.power_ticks:
            findings.append(Finding("power", _power_off(battery, target, commanded, power_off)))
    else:
        notes.append(f"{commanded.mode}: the battery's power not judged")
    direction, trail, soc_finding = _soc(now, telemetry, target, commanded, thresholds, memory)
    if soc_finding is not None:
        findings.append(soc_finding)
    return _verdict(
        now,
        findings,
        notes,
        target,
        replace(memory, power_off=power_off, direction=direction, soc_trail=trail),
    )


def target_battery_w(
    commanded: Commanded, telemetry: Mapping[str, Any], settings: Mapping[str, Any]
) -> float | None:
    """The battery power (+ charging) the AC setpoint makes of this tick's PV and load,
    within what the inverter can do; None where no exact setpoint is held."""
    if commanded.mode not in EXACT_MODES or commanded.setpoint_w is None:
        return None
    pv, load = _number(telemetry.get("pv_w")), _number(telemetry.get("load_w"))
    soc = _number(telemetry.get("soc"))
    if pv is None or load is None or soc is None:
        return None
    battery, grid = settings["battery"], settings["grid"]
    charge, discharge = float(battery["max_charge_w"]), float(battery["max_discharge_w"])
    floor = max(float(battery["soc_min"]), commanded.min_soc or 0.0)
    # Near full (or the floor) the BMS may still take charge (give it) or may have stopped:
    # the power check accepts anything from 0 to this target, so either passes.
    if soc >= float(battery["soc_max"]):
        charge = 0.0
    if soc <= floor:
        discharge = 0.0
    export = float(grid["max_export_w"])
    if commanded.export_limit_w is not None:
        export = min(export, commanded.export_limit_w)
    # The AC port holds the setpoint: battery = pv - setpoint, inside the grid's limits.
    low = max(-discharge, pv - load - export)
    high = min(charge, float(grid["max_import_w"]) - load + pv)
    asked = pv - commanded.setpoint_w
    target = min(max(asked, low), high) if low <= high else asked
    return min(max(target, -discharge), charge) + 0.0


def _soc(
    now: float,
    telemetry: Mapping[str, Any],
    target: float | None,
    commanded: Commanded,
    thresholds: Thresholds,
    memory: Memory,
) -> tuple[int, tuple[tuple[float, float], ...], Finding | None]:
    """The direction asked, the SOC trail of the ticks asking it, and a finding if SOC
    went the other way."""
    soc = _number(telemetry.get("soc"))
    direction = 0
    if target is not None and abs(target) >= thresholds.soc_min_power_w:
        direction = 1 if target > 0 else -1
    if soc is None or direction == 0:
        return 0, (), None
    before = memory.soc_trail if direction == memory.direction else ()
    trail = (*before, (now, soc))[-(thresholds.soc_ticks + 1) :]
    if len(trail) <= thresholds.soc_ticks:
        return direction, trail, None
    (start, first), (_, last) = trail[0], trail[-1]
    if (last - first) * direction > -thresholds.soc_step:
        return direction, trail, None
    way = "rise" if direction > 0 else "fall"
    minutes = (now - start) / 60
    reason = (
        f"SOC went from {first:.0%} to {last:.0%} in {minutes:.0f} min while {commanded.mode} "
        f"asks it to {way} (battery {target:+.0f} W)"
    )
    return direction, trail, Finding("soc", reason)


def _verdict(
    now: float,
    findings: list[Finding],
    notes: list[str],
    target: float | None,
    memory: Memory,
) -> Verdict:
    checks = {f.check for f in findings}
    since = {check: memory.since.get(check, now) for check in CHECKS if check in checks}
    return Verdict(tuple(findings), tuple(notes), target, replace(memory, since=since))


def _work_mode_changed(found: int, commanded: Commanded) -> str:
    assert commanded.work_mode is not None
    return (
        f"work mode (41000) is {_work_mode(found)}, not {_work_mode(commanded.work_mode)} as "
        "set: changed by someone else, such as the Fox app or its cloud scheduler"
    )


def _work_mode_watched(memory: Memory, calm: int, thresholds: Thresholds) -> str:
    assert memory.work_mode_found is not None
    return (
        f"work mode (41000) was changed to {_work_mode(memory.work_mode_found)} by someone "
        f"else and put back: left alone for {calm} of the {thresholds.work_mode_calm_ticks} "
        "ticks it must be before this ends (a scheduler that rewrites it would be caught)"
    )


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dropped(commanded: Commanded) -> str:
    held = commanded.mode.replace("_", " ")
    at = "" if commanded.setpoint_w is None else f" (setpoint {commanded.setpoint_w} W)"
    return f"remote control dropped: 44000 reads 0 while {held}{at} is held"


def _power_off(battery: float, target: float, commanded: Commanded, ticks: int) -> str:
    return (
        f"battery at {battery:+.0f} W for {ticks} ticks where {commanded.mode.replace('_', ' ')} "
        f"(setpoint {commanded.setpoint_w} W) makes {target:+.0f} W"
    )


def _work_mode(value: int) -> str:
    return f"{WORK_MODE_NAMES.get(value, 'unknown')} ({value})"


def _register(words: Any, address: int) -> int | None:
    """A register's word from a written/readback mapping (keys int, or text once stored)."""
    if not isinstance(words, Mapping):
        return None
    value = words.get(address, words.get(str(address)))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
