"""Closing a backtest's books: the last slots settled, the ledger's billing cycles summed.

The flows settle each half hour against the simulated site's meter as it ends
(flows/settle.yaml); the run stops before a tick at its very end, so the final
slots are settled here, once nothing more can be posted. The billing cycles
are then the product's own (``billing.start_day`` in the site's time zone),
each summed from the ledger's cash entries alone: they must come to the
backtest's bill, which is computed from the same meter.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import local_iso
from flowengine.database import open_database
from nodes.ledger.billing import cycle_bounds, summarise
from nodes.ledger.settlement import ledger_start, settle
from nodes.ledger.store import events_between, load_state
from powermaster.backtest.scenario import Scenario
from powermaster.sim.retailer import SimulatedRetailer


def scenario_prices(scenario: Scenario) -> Any:
    """The scenario's import and export price of the slot starting at ``t``."""

    def prices(t: float) -> tuple[float, float]:
        i = min(max(scenario.slot_index(t), 0), scenario.n_slots - 1)
        return float(scenario.import_price[i]), float(scenario.export_price[i])

    return prices


def close_books(
    site_db: Path, scenario: Scenario, retailer: SimulatedRetailer, start_day: int
) -> dict[str, Any]:
    """Settle what is left and sum the billing cycles the scenario touches."""
    start = scenario.start_epoch
    end = start + scenario.n_slots * scenario.slot_seconds
    db = open_database(site_db, schema="")
    try:
        state = load_state(db)
        settle(db, retailer.usage(start - 1, end), ledger_start(db, state), end)
        cycles: list[dict[str, Any]] = []
        at = start
        while at < end:
            begin, finish = cycle_bounds(at, start_day, scenario.timezone)
            totals = summarise(
                events_between(db, max(begin, start), min(finish, end)),
                begin,
                finish,
                scenario.timezone,
                daily_supply=0,
                monthly_fee=0,
            )
            cycles.append(
                {
                    "start": local_iso(begin, ZoneInfo(scenario.timezone)),
                    "end": local_iso(finish, ZoneInfo(scenario.timezone)),
                    "import_kwh": _figure(totals.import_kwh),
                    "export_kwh": _figure(totals.export_kwh),
                    "import_cost": _figure(totals.import_cost),
                    "export_revenue": _figure(totals.export_revenue),
                    "net": _figure(totals.net_bill),
                }
            )
            at = finish
    finally:
        db.close()
    return {
        "start_day": start_day,
        "cycles": cycles,
        **{
            name: round(sum(c[name] for c in cycles), 4)
            for name in ("import_cost", "export_revenue", "net")
        },
    }


def _figure(value: Decimal) -> float:
    return round(float(value), 4)
