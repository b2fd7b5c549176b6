"""Billing cycles and what a cycle costs, the way the retailer's bill adds it up.

A cycle starts at local midnight on ``start_day`` (1-28) of a month in the site's
time zone and runs to local midnight on ``start_day`` of the next month, exclusive:
an instant exactly on the boundary belongs to the new cycle. Boundaries are found
in local wall time and only then turned into epochs, so a cycle that holds a
daylight saving change is an hour shorter or longer than naive day counting says.

Money is kept as ``Decimal`` at full precision (a float amount enters as the
decimal it prints as, so sums are exact); ``CycleTotals.rounded()`` is the view
to the cent for display. Savings (self-consumption value, arbitrage P&L) and the
counterfactual bills sit beside the bill and are never added into it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CENT = Decimal("0.01")
WATT_HOUR = Decimal("0.001")
ZERO = Decimal(0)

Zone = tzinfo | str
Bounds = tuple[float, float]


class BillingError(ValueError):
    """Bad input to the billing arithmetic; the message names what and where."""


def zone(tz: Zone) -> tzinfo:
    """A time zone from a ``tzinfo`` or an IANA name such as ``Australia/Sydney``."""
    if isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BillingError(f"time zone {tz!r} is not a known IANA zone") from exc
    raise BillingError(f"time zone must be a tzinfo or an IANA name, not {tz!r}")


def _check_start_day(start_day: object) -> int:
    if isinstance(start_day, bool) or not isinstance(start_day, int) or not 1 <= start_day <= 28:
        raise BillingError(
            f"start_day must be a whole day of the month from 1 to 28, not {start_day!r}"
        )
    return start_day


def _check_epoch(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BillingError(f"{name} must be a finite epoch in seconds, not {value!r}")
    return float(value)


def local_midnight(day: date, tz: Zone) -> float:
    """The first instant of ``day`` in ``tz``. Where midnight is skipped by a clock change
    it is the first instant after the gap; where it happens twice, the first one."""
    return datetime(day.year, day.month, day.day, tzinfo=zone(tz)).timestamp()


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def _boundary(year: int, month: int, start_day: int, tz: tzinfo) -> float:
    return local_midnight(date(year, month, start_day), tz)


def cycle_bounds(at_epoch: float, start_day: int, tz: Zone) -> Bounds:
    """``(start, end)`` epochs of the cycle holding ``at_epoch``: start <= at < end."""
    at = _check_epoch("at_epoch", at_epoch)
    day = _check_start_day(start_day)
    place = zone(tz)
    local = datetime.fromtimestamp(at, place)
    year, month = local.year, local.month
    if at < _boundary(year, month, day, place):
        year, month = _shift_month(year, month, -1)
    next_year, next_month = _shift_month(year, month, 1)
    return _boundary(year, month, day, place), _boundary(next_year, next_month, day, place)


def closed_cycles(now: float, start_day: int, tz: Zone, count: int) -> list[Bounds]:
    """Bounds of the last ``count`` cycles that ended at or before ``now``, oldest first."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise BillingError(f"count must be a whole number of cycles, 0 or more, not {count!r}")
    cycles: list[Bounds] = []
    start, _ = cycle_bounds(now, start_day, tz)
    for _ in range(count):
        previous = cycle_bounds(start - 1, start_day, tz)
        cycles.append(previous)
        start = previous[0]
    return cycles[::-1]


def days_in(start: float, end: float, tz: Zone) -> int:
    """Local calendar days that ``[start, end)`` touches: the days a daily supply charge
    is billed for. A day begun is a day charged, so an open cycle up to noon today
    counts today; a whole cycle counts each of its dates once, whatever DST does."""
    begin = _check_epoch("start", start)
    finish = _check_epoch("end", end)
    if finish <= begin:
        return 0
    place = zone(tz)
    first = datetime.fromtimestamp(begin, place).date()
    last = datetime.fromtimestamp(finish, place).date()
    if local_midnight(last, place) >= finish:
        last -= timedelta(days=1)
    return (last - first).days + 1


def elapsed_fraction(start: float, end: float, now: float) -> float:
    """How much of ``[start, end)`` has passed at ``now``, in real seconds, from 0 to 1."""
    begin, finish = _check_epoch("start", start), _check_epoch("end", end)
    at = _check_epoch("now", now)
    if finish <= begin:
        raise BillingError(f"cycle end {finish} is not after its start {begin}")
    return min(1.0, max(0.0, (at - begin) / (finish - begin)))


@dataclass(frozen=True)
class CycleTotals:
    """One cycle's bill, its line items, and the savings figures kept beside it.

    ``import_cost`` is money paid for imports (negative when import prices were
    negative and the retailer paid us); ``export_revenue`` is money earned for
    exports (negative under negative feed-in prices). ``supply_days`` and
    ``cycle_days`` say how many local days ``supply_charges`` touches out of the
    span's. ``charged_days`` is None when the fixed charges are whole days (a closed
    cycle, as the retailer bills it); for figures "so far" they are pro rata to the
    time the ledger covers (``fixed_charges``) and it is the days charged, a fraction.
    ``no_battery_bill`` and ``self_use_bill`` are the energy part of the bill the same
    period would have had with no battery, and with the inverter's own self-use (imports
    less exports under that baseline); the fixed charges, the same either way, are added
    by ``no_battery_net_bill`` and ``self_use_net_bill``.
    """

    import_kwh: Decimal = ZERO
    export_kwh: Decimal = ZERO
    import_cost: Decimal = ZERO
    export_revenue: Decimal = ZERO
    supply_charges: Decimal = ZERO
    monthly_fees: Decimal = ZERO
    self_consumption_value: Decimal = ZERO
    arbitrage_pnl: Decimal = ZERO
    no_battery_bill: Decimal | None = None
    self_use_bill: Decimal | None = None
    supply_days: int = 0
    cycle_days: int = 0
    charged_days: Decimal | None = None

    @property
    def net_bill(self) -> Decimal:
        """What the retailer bills: imports less exports plus the fixed charges.
        Savings figures are not part of it."""
        return self.import_cost - self.export_revenue + self.supply_charges + self.monthly_fees

    @property
    def no_battery_net_bill(self) -> Decimal | None:
        """The whole bill with no battery: its energy plus the same fixed charges."""
        return self._with_fixed(self.no_battery_bill)

    @property
    def self_use_net_bill(self) -> Decimal | None:
        """The whole bill with the inverter's own self-use: energy plus the fixed charges."""
        return self._with_fixed(self.self_use_bill)

    @property
    def saving_vs_no_battery(self) -> Decimal | None:
        """What the battery, run as it was, saved against having none."""
        other = self.no_battery_net_bill
        return None if other is None else other - self.net_bill

    @property
    def saving_vs_self_use(self) -> Decimal | None:
        """What Power Master saved against leaving the battery to the inverter's self-use."""
        other = self.self_use_net_bill
        return None if other is None else other - self.net_bill

    def _with_fixed(self, energy: Decimal | None) -> Decimal | None:
        return None if energy is None else energy + self.supply_charges + self.monthly_fees

    def rounded(self) -> CycleTotals:
        """The same totals to the cent (kWh to the watt-hour), half up, for display.
        Its ``net_bill`` is the sum of the rounded line items, as a printed bill adds up."""
        changes: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Decimal):
                step = WATT_HOUR if field.name.endswith(("_kwh", "_days")) else CENT
                changes[field.name] = value.quantize(step, rounding=ROUND_HALF_UP)
        return replace(self, **changes)


def exact(name: str, value: object) -> Decimal:
    """``value`` as an exact Decimal; a float becomes the decimal it prints as."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise BillingError(f"{name} must be a finite number, not {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BillingError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise BillingError(f"{name} must be a finite number, not {value!r}")
    return Decimal(str(value))


def _optional_exact(name: str, value: object) -> Decimal | None:
    return None if value is None else exact(name, value)


def _field(event: Mapping[str, Any], index: int, key: str) -> Any:
    if key not in event:
        raise BillingError(f"ledger event [{index}] ({event.get('kind', '?')}) has no {key!r}")
    return event[key]


#: Ledger event kind -> (money total it adds to, kWh total it adds to or None).
KIND_TOTALS: dict[str, tuple[str, str | None]] = {
    "import_cost": ("import_cost", "import_kwh"),
    "export_revenue": ("export_revenue", "export_kwh"),
    # The retailer's meter data settling the inverter's provisional figures (ledger.settle).
    "import_settlement": ("import_cost", "import_kwh"),
    "export_settlement": ("export_revenue", "export_kwh"),
    "self_consumption_saving": ("self_consumption_value", None),
    "arbitrage_pnl": ("arbitrage_pnl", None),
}

#: Baseline event kind -> the counterfactual energy bill it adds to (its amount is minus
#: the interval's cost under that baseline, as ledger.post posts it).
BASELINE_TOTALS: dict[str, str] = {
    "baseline_no_battery": "no_battery_bill",
    "baseline_self_use": "self_use_bill",
}


def summarise(
    events: Iterable[Mapping[str, Any]],
    start: float,
    end: float,
    tz: Zone,
    daily_supply: float | Decimal,
    monthly_fee: float | Decimal,
    *,
    until: float | None = None,
    no_battery_bill: float | Decimal | None = None,
    self_use_bill: float | Decimal | None = None,
    covered: Sequence[tuple[float, float]] | None = None,
    start_day: int | None = None,
) -> CycleTotals:
    """Totals of the ledger events with ``start <= at < end``.

    Event amounts are signed as cash flows: an ``import_cost`` amount is negative when
    money was spent, an ``export_revenue`` amount positive when money was earned.
    Kinds other than those in ``KIND_TOTALS`` are not bill items and are skipped; the
    ``BASELINE_TOTALS`` kinds add up to the counterfactual energy bills unless those are
    given (None when the cycle holds none).
    For an open cycle pass ``until`` (now): supply is charged for the days begun by then;
    the monthly fee is charged in full from the first day. Pass ``covered`` (the pieces
    of time the ledger accounts for) to charge both pro rata instead (``fixed_charges``;
    ``start_day`` says which cycle's length a day's share of the monthly fee is of).
    """
    begin = _check_epoch("start", start)
    finish = _check_epoch("end", end)
    if finish <= begin:
        raise BillingError(f"cycle end {finish} is not after its start {begin}")
    rate = exact("daily_supply", daily_supply)
    fee = exact("monthly_fee", monthly_fee)
    for name, value in (("daily_supply", rate), ("monthly_fee", fee)):
        if value < 0:
            raise BillingError(f"{name} must not be negative, not {value}")
    sums = {name: ZERO for pair in KIND_TOTALS.values() for name in pair if name is not None}
    baselines: dict[str, Decimal] = {}
    for index, event in enumerate(events):
        if not isinstance(event, Mapping):
            raise BillingError(f"ledger event [{index}] must be a mapping, not {event!r}")
        kind = _field(event, index, "kind")
        at = _check_epoch(f"ledger event [{index}] ({kind}) 'at'", _field(event, index, "at"))
        if not begin <= at < finish or (kind not in KIND_TOTALS and kind not in BASELINE_TOTALS):
            continue
        amount = exact(f"ledger event [{index}] ({kind}) 'amount'", _field(event, index, "amount"))
        if kind in BASELINE_TOTALS:
            baselines[BASELINE_TOTALS[kind]] = baselines.get(BASELINE_TOTALS[kind], ZERO) - amount
            continue
        money_total, kwh_total = KIND_TOTALS[kind]
        # import_cost events carry money spent as a negative amount; the bill shows it positive.
        sums[money_total] += -amount if money_total == "import_cost" else amount
        if kwh_total is not None:
            sums[kwh_total] += exact(
                f"ledger event [{index}] ({kind}) 'kwh'", _field(event, index, "kwh")
            )
    charged_to = finish if until is None else min(finish, _check_epoch("until", until))
    supply_days = days_in(begin, charged_to, tz)
    supply, fees, charged_days = rate * supply_days, fee, None
    if covered is not None:
        pro_rata = fixed_charges(covered, tz, rate, fee, start_day)
        supply, fees, charged_days = pro_rata.supply, pro_rata.fees, pro_rata.days
        supply_days = pro_rata.touched
    return CycleTotals(
        **sums,
        supply_charges=supply,
        monthly_fees=fees,
        charged_days=charged_days,
        no_battery_bill=_optional_exact("no_battery_bill", no_battery_bill)
        if no_battery_bill is not None
        else baselines.get("no_battery_bill"),
        self_use_bill=_optional_exact("self_use_bill", self_use_bill)
        if self_use_bill is not None
        else baselines.get("self_use_bill"),
        supply_days=supply_days,
        cycle_days=days_in(begin, finish, tz),
    )


#: Figures that grow with use, and so are projected in proportion to time.
USAGE_FIELDS = (
    "import_kwh",
    "export_kwh",
    "import_cost",
    "export_revenue",
    "self_consumption_value",
    "arbitrage_pnl",
    "no_battery_bill",
    "self_use_bill",
)


def project(
    totals: CycleTotals,
    elapsed_fraction: float,
    *,
    daily_supply: float | Decimal | None = None,
    monthly_fee: float | Decimal | None = None,
) -> CycleTotals:
    """An open cycle's totals carried to its end by simple linear projection.

    The usage figures (``USAGE_FIELDS``) so far are divided by the fraction of the cycle
    elapsed, i.e. the rest of the cycle is assumed to go as it has so far. Supply is
    charged for every day of the cycle at the rate paid so far; the monthly fee, already
    charged in full, stays as it is. The counterfactual bills are scaled like usage.
    Totals whose fixed charges are pro rata (``charged_days``) need the terms: given
    ``daily_supply`` and ``monthly_fee``, the cycle is charged every day's supply and
    its whole fee.
    """
    fraction = elapsed_fraction
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
        raise BillingError(
            f"elapsed_fraction must be above 0 and at most 1, not {elapsed_fraction!r}"
        )
    scale = 1 / Decimal(str(fraction))
    changes: dict[str, Any] = {}
    for name in USAGE_FIELDS:
        value = getattr(totals, name)
        if value is not None:
            changes[name] = value * scale
    if daily_supply is not None:
        changes["supply_charges"] = exact("daily_supply", daily_supply) * totals.cycle_days
    elif totals.supply_days:
        changes["supply_charges"] = totals.supply_charges / totals.supply_days * totals.cycle_days
    if monthly_fee is not None:
        changes["monthly_fees"] = exact("monthly_fee", monthly_fee)
    changes["supply_days"] = totals.cycle_days
    changes["charged_days"] = None if totals.charged_days is None else Decimal(totals.cycle_days)
    return replace(totals, **changes)


@dataclass(frozen=True)
class FixedCharges:
    """The fixed charges of some time, pro rata: ``days`` charged (a fraction of each
    local day, summed), the ``touched`` local days, the supply and the fees."""

    supply: Decimal = ZERO
    fees: Decimal = ZERO
    days: Decimal = ZERO
    touched: int = 0


def fixed_charges(
    pieces: Iterable[tuple[float, float]],
    tz: Zone,
    daily_supply: float | Decimal,
    monthly_fee: float | Decimal,
    start_day: int | None = None,
) -> FixedCharges:
    """The supply charge and monthly fee of the time in ``pieces`` (``[start, end)``
    epochs, not overlapping), pro rata: each local day is charged the share of it the
    pieces cover (an hour of a 24-hour day is 1/24 of a day's supply, of a 23-hour
    DST day 1/23), and each day's share of the monthly fee is the fee over the days of
    the billing cycle holding it (``start_day``; without one, the calendar month). Three
    hours carry three hours' charges, not a day's or a cycle's."""
    place = zone(tz)
    rate = exact("daily_supply", daily_supply)
    fee = exact("monthly_fee", monthly_fee)
    day_of_cycle = 1 if start_day is None else _check_start_day(start_day)
    days, fees = ZERO, ZERO
    touched: set[date] = set()
    lengths: dict[Bounds, int] = {}
    for begin, finish in pieces:
        begin = _check_epoch("covered start", begin)
        finish = _check_epoch("covered end", finish)
        day = datetime.fromtimestamp(begin, place).date()
        while finish > begin:
            day_start = local_midnight(day, place)
            if day_start >= finish:
                break
            day_end = local_midnight(day + timedelta(days=1), place)
            overlap = min(finish, day_end) - max(begin, day_start)
            if overlap > 0:
                share = Decimal(str(overlap)) / Decimal(str(day_end - day_start))
                cycle = cycle_bounds(day_start, day_of_cycle, place)
                if cycle not in lengths:
                    lengths[cycle] = days_in(*cycle, place)
                days += share
                fees += fee * share / lengths[cycle]
                touched.add(day)
            day += timedelta(days=1)
    return FixedCharges(rate * days, fees, days, len(touched))
