"""The accounting ledger: interval energy, its attribution, battery cost basis, entries,
and billing cycles (``nodes.ledger.settings`` is the site config's ``billing`` section)."""

from typing import Any

from flowengine.registry import Declared
from flowengine.settings import SiteSection
from nodes.ledger import settings
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
from nodes.ledger.post import LedgerPost
from nodes.ledger.settings import BillingTerms, check_billing
from nodes.ledger.settle import LedgerSettle
from nodes.ledger.wacb import BasisError, CostBasis, Discharge

NODE_TYPES: list[Declared] = [LedgerPost, LedgerSettle]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"billing": settings.SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {"billing": settings.DEFAULTS}

NODE_TYPES.append(
    SiteSection("billing", settings.SCHEMA, settings.DEFAULTS, check_billing, owner=__name__)
)

__all__ = [
    "BALANCE_TOLERANCE_KWH",
    "COUNTERS",
    "KINDS",
    "NODE_TYPES",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "BasisError",
    "BillingTerms",
    "CostBasis",
    "CounterError",
    "Discharge",
    "Flows",
    "IntervalEnergy",
    "IntervalLedger",
    "IntervalPrices",
    "LedgerEvent",
    "LedgerPost",
    "LedgerSettle",
    "attribute",
    "check_billing",
    "idempotency_key",
    "interval_energy",
    "interval_events",
]
