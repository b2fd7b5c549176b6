"""The predictor against the real sample household: it must beat the naive forecasts."""

from __future__ import annotations

import csv
from datetime import datetime
from statistics import mean

from nodes.forecast import DEFAULT_PROFILE, predict_load
from nodes.replay.profile import DATA_DIR

TZ = "Australia/Brisbane"


def household() -> list[tuple[int, float]]:
    """(slot start epoch, mean W) of the sample household: W = kWh per half hour * 2000."""
    with (DATA_DIR / "home_brisbane_30min.csv").open() as f:
        return [
            (
                int(datetime.fromisoformat(row["interval_start"]).timestamp()),
                float(row["load_kwh"]) * 2000,
            )
            for row in csv.DictReader(f)
        ]


def test_predictions_beat_a_flat_mean_and_the_fallback_profile() -> None:
    rows = household()
    first = next(
        i
        for i, (t, _) in enumerate(rows)
        if t >= datetime.fromisoformat("2025-03-03T00:00:00+10:00").timestamp()
    )
    ours, flat, fallback = [], [], []
    for issue in range(first, first + 28 * 48, 6):  # every 3 hours for four weeks
        start, past = rows[issue][0], rows[issue - 35 * 48 : issue]
        actual = [w for _, w in rows[issue : issue + 96]]
        predicted = predict_load(past, start, 96, TZ, DEFAULT_PROFILE)
        profile = predict_load([], start, 96, TZ, DEFAULT_PROFILE)
        level = mean(w for _, w in past[-7 * 48 :])
        for k, w in enumerate(actual):
            ours.append(abs(predicted[k] - w))
            flat.append(abs(level - w))
            fallback.append(abs(profile[k] - w))
    ours_mae, flat_mae, fallback_mae = mean(ours), mean(flat), mean(fallback)
    assert ours_mae < 0.5 * flat_mae, (ours_mae, flat_mae)
    assert ours_mae < 0.5 * fallback_mae, (ours_mae, fallback_mae)
