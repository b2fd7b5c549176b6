"""Monthly backtest scenarios from the sample data, by the shared data conventions.

The conventions (load W = kWh x 2000, hourly PV held for both half-hours, Amber's
feed-in sign, the QLD wholesale-to-retail formula, the default battery and grid) are
the ones the held-out checks use too, so every number here must follow them exactly:
a benchmark is only comparable if it is built the same way.

``python -m powermaster.backtest.builder OUTDIR [--kind perfect|erring|both] [--seed N]``
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from flowengine.atomic import write_atomic
from nodes.replay.profile import DATA_DIR
from powermaster.backtest.scenario import ForecastIssue, Scenario, ScenarioBattery, ScenarioGrid

TIMEZONE = "Australia/Brisbane"
SLOT = 1800
SLOTS_PER_DAY = 48
HISTORY_DAYS = 28
QLD_SHIFT = timedelta(days=364)  # 52 whole weeks: weekdays line up
BATTERY = ScenarioBattery(
    capacity_kwh=10.4,
    max_charge_w=5000.0,
    max_discharge_w=5000.0,
    charge_efficiency=0.95,
    discharge_efficiency=0.95,
    soc_min=0.10,
    soc_max=1.00,
    soc_initial=0.5,
)
GRID = ScenarioGrid(max_import_w=15000.0, max_export_w=5000.0)

Kind = Literal["perfect", "erring"]
Prices = dict[int, tuple[float, float]]  # slot start epoch -> (import, export) $/kWh


def network_price(local: datetime) -> float:
    """QLD network charge ($/kWh) by local time of day."""
    if 16 <= local.hour < 21:
        return 0.21
    if 11 <= local.hour < 16:
        return 0.035
    return 0.085


def retail_prices(rrp_per_mwh: float, local: datetime) -> tuple[float, float]:
    """Wholesale RRP to (import, export) $/kWh: losses, fees and GST on import."""
    spot = rrp_per_mwh / 1000.0
    return (spot * 1.04 + network_price(local) + 0.02) * 1.1, spot - 0.005


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


@cache
def load_w() -> dict[int, float]:
    rows = _rows("home_brisbane_30min.csv")
    return {_epoch(r["interval_start"]): float(r["load_kwh"]) * 2000.0 for r in rows}


@cache
def pv_w() -> dict[int, float]:
    out: dict[int, float] = {}
    for r in _rows("pv_brisbane_2025_hourly.csv"):
        t, w = _epoch(r["interval_start"]), float(r["pv_kw"]) * 1000.0
        out[t] = out[t + SLOT] = w  # an hourly average holds for both half-hours
    return out


@cache
def amber_prices() -> Prices:
    return {
        _epoch(r["interval_start"]): (
            float(r["general_per_kwh_c"]) / 100.0,
            -float(r["feed_in_per_kwh_c"]) / 100.0,  # Amber: negative feed-in = paid
        )
        for r in _rows("amber_sa_30min.csv")
    }


def _qld(name: str, shift: timedelta) -> Prices:
    tz = ZoneInfo(TIMEZONE)
    out: Prices = {}
    for r in _rows(name):
        local = datetime.fromisoformat(r["interval_start"]).astimezone(tz) + shift
        out[int(local.timestamp())] = retail_prices(float(r["rrp_aud_per_mwh"]), local)
    return out


@cache
def qld_shifted_prices() -> Prices:
    """QLD 2024 moved +364 days onto 2025 (weekdays kept)."""
    return _qld("aemo_qld1_2024_30min.csv", QLD_SHIFT)


@cache
def qld_real_prices() -> Prices:
    return _qld("aemo_qld1_2025_30min.csv", timedelta(0))


# Scenario name prefix -> its price source (erring forecasts look a week back in it).
SOURCES: dict[str, Callable[[], Prices]] = {
    "amber-": amber_prices,
    "qld-shifted-": qld_shifted_prices,
    "qld-real-": qld_real_prices,
}


def _covered_runs(prices: Prices) -> list[tuple[date, date]]:
    """Runs of whole local days (first, last inclusive) with load, PV and prices for every slot."""
    tz = ZoneInfo(TIMEZONE)
    load, pv = load_w(), pv_w()
    days = sorted({datetime.fromtimestamp(t, tz).date() for t in prices})
    runs: list[tuple[date, date]] = []
    for day in days:
        t0 = int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())
        slots = range(t0, t0 + SLOTS_PER_DAY * SLOT, SLOT)
        if not all(t in prices and t in load and t in pv for t in slots):
            continue
        if runs and runs[-1][1] == day - timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _months(first: date, last: date) -> Iterator[tuple[date, date, bool]]:
    """Split a run of days by calendar month: (first, last, whole_month)."""
    day = first
    while day <= last:
        nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = min(last, nxt - timedelta(days=1))
        yield day, end, day.day == 1 and end == nxt - timedelta(days=1)
        day = nxt


def build_scenario(name: str, first: date, last: date, prices: Prices) -> Scenario:
    """One scenario over whole local days first..last (inclusive), perfect foresight."""
    tz = ZoneInfo(TIMEZONE)
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    t0 = int(start.timestamp())
    n = ((last - first).days + 1) * SLOTS_PER_DAY
    times = [t0 + i * SLOT for i in range(n)]
    load, pv = load_w(), pv_w()
    return Scenario(
        name=name,
        timezone=TIMEZONE,
        start=start,
        slot_minutes=SLOT // 60,
        import_price=[round(prices[t][0], 7) for t in times],
        export_price=[round(prices[t][1], 7) for t in times],
        pv_w=[round(pv[t], 4) for t in times],
        load_w=[round(load[t], 4) for t in times],
        battery=BATTERY,
        grid=GRID,
        forecasts=None,
        history=_history(t0),
    )


def _history(t0: int) -> dict[str, list[float]] | None:
    """Up to HISTORY_DAYS of real load and PV ending at t0 (each its available tail)."""
    out: dict[str, list[float]] = {}
    for key, series in (("load_w", load_w()), ("pv_w", pv_w())):
        tail: list[float] = []
        for k in range(1, HISTORY_DAYS * SLOTS_PER_DAY + 1):
            t = t0 - k * SLOT
            if t not in series:
                break
            tail.append(round(series[t], 4))
        if tail:
            out[key] = tail[::-1]
    return out or None


def perfect_scenarios() -> list[Scenario]:
    """Amber months (partial April too), full QLD-shifted months, each real 2025 window."""
    out: list[Scenario] = []
    for first, last in _covered_runs(amber_prices()):
        for a, b, whole in _months(first, last):
            suffix = "" if whole else f"-{a.day:02d}-{b.day:02d}"
            out.append(build_scenario(f"amber-{a:%Y-%m}{suffix}", a, b, amber_prices()))
    for first, last in _covered_runs(qld_shifted_prices()):
        for a, b, whole in _months(first, last):
            if whole:
                out.append(build_scenario(f"qld-shifted-{a:%Y-%m}", a, b, qld_shifted_prices()))
    for first, last in _covered_runs(qld_real_prices()):
        out.append(build_scenario(f"qld-real-{first:%Y-%m-%d}", first, last, qld_real_prices()))
    return out


#: Where ``sample_scenario`` starts by default: a summer Monday on Amber SA's prices, whose
#: week holds a price spike and a day of negative midday prices.
SAMPLE_FIRST = date(2025, 2, 3)


def sample_scenario(
    days: int, first: date = SAMPLE_FIRST, kind: Kind = "erring", seed: int = 0
) -> Scenario:
    """A ready scenario of ``days`` whole days from ``first`` on the shipped sample data
    (Amber SA prices, the Brisbane home's load and PV): ``power-master backtest --sample``.
    ``ValueError`` naming the days the sample data covers when it does not cover these."""
    if days < 1:
        raise ValueError(f"a sample needs at least one day, not {days}")
    last = first + timedelta(days=days - 1)
    runs = _covered_runs(amber_prices())
    if not any(a <= first and last <= b for a, b in runs):
        covered = ", ".join(f"{a} to {b}" for a, b in runs)
        raise ValueError(f"the sample data does not cover {first} to {last}; it covers {covered}")
    scenario = build_scenario(f"sample-amber-{first}-{days}d", first, last, amber_prices())
    return with_erring_forecasts(scenario, seed) if kind == "erring" else scenario


def _pv_sigma(lead_h: float) -> float:
    """Relative PV error: ~5 % up to an hour ahead, growing to ~35 % at 36 h."""
    return 0.05 + 0.30 * min(max(lead_h - 1.0, 0.0), 35.0) / 35.0


#: The standard normal's 90th percentile: P10 and P90 lie this many sigmas from P50.
Z90 = 1.2815516


def pv_bands(p50: float, sigma: float) -> tuple[float, float]:
    """(P10, P90) of the truth behind an erring forecast ``p50`` = truth x (1 + sigma z),
    z ~ N(0, 1): the truth is below ``p50 / (1 + Z90 sigma)`` exactly when z > Z90, one
    time in ten whatever the truth, and above ``p50 / (1 - Z90 sigma)`` one time in ten.
    (sigma stays under 0.36, so 1 - Z90 sigma > 0.5: P90 is at most about 1.8 x P50.)"""
    return p50 / (1.0 + Z90 * sigma), p50 / (1.0 - Z90 * sigma)


def _week_ago(scenario: Scenario, prior: Prices | None) -> list[tuple[float, float] | None]:
    """Real (import, export) a week before each slot; None where nothing real is known."""
    week = 7 * 86400 // scenario.slot_seconds
    t0 = int(scenario.start_epoch)
    out: list[tuple[float, float] | None] = []
    for j in range(scenario.n_slots):
        if j >= week:
            out.append((scenario.import_price[j - week], scenario.export_price[j - week]))
        else:
            out.append((prior or {}).get(t0 + (j - week) * scenario.slot_seconds))
    return out


def erring_forecasts(
    scenario: Scenario, seed: int, *, horizon_h: float = 48.0, prior: Prices | None = None
) -> list[ForecastIssue]:
    """Forecasts that err (shared data README), one issue per slot, deterministic per seed.

    PV = truth x (1 + e), e ~ N(0, sigma(lead)) blended from a per-day factor (a bias kept
    across issues plus a per-issue revision) and per-slot noise, so errors are correlated
    within a day; each issue gives the PV's spread too (``pv_p10_w``, ``pv_p90_w``: the
    truth's 10th and 90th percentiles given the forecast, ``pv_bands``), as Solcast does.
    Prices beyond the current slot drift towards the real price a week earlier (``prior``:
    real prices before the start; by default the name's source), weight lead/36 h; spikes
    are hidden beyond an hour. Load is never given.
    """
    if prior is None:
        prior = next((f() for p, f in SOURCES.items() if scenario.name.startswith(p)), None)
    rng = random.Random(f"{seed}/{scenario.name}")
    n, h = scenario.n_slots, scenario.slot_hours
    horizon = max(1, round(horizon_h / h))
    tz = ZoneInfo(scenario.timezone)
    first = scenario.start.astimezone(tz).date()
    day = [(scenario.slot_start(j).date() - first).days for j in range(n)]
    day_bias = [rng.gauss(0.0, 1.0) for _ in range(day[-1] + 1)]
    imp, exp = scenario.import_price, scenario.export_price
    med_imp, med_exp = statistics.median(imp), statistics.median(exp)
    spike = [p > 3 * med_imp or p > 1.0 for p in imp]
    ref = _week_ago(scenario, prior)
    issues = []
    for i in range(n):
        stop = min(n, i + horizon)
        revision: dict[int, float] = {}
        f_imp, f_exp, f_pv = [imp[i]], [exp[i]], []
        f_p10: list[float] = []
        f_p90: list[float] = []
        for j in range(i, stop):
            lead = (j - i) * h
            d = day[j]
            if d not in revision:
                revision[d] = rng.gauss(0.0, 1.0)
            z = 0.8 * (0.6 * day_bias[d] + 0.8 * revision[d]) + 0.6 * rng.gauss(0.0, 1.0)
            sigma = _pv_sigma(lead)
            p50 = max(0.0, scenario.pv_w[j] * (1.0 + sigma * z))
            p10, p90 = pv_bands(p50, sigma)
            f_pv.append(round(p50, 1))
            f_p10.append(round(p10, 1))
            f_p90.append(round(p90, 1))
            if j == i:
                continue
            r = ref[j]
            if spike[j] and lead > 1.0:
                pi, pe = r if r is not None else (med_imp, med_exp)
            else:
                w = min(1.0, lead / 36.0) if r is not None else 0.0
                ri, re_ = r if r is not None else (imp[j], exp[j])
                pi, pe = (1 - w) * imp[j] + w * ri, (1 - w) * exp[j] + w * re_
            f_imp.append(round(pi, 5))
            f_exp.append(round(pe, 5))
        issued = scenario.slot_start(i)
        issues.append(
            ForecastIssue(
                issued,
                import_price=f_imp,
                export_price=f_exp,
                pv_w=f_pv,
                pv_p10_w=f_p10,
                pv_p90_w=f_p90,
            )
        )
    return issues


def with_erring_forecasts(scenario: Scenario, seed: int) -> Scenario:
    """The same truth, named ``<name>-erring``, with erring forecasts instead of perfect ones."""
    return Scenario(
        name=f"{scenario.name}-erring",
        timezone=scenario.timezone,
        start=scenario.start,
        slot_minutes=scenario.slot_minutes,
        import_price=scenario.import_price,
        export_price=scenario.export_price,
        pv_w=scenario.pv_w,
        load_w=scenario.load_w,
        battery=scenario.battery,
        grid=scenario.grid,
        forecasts=erring_forecasts(scenario, seed),
        history=scenario.history,
        planner=scenario.planner,
    )


def build_all(kind: Kind = "perfect", seed: int = 0) -> list[Scenario]:
    """Every sample scenario, with perfect foresight or with forecasts that err."""
    base = perfect_scenarios()
    if kind == "perfect":
        return base
    if kind == "erring":
        return [with_erring_forecasts(s, seed) for s in base]
    raise ValueError(f"unknown kind {kind!r} (perfect or erring)")


def write_all(outdir: Path, kinds: Sequence[Kind], seed: int = 0) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in kinds:
        for s in build_all(kind, seed):
            path = outdir / f"{s.name}.json"
            write_atomic(path, s.to_json(), mode=0o644)
            paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the sample backtest scenarios as JSON.")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--kind", choices=("perfect", "erring", "both"), default="both")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    kinds: list[Kind] = ["perfect", "erring"] if args.kind == "both" else [args.kind]
    for path in write_all(args.outdir, kinds, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

__all__ = [
    "BATTERY",
    "GRID",
    "build_all",
    "build_scenario",
    "erring_forecasts",
    "main",
    "network_price",
    "perfect_scenarios",
    "pv_bands",
    "retail_prices",
    "with_erring_forecasts",
]
