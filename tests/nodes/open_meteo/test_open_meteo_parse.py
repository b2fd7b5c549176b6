"""Open-Meteo payloads to the weather shape: times both ways, preceding-hour periods, checks."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest

from flowengine import VirtualClock
from nodes.inputs.provider import InvalidPayload
from nodes.open_meteo import OpenMeteoWeather
from tests.nodes.open_meteo.fake_open_meteo import payload

REAL = "emhass_openmeteo_forecast_minutely15_2025-02-24.json"
UNIXTIME = "brisbane_hourly_unixtime.json"
LOCAL_ISO = "brisbane_hourly_local_iso.json"
NOW = datetime(2026, 1, 15, 6, 0, tzinfo=UTC).timestamp()


def provider() -> OpenMeteoWeather:
    return OpenMeteoWeather({"site": {"latitude": -27.47, "longitude": 153.03}}, VirtualClock(NOW))


def read(raw: Any) -> dict[str, Any]:
    weather = provider()
    weather.check(raw)
    issued_at, data = weather.parse(raw, NOW)
    assert issued_at == NOW
    return data


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def test_the_real_minutely_15_response_with_a_timezone() -> None:
    hours = read(payload(REAL))["hours"]
    assert len(hours) == 288
    # "2025-02-24T00:00" in Europe/Paris (utc_offset_seconds 3600) is 23:00 UTC the day before,
    # and the value describes the 15 minutes before it.
    first = hours[0]
    assert first["end"] == epoch(2025, 2, 23, 23, 0)
    assert first["start"] == first["end"] - 900
    assert first["temperature_c"] == -15.4
    assert first["cloud_cover_pct"] == 55
    # It asked for other variables: what we use and it lacks is null, not guessed.
    assert first["wind_gust_kmh"] is None
    assert first["precipitation_mm"] is None  # "rain" is not all precipitation
    assert first["shortwave_w_m2"] is None  # only *_instant, not the preceding-period mean
    assert all(b["start"] == a["end"] for a, b in pairwise(hours))


def test_values_describe_the_hour_before_their_timestamp() -> None:
    hours = read(payload(UNIXTIME))["hours"]
    assert len(hours) == 72
    stamped_0700 = next(h for h in hours if h["end"] == epoch(2026, 1, 15, 7, 0))
    assert stamped_0700["start"] == epoch(2026, 1, 15, 6, 0)
    assert stamped_0700["weather_code"] == 95
    assert stamped_0700["cape_j_per_kg"] == 2760.0
    assert stamped_0700["wind_gust_kmh"] == 78.5
    assert stamped_0700["precipitation_probability_pct"] == 80
    assert stamped_0700["precipitation_mm"] == 11.8
    assert set(stamped_0700) == {
        "start",
        "end",
        "cloud_cover_pct",
        "temperature_c",
        "wind_gust_kmh",
        "precipitation_mm",
        "precipitation_probability_pct",
        "cape_j_per_kg",
        "weather_code",
        "shortwave_w_m2",
    }


def test_local_iso_times_and_unixtime_give_the_same_hours() -> None:
    assert read(payload(LOCAL_ISO)) == read(payload(UNIXTIME))


def test_the_protocols_example_with_a_brisbane_timezone() -> None:
    raw = {
        "latitude": -27.5,
        "longitude": 153.0,
        "utc_offset_seconds": 36000,
        "timezone": "Australia/Brisbane",
        "hourly_units": {
            "time": "iso8601",
            "shortwave_radiation": "W/m²",
            "cape": "J/kg",
            "precipitation_probability": "%",
            "weather_code": "wmo code",
        },
        "hourly": {
            "time": ["2026-01-15T14:00", "2026-01-15T15:00", "2026-01-15T16:00"],
            "shortwave_radiation": [812.0, 640.0, 402.0],
            "cape": [1450.0, 2210.0, 2630.0],
            "precipitation_probability": [20, 45, 70],
            "weather_code": [2, 80, 95],
        },
    }
    hours = read(raw)["hours"]
    # 11:00 local is 04:00 UTC: the 812 W/m² is the mean of 03:00-04:00 UTC.
    assert (hours[0]["start"], hours[0]["end"]) == (epoch(2026, 1, 15, 3), epoch(2026, 1, 15, 4))
    assert hours[0]["shortwave_w_m2"] == 812.0
    assert hours[2]["weather_code"] == 95
    assert hours[0]["temperature_c"] is None


def broken(change: str) -> dict[str, Any]:
    raw = payload(UNIXTIME)
    hourly, units = raw["hourly"], raw["hourly_units"]
    if change == "fahrenheit":
        units["temperature_2m"] = "°F"
        hourly["temperature_2m"] = [t * 9 / 5 + 32 for t in hourly["temperature_2m"]]
    elif change == "wind in m/s":
        units["wind_gusts_10m"] = "m/s"
    elif change == "no unit":
        del units["cape"]
    elif change == "short column":
        hourly["cape"] = hourly["cape"][:-1]
    elif change == "cloud over 100":
        hourly["cloud_cover"][5] = 140
    elif change == "negative rain":
        hourly["precipitation"][3] = -1.0
    elif change == "no hours":
        for column in hourly.values():
            column.clear()
    elif change == "no hourly":
        del raw["hourly"]
    elif change == "gap":
        hourly["time"][10] += 1800
    elif change == "text time":
        hourly["time"][2] = "soon"
    return raw


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("fahrenheit", "hourly_units.temperature_2m: unexpected unit '°F'"),
        ("wind in m/s", "hourly_units.wind_gusts_10m: unexpected unit 'm/s'"),
        ("no unit", "hourly_units.cape: unexpected unit None"),
        ("short column", "payload.hourly.cape: 71 values for 72 times"),
        ("cloud over 100", "payload.hourly.cloud_cover[5]: 140 is greater than the maximum of 100"),
        ("negative rain", "payload.hourly.precipitation[3]: -1.0 is less than the minimum of 0"),
        ("no hours", "payload.hourly.time: [] should be non-empty"),
        ("no hourly", "no hourly (or minutely_15) forecast"),
        ("gap", "payload.hourly.time[10]: 5400 s after the one before, expected 3600 s"),
        ("text time", "payload.hourly.time[2]: 'soon' is not an ISO 8601 time"),
    ],
)
def test_unusable_payloads_say_what_and_where(change: str, says: str) -> None:
    with pytest.raises(InvalidPayload) as caught:
        read(broken(change))
    assert says in str(caught.value)


def test_an_error_object_is_surfaced_with_its_reason() -> None:
    with pytest.raises(InvalidPayload, match="open_meteo error: Cannot initialize WeatherVariable"):
        read(
            {"error": True, "reason": "Cannot initialize WeatherVariable from invalid String value"}
        )


def test_the_request_asks_for_unixtime_and_the_hourly_variables() -> None:
    params = provider().params()
    assert params == {
        "latitude": "-27.4700",
        "longitude": "153.0300",
        "hourly": "temperature_2m,cloud_cover,shortwave_radiation,precipitation,"
        "precipitation_probability,cape,weather_code,wind_gusts_10m",
        "timeformat": "unixtime",
        "forecast_days": 3,
    }
    assert "timezone" not in params
