"""Tiny hand-checkable scenarios shared by the backtest tests."""

from __future__ import annotations

from typing import Any

from powermaster.backtest.optimum import Optimum
from powermaster.backtest.scenario import Scenario


def tiny(n: int = 4, **overrides: Any) -> dict[str, Any]:
    """n half-hour slots from 2025-03-01 00:00 Brisbane, cheap then dear, 10 kWh battery."""
    d: dict[str, Any] = {
        "name": "tiny",
        "timezone": "Australia/Brisbane",
        "start": "2025-03-01T00:00:00+10:00",
        "slot_minutes": 30,
        "import_price": [0.10] * (n // 2) + [0.50] * (n - n // 2),
        "export_price": [0.05] * n,
        "pv_w": [0.0] * n,
        "load_w": [1000.0] * n,
        "battery": {
            "capacity_kwh": 10.0,
            "max_charge_w": 4000,
            "max_discharge_w": 4000,
            "charge_efficiency": 0.95,
            "discharge_efficiency": 0.95,
            "soc_min": 0.1,
            "soc_max": 1.0,
            "soc_initial": 0.5,
        },
        "grid": {"max_import_w": 15000, "max_export_w": 5000},
        "forecasts": None,
        "history": None,
    }
    d.update(overrides)
    return d


def no_battery_bill(s: Scenario) -> float:
    """The bill without a battery: surplus PV exported up to the limit when it pays."""
    bill = 0.0
    for i in range(s.n_slots):
        net = (s.load_w[i] - s.pv_w[i]) / 1000.0 * s.slot_hours
        if net >= 0:
            bill += net * s.import_price[i]
        elif s.export_price[i] > 0:
            bill += max(net, -s.grid.max_export_w / 1000.0 * s.slot_hours) * s.export_price[i]
    return bill


def as_result(s: Scenario, best: Optimum) -> dict[str, Any]:
    """An optimum's plan in the contract's result shape (energies in Wh per slot)."""
    h = s.slot_hours
    slots: list[dict[str, Any]] = [
        {
            "start": p.start.isoformat(),
            "grid_import_wh": p.grid_import_w * h,
            "grid_export_wh": p.grid_export_w * h,
            "battery_charge_wh": p.battery_charge_w * h,
            "battery_discharge_wh": p.battery_discharge_w * h,
            "pv_curtailed_wh": p.pv_curtailed_w * h,
            "soc_end": p.soc_end,
            "mode": p.mode,
        }
        for p in best.plan.slots
    ]
    imp = sum(x["grid_import_wh"] / 1000 * s.import_price[i] for i, x in enumerate(slots))
    exp = sum(x["grid_export_wh"] / 1000 * s.export_price[i] for i, x in enumerate(slots))
    return {
        "scenario": s.name,
        "slots": slots,
        "bill": {"import_cost": imp, "export_revenue": exp, "net": imp - exp},
        "soc_initial": s.battery.soc_initial,
        "soc_final": best.soc_final,
    }
