"""A static time-of-use tariff: the price of any instant, and price intervals for a horizon.

Pure: no clock, no I/O. Bands are local wall time in the site's time zone, so on
a daylight-saving change day a 16:00-21:00 peak still starts at 16:00 on the
wall clock, and the day has 23 or 25 hours of prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nodes.tariff.bands import MINUTES_PER_DAY, Band, TariffProblem
from nodes.tariff.check import InvalidTariff, schema_problems
from nodes.tariff.layout import Layout, build_layout


@dataclass(frozen=True)
class Tariff:
    timezone: ZoneInfo
    layout: Layout
    #: $/day including GST.
    supply_charge: float = 0.0
    #: $/month including GST.
    monthly_fee: float = 0.0

    @classmethod
    def from_settings(cls, section: Mapping[str, Any], timezone: str) -> Tariff:
        """The tariff of a site config ``tariff:`` section; ``InvalidTariff`` says what is wrong."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problem = TariffProblem(("site", "timezone"), f"unknown time zone {timezone!r}")
            raise InvalidTariff([problem]) from None
        problems = schema_problems(section)
        layout = None
        if not problems:
            layout, problems = build_layout(section)
        if layout is None:
            raise InvalidTariff(problems)
        return cls(
            zone,
            layout,
            float(section.get("supply_charge", 0.0)),
            float(section.get("monthly_fee", 0.0)),
        )

    def bands_at(self, epoch: float) -> tuple[Band, Band]:
        """The (import, feed-in) bands in force at ``epoch``."""
        local = datetime.fromtimestamp(epoch, self.timezone)
        season = self.layout.season_of[(local.month, local.day)]
        minute = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
        return self.layout.imports[season][minute], self.layout.exports[season][minute]

    def price_at(self, epoch: float) -> tuple[float, float]:
        """(import_price, export_price) in $/kWh at ``epoch``."""
        buy, sell = self.bands_at(epoch)
        return buy.price, sell.price

    def slot_start(self, epoch: float, step_s: float = 1800) -> float:
        """Start of the slot holding ``epoch``, aligned on the local clock (:00 and :30)."""
        offset = datetime.fromtimestamp(epoch, self.timezone).utcoffset() or timedelta()
        return epoch - (epoch + offset.total_seconds()) % step_s

    def intervals(
        self, start_epoch: float, end_epoch: float, step_s: float = 1800, now: float | None = None
    ) -> list[dict[str, Any]]:
        """Price intervals tiling [start, end) in the docs/inputs.md shape.

        Cut on the local ``step_s`` grid and wherever a price changes inside a
        slot (a band edge off the grid, a DST change), so each interval has one
        price. ``now`` (default: ``start_epoch``) decides actual/current/forecast.
        """
        now = start_epoch if now is None else now
        out: list[dict[str, Any]] = []
        cursor = start_epoch
        while cursor < end_epoch:
            grid = min(end_epoch, self.slot_start(cursor, step_s) + step_s)
            cut = self._next_change(cursor, grid)
            buy, sell = self.bands_at(cursor)
            out.append(
                {
                    "start": float(cursor),
                    "end": float(cut),
                    "import_price": buy.price,
                    "export_price": sell.price,
                    "type": _type(cursor, cut, now),
                    "estimate": False,
                    "spike": "none",
                    "descriptor": buy.name,
                    "renewables": None,
                }
            )
            cursor = cut
        return out

    def _next_change(self, start: float, limit: float) -> float:
        """The first whole minute after ``start`` (before ``limit``) with other bands."""
        buy, sell = self.bands_at(start)
        minute = start - start % 60 + 60
        while minute < limit:
            next_buy, next_sell = self.bands_at(minute)
            if next_buy is not buy or next_sell is not sell:
                return minute
            minute += 60
        return limit


def _type(start: float, end: float, now: float) -> str:
    if end <= now:
        return "actual"
    return "current" if start <= now else "forecast"
