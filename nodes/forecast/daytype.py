"""Public holidays, which the load forecast treats as Sundays, from the ``holidays`` package.

A region is a country code with an optional subdivision, as that package names them:
``AU-QLD``, ``AU-NSW``, ``NZ``, ``GB-SCT``. An Australian site's region defaults to its
state, read from its time zone; elsewhere there is none unless it is configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import holidays

#: Australian IANA time zones (and their aliases) -> the state's region.
REGION_BY_TIMEZONE = {
    **dict.fromkeys(("Brisbane", "Lindeman", "Queensland"), "AU-QLD"),
    **dict.fromkeys(("Sydney", "NSW", "Broken_Hill", "Yancowinna", "Lord_Howe", "LHI"), "AU-NSW"),
    **dict.fromkeys(("ACT", "Canberra"), "AU-ACT"),
    **dict.fromkeys(("Melbourne", "Victoria"), "AU-VIC"),
    **dict.fromkeys(("Hobart", "Tasmania", "Currie"), "AU-TAS"),
    **dict.fromkeys(("Adelaide", "South"), "AU-SA"),
    **dict.fromkeys(("Darwin", "North"), "AU-NT"),
    **dict.fromkeys(("Perth", "West", "Eucla"), "AU-WA"),
}


def region_for_timezone(timezone: str) -> str | None:
    """The holiday region of an Australian time zone (``Australia/Brisbane`` -> ``AU-QLD``)."""
    area, _, city = timezone.partition("/")
    return REGION_BY_TIMEZONE.get(city) if area == "Australia" else None


def region_problem(region: str) -> str | None:
    """Why ``region`` names no holiday calendar, or None when it does."""
    try:
        public_holidays(region, 2025)
    except ValueError as exc:
        return str(exc)
    return None


@lru_cache(maxsize=64)
def public_holidays(region: str, year: int) -> frozenset[date]:
    """The public holidays of ``region`` (``AU-QLD``) in ``year``; ValueError for an unknown
    region."""
    country, _, subdivision = region.partition("-")
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    except NotImplementedError as exc:
        raise ValueError(f"no public holidays known for {region!r}: {exc}") from None
    return frozenset(calendar)


def holidays_between(region: str, years: Iterable[int]) -> frozenset[date]:
    """The public holidays of ``region`` over ``years``."""
    return frozenset().union(*(public_holidays(region, y) for y in years))
