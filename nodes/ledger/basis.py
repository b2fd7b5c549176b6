"""The cost basis as the rest of the system sees it, and how it carries across a gap.

The ledger's WACB (``nodes.ledger.wacb``) is published each tick as
``global.cost_basis`` (``{per_kwh, stored_kwh, at}``) for the opportunistic
level's break-even check: selling stored energy must beat what it cost.

Two moments have energy of unknown cost in the battery:

* the ledger's first reading: what the battery already holds is taken at the
  configured default basis (``control.opportunistic.default_cost_basis``), the
  same figure the control uses while no basis is published;
* a gap (the service was down, a counter reset): the energy that moved was
  never priced, so no entries are posted for it. The basis itself carries on
  unchanged, and the energy it accounts for is set to what the battery now
  holds: discharged energy left at the basis, charged energy joined at it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nodes.ledger.counterfactual import BatteryModel, SelfUseShadow
from nodes.ledger.flows import IntervalEnergy
from nodes.ledger.wacb import CostBasis

#: Less accounted energy than this and the basis means nothing (an empty battery).
EMPTY_KWH = 0.01


def stored_energy(telemetry: Mapping[str, Any], battery: BatteryModel) -> float | None:
    """kWh in the battery by its SOC (0-1) and capacity; None if the SOC is unreadable."""
    soc = telemetry.get("soc")
    if isinstance(soc, bool) or not isinstance(soc, int | float) or not math.isfinite(soc):
        return None
    return max(0.0, min(1.0, float(soc))) * battery.capacity_kwh


def basis_reading(basis: CostBasis, at: float) -> dict[str, float | None]:
    """``global.cost_basis``: $/kWh of the stored energy (None while nothing is accounted
    as stored, so the control falls back to its default), the kWh, and when."""
    known = basis.stored_kwh >= EMPTY_KWH
    return {
        "per_kwh": basis.basis if known else None,
        "stored_kwh": basis.stored_kwh,
        "at": at,
    }


def across_gap(
    basis: CostBasis,
    shadow: SelfUseShadow,
    battery: BatteryModel,
    energy: IntervalEnergy | None,
    seconds: float,
    stored_now: float | None,
) -> tuple[CostBasis, SelfUseShadow]:
    """The basis and the self-use shadow after a span nobody priced.

    The basis keeps its $/kWh and takes the battery's energy now (by SOC) when it is
    known. The shadow battery runs the span as one interval on the counters' PV and
    load, so the self-use baseline after the gap starts from a plausible SOC; its
    cost in the span is not booked (the gap is not priced for anyone).
    """
    if stored_now is not None:
        basis = CostBasis(stored_kwh=stored_now, basis=basis.basis)
    if energy is not None and seconds > 0:
        shadow, _ = shadow.step(battery, seconds / 3600, energy.pv, energy.load, 0.0, 0.0)
    return basis, shadow
