"""Predicts household load per 30-minute slot from the site's own recorded history.

Households repeat by time of day and by day of the week, drift with the seasons,
and have good and bad days. So the prediction is a recency-weighted profile per
slot of the week, shrunk towards a weekday/weekend profile and that towards the
last week's slot-of-day profile where its data is thin or noisy, and scaled
by how the last few hours compare with what the profile expected of them (damped
back to 1 as lead time grows). A public holiday counts as a Sunday, both in the
history and in the slots predicted. Where temperatures are given, a cooling and
heating term learned from the history's own temperatures is taken out of the
history before the profile is made and put back at the forecast's temperatures
(``temperature.py``). With under two days of history it is the configured
fallback profile. Pure and deterministic: same inputs, same output.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from nodes.forecast.profile import SLOTS_PER_DAY, check_profile
from nodes.forecast.temperature import Sample, TemperatureTerm, fit_temperature

SLOT_SECONDS = 1800
DAY = 86400


@dataclass(frozen=True, slots=True)
class Tuning:
    """The predictor's knobs; the defaults were chosen on the sample household data."""

    weeks: int = 4  # history used for the slot-of-week and weekday/weekend profiles
    week_half_life_days: float = 14.0
    type_half_life_days: float = 10.0
    day_days: int = 7  # history used for the slot-of-day profile
    day_half_life_days: float = 7.0
    # How much (in recent samples' weight) a finer profile leans on the broader one: a
    # floor for thin data, plus more where its own samples scatter widely compared with
    # how far it sits from the broader one (noise, not habit), up to a cap.
    min_shrink: float = 0.5
    noise_shrink: float = 16.0
    max_shrink: float = 10.0
    min_history_slots: int = 2 * SLOTS_PER_DAY
    level_hours: float = 3.0
    level_tau_hours: float = 1.5
    level_min: float = 0.7
    level_max: float = 1.5


DEFAULT_TUNING = Tuning()


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


@lru_cache(maxsize=1 << 16)
def _local_slot(t: int, zone: tzinfo) -> tuple[date, int, int]:
    """(local date, day of week 0=Monday, slot of day 0..47) of the slot starting at ``t``."""
    local = datetime.fromtimestamp(t, zone)
    return local.date(), local.weekday(), (local.hour * 60 + local.minute) // 30


SUNDAY = 6


def _day_slot(t: int, zone: tzinfo, holidays: Collection[date]) -> tuple[int, int]:
    """(day type, slot of day) of the slot starting at ``t``: the day type is the day of
    the week (0=Monday), or Sunday's on a public holiday."""
    day, dow, sod = _local_slot(t, zone)
    return (SUNDAY if day in holidays else dow), sod


class _Mean:
    """A weighted mean being accumulated."""

    __slots__ = ("squares", "total", "weight")

    def __init__(self) -> None:
        self.weight = 0.0
        self.total = 0.0
        self.squares = 0.0

    def add(self, value: float, weight: float) -> None:
        self.weight += weight
        self.total += value * weight
        self.squares += value * value * weight


def _decay(half_life_days: float) -> float:
    return math.log(2.0) / (half_life_days * DAY)


class _Profile:
    """Slot-of-week, weekday/weekend and slot-of-day means of one stretch of history."""

    def __init__(
        self,
        rows: Sequence[tuple[int, float]],
        now: int,
        zone: tzinfo,
        fallback: tuple[float, ...],
        tuning: Tuning,
        holidays: Collection[date] = (),
    ) -> None:
        self.zone, self.fallback, self.tuning = zone, fallback, tuning
        self.holidays = holidays
        self.week: dict[tuple[int, int], _Mean] = {}
        self.kind: dict[tuple[bool, int], _Mean] = {}
        self.day: dict[int, _Mean] = {}
        self._memo: dict[tuple[int, int], float] = {}
        k_week = _decay(tuning.week_half_life_days)
        k_type = _decay(tuning.type_half_life_days)
        k_day = _decay(tuning.day_half_life_days)
        day_from = now - tuning.day_days * DAY
        for t, load in rows:
            dow, sod = _day_slot(t, zone, holidays)
            age = now - t
            self.week.setdefault((dow, sod), _Mean()).add(load, math.exp(-k_week * age))
            self.kind.setdefault((dow >= 5, sod), _Mean()).add(load, math.exp(-k_type * age))
            if t >= day_from:
                self.day.setdefault(sod, _Mean()).add(load, math.exp(-k_day * age))

    def _shrunk(self, mean: _Mean | None, prior: float) -> float:
        if mean is None:
            return prior
        tuning = self.tuning
        own = mean.total / mean.weight
        spread = max(0.0, mean.squares / mean.weight - own * own)
        gap = (own - prior) ** 2
        noise = tuning.noise_shrink * spread / gap if gap > 0 else 0.0
        shrink = min(tuning.max_shrink, tuning.min_shrink + noise)
        return (mean.total + shrink * prior) / (mean.weight + shrink)

    def at(self, t: int) -> float:
        """The unscaled expected load of the slot starting at ``t``."""
        key = _day_slot(t, self.zone, self.holidays)
        value = self._memo.get(key)
        if value is None:
            dow, sod = key
            day = self._shrunk(self.day.get(sod), self.fallback[sod])
            kind = self._shrunk(self.kind.get((dow >= 5, sod)), day)
            value = self._memo[key] = self._shrunk(self.week.get(key), kind)
        return value


def predict_load(
    history: Iterable[tuple[float, float]],
    start_epoch: float,
    slots: int,
    tz: str | tzinfo,
    fallback_profile: Sequence[float],
    tuning: Tuning = DEFAULT_TUNING,
    *,
    holidays: Collection[date] = (),
    temperatures: Mapping[int, float] | None = None,
) -> list[float]:
    """Expected mean load (W) of each of ``slots`` 30-minute slots from ``start_epoch``.

    ``history`` holds (slot start epoch, mean load W) pairs; only slots that ended
    before ``start_epoch`` are used (nothing from the future leaks in). ``holidays``
    are local dates that count as Sundays. ``temperatures`` (°C by 30-minute slot
    start) may cover both the history, to learn from, and the slots predicted: without
    both, the prediction is the same as without them.
    """
    zone = _zone(tz)
    fallback = check_profile(fallback_profile)
    start = int(start_epoch // SLOT_SECONDS) * SLOT_SECONDS
    starts = [start + i * SLOT_SECONDS for i in range(slots)]
    since = start - tuning.weeks * 7 * DAY
    past = [
        (int(t), float(w))
        for t, w in history
        if since <= t <= start - SLOT_SECONDS and math.isfinite(w) and w >= 0
    ]
    if len(past) < tuning.min_history_slots:
        return [fallback[_local_slot(t, zone)[2]] for t in starts]
    level_from = start - int(tuning.level_hours * 3600)
    temps = {int(t): float(c) for t, c in (temperatures or {}).items() if math.isfinite(c)}
    ahead = any(t in temps for t in starts)
    term = _temperature_term(past, temps, zone, holidays) if ahead else None

    def weather(t: int) -> float:
        """The load the temperature makes at ``t`` (none without a term)."""
        return 0.0 if term is None else term.watts(_local_slot(t, zone)[2], temps.get(t))

    profile = _Profile(
        [(t, w - weather(t)) for t, w in past if t < level_from],
        level_from,
        zone,
        fallback,
        tuning,
        holidays,
    )

    def expected(t: int) -> float:
        return max(0.0, profile.at(t) + weather(t))

    recent = [r for r in past if r[0] >= level_from]
    before = sum(expected(t) for t, _ in recent)
    level = 1.0
    if len(recent) >= 2 and before > 0:
        actual = sum(w for _, w in recent)
        level = min(tuning.level_max, max(tuning.level_min, actual / before))
    tau = tuning.level_tau_hours * 3600
    return [expected(t) * (1.0 + (level - 1.0) * math.exp(-(t - start) / tau)) for t in starts]


def _temperature_term(
    past: Sequence[tuple[int, float]],
    temps: Mapping[int, float],
    zone: tzinfo,
    holidays: Collection[date],
) -> TemperatureTerm | None:
    """The temperature term learned from the history's slots that have a temperature."""
    samples = []
    for t, load in past:
        temp = temps.get(t)
        if temp is not None:
            dow, sod = _day_slot(t, zone, holidays)
            samples.append(Sample(sod, dow >= 5, load, temp))
    return fit_temperature(samples)
