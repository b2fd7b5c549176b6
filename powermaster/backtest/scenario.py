"""A backtest scenario (``/work/shared/scenario.md``): what really happened at a site.

Loading validates hard, with errors that name the field, because a scenario can come
from any other tool and a silently misaligned series would make every figure wrong.
``known_at`` is the one place the contract's visibility rule lives, so the backtest
runner and any test agree on what the system could see at a virtual time.

``planner`` (optional, this project's own: other tools may ignore it) is site config
for the planner section the backtest runs with, e.g. ``{"soc_targets": [{"soc": 0.9,
"by": "17:00", "hard": true}]}``, checked as site.yaml's ``planner`` section is.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from nodes.planning.site import SCHEMA as PLANNER_SCHEMA
from nodes.planning.targets import rule_problems

SERIES = ("import_price", "export_price", "pv_w", "load_w")
PRICES = ("import_price", "export_price")
#: An issue's optional PV spread (P10, P90 in W), slot for slot with its ``pv_w`` (P50),
#: as Solcast gives it; without them the PV forecast has no spread (P10 = P90 = P50).
PV_BANDS = ("pv_p10_w", "pv_p90_w")
ISSUE_SERIES = (*SERIES, *PV_BANDS)

_BATTERY_REQUIRED = (
    "capacity_kwh",
    "max_charge_w",
    "max_discharge_w",
    "charge_efficiency",
    "discharge_efficiency",
    "soc_min",
    "soc_max",
    "soc_initial",
)
_NUMBERS = {"type": "array", "items": {"type": "number"}}
_ISSUE_ARRAY = {"type": "array"}  # items are checked by hand: jsonschema is slow on 500k numbers
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "timezone", "start", "slot_minutes", *SERIES, "battery", "grid"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "timezone": {"type": "string", "minLength": 1},
        "start": {"type": "string"},
        "slot_minutes": {"type": "integer", "minimum": 1},
        **{name: {**_NUMBERS, "minItems": 1} for name in SERIES},
        "battery": {
            "type": "object",
            "required": list(_BATTERY_REQUIRED),
            "properties": {
                "capacity_kwh": {"type": "number", "exclusiveMinimum": 0},
                "max_charge_w": {"type": "number", "minimum": 0},
                "max_discharge_w": {"type": "number", "minimum": 0},
                "charge_efficiency": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "discharge_efficiency": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "soc_min": {"type": "number", "minimum": 0, "maximum": 1},
                "soc_max": {"type": "number", "minimum": 0, "maximum": 1},
                "soc_initial": {"type": "number", "minimum": 0, "maximum": 1},
                "cycle_cost_per_kwh": {"type": "number", "minimum": 0},
            },
            "additionalProperties": False,
        },
        "grid": {
            "type": "object",
            "required": ["max_import_w", "max_export_w"],
            "properties": {
                "max_import_w": {"type": "number", "minimum": 0},
                "max_export_w": {"type": "number", "minimum": 0},
            },
            "additionalProperties": False,
        },
        "forecasts": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "required": ["issued_at"],
                "properties": {
                    "issued_at": {"type": "string"},
                    **{name: _ISSUE_ARRAY for name in ISSUE_SERIES},
                },
                "additionalProperties": False,
            },
        },
        "history": {
            "type": ["object", "null"],
            "properties": {"load_w": _NUMBERS, "pv_w": _NUMBERS},
            "additionalProperties": False,
        },
        "planner": {"type": ["object", "null"]},  # checked by _check: site.yaml's schema
    },
}
_VALIDATOR = Draft202012Validator(_SCHEMA)
_PLANNER_VALIDATOR = Draft202012Validator(PLANNER_SCHEMA)


@dataclass(frozen=True)
class ScenarioBattery:
    """The battery exactly as the scenario gives it (SOC values are fractions)."""

    capacity_kwh: float
    max_charge_w: float
    max_discharge_w: float
    charge_efficiency: float
    discharge_efficiency: float
    soc_min: float
    soc_max: float
    soc_initial: float
    cycle_cost_per_kwh: float = 0.0


@dataclass(frozen=True)
class ScenarioGrid:
    max_import_w: float
    max_export_w: float


@dataclass
class ForecastIssue:
    """One forecast; each list starts at the slot containing issued_at. None = not forecast.
    ``pv_p10_w`` and ``pv_p90_w`` (optional) are the PV's spread around ``pv_w``."""

    issued_at: datetime
    import_price: list[float] | None = None
    export_price: list[float] | None = None
    pv_w: list[float] | None = None
    load_w: list[float] | None = None
    pv_p10_w: list[float] | None = None
    pv_p90_w: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"issued_at": self.issued_at.isoformat()}
        for name in ISSUE_SERIES:
            values = getattr(self, name)
            if values is not None:
                d[name] = values
        return d


@dataclass
class Scenario:
    """Truth per slot plus what the system may know; see module docstring."""

    name: str
    timezone: str
    start: datetime
    slot_minutes: int
    import_price: list[float]
    export_price: list[float]
    pv_w: list[float]
    load_w: list[float]
    battery: ScenarioBattery
    grid: ScenarioGrid
    forecasts: list[ForecastIssue] | None = None
    history: dict[str, list[float]] | None = None
    #: Site config for the ``planner`` section, over the backtest's own (module docstring).
    planner: dict[str, Any] | None = None
    _issue_times: list[float] = field(init=False, repr=False, compare=False)
    _issue_order: list[ForecastIssue] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check(self)
        # Stable sort: of two issues with the same time, the later one in the file wins.
        order = sorted(self.forecasts or [], key=lambda f: f.issued_at.timestamp())
        self._issue_order = order
        self._issue_times = [f.issued_at.timestamp() for f in order]

    @property
    def n_slots(self) -> int:
        return len(self.load_w)

    @property
    def slot_seconds(self) -> int:
        return self.slot_minutes * 60

    @property
    def slot_hours(self) -> float:
        return self.slot_minutes / 60.0

    @property
    def start_epoch(self) -> float:
        return self.start.timestamp()

    @property
    def end(self) -> datetime:
        """End (exclusive) of the last slot."""
        return self.slot_start(self.n_slots)

    def slot_start(self, i: int) -> datetime:
        return (self.start + timedelta(minutes=self.slot_minutes * i)).astimezone(
            ZoneInfo(self.timezone)
        )

    def slot_index(self, t: float) -> int:
        """Index of the slot containing epoch t (may be out of range)."""
        return math.floor((t - self.start_epoch) / self.slot_seconds)

    def issue_index(self, t: float) -> int:
        """Index of the newest forecast issue with issued_at <= t; -1 if none (or no issues)."""
        if self.forecasts is None:
            return -1
        return bisect_right(self._issue_times, t) - 1

    def known_at(self, t: float, slots: int) -> dict[str, Any]:
        """What the system can see at epoch t, for up to ``slots`` slots from the current one.

        Perfect foresight (forecasts null): the truth. Otherwise the newest issue with
        issued_at <= t, shifted to start at the current slot, whose prices are the real
        ones; a field the issue leaves out is None; before the first issue every field is
        None. Lists never run beyond what the issue covers nor past the scenario's end.
        ``pv_p10_w`` and ``pv_p90_w`` are the issue's PV spread, None where it gives none
        (and with perfect foresight, which has no spread).
        """
        k = self.slot_index(t)
        if not 0 <= k < self.n_slots:
            raise ValueError(f"t={t} is outside the scenario ({self.start} .. {self.end})")
        stop = min(k + max(slots, 0), self.n_slots)
        out: dict[str, Any] = {
            "issued_at": t,
            "start": self.start_epoch + k * self.slot_seconds,
            "slot_seconds": self.slot_seconds,
        }
        if self.forecasts is None:
            for name in SERIES:
                out[name] = list(getattr(self, name)[k:stop])
            out.update(dict.fromkeys(PV_BANDS))
            return out
        n = bisect_right(self._issue_times, t) - 1
        issue = self._issue_order[n] if n >= 0 else None
        out["issued_at"] = self._issue_times[n] if issue is not None else None
        offset = k - self.slot_index(self._issue_times[n]) if issue is not None else 0
        for name in ISSUE_SERIES:
            values = getattr(issue, name) if issue is not None else None
            if values is None:
                out[name] = None
                continue
            part = values[offset : offset + (stop - k)]
            if name in PRICES and slots > 0:
                part = [getattr(self, name)[k], *part[1:]]  # the current price is the real one
            out[name] = part
        return out

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "timezone": self.timezone,
            "start": self.start.isoformat(),
            "slot_minutes": self.slot_minutes,
            **{name: getattr(self, name) for name in SERIES},
            "battery": asdict(self.battery),
            "grid": asdict(self.grid),
            "forecasts": None if self.forecasts is None else [f.to_dict() for f in self.forecasts],
            "history": self.history,
        }
        if self.planner is not None:  # left out when unset: the contract's file, unchanged
            d["planner"] = self.planner
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, d: Any) -> Scenario:
        """Validate and build; raises ValueError naming the field at fault."""
        error = best_match(_VALIDATOR.iter_errors(d))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            raise ValueError(f"scenario field {where}: {error.message}")
        forecasts = None
        if d.get("forecasts") is not None:
            forecasts = [
                ForecastIssue(
                    issued_at=_aware(f["issued_at"], f"forecasts/{i}/issued_at"),
                    **{n: _numbers(f[n], f"forecasts/{i}/{n}") for n in ISSUE_SERIES if n in f},
                )
                for i, f in enumerate(d["forecasts"])
            ]
        return cls(
            name=d["name"],
            timezone=d["timezone"],
            start=_aware(d["start"], "start"),
            slot_minutes=d["slot_minutes"],
            **{n: [float(v) for v in d[n]] for n in SERIES},
            battery=ScenarioBattery(**d["battery"]),
            grid=ScenarioGrid(**d["grid"]),
            forecasts=forecasts,
            history=None
            if d.get("history") is None
            else {k: [float(v) for v in vs] for k, vs in d["history"].items()},
            planner=d.get("planner"),
        )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario JSON file."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    try:
        return Scenario.from_dict(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _aware(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"scenario field {where}: {text!r} is not an ISO 8601 time") from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"scenario field {where}: {text!r} has no UTC offset")
    return value


def _numbers(values: list[Any], where: str) -> list[float]:
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"scenario field {where}/{i}: {v!r} is not a number")
    return [float(v) for v in values]


def _check(s: Scenario) -> None:
    """The rules a JSON Schema cannot say: equal lengths, ranges, finite numbers, order."""

    def bad(where: str, what: str) -> ValueError:
        return ValueError(f"scenario field {where}: {what}")

    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise bad("timezone", f"unknown time zone {s.timezone!r}") from exc
    if s.start.tzinfo is None:
        raise bad("start", "must carry a UTC offset")
    if s.slot_minutes <= 0:
        raise bad("slot_minutes", "must be > 0")
    n = len(s.load_w)
    if n == 0:
        raise bad("load_w", "is empty")
    for name in SERIES:
        values = getattr(s, name)
        if len(values) != n:
            raise bad(name, f"has {len(values)} values but load_w has {n}: series must match")
        _finite(values, name, non_negative=name in ("pv_w", "load_w"))
    b = s.battery
    if not 0 <= b.soc_min <= b.soc_max <= 1:
        raise bad("battery", "need 0 <= soc_min <= soc_max <= 1")
    if not b.soc_min <= b.soc_initial <= b.soc_max:
        raise bad("battery/soc_initial", f"{b.soc_initial} is outside soc_min..soc_max")
    if b.capacity_kwh <= 0:
        raise bad("battery/capacity_kwh", "must be > 0")
    for eff in ("charge_efficiency", "discharge_efficiency"):
        if not 0 < getattr(b, eff) <= 1:
            raise bad(f"battery/{eff}", "must be in (0, 1]")
    end = s.start.timestamp() + n * s.slot_minutes * 60
    for i, issue in enumerate(s.forecasts or []):
        at = issue.issued_at.timestamp()
        if not s.start.timestamp() <= at < end:
            raise bad(f"forecasts/{i}/issued_at", "is outside the scenario's slots")
        for name in ISSUE_SERIES:
            values = getattr(issue, name)
            if values is not None:
                _finite(values, f"forecasts/{i}/{name}", non_negative=name not in PRICES)
        for name in PV_BANDS:
            values = getattr(issue, name)
            if values is not None and len(values) != len(issue.pv_w or []):
                raise bad(
                    f"forecasts/{i}/{name}",
                    f"has {len(values)} values but the issue's pv_w has "
                    f"{len(issue.pv_w or [])}: a spread goes with a P50, slot for slot",
                )
    for name, values in (s.history or {}).items():
        if name not in ("load_w", "pv_w"):
            raise bad(f"history/{name}", "unknown series (expected load_w, pv_w)")
        _finite(values, f"history/{name}", non_negative=True)
    if s.planner is not None:
        _check_planner(s.planner)


def _check_planner(planner: dict[str, Any]) -> None:
    """site.yaml's ``planner`` schema and rules; the wear cost is the battery's alone."""
    error = best_match(_PLANNER_VALIDATOR.iter_errors(planner))
    if error is not None:
        where = "/".join(["planner", *(str(p) for p in error.absolute_path)])
        raise ValueError(f"scenario field {where}: {error.message}")
    if "cycle_cost_per_kwh" in planner:
        raise ValueError(
            "scenario field planner/cycle_cost_per_kwh: the wear cost is "
            "battery/cycle_cost_per_kwh (the optimum uses it too)"
        )
    for problem in rule_problems(planner.get("soc_targets"), ("planner", "soc_targets")):
        where = "/".join(str(p) for p in problem.path)
        raise ValueError(f"scenario field {where}: {problem.message}")


def _finite(values: list[float], where: str, *, non_negative: bool) -> None:
    for i, v in enumerate(values):
        if not math.isfinite(v) or (non_negative and v < 0):
            need = "a finite number >= 0" if non_negative else "a finite number"
            raise ValueError(f"scenario field {where}/{i}: {v!r} is not {need}")


__all__ = [
    "PV_BANDS",
    "ForecastIssue",
    "Scenario",
    "ScenarioBattery",
    "ScenarioGrid",
    "load_scenario",
]
