"""A small, hand-checkable plan: a lossless 10 kWh battery that moves 5 kW either way,
half-hour slots from a Monday midnight UTC, no PV, export paying nothing. Tests of one
model feature (SOC targets, demand charges) vary only prices, load, SOC and the feature."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from nodes.planning import BatterySpec, GridSpec, PlanInputs, PlanOptions

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday

LOSSLESS = BatterySpec(
    capacity_kwh=10.0,
    max_charge_w=5000,
    max_discharge_w=5000,
    charge_efficiency=1.0,
    discharge_efficiency=1.0,
    soc_min=0.1,
    soc_max=1.0,
)


def small_inputs(
    import_price: Sequence[float], load_w: float, soc_now: float, **more: Any
) -> PlanInputs:
    """The small plan over ``len(import_price)`` slots; ``more``: PlanOptions fields
    (``terminal_value_per_kwh`` 0.01 unless given: keep what is stored, buy nothing for it)
    and PlanInputs fields (``targets``, ``demand_charges``)."""
    n = len(import_price)
    option_names = PlanOptions.__dataclass_fields__
    options = {k: v for k, v in more.items() if k in option_names}
    options.setdefault("terminal_value_per_kwh", 0.01)
    fields = {k: v for k, v in more.items() if k not in option_names}
    return PlanInputs(
        slot_starts=[T0 + timedelta(minutes=30 * t) for t in range(n)],
        import_price=list(import_price),
        export_price=[0.0] * n,
        pv_w=[0.0] * n,
        load_w=[load_w] * n,
        soc_now=soc_now,
        battery=LOSSLESS,
        grid=GridSpec(max_import_w=10000, max_export_w=5000),
        options=PlanOptions(**options),
        **fields,
    )
