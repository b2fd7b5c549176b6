"""What the same energy would have cost without Power Master: with no battery, and with
the battery left to the inverter's own self-use.

Both run beside the real ledger on the same metered PV and load, interval by
interval, so a billing cycle can say what the battery and the planning each
saved. The self-use shadow keeps its own SOC (its state is JSON, stored with the
ledger's); grid limits are left out (self-use never pushes against them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Priced:
    """Energy bought and sold in one interval, and what it cost ($; + = paid)."""

    import_kwh: float
    export_kwh: float
    cost: float


def no_battery(pv_kwh: float, load_kwh: float, import_price: float, export_price: float) -> Priced:
    """The house alone: the PV serves the load, the rest goes to or comes from the grid."""
    net = load_kwh - pv_kwh
    bought, sold = max(0.0, net), max(0.0, -net)
    return Priced(bought, sold, bought * import_price - sold * export_price)


@dataclass(frozen=True, slots=True)
class BatteryModel:
    capacity_kwh: float
    max_charge_w: float
    max_discharge_w: float
    charge_efficiency: float
    discharge_efficiency: float
    soc_min: float
    soc_max: float

    @classmethod
    def from_settings(cls, battery: dict[str, Any]) -> BatteryModel:
        return cls(
            *(
                float(battery[f])
                for f in (
                    "capacity_kwh",
                    "max_charge_w",
                    "max_discharge_w",
                    "charge_efficiency",
                    "discharge_efficiency",
                    "soc_min",
                    "soc_max",
                )
            )
        )


@dataclass(frozen=True, slots=True)
class SelfUseShadow:
    """A battery in plain self-use, fed the real PV and load: ``stored_kwh`` in it."""

    stored_kwh: float

    def step(
        self,
        battery: BatteryModel,
        hours: float,
        pv_kwh: float,
        load_kwh: float,
        import_price: float,
        export_price: float,
    ) -> tuple[SelfUseShadow, Priced]:
        """One interval: surplus PV charges (then exports), a deficit discharges (then
        imports), within the battery's power and SOC limits."""
        surplus = pv_kwh - load_kwh
        stored = self.stored_kwh
        if surplus >= 0:
            room = max(0.0, battery.capacity_kwh * battery.soc_max - stored)
            charge = min(
                surplus, battery.max_charge_w / 1000 * hours, room / battery.charge_efficiency
            )
            stored += charge * battery.charge_efficiency
            bought, sold = 0.0, surplus - charge
        else:
            available = max(0.0, stored - battery.capacity_kwh * battery.soc_min)
            discharge = min(
                -surplus,
                battery.max_discharge_w / 1000 * hours,
                available * battery.discharge_efficiency,
            )
            stored -= discharge / battery.discharge_efficiency
            bought, sold = -surplus - discharge, 0.0
        priced = Priced(bought, sold, bought * import_price - sold * export_price)
        return SelfUseShadow(stored), priced

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SelfUseShadow:
        return cls(float(data["stored_kwh"]))
