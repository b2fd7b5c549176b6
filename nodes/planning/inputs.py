"""Planner inputs: plain dataclasses so the model stays free of I/O and engine types."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Mode = Literal["self_use", "self_use_zero_export", "force_charge", "force_discharge", "hold"]
MODES: tuple[Mode, ...] = (
    "self_use",
    "self_use_zero_export",
    "force_charge",
    "force_discharge",
    "hold",
)
SolverName = Literal["highs", "highs-pulp", "cbc"]

#: $ per kWh a soft SOC target is short by, unless its rule says otherwise: above any
#: ordinary import price, so the plan buys energy to meet it at peak prices, but below
#: a price spike, so it does not buy at $2/kWh to be 10 % fuller by 16:00.
DEFAULT_SHORTFALL_PRICE = 0.50
#: $ per kWh a hard SOC target is short by when it cannot be met at all (too little time
#: or power): what no saving beats, so the target is held wherever it can be, and the
#: plan still solves where it cannot (as the storm reserve's floor).
HARD_SHORTFALL_PRICE = 1000.0


@dataclass(frozen=True)
class BatterySpec:
    """Battery limits; SOC values are fractions of capacity_kwh."""

    capacity_kwh: float
    max_charge_w: float
    max_discharge_w: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.1
    soc_max: float = 1.0

    def __post_init__(self) -> None:
        if self.capacity_kwh <= 0:
            raise ValueError("capacity_kwh must be > 0")
        if self.max_charge_w < 0 or self.max_discharge_w < 0:
            raise ValueError("charge/discharge limits must be >= 0")
        for eff in (self.charge_efficiency, self.discharge_efficiency):
            if not 0 < eff <= 1:
                raise ValueError("efficiencies must be in (0, 1]")
        if not 0 <= self.soc_min <= self.soc_max <= 1:
            raise ValueError("need 0 <= soc_min <= soc_max <= 1")


@dataclass(frozen=True)
class GridSpec:
    """Grid connection limits (export limit is often a DNSP condition, e.g. 5 kW)."""

    max_import_w: float
    max_export_w: float

    def __post_init__(self) -> None:
        if self.max_import_w < 0 or self.max_export_w < 0:
            raise ValueError("grid limits must be >= 0")


@dataclass(frozen=True)
class PlanOptions:
    """Economic knobs and solver settings.

    terminal_value_per_kwh: $ per kWh *stored* at the horizon end. Default (None) is
    discharge_efficiency x (median import price - cycle_cost), floored at 0: stored energy
    will later displace a typical import. It exceeds what dumping to grid earns whenever
    feed-in is below the typical import price, so the plan does not empty the battery at the
    horizon end, yet it is below the cost of grid-charging at a typical price (losses), so the
    plan does not top up just to hold energy.
    reserve: (slot range, soc floor) pairs; held unless physically unreachable, in which case
    each kWh short costs reserve_penalty_per_kwh (so the planner degrades instead of failing).
    Windows reaching past the horizon are clipped to it (the horizon may be truncated).
    final_soc_min: hard floor on the SOC fraction at the horizon end (e.g. soc_now with
    terminal_value_per_kwh=0 for a perfect-foresight optimum that may not drain the battery).
    The plan is infeasible (PlanError) if the battery cannot reach it.
    incumbent_battery_w: the plan in force's net battery power per slot (W, + = charging;
    None = no opinion). Each kWh of deviation from it costs switch_penalty_per_kwh $, so a
    new plan replaces it only where it saves more than that (LP terms, no binaries).
    """

    cycle_cost_per_kwh: float = 0.0
    break_even_delta: float = 0.0
    allow_grid_charge: bool = True
    arbitrage_export: bool = True
    soft_soc_min: float | None = None
    soft_soc_min_penalty: float = 0.0
    soft_soc_max: float | None = None
    soft_soc_max_penalty: float = 0.0
    reserve: Sequence[tuple[range, float]] = ()
    reserve_penalty_per_kwh: float = 1000.0
    terminal_value_per_kwh: float | None = None
    final_soc_min: float | None = None
    incumbent_battery_w: Sequence[float | None] | None = None
    switch_penalty_per_kwh: float = 0.0
    #: A manual override per slot: (mode, battery W, + charging) where one is held, else
    #: None; what an override would cost is a plan solved with it (nodes.planning.whatif).
    overridden: Sequence[tuple[str, float] | None] | None = None
    override_penalty_per_kwh: float = 50.0
    time_limit_s: float = 10.0
    mip_rel_gap: float = 1e-6
    #: $ a plan may stay above the proven optimum: a tenth of a cent over the horizon,
    #: far below what any slot's rounding is worth, and it halves the volatile-price
    #: solves (only the first slots of a plan run before the next one replaces it).
    mip_abs_gap: float = 0.001
    solver: SolverName = "highs"
    display_tz: str = "UTC"

    def __post_init__(self) -> None:
        for name in ("soft_soc_min", "soft_soc_max", "final_soc_min"):
            v = getattr(self, name)
            if v is not None and not 0 <= v <= 1:
                raise ValueError(f"{name} must be a fraction")
        if self.switch_penalty_per_kwh < 0:
            raise ValueError("switch_penalty_per_kwh must be >= 0")
        for rng, floor in self.reserve:
            if not isinstance(rng, range) or rng.step != 1:
                raise ValueError("reserve windows must be unit-step ranges")
            if not 0 <= floor <= 1:
                raise ValueError("reserve floor must be a fraction")
        if self.mip_abs_gap < 0 or self.mip_rel_gap < 0:
            raise ValueError("MIP gaps must be >= 0")
        if self.time_limit_s <= 0:
            raise ValueError("time_limit_s must be > 0")
        if self.solver not in ("highs", "highs-pulp", "cbc"):
            raise ValueError(f"unknown solver {self.solver!r}")
        if self.incumbent_battery_w is not None:
            bad = [w for w in self.incumbent_battery_w if w is not None and not math.isfinite(w)]
            if bad:
                raise ValueError(f"incumbent_battery_w must be finite, got {bad}")


@dataclass(frozen=True)
class DeferrableLoad:
    """A load that must run exactly run_slots slots within window (first, last), inclusive.

    Higher priority wins ties: it is nudged towards earlier slots.
    """

    name: str
    power_w: float
    run_slots: int
    window: tuple[int, int]
    priority: int = 0

    def __post_init__(self) -> None:
        first, last = self.window
        if self.power_w < 0 or self.run_slots < 0:
            raise ValueError(f"{self.name}: power_w and run_slots must be >= 0")
        if first < 0 or last < first or last - first + 1 < self.run_slots:
            raise ValueError(f"{self.name}: window {self.window} cannot fit {self.run_slots}")


@dataclass(frozen=True)
class FlexibleLoad:
    """A load whose power the plan chooses slot by slot: a car charger, a hot-water diverter.

    Up to ``max_w`` in each slot of ``window`` (first, last: inclusive slot indices),
    ``energy_kwh`` delivered by the end of the last one. The plan's power per slot is an
    average: below ``min_w`` (a charger's 6 A) control runs the load at ``min_w`` for
    that share of the slot, so the model needs no on/off binaries and stays an LP.

    hard: the energy is delivered wherever the window allows (each kWh it cannot deliver
    costs HARD_SHORTFALL_PRICE); soft: each kWh short costs ``shortfall_price``.
    solar_only: only PV the house does not use feeds it, never the grid or the battery.
    from_battery: False keeps the house battery from discharging into it (the battery
    serves the house alone while it runs). Higher ``priority`` is nudged earlier.
    """

    name: str
    max_w: float
    energy_kwh: float
    window: tuple[int, int]
    min_w: float = 0.0
    hard: bool = True
    shortfall_price: float = DEFAULT_SHORTFALL_PRICE
    solar_only: bool = False
    from_battery: bool = True
    priority: int = 0
    #: The share of its first slot still to come (a plan made 17 minutes into a half-hour
    #: slot has 13/30 of it left): that slot holds at most max_w x first_share on average.
    first_share: float = 1.0

    def __post_init__(self) -> None:
        first, last = self.window
        if not 0 < self.first_share <= 1:
            raise ValueError(f"{self.name}: first_share must be in (0, 1]")
        if not self.max_w >= 0 or not self.energy_kwh >= 0:
            raise ValueError(f"{self.name}: max_w and energy_kwh must be >= 0")
        if not 0 <= self.min_w <= self.max_w:
            raise ValueError(f"{self.name}: need 0 <= min_w <= max_w")
        if first < 0 or last < first:
            raise ValueError(f"{self.name}: window {self.window} is empty or before the horizon")
        if not self.shortfall_price >= 0:
            raise ValueError(f"{self.name}: shortfall_price must be >= 0")

    @property
    def price(self) -> float:
        """$ per kWh short, as the model charges it."""
        return HARD_SHORTFALL_PRICE if self.hard else self.shortfall_price


@dataclass(frozen=True)
class SocTarget:
    """SOC of at least ``soc`` (a fraction) at the end of slot ``slot``.

    Soft: each kWh short costs ``shortfall_price`` $. Hard: held unless the battery
    cannot get there, each kWh short then costing HARD_SHORTFALL_PRICE. ``by`` is the time
    it was asked for (the slot ends at or just before it); ``requested_soc`` what was asked
    before ``soc`` was clamped below soc_max; ``name`` names it in the plan.
    """

    slot: int
    soc: float
    hard: bool = False
    shortfall_price: float = DEFAULT_SHORTFALL_PRICE
    by: datetime | None = None
    requested_soc: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.slot < 0:
            raise ValueError(f"target slot {self.slot} is before the horizon")
        if not 0 <= self.soc <= 1:
            raise ValueError("target soc must be a fraction")
        if not self.shortfall_price >= 0:
            raise ValueError("target shortfall_price must be >= 0")

    @property
    def price(self) -> float:
        """$ per kWh short, as the model charges it."""
        return HARD_SHORTFALL_PRICE if self.hard else self.shortfall_price


@dataclass(frozen=True)
class DemandCharge:
    """``price_per_kw`` $ per kW of peak grid import over ``slots`` (the horizon's slots in
    the charge's window) above ``peak_so_far_kw``, the peak the billing cycle already
    reached there: only raising that peak costs anything. ``name`` names it in the plan;
    ``peak_source`` says where the peak so far came from (``"config"``: the rule's
    ``peak_so_far_kw``; ``"history"``: the site's records this cycle, which were higher)."""

    price_per_kw: float
    slots: tuple[int, ...]
    peak_so_far_kw: float = 0.0
    name: str = ""
    peak_source: Literal["config", "history"] = "config"

    def __post_init__(self) -> None:
        if not self.price_per_kw >= 0 or not self.peak_so_far_kw >= 0:
            raise ValueError("demand charge price_per_kw and peak_so_far_kw must be >= 0")
        if any(t < 0 for t in self.slots):
            raise ValueError("demand charge slots must be >= 0")


@dataclass(frozen=True)
class PlanInputs:
    """One planning problem. Prices in $/kWh; export_price is what we earn (may be < 0)."""

    slot_starts: Sequence[datetime]
    import_price: Sequence[float]
    export_price: Sequence[float]
    pv_w: Sequence[float]
    load_w: Sequence[float]
    soc_now: float
    battery: BatterySpec
    grid: GridSpec
    options: PlanOptions = field(default_factory=PlanOptions)
    deferrable: Sequence[DeferrableLoad] = ()
    #: Loads whose power the plan chooses (nodes.planning.flexible places them).
    flexible: Sequence[FlexibleLoad] = ()
    slot_hours: float = 0.5
    #: SOC targets by a time (nodes.planning.targets makes them from the site config).
    targets: Sequence[SocTarget] = ()
    #: Demand charges (nodes.planning.demand makes them from the site config).
    demand_charges: Sequence[DemandCharge] = ()

    def __post_init__(self) -> None:
        n = len(self.slot_starts)
        if n == 0:
            raise ValueError("empty horizon")
        for name in ("import_price", "export_price", "pv_w", "load_w"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} values, need {n}")
        if any(s.tzinfo is None or s.utcoffset() is None for s in self.slot_starts):
            raise ValueError("slot_starts must be timezone-aware")
        if self.slot_hours <= 0:
            raise ValueError("slot_hours must be > 0")
        if not 0 <= self.soc_now <= 1:
            raise ValueError("soc_now must be a fraction")
        if any(v < 0 for v in self.pv_w) or any(v < 0 for v in self.load_w):
            raise ValueError("pv_w and load_w must be >= 0")
        for d in self.deferrable:
            if d.window[1] >= n:
                raise ValueError(f"{d.name}: window {d.window} beyond horizon of {n} slots")
        for f in self.flexible:
            if f.window[1] >= n:
                raise ValueError(f"{f.name}: window {f.window} beyond horizon of {n} slots")
        if len({f.name for f in self.flexible}) != len(self.flexible):
            raise ValueError("flexible loads need distinct names")
        for target in self.targets:
            if target.slot >= n:
                raise ValueError(f"target at slot {target.slot} beyond horizon of {n} slots")
        for charge in self.demand_charges:
            if any(t >= n for t in charge.slots):
                raise ValueError(f"demand charge slot beyond horizon of {n} slots")
        for rng, _ in self.options.reserve:
            if rng.start < 0:
                raise ValueError(f"reserve window {rng} starts before the horizon")
        fsm = self.options.final_soc_min
        if fsm is not None and fsm > self.battery.soc_max and fsm > self.soc_now:
            raise ValueError("final_soc_min above soc_max (and above soc_now)")

    @property
    def n_slots(self) -> int:
        return len(self.slot_starts)

    def terminal_value(self) -> float:
        """$ per stored kWh at the horizon end (see PlanOptions)."""
        if self.options.terminal_value_per_kwh is not None:
            return self.options.terminal_value_per_kwh
        typical = statistics.median(self.import_price) - self.options.cycle_cost_per_kwh
        return max(0.0, typical * self.battery.discharge_efficiency)
