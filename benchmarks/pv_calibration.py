"""What PV calibration does to the forecasts the plan is given, without running the flows.

For each erring sample scenario (``powermaster/backtest/builder.py``), as built and
with ``--pv-bias``'s skew (``powermaster/backtest/pv_bias.py``): factors are learned
each midnight, as ``forecast.calibrate`` learns them (``nodes/forecast/calibration.py``,
the default tuning), from the days before, pairing each half hour's forecast issued
as it began with the real PV; every second hour's issue is then scored 6 to 30 hours
ahead (where the plan's decisions are), as issued and calibrated: the mean absolute
error and the bias (forecast - real, W) over daylight half hours. Seconds, not minutes:
``backtest_capture.py --pv-calibration on`` runs the flows and gives capture.

    python benchmarks/pv_calibration.py [--only amber-2025-01]
"""

from __future__ import annotations

import argparse
from zoneinfo import ZoneInfo

from nodes.forecast.calibration import DAY, Calibration, Pair, Tuning, learn
from powermaster.backtest.builder import build_all
from powermaster.backtest.pv_bias import with_pv_bias
from powermaster.backtest.scenario import Scenario

#: Scored this far ahead (half hours): 6 to 30 hours.
AHEAD = range(12, 60)
EVERY = 4  # every second hour's issue


def scores(scenario: Scenario) -> tuple[float, float, float, float]:
    """(MAE raw, MAE calibrated, bias raw, bias calibrated), W."""
    zone, t0, tuning = ZoneInfo(scenario.timezone), scenario.start_epoch, Tuning()
    issues = scenario.forecasts or []
    pairs = [
        Pair(t0 + j * 1800, issue.pv_w[0], scenario.pv_w[j])
        for j, issue in enumerate(issues)
        if issue.pv_w
    ]
    learned: dict[int, Calibration] = {}
    raw: list[float] = []
    calibrated: list[float] = []
    for i in range(0, len(issues), EVERY):
        forecast = issues[i].pv_w or []
        day = int((t0 + i * 1800 - t0) // DAY)
        calibration = learned.setdefault(day, learn(pairs, t0 + day * DAY, zone, tuning))
        for k in AHEAD:
            j = i + k
            if k >= len(forecast) or j >= scenario.n_slots:
                break
            f, real = forecast[k], scenario.pv_w[j]
            if f < tuning.dark_w and real < tuning.dark_w:
                continue
            raw.append(f - real)
            calibrated.append(f * calibration.factor_at(t0 + j * 1800, zone) - real)
    n = max(1, len(raw))
    return (
        sum(map(abs, raw)) / n,
        sum(map(abs, calibrated)) / n,
        sum(raw) / n,
        sum(calibrated) / n,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only scenarios whose name starts with this")
    args = parser.parse_args()
    print(f"{'scenario':38} {'MAE raw':>8} {'MAE cal':>8} {'bias raw':>9} {'bias cal':>9}  (W)")
    for scenario in build_all("erring"):
        if args.only and not scenario.name.startswith(args.only):
            continue
        for variant in (scenario, with_pv_bias(scenario)):
            mae_raw, mae_cal, bias_raw, bias_cal = scores(variant)
            print(
                f"{variant.name:38} {mae_raw:8.0f} {mae_cal:8.0f} {bias_raw:+9.0f} {bias_cal:+9.0f}"
            )


if __name__ == "__main__":
    main()
