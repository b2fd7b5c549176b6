"""Storm risk per period from warnings, the précis and the weather model."""

from __future__ import annotations

from typing import Any

from nodes.storm.risk import (
    Signal,
    combine,
    model_signals,
    precis_signals,
    provider_signals,
    warning_signals,
)

H = 3600.0
NOW = 1_768_456_800.0


def warning(**changes: Any) -> dict[str, Any]:
    return {
        "product": "IDQ21033",
        "title": "Severe Thunderstorm Warning",
        "category": "thunderstorm",
        "phase": "new",
        "areas": ["Southeast Coast"],
        "issued_at": NOW - 600,
        "expires_at": NOW + 3 * H,
        "ours": True,
        **changes,
    }


def hour(start: float, **values: Any) -> dict[str, Any]:
    return {"start": start, "end": start + H, **values}


def test_only_storm_warnings_in_force_for_our_area_count() -> None:
    assert [s.p for s in warning_signals([warning()], NOW)] == [0.9]
    assert warning_signals([warning(ours=False)], NOW) == []
    assert warning_signals([warning(phase="cancelled")], NOW) == []
    assert warning_signals([warning(phase="final")], NOW) == []
    assert warning_signals([warning(expires_at=NOW)], NOW) == []
    assert warning_signals([warning(category="flood")], NOW) == []
    assert len(warning_signals([warning(category="cyclone")], NOW)) == 1


def test_a_warning_without_expiry_holds_six_hours_from_issue() -> None:
    (signal,) = warning_signals([warning(expires_at=None)], NOW)
    assert signal.end == NOW - 600 + 6 * H


def test_precis_storms_scale_with_the_rain_chance() -> None:
    periods: list[dict[str, Any]] = [
        {"start": NOW, "end": NOW + H, "storm": True, "rain_chance_pct": 70, "text": "Storm."},
        {"start": NOW + H, "end": NOW + 2 * H, "storm": True, "rain_chance_pct": None},
        {"start": NOW + 2 * H, "end": NOW + 3 * H, "storm": False, "rain_chance_pct": 90},
    ]
    assert [round(s.p, 3) for s in precis_signals(periods)] == [0.42, 0.3]


def test_model_support_counts_thunder_cape_gusts_and_rain() -> None:
    (strong,) = model_signals(
        [
            hour(
                NOW,
                weather_code=95,
                cape_j_per_kg=2760,
                wind_gust_kmh=78.5,
                precipitation_probability_pct=80,
            )
        ]
    )
    assert strong.p == 0.3  # capped
    assert "thunderstorm code 95" in strong.evidence[0] and "CAPE 2760 J/kg" in strong.evidence[0]
    (some,) = model_signals([hour(NOW, weather_code=2, cape_j_per_kg=1200)])
    assert some.p == 0.05
    # Rain chance alone is not convection.
    assert model_signals([hour(NOW, weather_code=61, precipitation_probability_pct=90)]) == []


def test_model_support_adds_to_a_forecast_storm_only_where_it_is() -> None:
    forecast = Signal(NOW, NOW + 8 * H, 0.42, ("précis",), "forecast")
    model = Signal(NOW + 2 * H, NOW + 3 * H, 0.3, ("model",), "model")
    periods = combine([forecast, model], NOW, NOW + 10 * H)
    assert [(p["start"] - NOW, p["end"] - NOW, p["p"]) for p in periods] == [
        (0, 2 * H, 0.42),
        (2 * H, 3 * H, 0.72),
        (3 * H, 8 * H, 0.42),
        (8 * H, 10 * H, 0.0),
    ]
    assert periods[1]["evidence"] == ["précis", "model"]


def test_the_model_alone_is_low_and_a_warning_wins() -> None:
    model = Signal(NOW, NOW + H, 0.3, ("model",), "model")
    warned = Signal(NOW, NOW + H, 0.9, ("warning",), "warning")
    assert combine([model], NOW, NOW + H)[0]["p"] == 0.3
    assert combine([model, warned], NOW, NOW + H)[0]["p"] == 0.9


def test_a_quiet_horizon_is_one_period_at_zero() -> None:
    assert combine([], NOW, NOW + 48 * H) == [
        {"start": NOW, "end": NOW + 48 * H, "p": 0.0, "evidence": []}
    ]


def test_a_provider_s_own_periods_are_taken_as_they_are() -> None:
    (signal,) = provider_signals(
        [
            {"start": NOW, "end": NOW + H, "p": 0.5, "evidence": ["x"]},
            {"start": NOW + H, "end": NOW + 2 * H, "p": 0.0, "evidence": []},
        ]
    )
    assert (signal.p, signal.evidence, signal.tier) == (0.5, ("x",), "provider")
