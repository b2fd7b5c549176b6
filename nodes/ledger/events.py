"""The ledger entries one interval produces.

Signs: ``amount > 0`` is money the household gained or saved, ``< 0`` money it spent
(or, for opportunity costs, gave up). Two kinds of entry:

* **cash** (``cash=True``): ``import_cost`` = -grid_import x import price and
  ``export_revenue`` = grid_export x export price, from the grid counters exactly as the
  retailer bills them. Their sum is the interval's energy bill (fixed charges are billed
  per day, by the billing cycle, not here).
* **analysis** (``cash=False``): where that money came from and what the battery did.
  They overlap each other and the cash entries (a grid charge is already inside
  import_cost; arbitrage_pnl is the two discharge entries together), so never add them
  to the bill:

  - ``self_consumption_saving``: (pv_to_load + battery_to_load) x import price, what the
    home did not have to buy;
  - ``battery_charge_grid``: -grid_to_battery x import price;
  - ``battery_charge_solar``: -pv_to_battery x export price, the feed-in forgone;
  - ``battery_discharge_load``: battery_to_load x import price minus its basis cost;
  - ``battery_discharge_grid``: battery_to_grid x export price minus its basis cost;
  - ``arbitrage_pnl``: for all energy discharged, value earned minus its basis cost.

Within an interval the charges are applied to the cost basis before the discharge, so
energy charged and discharged in the same five minutes carries its own cost. Every entry
is emitted each interval (zero when nothing flowed) and keyed ``<interval end UTC>/<kind>``
so posting the same interval twice is detectable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nodes.ledger.flows import Flows, IntervalEnergy, attribute
from nodes.ledger.wacb import CostBasis

KINDS = (
    "import_cost",
    "export_revenue",
    "self_consumption_saving",
    "battery_charge_grid",
    "battery_charge_solar",
    "battery_discharge_load",
    "battery_discharge_grid",
    "arbitrage_pnl",
)


@dataclass(frozen=True, slots=True)
class IntervalPrices:
    """$/kWh for one interval: what importing costs and what exporting earns (either may be < 0)."""

    import_price: float
    export_price: float

    def __post_init__(self) -> None:
        for name in ("import_price", "export_price"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"IntervalPrices.{name}: expected $/kWh, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"IntervalPrices.{name}: must be finite, got {value}")


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One ledger entry. ``price`` is $/kWh (None where the entry is a sum of others)."""

    key: str
    kind: str
    at: float  # epoch seconds of the interval's start: the billing cycle it belongs to
    interval_end: str  # ISO 8601, UTC
    kwh: float
    price: float | None
    amount: float
    cash: bool
    detail: dict[str, float] = field(default_factory=dict)  # the energies/prices used

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "at": self.at,
            "interval_end": self.interval_end,
            "kwh": self.kwh,
            "price": self.price,
            "amount": self.amount,
            "cash": self.cash,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class IntervalLedger:
    """The entries of one interval and the cost basis it leaves the battery with."""

    events: tuple[LedgerEvent, ...]
    basis_after: CostBasis
    flows: Flows
    note: str | None  # a discharge the basis could not fully cover, said in words

    @property
    def bill(self) -> float:
        """The interval's energy bill as a retailer computes it (cash entries, $)."""
        return sum(e.amount for e in self.events if e.cash)

    def by_kind(self) -> dict[str, LedgerEvent]:
        return {e.kind: e for e in self.events}


def idempotency_key(interval_end: datetime, kind: str) -> str:
    """``2026-11-25T10:05:00+00:00/import_cost``: the same interval and kind, the same key."""
    return f"{_utc(interval_end).isoformat()}/{kind}"


def interval_events(
    interval_start: datetime,
    interval_end: datetime,
    energy: IntervalEnergy,
    prices: IntervalPrices,
    basis: CostBasis,
    *,
    eta_charge: float,
    eta_discharge: float,
) -> IntervalLedger:
    """All ledger entries of the interval ``[interval_start, interval_end)`` (timezone-aware).

    Entries are keyed by the end (the tick that read the counters) and dated ``at`` the
    start, so an interval ending exactly on a billing-cycle boundary bills to the cycle
    its energy flowed in (billing.summarise takes ``start <= at < end``).
    """
    start = _utc(interval_start)
    end = _utc(interval_end)
    if start >= end:
        raise ValueError(f"interval_start {start.isoformat()} is not before end {end.isoformat()}")
    flows = attribute(energy)
    imp, exp = prices.import_price, prices.export_price

    charged = basis.charge_grid(flows.grid_to_battery, imp, eta_charge)
    charged = charged.charge_solar(flows.pv_to_battery, exp, eta_charge)
    discharge = charged.discharge(energy.battery_discharge, eta_discharge)
    share_load = (
        flows.battery_to_load / energy.battery_discharge if energy.battery_discharge > 0 else 0.0
    )
    cost_load = discharge.cost * share_load
    cost_grid = discharge.cost - cost_load
    value_load = flows.battery_to_load * imp
    value_grid = flows.battery_to_grid * exp
    saved_kwh = flows.pv_to_load + flows.battery_to_load

    def event(
        kind: str, kwh: float, price: float | None, amount: float, cash: bool, **detail: float
    ) -> LedgerEvent:
        return LedgerEvent(
            key=idempotency_key(end, kind),
            kind=kind,
            at=start.timestamp(),
            interval_end=end.isoformat(),
            kwh=kwh,
            price=price,
            amount=amount,
            cash=cash,
            detail=detail,
        )

    events = (
        event(
            "import_cost",
            energy.grid_import,
            imp,
            -(energy.grid_import * imp),
            True,
            grid_import_kwh=energy.grid_import,
            import_price=imp,
        ),
        event(
            "export_revenue",
            energy.grid_export,
            exp,
            energy.grid_export * exp,
            True,
            grid_export_kwh=energy.grid_export,
            export_price=exp,
        ),
        event(
            "self_consumption_saving",
            saved_kwh,
            imp,
            saved_kwh * imp,
            False,
            pv_to_load_kwh=flows.pv_to_load,
            battery_to_load_kwh=flows.battery_to_load,
            import_price=imp,
        ),
        event(
            "battery_charge_grid",
            flows.grid_to_battery,
            imp,
            -(flows.grid_to_battery * imp),
            False,
            grid_to_battery_kwh=flows.grid_to_battery,
            import_price=imp,
            stored_kwh=flows.grid_to_battery * eta_charge,
        ),
        event(
            "battery_charge_solar",
            flows.pv_to_battery,
            exp,
            -(flows.pv_to_battery * exp),
            False,
            pv_to_battery_kwh=flows.pv_to_battery,
            export_price=exp,
            stored_kwh=flows.pv_to_battery * eta_charge,
        ),
        event(
            "battery_discharge_load",
            flows.battery_to_load,
            imp,
            value_load - cost_load,
            False,
            battery_to_load_kwh=flows.battery_to_load,
            import_price=imp,
            value=value_load,
            basis_cost=cost_load,
            basis=charged.basis,
        ),
        event(
            "battery_discharge_grid",
            flows.battery_to_grid,
            exp,
            value_grid - cost_grid,
            False,
            battery_to_grid_kwh=flows.battery_to_grid,
            export_price=exp,
            value=value_grid,
            basis_cost=cost_grid,
            basis=charged.basis,
        ),
        event(
            "arbitrage_pnl",
            energy.battery_discharge,
            None,
            (value_load + value_grid) - discharge.cost,
            False,
            battery_discharge_kwh=energy.battery_discharge,
            value=value_load + value_grid,
            basis_cost=discharge.cost,
            stored_kwh_taken=discharge.taken_kwh,
            shortfall_kwh=discharge.shortfall_kwh,
        ),
    )
    return IntervalLedger(
        events=events, basis_after=discharge.after, flows=flows, note=discharge.note
    )


def _utc(moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise ValueError(f"interval start/end: expected a datetime, got {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"interval start/end: {moment.isoformat()} has no timezone")
    return moment.astimezone(UTC)
