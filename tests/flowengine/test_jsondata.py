"""Stored JSON is canonical and strict: what the standard encoder refuses stays refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flowengine import jsondata


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"soc": [0.5, math.nan]}])
def test_nan_and_infinity_are_refused_not_written_as_null(bad: object) -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        jsondata.dumps(bad)


def test_objects_that_are_not_json_are_refused() -> None:
    with pytest.raises(TypeError):
        jsondata.dumps({"when": object()})


def test_keys_sorted_nulls_kept_and_the_text_round_trips() -> None:
    value = {"b": None, "a": [1, 2.5, "x"], 3: True}
    text = jsondata.dumps(value)
    assert text == '{"3":true,"a":[1,2.5,"x"],"b":null}'
    assert jsondata.loads(text) == {"3": True, "a": [1, 2.5, "x"], "b": None}


def test_what_orjson_refuses_the_standard_encoder_writes() -> None:
    assert jsondata.loads(jsondata.dumps({"w": np.float64(1.5), "big": 2**70})) == {
        "w": 1.5,
        "big": 2**70,
    }
