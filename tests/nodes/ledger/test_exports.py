"""The ledger's public surface: these names are exported and resolve."""

from __future__ import annotations

import nodes.ledger

PUBLIC = {
    "BALANCE_TOLERANCE_KWH",
    "COUNTERS",
    "KINDS",
    "BasisError",
    "CostBasis",
    "CounterError",
    "Discharge",
    "Flows",
    "IntervalEnergy",
    "IntervalLedger",
    "IntervalPrices",
    "LedgerEvent",
    "attribute",
    "idempotency_key",
    "interval_energy",
    "interval_events",
}


def test_exported_members() -> None:
    assert set(nodes.ledger.__all__) >= PUBLIC
    assert all(hasattr(nodes.ledger, name) for name in nodes.ledger.__all__)
