"""The load's temperature term, on households whose watts per degree are known."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from nodes.forecast import predict_load
from nodes.forecast.temperature import RIDGE, Sample, degrees, fit_temperature

TZ = ZoneInfo("Australia/Brisbane")
#: Monday 2026-02-02 00:00 local.
MONDAY = datetime(2026, 2, 2, tzinfo=TZ).timestamp()
START = int(MONDAY + 28 * 86400)  # four weeks of history, then Monday again
FLAT = [400.0] * 48


def habit(t: float) -> float:
    """Weekdays: 300 W, 2 kW 17:00-21:00. Weekends: 1 kW 08:00-18:00, else 300 W."""
    local = datetime.fromtimestamp(t, TZ)
    if local.weekday() >= 5:
        return 1000.0 if 8 <= local.hour < 18 else 300.0
    return 2000.0 if 17 <= local.hour < 21 else 300.0


def alternating(t: float) -> float:
    """Mild (22 °C) and hot (30 °C) days by turns."""
    return 30.0 if int((t - MONDAY) // 86400) % 2 else 22.0


def history(
    weather: dict[int, float], cool: float = 50.0, heat: float = 0.0
) -> list[tuple[float, float]]:
    """The habit plus ``cool`` W per degree above 24 °C and ``heat`` W per degree below 18."""
    return [(t, habit(t) + cool * degrees(c)[0] + heat * degrees(c)[1]) for t, c in weather.items()]


def past_weather(temperature: object = alternating) -> dict[int, float]:
    assert callable(temperature)
    return {t: float(temperature(t)) for t in range(START - 28 * 86400, START, 1800)}


def ahead(temperature_c: float, slots: int = 96) -> dict[int, float]:
    return {START + i * 1800: temperature_c for i in range(slots)}


def test_degrees_above_and_below_the_comfortable_band() -> None:
    assert degrees(30.0) == (6.0, 0.0)
    assert degrees(21.0) == (0.0, 0.0)
    assert degrees(10.0) == (0.0, 8.0)


def test_the_fit_finds_the_watts_per_degree_less_the_ridge() -> None:
    """A week of one slot's samples, 4 mild and 3 hot days: the cooling degrees scatter by
    sum((c - mean)^2) = 4 (18/7)^2 + 3 (24/7)^2 = 3024/49 per slot of the day."""
    samples = [
        Sample(
            k % 48,
            False,
            300.0 + 50.0 * (6.0 if (k // 48) % 2 else 0.0),
            30.0 if (k // 48) % 2 else 22.0,
        )
        for k in range(7 * 48)
    ]
    term = fit_temperature(samples)
    assert term is not None
    spread = 48 * 3024 / 49
    assert term.cool_w_per_degree == pytest.approx(50.0 * spread / (spread + RIDGE))
    assert term.heat_w_per_degree == 0.0
    assert term.watts(10, 32.0) == pytest.approx(term.cool_w_per_degree * 8)
    # Without a temperature: the week's mean degrees at that slot (3 hot days of 7).
    assert term.watts(10, None) == pytest.approx(term.cool_w_per_degree * 18 / 7)


def test_no_term_from_under_a_week_or_from_a_constant_temperature() -> None:
    short = [Sample(k % 48, False, 300.0, 30.0 if k % 96 >= 48 else 22.0) for k in range(6 * 48)]
    assert fit_temperature(short) is None
    constant = [Sample(k % 48, False, 300.0, 30.0) for k in range(14 * 48)]
    assert fit_temperature(constant) is None


def test_a_hotter_forecast_adds_the_learned_watts_per_degree() -> None:
    weather = past_weather()
    past = history(weather)
    at_28 = predict_load(past, START, 96, TZ, FLAT, temperatures=weather | ahead(28.0))
    at_32 = predict_load(past, START, 96, TZ, FLAT, temperatures=weather | ahead(32.0))
    # 4 more degrees at about 50 W each (a little less: the ridge), once the last hours'
    # level (which scales the first few hours) has died away.
    for k in range(12, 96):
        assert at_32[k] - at_28[k] == pytest.approx(200.0, rel=0.01)
    # And close to the truth: Monday noon and 18:00 on a 32 °C day.
    assert at_32[24] == pytest.approx(300.0 + 8 * 50.0, rel=0.08)
    assert at_32[36] == pytest.approx(2000.0 + 8 * 50.0, rel=0.05)


def test_a_colder_forecast_adds_heating() -> None:
    def cold_or_mild(t: float) -> float:
        return 10.0 if int((t - MONDAY) // 86400) % 2 else 20.0

    weather = past_weather(cold_or_mild)
    past = history(weather, cool=0.0, heat=80.0)
    at_12 = predict_load(past, START, 48, TZ, FLAT, temperatures=weather | ahead(12.0, 48))
    at_8 = predict_load(past, START, 48, TZ, FLAT, temperatures=weather | ahead(8.0, 48))
    assert at_8[24] - at_12[24] == pytest.approx(4 * 80.0, rel=0.02)


def test_unchanged_without_temperatures_on_both_sides() -> None:
    weather = past_weather()
    past = history(weather)
    plain = predict_load(past, START, 96, TZ, FLAT)
    assert predict_load(past, START, 96, TZ, FLAT, temperatures={}) == plain
    assert predict_load(past, START, 96, TZ, FLAT, temperatures=weather) == plain  # none ahead
    assert predict_load(past, START, 96, TZ, FLAT, temperatures=ahead(32.0)) == plain  # none past


def test_a_household_that_ignores_the_weather_gets_no_term() -> None:
    weather = past_weather()
    past = history(weather, cool=0.0)
    plain = predict_load(past, START, 96, TZ, FLAT)
    hot = predict_load(past, START, 96, TZ, FLAT, temperatures=weather | ahead(35.0))
    assert hot == plain
