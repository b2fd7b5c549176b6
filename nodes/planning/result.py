"""The plan the controller executes: per-slot mode + setpoint, JSON round-trippable."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from nodes.planning.inputs import Mode


@dataclass(frozen=True)
class PlanSlot:
    """One slot; powers in W, costs in $.

    battery_w: planned net battery power (+ = charging), the true planned flow; the
    controller commands it in every mode but self_use / self_use_zero_export.
    selfuse_battery_w: what the inverter's Self Use would do with the battery in this slot
    (forecast pv - load, clamped to the power limits and the planned SOC at slot start).
    power_w: AC setpoint magnitude for grid charging and battery export, else |battery_w|
    (0 in self-use). The mode follows battery_w's direction: force_charge charges,
    force_discharge discharges, hold is idle within explain.EPS_W (nodes.planning.explain).
    """

    start: datetime
    mode: Mode
    power_w: float
    soc_end: float
    grid_import_w: float
    grid_export_w: float
    battery_charge_w: float
    battery_discharge_w: float
    battery_w: float
    selfuse_battery_w: float
    pv_curtailed_w: float
    import_price: float
    export_price: float
    cost: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}  # flat: asdict is slow
        d["start"] = self.start.isoformat()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlanSlot:
        d = {**d, "start": datetime.fromisoformat(d["start"])}
        if "battery_w" not in d:  # plans stored before battery_w existed
            d["battery_w"] = d["battery_charge_w"] - d["battery_discharge_w"]
        d.setdefault("selfuse_battery_w", d["battery_w"])
        return cls(**d)


#: kWh short below which a target counts as met (solver noise).
MET_TOLERANCE_KWH = 1e-3


@dataclass(frozen=True)
class TargetResult:
    """How the plan meets one SOC target (``PlanInputs.targets``).

    by: the time it was asked for; slot: the slot whose end is planned to hold it (the
    last ending at or before ``by``); soc: the SOC planned for, requested_soc what was
    asked (above soc_max less the control margin it is clamped, and ``clamped`` says
    so); reached: the planned SOC at that slot's end; shortfall_kwh: how far below soc
    that is; hard: a constraint (short only where the battery cannot get there) rather
    than a price of shortfall_price $ per kWh short.
    """

    by: datetime
    slot: int
    soc: float
    requested_soc: float
    hard: bool
    reached: float
    shortfall_kwh: float
    shortfall_price: float
    name: str = ""

    @property
    def met(self) -> bool:
        return self.shortfall_kwh <= MET_TOLERANCE_KWH

    @property
    def clamped(self) -> bool:
        return self.soc < self.requested_soc

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["by"] = self.by.isoformat()
        d["met"], d["clamped"] = self.met, self.clamped
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TargetResult:
        names = {f.name for f in fields(cls)}
        kept = {k: v for k, v in d.items() if k in names}
        return cls(**{**kept, "by": datetime.fromisoformat(d["by"])})


@dataclass(frozen=True)
class DemandResult:
    """What one demand charge (``PlanInputs.demand_charges``) costs the plan.

    price_per_kw: $ per kW of the cycle's peak import in its window; peak_so_far_kw: the
    peak the cycle already reached there; planned_peak_kw: the highest import the plan has
    in the window's slots of the horizon (0 with none); added_cost: price_per_kw x how far
    that is above peak_so_far_kw, what the plan adds to the cycle's bill; peak_source:
    where peak_so_far_kw came from ("config" or "history", the site's records this cycle).
    """

    name: str
    price_per_kw: float
    peak_so_far_kw: float
    planned_peak_kw: float
    added_cost: float
    peak_source: str = "config"

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DemandResult:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class FlexibleResult:
    """How the plan places one flexible load (``PlanInputs.flexible``).

    power_w: the planned average power in each slot of the horizon (0 outside its
    window); energy_kwh: what it asked for; planned_kwh: what the plan delivers;
    shortfall_kwh: the rest, which the plan could not place or found dearer than
    shortfall_price $ per kWh (a hard target's price is what no saving beats).
    """

    name: str
    energy_kwh: float
    planned_kwh: float
    shortfall_kwh: float
    shortfall_price: float
    hard: bool
    solar_only: bool
    from_battery: bool
    power_w: list[float] = field(default_factory=list)
    #: The share of its first slot that was still to come when planned: that slot's power
    #: is its average over the whole slot, so the load runs at power / first_share in it.
    first_slot: int = 0
    first_share: float = 1.0

    @property
    def met(self) -> bool:
        return self.shortfall_kwh <= MET_TOLERANCE_KWH

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["power_w"], d["met"] = list(self.power_w), self.met
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FlexibleResult:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class Plan:
    """A solved plan; objective includes wear, penalties and minus terminal value."""

    slots: list[PlanSlot]
    objective: float
    solver: str
    status: str
    solve_ms: float
    build_ms: float
    created_at: datetime
    terminal_value_per_kwh: float = 0.0
    deferrable: dict[str, list[int]] = field(default_factory=dict)
    targets: list[TargetResult] = field(default_factory=list)
    demand: list[DemandResult] = field(default_factory=list)
    flexible: list[FlexibleResult] = field(default_factory=list)

    @property
    def total_cost(self) -> float:
        """Grid bill over the horizon ($), without wear, penalties or terminal value."""
        return sum(s.cost for s in self.slots)

    def to_dict(self) -> dict[str, Any]:
        return {
            "slots": [s.to_dict() for s in self.slots],
            "objective": self.objective,
            "solver": self.solver,
            "status": self.status,
            "solve_ms": self.solve_ms,
            "build_ms": self.build_ms,
            "created_at": self.created_at.isoformat(),
            "terminal_value_per_kwh": self.terminal_value_per_kwh,
            "deferrable": {k: list(v) for k, v in self.deferrable.items()},
            "targets": [t.to_dict() for t in self.targets],
            "demand": [c.to_dict() for c in self.demand],
            "flexible": [f.to_dict() for f in self.flexible],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        return cls(
            slots=[PlanSlot.from_dict(s) for s in d["slots"]],
            objective=d["objective"],
            solver=d["solver"],
            status=d["status"],
            solve_ms=d["solve_ms"],
            build_ms=d["build_ms"],
            created_at=datetime.fromisoformat(d["created_at"]),
            terminal_value_per_kwh=d.get("terminal_value_per_kwh", 0.0),
            deferrable={k: list(v) for k, v in d.get("deferrable", {}).items()},
            targets=[TargetResult.from_dict(t) for t in d.get("targets", [])],
            demand=[DemandResult.from_dict(c) for c in d.get("demand", [])],
            flexible=[FlexibleResult.from_dict(f) for f in d.get("flexible", [])],
        )


def slot_at(
    plan: dict[str, Any] | None, now: float, seconds: float = 1800
) -> dict[str, Any] | None:
    """The slot of a stored plan (its dict form) that contains epoch time ``now``."""
    for slot in (plan or {}).get("slots", []):
        start = datetime.fromisoformat(slot["start"]).timestamp()
        if start <= now < start + seconds:
            return dict(slot)
    return None
