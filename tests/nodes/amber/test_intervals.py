"""Amber's interval list to Power Master prices, checked by hand against captured payloads."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from flowengine import VirtualClock
from nodes.amber.intervals import to_prices
from nodes.amber.prices import AmberPrices, decode
from nodes.inputs.provider import InvalidPayload
from tests.nodes.amber.fake_amber import payload


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def by_start(intervals: list[dict[str, Any]]) -> dict[float, dict[str, Any]]:
    return {i["start"]: i for i in intervals}


def checked(raw: Any) -> list[dict[str, Any]]:
    """Through the provider's schema check and parse, as the input node does it."""
    provider = AmberPrices({}, VirtualClock())
    provider.check(raw)
    issued_at, data = provider.parse(raw, 123.0)
    assert issued_at == 123.0
    return list(data["intervals"])


def test_a_spike_day_and_a_morning_when_exporting_cost_money() -> None:
    prices = by_start(checked(payload("day_20250201")))
    assert len(prices) == 48
    spike = prices[at("2025-02-01T08:00")]
    # general perKwh 1964.72278 c, feedIn perKwh -1762.87141 c (negative: we earn it)
    assert spike["import_price"] == pytest.approx(19.6472278)
    assert spike["export_price"] == pytest.approx(17.6287141)
    assert (spike["spike"], spike["descriptor"], spike["type"]) == ("spike", "spike", "actual")
    assert spike["end"] - spike["start"] == 1800
    dawn = prices[at("2025-01-31T21:00")]
    # feedIn perKwh +2.93287 c: exporting costs money, so what we earn is below zero
    assert dawn["export_price"] == pytest.approx(-0.0293287)
    assert dawn["import_price"] == pytest.approx(0.2233806)
    assert dawn["estimate"] is False and dawn["renewables"] == 90.414


def test_the_order_of_the_list_does_not_matter() -> None:
    raw = payload("current_30min")
    shuffled = list(raw)
    random.Random(7).shuffle(shuffled)
    assert checked(shuffled) == checked(raw)
    starts = [i["start"] for i in checked(shuffled)]
    assert starts == sorted(starts)


def test_controlled_load_prices_are_not_used() -> None:
    raw = payload("current_30min")
    for item in raw:
        if item["channelType"] == "controlledLoad":
            item["perKwh"] = 4999.0
            item.pop("advancedPrice", None)
    assert checked(raw) == checked(payload("current_30min"))


def test_a_slot_without_a_feed_in_price_is_left_out() -> None:
    raw = payload("current_30min")
    lonely = "2025-04-09T18:00:01Z"
    raw = [i for i in raw if not (i["channelType"] == "feedIn" and i["startTime"] == lonely)]
    starts = {i["start"] for i in checked(raw)}
    assert len(starts) == 96
    assert at("2025-04-09T18:00") not in starts
    assert at("2025-04-09T18:30") in starts


def test_a_forecast_without_amber_s_own_prediction_uses_per_kwh() -> None:
    raw = payload("current_5min")
    for item in raw:
        if item["startTime"] == "2025-04-09T17:25:01Z" and item["channelType"] != "feedIn":
            del item["advancedPrice"]
    slot = by_start(checked(raw))[at("2025-04-09T17:25")]
    assert slot["import_price"] == pytest.approx(0.2363095)  # perKwh 23.63095
    assert slot["export_price"] == pytest.approx(0.0853128)  # -advancedPrice.predicted -8.53128
    assert slot["type"] == "forecast" and slot["estimate"] is True


def test_a_free_slot_is_zero_not_minus_zero() -> None:
    raw = payload("current_5min")
    for item in raw:
        if item["channelType"] == "feedIn" and item["type"] == "ActualInterval":
            item["perKwh"] = 0.0
    first = checked(raw)[0]
    assert first["type"] == "actual"
    assert json.dumps(first["export_price"]) == "0.0"


def test_two_prices_for_one_slot_are_refused() -> None:
    raw = payload("current_5min")
    raw.append(dict(raw[0], perKwh=99.0))
    with pytest.raises(InvalidPayload, match=r"payload\[39\]: a second general interval"):
        to_prices(raw)


def test_a_start_that_does_not_fit_the_end_is_refused() -> None:
    raw = payload("current_5min")
    raw[2]["startTime"] = "2025-04-09T16:00:01Z"
    with pytest.raises(InvalidPayload, match=r"payload\[2\]: startTime 2025-04-09T16:00:01Z"):
        to_prices(raw)


def test_nan_is_not_a_price() -> None:
    with pytest.raises(InvalidPayload, match="NaN where a number belongs"):
        decode('[{"perKwh": NaN}]')
