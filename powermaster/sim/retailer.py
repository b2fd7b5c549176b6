"""The simulated site's retailer: its meter's 30-minute reads, billed at the slot's prices.

A real site's bill comes from the retailer's meter (Amber's ``/usage``); the demo
site and a backtest have the simulator's meter instead, which is exactly what
the backtest's own bill is computed from (energies to the milliwatt-hour, as the
result's slots carry them). The ``sample`` usage provider (``nodes.replay``)
serves these reads, so the ledger settles the same way on every kind of site.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from powermaster.sim.site import SiteModel

#: Import and export price ($/kWh) of the slot starting at a time.
SlotPrices = Callable[[float], tuple[float, float]]


class SimulatedRetailer:
    """Billable usage of the simulated site, slot by slot, for the slots already over."""

    def __init__(self, model: SiteModel, prices: SlotPrices) -> None:
        self.model = model
        self.prices = prices
        self.slot_seconds = float(model.meter.slot_seconds)

    def usage(self, since: float, now: float) -> list[dict[str, Any]]:
        """Every whole slot that ended in ``(since, now]``, oldest first. The meter is read
        as it stands at ``now`` (the model is brought up to it first)."""
        self.model.advance_to(max(now, self.model.time))
        step = self.slot_seconds
        out = []
        for start in sorted(self.model.meter.slots):
            end = start + step
            if not since < end <= now:
                continue
            energy = self.model.meter.slots[start].energy
            import_kwh = round(energy.grid_import, 3) / 1000
            export_kwh = round(energy.grid_export, 3) / 1000
            buy, sell = self.prices(float(start))
            out.append(
                {
                    "start": float(start),
                    "end": end,
                    "import_kwh": import_kwh,
                    "export_kwh": export_kwh,
                    "import_cost": import_kwh * buy,
                    "export_revenue": export_kwh * sell,
                    "quality": "billable",
                }
            )
        return out
