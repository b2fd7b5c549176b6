"""Weighted average cost basis of the energy in the battery.

The ledger tracks how much energy it has seen go into the battery (``stored_kwh``, after
charge losses) and what that energy cost per stored kWh (``basis``). Charging from the
grid costs the import price; charging from solar costs the feed-in it forwent (the export
price, so a negative feed-in makes solar charging pay). Charge losses raise the basis:
10 kWh bought at $0.20 with 95 % charge efficiency is 9.5 kWh stored at $0.2105/kWh.
Discharging takes ``kWh / eta_discharge`` out at the basis and leaves the basis alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class BasisError(ValueError):
    """An invalid amount, price, efficiency or stored state."""


@dataclass(frozen=True, slots=True)
class CostBasis:
    """Energy accounted as in the battery (kWh stored) and its cost ($ per stored kWh)."""

    stored_kwh: float = 0.0
    basis: float = 0.0

    def __post_init__(self) -> None:
        _check(self.stored_kwh, "stored_kwh", minimum=0.0)
        _check(self.basis, "basis")

    @property
    def value(self) -> float:
        """What the stored energy cost in total ($)."""
        return self.stored_kwh * self.basis

    def charge_grid(self, kwh: float, import_price: float, eta_charge: float) -> CostBasis:
        """``kwh`` AC bought from the grid at ``import_price`` $/kWh went into the battery."""
        _check(import_price, "import_price")
        return self._add(kwh, kwh * import_price, eta_charge, "charge_grid")

    def charge_solar(self, kwh: float, export_price: float, eta_charge: float) -> CostBasis:
        """``kwh`` AC of solar went into the battery instead of earning ``export_price``."""
        _check(export_price, "export_price")
        return self._add(kwh, kwh * export_price, eta_charge, "charge_solar")

    def discharge(self, kwh: float, eta_discharge: float) -> Discharge:
        """``kwh`` AC came out of the battery; it takes ``kwh / eta_discharge`` stored.

        If that is more than the ledger has accounted for (it started mid-life, or the
        efficiencies are optimistic), it takes what there is: ``shortfall_kwh`` says how
        much stored energy was missing, and that part carries no cost.
        """
        _check(kwh, "discharge kwh", minimum=0.0)
        _check_efficiency(eta_discharge, "eta_discharge")
        wanted = kwh / eta_discharge
        taken = min(wanted, self.stored_kwh)
        after = CostBasis(stored_kwh=max(self.stored_kwh - taken, 0.0), basis=self.basis)
        return Discharge(
            after=after, taken_kwh=taken, cost=taken * self.basis, shortfall_kwh=wanted - taken
        )

    def _add(self, kwh: float, cost: float, eta_charge: float, what: str) -> CostBasis:
        _check(kwh, f"{what} kwh", minimum=0.0)
        _check_efficiency(eta_charge, "eta_charge")
        added = kwh * eta_charge
        stored = self.stored_kwh + added
        if added == 0 or stored <= 0:
            return self
        return CostBasis(stored_kwh=stored, basis=(self.value + cost) / stored)

    def as_dict(self) -> dict[str, float]:
        return {"stored_kwh": self.stored_kwh, "basis": self.basis}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CostBasis:
        """The state :meth:`as_dict` wrote (e.g. read back from JSON)."""
        if not isinstance(data, Mapping):
            raise BasisError(f"cost basis: expected a mapping, got {type(data).__name__}")
        missing = [k for k in ("stored_kwh", "basis") if k not in data]
        if missing:
            raise BasisError(f"cost basis: missing {', '.join(missing)}")
        return cls(stored_kwh=data["stored_kwh"], basis=data["basis"])


@dataclass(frozen=True, slots=True)
class Discharge:
    """What a discharge took out of the accounted energy, and the state after it."""

    after: CostBasis
    taken_kwh: float  # stored kWh removed
    cost: float  # $ of basis those kWh carried
    shortfall_kwh: float  # stored kWh the discharge needed but the ledger did not have

    @property
    def note(self) -> str | None:
        if self.shortfall_kwh <= 1e-9:
            return None
        return (
            f"discharge needed {self.shortfall_kwh:.3f} kWh more than the "
            f"{self.taken_kwh:.3f} kWh accounted as stored; that part carries no cost"
        )


def _check(value: object, name: str, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BasisError(f"{name}: expected a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise BasisError(f"{name}: must be >= {minimum:g}, got {value}")
    return float(value)


def _check_efficiency(eta: object, name: str) -> None:
    if not 0 < _check(eta, name) <= 1:
        raise BasisError(f"{name}: must be in (0, 1], got {eta}")
