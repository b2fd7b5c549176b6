"""The ``billing`` section of site.yaml: when a billing cycle starts and its fixed charges.

The fixed charges have the names and units of the ``tariff`` section's (``supply_charge``
in $/day, ``monthly_fee`` in $/month, GST included), and a site on a static tariff
need not say them twice: where ``billing`` leaves one out, the tariff's is used, and
where both say one they must agree (``check_billing``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nodes.ledger.billing import exact, zone

#: A plausible SE Queensland daily supply charge ($/day incl. GST) when none is set.
DEFAULT_SUPPLY_CHARGE = Decimal("1.10")
DEFAULT_MONTHLY_FEE = Decimal("0")
FIXED_CHARGES = ("supply_charge", "monthly_fee")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Billing cycles as the retailer bills them (docs/ledger.md).",
    "properties": {
        "start_day": {
            "type": "integer",
            "minimum": 1,
            "maximum": 28,
            "description": "day of the month a cycle starts, at local midnight (1-28, so "
            "every month has one; default 1)",
        },
        "supply_charge": {
            "type": "number",
            "minimum": 0,
            "description": "daily supply charge, $/day including GST (default: "
            f"tariff.supply_charge, else {DEFAULT_SUPPLY_CHARGE})",
        },
        "monthly_fee": {
            "type": "number",
            "minimum": 0,
            "description": "retailer's fees per cycle (Amber's membership, say), $/month "
            "including GST (default: tariff.monthly_fee, else 0)",
        },
    },
    "additionalProperties": False,
}

DEFAULTS: dict[str, Any] = {"start_day": 1}


@dataclass(frozen=True)
class BillingProblem:
    """One thing wrong with the billing section, at a path into the site config."""

    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        return f"{'.'.join(str(part) for part in self.path)}: {self.message}"


def check_billing(data: Mapping[str, Any]) -> list[BillingProblem]:
    """Problems a schema cannot see in a whole (schema-valid) site config: a fixed charge
    the billing and tariff sections both set, to different amounts."""
    billing, tariff = data.get("billing") or {}, data.get("tariff") or {}
    return [
        BillingProblem(
            ("billing", name),
            f"billing.{name} ({billing[name]}) differs from tariff.{name} ({tariff[name]}): "
            "set it in one place (billing uses the tariff's when it leaves it out)",
        )
        for name in FIXED_CHARGES
        if name in billing
        and name in tariff
        and exact(name, billing[name]) != exact(name, tariff[name])
    ]


@dataclass(frozen=True)
class BillingTerms:
    """What a cycle's bill is made of: its start day, fixed charges and time zone."""

    start_day: int = 1
    supply_charge: Decimal = DEFAULT_SUPPLY_CHARGE
    monthly_fee: Decimal = DEFAULT_MONTHLY_FEE
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        zone(self.timezone)  # an unknown zone is refused here, not at the first boundary

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> BillingTerms:
        """The terms of a loaded site config (defaults filled in, or a bare mapping)."""
        billing = settings.get("billing") or {}
        tariff = settings.get("tariff") or {}
        charges = {
            name: exact(name, billing[name] if name in billing else tariff.get(name, default))
            for name, default in zip(
                FIXED_CHARGES, (DEFAULT_SUPPLY_CHARGE, DEFAULT_MONTHLY_FEE), strict=True
            )
        }
        return cls(
            start_day=int(billing.get("start_day", DEFAULTS["start_day"])),
            timezone=str((settings.get("site") or {}).get("timezone") or "UTC"),
            **charges,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "start_day": self.start_day,
            "supply_charge": str(self.supply_charge),
            "monthly_fee": str(self.monthly_fee),
            "timezone": self.timezone,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BillingTerms:
        return cls(
            start_day=int(data["start_day"]),
            supply_charge=Decimal(str(data["supply_charge"])),
            monthly_fee=Decimal(str(data["monthly_fee"])),
            timezone=str(data["timezone"]),
        )
