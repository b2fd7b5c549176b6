"""The accounting ledger: interval energy, its attribution, battery cost basis, entries."""

from nodes.ledger.events import (
    KINDS,
    IntervalLedger,
    IntervalPrices,
    LedgerEvent,
    idempotency_key,
    interval_events,
)
from nodes.ledger.flows import (
    BALANCE_TOLERANCE_KWH,
    COUNTERS,
    CounterError,
    Flows,
    IntervalEnergy,
    attribute,
    interval_energy,
)
from nodes.ledger.node import LedgerPost
from nodes.ledger.wacb import BasisError, CostBasis, Discharge

NODE_TYPES = [LedgerPost]

__all__ = [
    "BALANCE_TOLERANCE_KWH",
    "COUNTERS",
    "KINDS",
    "NODE_TYPES",
    "BasisError",
    "CostBasis",
    "CounterError",
    "Discharge",
    "Flows",
    "IntervalEnergy",
    "IntervalLedger",
    "IntervalPrices",
    "LedgerEvent",
    "LedgerPost",
    "attribute",
    "idempotency_key",
    "interval_energy",
    "interval_events",
]
