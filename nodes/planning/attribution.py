"""Where the money went: one day's bill against the best that day allowed, and the gap
split into what each forecast's error cost and what the execution did.

The day is replayed four times, half hour by half hour, the way the planner runs: at
each slot's start a plan is solved from the SOC reached so far to the day's end, on the
inputs as it is told them, and its first slot is carried out against what really
happened (``execute``); the next slot starts from where that left the battery. The four
replays differ only in what they are told (``REPLAYS``):

1. ``believed``: every input as it was believed at the time;
2. ``pv_known``: the PV that really came instead of its forecast;
3. ``load_known``: the load that really came too;
4. ``hindsight``: the prices really charged too. It knows the whole day, so replanning
   changes nothing: it is the day's optimum (the principle of optimality).

Each step's difference is what that forecast's error cost (``pv``, ``load``, ``prices``),
and the day's actual bill less the first replay's is ``execution``: whatever the site did
other than carry out, ideally, the plan it would have made (the control tick, the meter,
the live plan's longer horizon). The four add up to the actual bill less the optimum.

Every bill is compared after valuing the energy the day left in the battery (at its end
less at its start) at ``stored_value`` $/kWh, the planner's own terminal value on the
day's real import prices; every replay plans to the day's end with that same value, so
a replay that keeps energy for tomorrow is neither punished nor rewarded for it.

Pure: a ``Day`` in, an ``Attribution`` out, the settings being the site config's
(``battery``, ``grid``, ``planner``, ``control``, ``site``) as ``planning.plan`` takes
them. ``nodes.planning.recorded`` reads a ``Day`` from the site database.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodes.planning.inputs import BatterySpec, GridSpec
from nodes.planning.model import solve_plan
from nodes.planning.plan import plan_inputs
from nodes.planning.result import PlanSlot

#: The planner's inputs, one value per slot.
SERIES = ("import_price", "export_price", "pv_w", "load_w")
#: The replays, in order, and the series each is told as they really were.
REPLAYS: tuple[tuple[str, frozenset[str]], ...] = (
    ("believed", frozenset()),
    ("pv_known", frozenset({"pv_w"})),
    ("load_known", frozenset({"pv_w", "load_w"})),
    ("hindsight", frozenset(SERIES)),
)
#: Each forecast's part: the replay before it was known less the one after.
FORECAST_PARTS = (
    ("pv", "believed", "pv_known"),
    ("load", "pv_known", "load_known"),
    ("prices", "load_known", "hindsight"),
)
#: The parts of the gap between the actual bill and the optimum, in the order shown.
PARTS = ("pv", "load", "prices", "execution")
#: Flows below this (W) are solver noise, not decisions (``nodes.planning.explain``'s).
EPS_W = 10.0
#: Modes in which the inverter's own self-use moves the battery (to what really happens).
SELF_USE = ("self_use", "self_use_zero_export")


@dataclass(frozen=True)
class Series:
    """The planner's four inputs over some slots: $/kWh and W, one value per slot."""

    import_price: tuple[float, ...]
    export_price: tuple[float, ...]
    pv_w: tuple[float, ...]
    load_w: tuple[float, ...]

    def __post_init__(self) -> None:
        lengths = {len(getattr(self, name)) for name in SERIES}
        if len(lengths) != 1:
            raise ValueError(f"series of different lengths: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.load_w)

    @classmethod
    def of(cls, **values: Sequence[float]) -> Series:
        return cls(**{name: tuple(float(v) for v in values[name]) for name in SERIES})


@dataclass(frozen=True)
class Day:
    """One day to replay: its slots from ``start`` (epoch), ``slot_seconds`` long; what
    really happened in each (``actual``); what was believed at each slot's start about
    that slot and those after it (``believed[k]``: from slot k, at least one slot, at
    most to the day's end); and the SOC (a fraction) the day began with."""

    start: float
    slot_seconds: float
    actual: Series
    believed: tuple[Series, ...]
    soc_start: float

    def __post_init__(self) -> None:
        n = len(self.actual)
        if n == 0:
            raise ValueError("a day needs at least one slot")
        if len(self.believed) != n:
            raise ValueError(f"{len(self.believed)} beliefs for {n} slots: one per slot")
        for k, belief in enumerate(self.believed):
            if not 1 <= len(belief) <= n - k:
                raise ValueError(f"the belief at slot {k} covers {len(belief)} slots")
        if not 0.0 <= self.soc_start <= 1.0:
            raise ValueError("soc_start must be a fraction")

    @property
    def n_slots(self) -> int:
        return len(self.actual)

    @property
    def slot_hours(self) -> float:
        return self.slot_seconds / 3600.0


@dataclass(frozen=True)
class Executed:
    """One slot carried out: energy bought and sold (kWh), PV curtailed (kWh), the SOC
    at its end and what it cost ($, + = paid)."""

    import_kwh: float
    export_kwh: float
    curtailed_kwh: float
    soc_end: float
    cost: float


@dataclass(frozen=True)
class Replay:
    """One replay of the day: its energy bill ($), the SOC it ended at, kWh bought and
    sold."""

    bill: float
    soc_end: float
    import_kwh: float
    export_kwh: float

    def as_dict(self) -> dict[str, float]:
        return {
            "bill": round(self.bill, 4),
            "soc_end": round(self.soc_end, 4),
            "import_kwh": round(self.import_kwh, 3),
            "export_kwh": round(self.export_kwh, 3),
        }


@dataclass(frozen=True)
class Attribution:
    """The four replays of a day (``REPLAYS``' names) and how to compare them: the
    energy left in the battery is worth ``stored_value`` $/kWh of a ``capacity_kwh``
    battery that began the day at ``soc_start``."""

    replays: dict[str, Replay]
    soc_start: float
    capacity_kwh: float
    stored_value: float
    solves: int
    seconds: float

    def adjusted(self, bill: float, soc_end: float) -> float:
        """A bill less the energy it left in the battery (more stored: less to pay)."""
        return bill - (soc_end - self.soc_start) * self.capacity_kwh * self.stored_value

    def replay_adjusted(self, name: str) -> float:
        replay = self.replays[name]
        return self.adjusted(replay.bill, replay.soc_end)

    @property
    def optimum(self) -> float:
        """The best the day allowed, stored energy valued (the hindsight replay)."""
        return self.replay_adjusted("hindsight")

    def parts(self, actual_bill: float, actual_soc_end: float) -> dict[str, float]:
        """The gap between the actual bill and the optimum (both stored energy valued),
        split: each forecast's error and execution. They add up to the gap."""
        out = {
            part: self.replay_adjusted(before) - self.replay_adjusted(after)
            for part, before, after in FORECAST_PARTS
        }
        actual = self.adjusted(actual_bill, actual_soc_end)
        out["execution"] = actual - self.replay_adjusted("believed")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "replays": {name: replay.as_dict() for name, replay in self.replays.items()},
            "soc_start": round(self.soc_start, 4),
            "capacity_kwh": self.capacity_kwh,
            "stored_value": round(self.stored_value, 5),
            "solves": self.solves,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Attribution:
        replays = {name: Replay(**values) for name, values in d["replays"].items()}
        return cls(
            replays,
            float(d["soc_start"]),
            float(d["capacity_kwh"]),
            float(d["stored_value"]),
            int(d["solves"]),
            float(d["seconds"]),
        )


def stored_value(settings: Mapping[str, Any], import_price: Sequence[float]) -> float:
    """$ per kWh left in the battery: the planner's terminal value (the median import
    price less the wear, after the discharge loss) on the day's real prices."""
    wear = float((settings.get("planner") or {}).get("cycle_cost_per_kwh", 0.0))
    efficiency = float(settings["battery"]["discharge_efficiency"])
    return max(0.0, statistics.median(import_price) - wear) * efficiency


def attribute(day: Day, settings: Mapping[str, Any]) -> Attribution:
    """The day's four replays (module docstring), with ``settings`` the site config."""
    started = time.perf_counter()
    value = stored_value(settings, day.actual.import_price)
    memo = _Memo(settings, value)
    battery, grid = _specs(day, settings)
    replays = {name: _replay(day, known, memo, battery, grid) for name, known in REPLAYS}
    capacity = float(settings["battery"]["capacity_kwh"])
    seconds = time.perf_counter() - started
    return Attribution(replays, day.soc_start, capacity, value, memo.solves, seconds)


def told(day: Day, k: int, known: frozenset[str]) -> Series:
    """What a replay knowing ``known`` is told at slot k: the rest of the day as it
    really was for those series, as believed for the others; as far as the shortest
    belief it still uses reaches (all of the day's rest when it knows everything)."""
    belief = day.believed[k]
    m = day.n_slots - k if known >= set(SERIES) else len(belief)
    values = {
        name: getattr(day.actual, name)[k : k + m] if name in known else getattr(belief, name)[:m]
        for name in SERIES
    }
    return Series(**values)


@dataclass
class _Memo:
    """First slots solved, by what the solve was told: replays that are told the same at
    the same slot from the same SOC (a forecast that was right) share one solve."""

    settings: Mapping[str, Any]
    value: float
    solves: int = 0
    seen: dict[tuple[Any, ...], PlanSlot] = field(default_factory=dict)

    def first_slot(self, day: Day, k: int, series: Series, soc: float) -> PlanSlot:
        key = (k, round(soc, 9), series)
        slot = self.seen.get(key)
        if slot is None:
            inputs = plan_inputs(self.settings, _forecast(day, k, series), soc)
            options = dataclasses.replace(inputs.options, terminal_value_per_kwh=self.value)
            slot = solve_plan(dataclasses.replace(inputs, options=options)).slots[0]
            self.solves += 1
            self.seen[key] = slot
        return slot


def _replay(
    day: Day, known: frozenset[str], memo: _Memo, battery: BatterySpec, grid: GridSpec
) -> Replay:
    soc, bill, bought, sold = day.soc_start, 0.0, 0.0, 0.0
    actual = day.actual
    for k in range(day.n_slots):
        slot = memo.first_slot(day, k, told(day, k, known), soc)
        done = execute(
            slot,
            actual.pv_w[k],
            actual.load_w[k],
            actual.import_price[k],
            actual.export_price[k],
            soc,
            battery,
            grid,
            day.slot_hours,
        )
        soc, bill = done.soc_end, bill + done.cost
        bought, sold = bought + done.import_kwh, sold + done.export_kwh
    return Replay(bill, soc, bought, sold)


def execute(
    slot: PlanSlot,
    pv_w: float,
    load_w: float,
    import_price: float,
    export_price: float,
    soc: float,
    battery: BatterySpec,
    grid: GridSpec,
    hours: float,
) -> Executed:
    """A plan's slot carried out, ideally, against what really happened (W over the
    slot, the real prices): in self-use the battery takes the real surplus or covers the
    real shortfall; in every other mode it moves at the planned power. Either way within
    its power and SOC limits. PV is curtailed past the export limit (all export in
    zero-export mode), and, where the plan curtails, as far as pays: to import up to the
    limit when paid to import, to export nothing when exporting costs."""
    cap = battery.capacity_kwh
    want = pv_w - load_w if slot.mode in SELF_USE else slot.battery_w
    room_w = max(0.0, (battery.soc_max - soc) * cap / battery.charge_efficiency / hours * 1000)
    held_w = max(0.0, (soc - battery.soc_min) * cap * battery.discharge_efficiency / hours * 1000)
    if want >= 0:
        battery_w = min(want, battery.max_charge_w, room_w)
    else:
        battery_w = max(want, -battery.max_discharge_w, -held_w)
    if slot.mode == "self_use_zero_export":
        battery_w = max(battery_w, -load_w)  # the battery serves the house, never the grid
    export_cap = 0.0 if slot.mode == "self_use_zero_export" else grid.max_export_w
    curtails = slot.pv_curtailed_w > EPS_W
    if curtails and export_price < 0:
        export_cap = 0.0
    net = load_w + battery_w - pv_w  # + imported, - exported
    if curtails and import_price < 0:
        curtailed = min(pv_w, max(0.0, grid.max_import_w - net))
    else:
        curtailed = min(pv_w, max(0.0, -net - export_cap))
    net += curtailed
    if -net > export_cap and battery_w < 0:  # still over: the battery gives less
        less = min(-net - export_cap, -battery_w)
        battery_w, net = battery_w + less, net + less
    if net > grid.max_import_w and battery_w > 0:  # over the import limit: it takes less
        less = min(net - grid.max_import_w, battery_w)
        battery_w, net = battery_w - less, net - less
    stored = (
        battery_w * battery.charge_efficiency
        if battery_w > 0
        else battery_w / battery.discharge_efficiency
    )
    soc_end = min(1.0, max(0.0, soc + stored * hours / 1000 / cap))
    bought, sold = max(0.0, net) * hours / 1000, max(0.0, -net) * hours / 1000
    cost = bought * import_price - sold * export_price
    return Executed(bought, sold, curtailed * hours / 1000, soc_end, cost)


def _forecast(day: Day, k: int, series: Series) -> dict[str, Any]:
    """``series`` from slot k as the planner's forecast payload."""
    return {
        "start": day.start + k * day.slot_seconds,
        "slot_seconds": day.slot_seconds,
        **{name: list(getattr(series, name)) for name in SERIES},
    }


def _specs(day: Day, settings: Mapping[str, Any]) -> tuple[BatterySpec, GridSpec]:
    """The battery and grid the plans are solved for, as ``plan_inputs`` makes them."""
    inputs = plan_inputs(settings, _forecast(day, 0, day.actual), day.soc_start)
    return inputs.battery, inputs.grid


__all__ = [
    "FORECAST_PARTS",
    "PARTS",
    "REPLAYS",
    "SERIES",
    "Attribution",
    "Day",
    "Executed",
    "Replay",
    "Series",
    "attribute",
    "execute",
    "stored_value",
    "told",
]
