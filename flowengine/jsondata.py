"""JSON text for stored data: fast (orjson), canonical (sorted keys), and strict.

Context values and archived plans are written on every tick, and the standard
encoder was the largest single cost of a month's backtest after the Modbus
exchanges. orjson is several times faster but writes NaN and infinity as
``null`` and refuses types it does not know (numpy scalars, huge integers);
so text holding a ``null`` is checked by the standard encoder, which refuses
NaN and infinity, and what orjson refuses is written by the standard encoder.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    """Compact JSON text with sorted keys; ValueError/TypeError if ``value`` is not JSON."""
    try:
        encoded = orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        return _standard(value)
    if b"null" in encoded:  # does a null stand for NaN or infinity? (raises if so)
        json.dumps(value, allow_nan=False, separators=(",", ":"))
    return encoded.decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def _standard(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False, separators=(",", ":"))
