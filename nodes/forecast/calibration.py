"""PV forecast calibration: a factor per time of day, learned from the site's own output.

A provider's forecast can be off in the same way day after day: a roof face it
models wrongly, a tree's shade after three, an inverter that clips at noon. Such
an error shows as a steady ratio between what was recorded and what the raw
forecast said, at the same time of day. ``learn`` finds that ratio per bin of the
local day from (raw forecast, actual) pairs: the sums over the pairs (so a cloudy
day's small numbers weigh little), shrunk towards 1 by how few days there are
(``shrink_days``), and held within ``min_factor``..``max_factor``. The season is
the learning window: only the last ``window_days`` count, so the factors move
with the sun. Pairs where PV was held back (``Pair.skip``) and pairs in the dark
say nothing and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

DAY = 86400


@dataclass(frozen=True)
class Tuning:
    """How calibration learns: site.yaml's ``pv_calibration`` sets the window, the shrinkage
    and the bins (docs/pv-forecasts.md); the rest are fixed here."""

    bin_minutes: int = 60
    window_days: int = 28
    shrink_days: float = 7.0
    min_factor: float = 0.5
    max_factor: float = 1.5
    #: Pairs where both the forecast and the actual are below this (W) are night.
    dark_w: float = 50.0
    #: The forecast as believed this long before the slot began (0: the last issue before it).
    lead_s: float = 0.0

    @classmethod
    def from_settings(cls, section: Mapping[str, Any]) -> Tuning:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in section.items() if k in names})


@dataclass(frozen=True)
class Pair:
    """One recorded half hour: the raw forecast as issued and what the panels gave (W).

    ``skip`` says why the actual is not what the panels could give (``full``: the
    battery was full; ``curtailed``: export at its limit, or a price below zero that
    the plan curtails for), or is empty."""

    start: float
    forecast_w: float
    actual_w: float
    skip: str = ""

    def dark(self, tuning: Tuning) -> bool:
        return self.forecast_w < tuning.dark_w and self.actual_w < tuning.dark_w


@dataclass(frozen=True)
class Calibration:
    """Factors per bin of the local day, and how many days each was learned from."""

    bin_minutes: int
    factors: tuple[float, ...]
    days: tuple[int, ...]

    @classmethod
    def identity(cls, bin_minutes: int = 60) -> Calibration:
        bins = 1440 // bin_minutes
        return cls(bin_minutes, (1.0,) * bins, (0,) * bins)

    def factor_at(self, t: float, zone: ZoneInfo) -> float:
        local = datetime.fromtimestamp(t, zone)
        return self.factors[(local.hour * 60 + local.minute) // self.bin_minutes]

    def apply(self, periods: Sequence[Mapping[str, Any]], zone: ZoneInfo) -> list[dict[str, Any]]:
        """The periods with P50, P10 and P90 scaled by the factor at each one's middle."""
        out = []
        for period in periods:
            middle = (float(period["start"]) + float(period["end"])) / 2
            k = self.factor_at(middle, zone)
            scaled = {
                name: round(float(period[name]) * k, 1)
                for name in ("p50_w", "p10_w", "p90_w")
                if period.get(name) is not None
            }
            out.append({**period, **scaled})
        return out

    def as_rows(self) -> list[dict[str, Any]]:
        """Each bin as ``{from, to, factor, days}`` (local times of day), for the API."""
        rows = []
        for i, (k, n) in enumerate(zip(self.factors, self.days, strict=True)):
            lo, hi = i * self.bin_minutes, (i + 1) * self.bin_minutes
            rows.append({"from": _hhmm(lo), "to": _hhmm(hi), "factor": round(k, 4), "days": n})
        return rows


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def learn(pairs: Iterable[Pair], now: float, zone: ZoneInfo, tuning: Tuning) -> Calibration:
    """Factors from the usable pairs of the ``window_days`` before ``now``."""
    bins = 1440 // tuning.bin_minutes
    forecast, actual = [0.0] * bins, [0.0] * bins
    days: list[set[str]] = [set() for _ in range(bins)]
    since = now - tuning.window_days * DAY
    for pair in pairs:
        if pair.skip or pair.dark(tuning) or not since <= pair.start < now:
            continue
        local = datetime.fromtimestamp(pair.start, zone)
        i = (local.hour * 60 + local.minute) // tuning.bin_minutes
        forecast[i] += pair.forecast_w
        actual[i] += pair.actual_w
        days[i].add(local.date().isoformat())
    factors = [
        _shrunk(actual[i], forecast[i], len(days[i]), tuning) if forecast[i] > 0 else 1.0
        for i in range(bins)
    ]
    return Calibration(tuning.bin_minutes, tuple(factors), tuple(len(d) for d in days))


def _shrunk(actual: float, forecast: float, days: int, tuning: Tuning) -> float:
    """The ratio of the sums, trusted ``days / (days + shrink_days)`` of the way from 1."""
    weight = days / (days + tuning.shrink_days) if days else 0.0
    factor = 1.0 + weight * (actual / forecast - 1.0)
    return min(tuning.max_factor, max(tuning.min_factor, factor))
