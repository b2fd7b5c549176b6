"""Energy the simulated site has moved: running totals, per-slot and per-day.

Totals feed the inverter's own counters (32000-32023); the per-slot buckets are
what a backtest scores against, so they carry the SOC and mode at slot end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, timezone

from powermaster.sim.dispatch import Flows

#: NEM time (protocols.md §0): the inverter's "today" counters roll at local midnight.
LOCAL_TZ = timezone(timedelta(hours=10))
#: Energies the inverter counts itself (32000-32023), in register order.
COUNTERS = (
    "pv",
    "battery_charge",
    "battery_discharge",
    "grid_export",
    "grid_import",
    "inverter_output",
    "inverter_input",
    "load",
)


@dataclass(slots=True)
class Energy:
    """Wh moved, by flow. ``load`` is the load actually served."""

    pv: float = 0.0
    pv_curtailed: float = 0.0
    load: float = 0.0
    load_shed: float = 0.0
    grid_import: float = 0.0
    grid_export: float = 0.0
    battery_charge: float = 0.0
    battery_discharge: float = 0.0
    inverter_output: float = 0.0
    inverter_input: float = 0.0

    def add(self, flows: Flows, seconds: float) -> None:
        hours = seconds / 3600.0
        ac_out = flows.ac_out_w
        self.pv += flows.pv_w * hours
        self.pv_curtailed += flows.curtailed_w * hours
        self.load += flows.load_served_w * hours
        self.load_shed += flows.shed_w * hours
        self.grid_import += flows.import_w * hours
        self.grid_export += flows.export_w * hours
        self.battery_charge += flows.charge_w * hours
        self.battery_discharge += flows.discharge_w * hours
        self.inverter_output += max(0.0, ac_out) * hours
        self.inverter_input += max(0.0, -ac_out) * hours

    def imbalance(self) -> float:
        """Sources minus sinks in Wh; zero up to rounding."""
        sources = self.pv - self.pv_curtailed + self.grid_import + self.battery_discharge
        return sources - (self.load + self.grid_export + self.battery_charge)

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class SlotRecord:
    """One slot's energies, plus the SOC and the mode in force at its end."""

    energy: Energy = field(default_factory=Energy)
    soc_end: float = 0.0
    mode: str = ""


@dataclass(slots=True)
class Meter:
    """Totals since the model started, per-slot buckets and per-local-day totals."""

    slot_seconds: float = 1800.0
    total: Energy = field(default_factory=Energy)
    slots: dict[int, SlotRecord] = field(default_factory=dict)
    days: dict[str, Energy] = field(default_factory=dict)

    def add(self, start: float, seconds: float, flows: Flows, soc_end: float, mode: str) -> None:
        """Book one constant-power segment that lies inside one slot."""
        if seconds <= 0:
            return
        self.total.add(flows, seconds)
        slot_start = int(start // self.slot_seconds * self.slot_seconds)
        record = self.slots.setdefault(slot_start, SlotRecord())
        record.energy.add(flows, seconds)
        record.soc_end, record.mode = soc_end, mode
        self.days.setdefault(local_day(start), Energy()).add(flows, seconds)

    def today(self, t: float) -> Energy:
        return self.days.get(local_day(t), Energy())

    def inverter_counters(self, t: float) -> dict[str, tuple[int, int]]:
        """The KH's own counters at time ``t``: (total, today) in 0.1 kWh (= 100 Wh) counts.

        Its PV counter is what the panels delivered (after curtailment).
        """
        total, today = self.total, self.today(t)
        result = {
            name: (int(getattr(total, name) // 100), int(getattr(today, name) // 100))
            for name in COUNTERS
        }
        result["pv"] = (
            int((total.pv - total.pv_curtailed) // 100),
            int((today.pv - today.pv_curtailed) // 100),
        )
        return result


def local_day(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).astimezone(LOCAL_TZ).date().isoformat()
