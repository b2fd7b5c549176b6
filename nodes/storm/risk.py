"""Storm risk per period from three tiers of evidence (protocols.md 5.5).

1. A warning in force for our area: high (0.9) until it expires.
2. A forecast storm in the précis for our town: moderate, scaled by the rain chance.
3. Model support (Open-Meteo thunderstorm code, CAPE, gusts, rain chance): low,
   and added to tier 2 in the hours it covers, so a précis storm day narrows to
   the hours the model agrees with.

Everything here works on the shapes in docs/inputs.md, not on a provider's own
format, so the BOM provider (tiers 1 and 2) and the storm monitor (all three)
share one definition of risk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

WARNING_P = 0.9
#: A précis storm with a 100 % rain chance; scaled down by the chance.
FORECAST_P = 0.6
#: The rain chance assumed when a précis storm period gives none.
UNKNOWN_RAIN_CHANCE = 0.5
#: The most model support can add (and all it gives on its own).
MODEL_MAX = 0.3
#: Warning categories that threaten the supply; floods alone are left out.
STORM_CATEGORIES = frozenset({"thunderstorm", "severe_weather", "cyclone"})
ENDED_PHASES = frozenset({"cancelled", "final", "expired"})
#: How long a warning without an expiry time is taken to hold.
DEFAULT_WARNING_S = 6 * 3600.0

THUNDER_CODES = frozenset({95, 96, 99})
CAPE_HIGH = 2500.0
CAPE_SOME = 1000.0
STRONG_GUST_KMH = 60.0
HIGH_RAIN_CHANCE_PCT = 70.0

_STORM_WORDS = re.compile(r"\b(thunder)?storms?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Signal:
    """One piece of evidence of a storm over ``[start, end)``."""

    start: float
    end: float
    p: float
    evidence: tuple[str, ...]
    tier: str  # "warning" | "forecast" | "model" | "provider"


def mentions_storm(text: str) -> bool:
    return bool(_STORM_WORDS.search(text))


def in_force(warning: Mapping[str, Any], now: float) -> bool:
    """Not cancelled, final or expired at ``now``."""
    if warning.get("phase") in ENDED_PHASES:
        return False
    expires = warning.get("expires_at")
    return expires is None or float(expires) > now


def warning_window(warning: Mapping[str, Any], now: float) -> tuple[float, float]:
    issued = warning.get("issued_at")
    start = float(issued) if issued is not None else now
    expires = warning.get("expires_at")
    return start, float(expires) if expires is not None else start + DEFAULT_WARNING_S


def warning_signals(warnings: Iterable[Mapping[str, Any]], now: float) -> list[Signal]:
    """Tier 1: storm warnings in force for our area."""
    signals = []
    for warning in warnings:
        if not warning.get("ours") or warning.get("category") not in STORM_CATEGORIES:
            continue
        if not in_force(warning, now):
            continue
        start, end = warning_window(warning, now)
        evidence = f"{warning.get('product')}: {warning.get('title')}"
        signals.append(Signal(start, end, WARNING_P, (evidence,), "warning"))
    return signals


def precis_signals(periods: Iterable[Mapping[str, Any]]) -> list[Signal]:
    """Tier 2: précis periods forecasting a storm, scaled by their rain chance."""
    signals = []
    for period in periods:
        if not period.get("storm"):
            continue
        chance = period.get("rain_chance_pct")
        fraction = UNKNOWN_RAIN_CHANCE if chance is None else float(chance) / 100
        rain = "rain chance unknown" if chance is None else f"{chance:g}% chance of rain"
        evidence = f"BOM précis: {period.get('text') or 'storm icon'} ({rain})"
        p = FORECAST_P * fraction
        signals.append(Signal(period["start"], period["end"], p, (evidence,), "forecast"))
    return signals


def model_signals(hours: Iterable[Mapping[str, Any]]) -> list[Signal]:
    """Tier 3: hours where the weather model shows convection."""
    signals = []
    for hour in hours:
        support, reasons = 0.0, []
        code = hour.get("weather_code")
        if code in THUNDER_CODES:
            support += 0.2
            reasons.append(f"thunderstorm code {code}")
        cape = hour.get("cape_j_per_kg")
        if cape is not None and cape >= CAPE_SOME:
            support += 0.1 if cape >= CAPE_HIGH else 0.05
            reasons.append(f"CAPE {cape:.0f} J/kg")
        gust = hour.get("wind_gust_kmh")
        if gust is not None and gust >= STRONG_GUST_KMH:
            support += 0.1
            reasons.append(f"gusts {gust:.0f} km/h")
        rain = hour.get("precipitation_probability_pct")
        if rain is not None and rain >= HIGH_RAIN_CHANCE_PCT and reasons:
            support += 0.05
            reasons.append(f"{rain:.0f}% chance of rain")
        if reasons:
            p = min(MODEL_MAX, support)
            evidence = "weather model: " + ", ".join(reasons)
            signals.append(Signal(hour["start"], hour["end"], p, (evidence,), "model"))
    return signals


def provider_signals(periods: Iterable[Mapping[str, Any]]) -> list[Signal]:
    """A storm provider's own per-period probability, taken as it is."""
    return [
        Signal(p["start"], p["end"], float(p["p"]), tuple(p.get("evidence") or ()), "provider")
        for p in periods
        if p.get("p")
    ]


def combine(signals: list[Signal], start: float, end: float) -> list[dict[str, Any]]:
    """Periods covering ``[start, end)``, each with its probability and evidence.

    Cut wherever a signal starts or ends; adjacent periods that say the same are
    merged, so a quiet horizon is one period with ``p`` 0.
    """
    cuts = sorted({start, end} | {t for s in signals for t in (s.start, s.end) if start < t < end})
    periods: list[dict[str, Any]] = []
    for a, b in pairwise(cuts):
        active = [s for s in signals if s.start < b and s.end > a]
        p = _probability(active)
        evidence = list(dict.fromkeys(e for s in active for e in s.evidence))
        if periods and periods[-1]["p"] == p and periods[-1]["evidence"] == evidence:
            periods[-1]["end"] = b
        else:
            periods.append({"start": a, "end": b, "p": p, "evidence": evidence})
    return periods


def _probability(active: list[Signal]) -> float:
    def peak(tier: str) -> float:
        return max((s.p for s in active if s.tier == tier), default=0.0)

    forecast, model = peak("forecast"), peak("model")
    supported = forecast + model if forecast > 0 else model
    return round(min(1.0, max(peak("warning"), peak("provider"), supported)), 3)
