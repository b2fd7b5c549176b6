"""The battery-planning MILP, written once against LinearModel (powers in kW, energy in kWh).

Per slot t, AC-side flows (kW): pv_to_load, pv_to_batt, pv_to_grid, pv_curtail, grid_to_load,
grid_to_batt, batt_to_load, batt_to_grid; stored energy soc (kWh, slot end); binaries
charging (no simultaneous charge and discharge) and importing (no simultaneous import and
export). Objective: import cost - export revenue + wear + break-even hurdle + penalties
+ deviation from the plan in force - terminal value of stored energy. Each SOC target adds
one shortfall column (kWh, costed) and one row on its slot's soc: no binaries. Each demand
charge with a slot in the horizon adds one column, the import (kW) above the cycle's peak so
far, costed at its $/kW, and one row per slot of its window: no binaries. Flexible loads
(a car, a hot-water diverter) add a power column per slot of their window and an energy
row (nodes.planning.flexible): no binaries either.

The only binaries besides deferrable-load switches are those two indicators, which the
LP relaxation almost always satisfies already (losses make simultaneous flows a waste), so
the highs path usually proves the optimum from one LP solve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nodes.planning.flexible import FlexColumns, add_flexible_loads
from nodes.planning.inputs import DemandCharge, PlanInputs, SocTarget
from nodes.planning.linear import LinearModel

# Tie-breaks ($/kWh), far below any real price so they only choose between equal-cost plans.
_TIE_CURTAIL = 1e-6  # export rather than curtail at a 0c feed-in
_TIE_PV_TO_LOAD = 1e-6  # PV serves load first, as the inverter does in self-use
_TIE_DEFERRABLE = 1e-5  # per slot of lateness, scaled by priority
# Per kW-slot and slot of earliness: among equal-cost plans store PV surplus and serve load
# from the battery as early as possible, which is what the inverter's self-use does, so a
# tie does not show up as a "hold". Capped so long horizons are not distorted.
_TIE_EARLY = 1e-6
_TIE_EARLY_SLOTS = 96


@dataclass
class SlotVars:
    """Column indices for one slot."""

    pv_to_load: int
    pv_to_batt: int
    pv_to_grid: int
    pv_curtail: int
    grid_to_load: int
    grid_to_batt: int
    batt_to_load: int
    batt_to_grid: int
    soc: int


@dataclass
class PlanModel:
    """The built model plus the column handles needed to read a solution back."""

    lm: LinearModel
    slots: list[SlotVars]
    deferrable_on: dict[str, dict[int, int]] = field(default_factory=dict)
    terminal_value: float = 0.0
    # binary column -> flow columns it switches on ("charging" <- charge flows, ...)
    indicators: dict[int, list[int]] = field(default_factory=dict)
    # each SOC target and its shortfall column (kWh short of it)
    targets: list[tuple[SocTarget, int]] = field(default_factory=list)
    # each demand charge and its excess column (kW above peak_so_far_kw; None: no slot)
    demand: list[tuple[DemandCharge, int | None]] = field(default_factory=list)
    # each flexible load's power columns per slot and its shortfall column
    flexible: list[FlexColumns] = field(default_factory=list)

    def round_relaxation(self, x: list[float], tol: float = 1e-7) -> list[float] | None:
        """Integral point with the LP-relaxation's flows, or None if the flows need branching.

        Indicators are set from their flows; other binaries must already be integral. If the
        result is feasible and costs what the relaxation costs, it is the proven MILP optimum
        (the relaxation is a lower bound), which skips HiGHS' comparatively slow MIP root.
        """
        y = list(x)
        for col, integer in enumerate(self.lm.integer):
            if not integer:
                continue
            flows = self.indicators.get(col)
            if flows is not None:
                y[col] = 1.0 if sum(x[f] for f in flows) > tol else 0.0
            elif abs(x[col] - round(x[col])) <= tol:
                y[col] = float(round(x[col]))
            else:
                return None
        if self.lm.max_violation(y) > 1e-6:
            return None
        lp_obj, int_obj = self.lm.objective_at(x), self.lm.objective_at(y)
        if int_obj - lp_obj > 1e-9 * max(1.0, abs(lp_obj)):
            return None
        return y


def build_model(inp: PlanInputs) -> PlanModel:
    """Translate PlanInputs into a LinearModel (see module docstring for the variables)."""
    bat, grid, opt = inp.battery, inp.grid, inp.options
    n, h = inp.n_slots, inp.slot_hours
    eta_c, eta_d = bat.charge_efficiency, bat.discharge_efficiency
    cap = bat.capacity_kwh
    c_max, d_max = bat.max_charge_w / 1000.0, bat.max_discharge_w / 1000.0
    i_max, e_max = grid.max_import_w / 1000.0, grid.max_export_w / 1000.0
    soc0 = inp.soc_now * cap
    # Hard bounds widened to include the current SOC so a reading just outside the band
    # (sensor rounding, a reserve discharge) cannot make the model infeasible.
    soc_lo, soc_hi = min(bat.soc_min * cap, soc0), max(bat.soc_max * cap, soc0)
    gb_max = c_max if opt.allow_grid_charge else 0.0
    bg_max = d_max if opt.arbitrage_export else 0.0
    reserve = [0.0] * n
    for rng, floor in opt.reserve:
        for t in rng:
            if t < n:  # windows past a truncated horizon are clipped
                reserve[t] = max(reserve[t], floor * cap)

    lm = LinearModel()
    var, row = lm.var, lm.row
    slots: list[SlotVars] = []
    indicators: dict[int, list[int]] = {}
    prev_soc: int | None = None
    for t in range(n):
        pv, load = inp.pv_w[t] / 1000.0, inp.load_w[t] / 1000.0
        pi, pe = inp.import_price[t] * h, inp.export_price[t] * h  # $ per kW for one slot
        wear = opt.cycle_cost_per_kwh * h
        early = -_TIE_EARLY * max(0, min(n, _TIE_EARLY_SLOTS) - t)
        s = SlotVars(
            # PV that is not curtailed covers the base load first (pv_first below).
            pv_to_load=var(f"pv_to_load_{t}", 0.0, pv, -_TIE_PV_TO_LOAD * h),
            pv_to_batt=var(f"pv_to_batt_{t}", 0.0, min(pv, c_max), early),
            pv_to_grid=var(f"pv_to_grid_{t}", 0.0, min(pv, e_max), -pe),
            pv_curtail=var(f"pv_curtail_{t}", 0.0, pv, _TIE_CURTAIL * h),
            grid_to_load=var(f"grid_to_load_{t}", 0.0, i_max, pi),
            grid_to_batt=var(f"grid_to_batt_{t}", 0.0, min(gb_max, i_max), pi),
            batt_to_load=var(f"batt_to_load_{t}", 0.0, d_max, wear + early),
            batt_to_grid=var(
                f"batt_to_grid_{t}", 0.0, min(bg_max, e_max), -pe + wear + opt.break_even_delta * h
            ),
            soc=var(f"soc_{t}", soc_lo, soc_hi),
        )
        slots.append(s)
        row(
            f"pv_balance_{t}",
            [(s.pv_to_load, 1), (s.pv_to_batt, 1), (s.pv_to_grid, 1), (s.pv_curtail, 1)],
            pv,
            pv,
        )
        if min(pv, load) > 0:
            # What the inverter does: PV serves the house before anything else, unless it
            # is curtailed (the house then runs from the grid: paid to, at a negative price).
            row(f"pv_first_{t}", [(s.pv_to_load, 1), (s.pv_curtail, 1)], lb=min(pv, load))
        # Load balance is added after deferrable loads are known (they add to the demand).
        flow_terms = [
            (s.soc, 1.0),
            (s.pv_to_batt, -eta_c * h),
            (s.grid_to_batt, -eta_c * h),
            (s.batt_to_load, h / eta_d),
            (s.batt_to_grid, h / eta_d),
        ]
        if prev_soc is None:
            row(f"soc_{t}_dyn", flow_terms, soc0, soc0)
        else:
            row(f"soc_{t}_dyn", [*flow_terms, (prev_soc, -1.0)], 0.0, 0.0)
        prev_soc = s.soc
        if c_max > 0 and d_max > 0:
            ch = var(f"charging_{t}", binary=True)
            # A KH curtails PV only while the battery takes all it may (protocols §1.6), so
            # never while it discharges: curtailing counts as the charging side.
            indicators[ch] = [s.pv_to_batt, s.grid_to_batt, s.pv_curtail]
            row(f"charge_cap_{t}", [(s.pv_to_batt, 1), (s.grid_to_batt, 1), (ch, -c_max)], ub=0)
            if pv > 0:
                row(f"curtail_charging_{t}", [(s.pv_curtail, 1), (ch, -pv)], ub=0)
            row(
                f"discharge_cap_{t}",
                [(s.batt_to_load, 1), (s.batt_to_grid, 1), (ch, d_max)],
                ub=d_max,
            )
        else:
            row(f"charge_cap_{t}", [(s.pv_to_batt, 1), (s.grid_to_batt, 1)], ub=c_max)
            row(f"discharge_cap_{t}", [(s.batt_to_load, 1), (s.batt_to_grid, 1)], ub=d_max)
        if e_max > 0 and i_max > 0:
            imp = var(f"importing_{t}", binary=True)
            indicators[imp] = [s.grid_to_load, s.grid_to_batt]
            row(f"import_cap_{t}", [(s.grid_to_load, 1), (s.grid_to_batt, 1), (imp, -i_max)], ub=0)
            row(f"export_cap_{t}", [(s.pv_to_grid, 1), (s.batt_to_grid, 1), (imp, e_max)], ub=e_max)
        else:
            row(f"import_cap_{t}", [(s.grid_to_load, 1), (s.grid_to_batt, 1)], ub=i_max)
            row(f"export_cap_{t}", [(s.pv_to_grid, 1), (s.batt_to_grid, 1)], ub=e_max)
        _soc_penalties(lm, inp, t, s.soc, reserve[t])
        _incumbent_deviation(lm, inp, t, s)
        _overridden(lm, inp, t, s)

    extra: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    deferrable_on: dict[str, dict[int, int]] = {}
    for d in inp.deferrable:
        first, last = d.window
        ons = {}
        for t in range(first, last + 1):
            late = _TIE_DEFERRABLE * (1 + d.priority) * t / n
            ons[t] = var(f"on_{d.name}_{t}", cost=late, binary=True)
            extra[t].append((ons[t], -d.power_w / 1000.0))
        row(f"runs_{d.name}", [(c, 1.0) for c in ons.values()], d.run_slots, d.run_slots)
        deferrable_on[d.name] = ons
    flexible = add_flexible_loads(
        lm,
        inp,
        [s.grid_to_load for s in slots],
        [s.batt_to_load for s in slots],
        [s.pv_curtail for s in slots],
        extra,
    )
    for t, s in enumerate(slots):
        load = inp.load_w[t] / 1000.0
        row(
            f"load_balance_{t}",
            [(s.pv_to_load, 1), (s.grid_to_load, 1), (s.batt_to_load, 1), *extra[t]],
            load,
            load,
        )

    value = inp.terminal_value()
    lm.add_cost(slots[-1].soc, -value)
    if opt.final_soc_min is not None:
        last = slots[-1].soc
        lm.lb[last] = max(lm.lb[last], opt.final_soc_min * cap)
    targets = [
        (target, _soc_target(lm, i, target, slots, cap)) for i, target in enumerate(inp.targets)
    ]
    demand = [(c, _demand_charge(lm, i, c, slots)) for i, c in enumerate(inp.demand_charges)]
    return PlanModel(lm, slots, deferrable_on, value, indicators, targets, demand, flexible)


def _demand_charge(
    lm: LinearModel, i: int, charge: DemandCharge, slots: list[SlotVars]
) -> int | None:
    """excess >= grid import (kW) - peak_so_far_kw in each slot of the charge's window,
    excess >= 0 costing price_per_kw: the cycle's peak is billed, so only import above the
    peak it already reached costs anything. None (and nothing added) without a slot."""
    if not charge.slots:
        return None
    excess = lm.var(f"demand_excess_{i}", 0.0, cost=charge.price_per_kw)
    for t in charge.slots:
        s = slots[t]
        lm.row(
            f"demand_{i}_{t}",
            [(excess, 1.0), (s.grid_to_load, -1.0), (s.grid_to_batt, -1.0)],
            lb=-charge.peak_so_far_kw,
        )
    return excess


def _soc_target(
    lm: LinearModel, i: int, target: SocTarget, slots: list[SlotVars], cap: float
) -> int:
    """soc at the target slot's end + short >= the target (kWh), short costing its price:
    a soft target is a price, a hard one a price no saving beats, so a hard target the
    battery cannot reach leaves the plan short by what it cannot reach instead of failing."""
    short = lm.var(f"target_short_{i}", 0.0, target.soc * cap, target.price)
    lm.row(f"target_{i}", [(slots[target.slot].soc, 1.0), (short, 1.0)], lb=target.soc * cap)
    return short


def _soc_penalties(lm: LinearModel, inp: PlanInputs, t: int, soc: int, floor_kwh: float) -> None:
    """Soft band and storm-reserve floor as penalised shortfall (kWh per slot)."""
    opt, cap = inp.options, inp.battery.capacity_kwh
    if opt.soft_soc_min is not None and opt.soft_soc_min_penalty > 0:
        below = lm.var(f"below_soft_min_{t}", cost=opt.soft_soc_min_penalty)
        lm.row(f"soft_min_{t}", [(soc, 1.0), (below, 1.0)], lb=opt.soft_soc_min * cap)
    if opt.soft_soc_max is not None and opt.soft_soc_max_penalty > 0:
        above = lm.var(f"above_soft_max_{t}", cost=opt.soft_soc_max_penalty)
        lm.row(f"soft_max_{t}", [(soc, 1.0), (above, -1.0)], ub=opt.soft_soc_max * cap)
    if floor_kwh > 0:
        short = lm.var(f"reserve_short_{t}", cost=opt.reserve_penalty_per_kwh)
        lm.row(f"reserve_{t}", [(soc, 1.0), (short, 1.0)], lb=floor_kwh)


def _incumbent_deviation(lm: LinearModel, inp: PlanInputs, t: int, s: SlotVars) -> None:
    """|net battery power - the plan in force's| x slot hours x switch_penalty_per_kwh.

    dev >= net - inc and dev >= inc - net with dev costed: pure LP, so near-equal plans do
    not flip on every re-plan while a plan better by more than the penalty still wins.
    """
    opt = inp.options
    inc = opt.incumbent_battery_w
    if inc is None or opt.switch_penalty_per_kwh <= 0 or t >= len(inc) or inc[t] is None:
        return
    target = float(inc[t] or 0.0) / 1000.0
    dev = lm.var(f"switch_dev_{t}", cost=opt.switch_penalty_per_kwh * inp.slot_hours)
    net = [
        (s.pv_to_batt, 1.0),
        (s.grid_to_batt, 1.0),
        (s.batt_to_load, -1.0),
        (s.batt_to_grid, -1.0),
    ]
    lm.row(f"switch_up_{t}", [*net, (dev, -1.0)], ub=target)
    lm.row(f"switch_down_{t}", [*net, (dev, 1.0)], lb=target)


def _overridden(lm: LinearModel, inp: PlanInputs, t: int, s: SlotVars) -> None:
    """Slot ``t`` under a manual override (``PlanOptions.overridden``), as the inverter
    runs it: a forced charge never discharges and may fall short of its power only where
    the battery cannot take it (each kWh short costs ``override_penalty_per_kwh``), a forced
    discharge the same way round, a hold moves nothing, and self-use neither charges from
    the grid nor exports from the battery, and follows PV less load where it can."""
    opt = inp.options
    held = opt.overridden[t] if opt.overridden is not None and t < len(opt.overridden) else None
    if held is None:
        return
    mode, target_w = held
    target, h = target_w / 1000.0, inp.slot_hours
    into = [(s.pv_to_batt, 1.0), (s.grid_to_batt, 1.0)]
    out = [(s.batt_to_load, 1.0), (s.batt_to_grid, 1.0)]
    net = [*into, *((col, -1.0) for col, _ in out)]
    short = lm.var(f"override_short_{t}", cost=opt.override_penalty_per_kwh * h)
    if mode == "force_charge":
        lm.row(f"override_no_discharge_{t}", out, ub=0.0)
        lm.row(f"override_charge_{t}", [*into, (short, 1.0)], lb=target)
    elif mode == "force_discharge":
        lm.row(f"override_no_charge_{t}", into, ub=0.0)
        lm.row(f"override_discharge_{t}", [*out, (short, 1.0)], lb=-target)
    elif mode == "hold":
        lm.row(f"override_hold_{t}", [*into, *out], ub=0.0)
    else:  # self-use: the house's surplus in, its shortfall out, as far as the battery goes
        lm.row(f"override_no_grid_charge_{t}", [(s.grid_to_batt, 1.0)], ub=0.0)
        lm.row(f"override_no_battery_export_{t}", [(s.batt_to_grid, 1.0)], ub=0.0)
        lm.row(f"override_follow_up_{t}", [*net, (short, -1.0)], ub=target)
        lm.row(f"override_follow_down_{t}", [*net, (short, 1.0)], lb=target)
