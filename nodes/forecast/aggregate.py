"""The forecast aggregator: every input, on the plan's slots, as one planner input.

It reads the readings the input nodes keep in global context (prices, PV,
weather, the storm reserve), puts them on the plan's slots in the site's time
zone, and gives the planner's forecast payload. Prices that do not reach as far
as the horizon are filled from the static tariff when the site has one (those
slots are listed as ``estimated``), otherwise the horizon ends where the prices
end, which the planner takes in its stride.

PV is P50 blended towards P10 (``p10_blend``), further when being wrong costs
most (``p10_blend_high_stakes``): while a storm reserve is armed, or when the
horizon's price spread is wide (a missed solar charge then means buying at the
peak). ``pv_blend`` says how far, per plan. By default the plan leans 0.6 of the way
to P10. In the erring backtests (whose issues carry a P10/P90 true to their error:
``benchmarks/backtest_capture.py --p10-blend``) mean capture over four months rose with
the blend: 0.915 at none, 0.918 at 0.6, 0.921 on P10 itself (seed 0; seed 1: 0.918,
0.920, 0.921), seven month runs of eight gaining at 0.6. It stops short of P10: the
backtest's P10 is never below 0.69 x P50, where a real Solcast P10 under cloud can be a
sixth of it, and planning on that would be far more pessimistic than anything measured.
A provider with no spread (P10 = P50) is planned on as issued.
The PV reading is ``global.pv`` as issued, or the one ``pv_key`` names
(``pv_calibrated``: ``forecast.calibrate``'s, corrected to this site).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import ContextKey, Node
from nodes.forecast.align import align, align_fields, slot_start
from nodes.forecast.load import site_timezone
from nodes.tariff.tariff import Tariff

DEFAULTS: dict[str, float] = {
    "p10_blend": 0.6,  # always this far from P50 towards P10 (the module docstring says why)
    "p10_blend_high_stakes": 0.3,  # at least this far when a miss is costly
    "high_stakes_spread": 1.0,  # $/kWh between the dearest import and the cheapest export
}


class NoForecast(RuntimeError):
    """Nothing to plan on yet (no prices or no PV reading): the plan in force stays."""


def blend(p50: float, p10: float | None, weight: float) -> float:
    """P50 moved ``weight`` of the way towards P10 (never below zero)."""
    if p10 is None or weight <= 0:
        return p50
    return max(0.0, p50 - weight * (p50 - p10))


class ForecastAggregate(Node):
    type_name = "forecast.aggregate"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("prices", "the prices reading"),
        ContextKey("pv", "the PV forecast", "pv_key"),
        ContextKey("weather", "the weather reading"),
        ContextKey("storm", "the storm reading"),
        ContextKey("storm_reserve", "the storm reserve"),
    )
    description = "One planner input from the prices, PV, weather and storm readings, per slot."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "horizon_hours": {"type": "number", "minimum": 1, "maximum": 72},
            "slot_minutes": {"default": 30, "enum": [5, 15, 30, 60]},
            "p10_blend": {"type": "number", "minimum": 0, "maximum": 1},
            "p10_blend_high_stakes": {"type": "number", "minimum": 0, "maximum": 1},
            "high_stakes_spread": {"type": "number", "minimum": 0},
            "pv_key": {
                "type": "string",
                "default": "pv",
                "description": "global key of the PV reading (pv_calibrated: forecast.calibrate's)",
            },
        },
        "additionalProperties": False,
    }
    takes = "any message (a trigger); reads global prices, pv (or pv_key), weather, storm_reserve"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload {start, slot_seconds, import_price[], export_price[], pv_w[], "
        "load_w[] or null, issued_at, sources, estimated[], pv_blend}"
    }

    #: The last payload and what it was built from: the replan check asks every tick,
    #: and between two readings (and within a slot) the answer is the same.
    _last: tuple[tuple[Any, ...], dict[str, Any]] | None = None

    def process(self, msg: Message) -> Message:
        settings = self.ctx.settings
        now = self.ctx.clock.time()
        horizon = self.config.get("horizon_hours") or settings.get("planner", {}).get(
            "horizon_hours", 48
        )
        step = float(self.config["slot_minutes"]) * 60
        count = int(horizon * 3600 // step)
        start = slot_start(now, step, site_timezone(self.config, settings))
        prices, pv = self._reading("prices"), self._reading(self.config["pv_key"])
        if prices is None or pv is None:
            missing = " and ".join(k for k, r in (("prices", prices), ("PV", pv)) if r is None)
            raise NoForecast(f"no {missing} reading yet: the plan in force stays")
        storm = self.ctx.globals.peek("storm_reserve") or {}
        armed = bool(storm.get("armed") or storm.get("soc"))
        weather = self._reading("weather")
        key = (start, step, count, armed, *(_stamp(r) for r in (prices, pv, weather)))
        if self._last is None or self._last[0] != key:
            self._last = (key, self._aggregate(prices, pv, weather, start, step, count, armed))
        payload = _fresh_copy(self._last[1])
        payload["sources"] = self._sources(now)
        self.ctx.status(
            f"{len(payload['import_price'])} slots from {prices['provider']} + {pv['provider']}"
            + (f", {len(payload['estimated'])} estimated" if payload["estimated"] else "")
        )
        msg.payload = payload
        return msg

    def _aggregate(
        self,
        prices: dict[str, Any],
        pv: dict[str, Any],
        weather: dict[str, Any] | None,
        start: float,
        step: float,
        count: int,
        armed: bool,
    ) -> dict[str, Any]:
        """The payload (but its ``sources``) for these readings on these slots."""

        price = align_fields(
            prices["data"]["intervals"], ("import_price", "export_price"), start, step, count
        )
        buy, sell = price["import_price"], price["export_price"]
        estimated = self._fill_from_tariff(buy, sell, start, step)
        n = _known_length(buy, sell)
        if n == 0:
            raise NoForecast("the prices reading does not cover the slot we are in")
        periods = pv["data"]["periods"]
        solar = align_fields(periods, ("p50_w", "p10_w"), start, step, n)
        p50, p10 = solar["p50_w"], solar["p10_w"]
        n = _known_length(p50)
        if n == 0:
            raise NoForecast("the PV reading does not cover the slot we are in")
        weight = self._pv_weight(buy[:n], sell[:n], armed)
        known = [float(a) for a in p50[:n] if a is not None]  # all n: _known_length says so
        pv_w = [blend(a, b, weight) for a, b in zip(known, p10[:n], strict=True)]
        load = self._given_load(pv, start, step, n)
        payload: dict[str, Any] = {
            "issued_at": min(prices["issued_at"], pv["issued_at"]),
            "start": start,
            "slot_seconds": int(step),
            "import_price": buy[:n],
            "export_price": sell[:n],
            "pv_w": pv_w,
            "load_w": load,
            "estimated": [i for i in estimated if i < n],
            "pv_blend": weight,
        }
        if weather is not None:
            payload["temperature_c"] = align(
                weather["data"]["hours"], "temperature_c", start, step, n
            )
        return payload

    def _reading(self, key: str) -> dict[str, Any] | None:
        """The reading in global ``key``, read in place (the plan and replan flows ask for
        every reading every tick; nothing here changes them)."""
        value = self.ctx.globals.peek(key)
        if isinstance(value, Mapping) and isinstance(value.get("data"), Mapping):
            return dict(value)
        return None

    def _fill_from_tariff(
        self, buy: list[float | None], sell: list[float | None], start: float, step: float
    ) -> list[int]:
        """Fill price gaps from the site's static tariff, if it has one; the slots filled."""
        section = self.ctx.settings.get("tariff")
        if not section or (None not in buy and None not in sell):
            return []
        tariff = Tariff.from_settings(section, site_timezone({}, self.ctx.settings))
        filled = []
        for i, (b, s) in enumerate(zip(buy, sell, strict=True)):
            if b is None or s is None:
                price_in, price_out = tariff.price_at(start + i * step + step / 2)
                buy[i] = price_in if b is None else b
                sell[i] = price_out if s is None else s
                filled.append(i)
        return filled

    def _pv_weight(self, buy: list[Any], sell: list[Any], storm: bool) -> float:
        tuning = {**DEFAULTS, **self.config}
        spread = max(buy) - min(sell) if buy else 0.0
        if storm or spread >= tuning["high_stakes_spread"]:
            return float(max(tuning["p10_blend"], tuning["p10_blend_high_stakes"]))
        return float(tuning["p10_blend"])

    def _given_load(
        self, pv: Mapping[str, Any], start: float, step: float, n: int
    ) -> list[float] | None:
        """The load where a replay recorded it (else None: forecast.load predicts it)."""
        values = pv["data"].get("load_w")
        if values is None:
            return None
        periods = [{**p, "load_w": w} for p, w in zip(pv["data"]["periods"], values, strict=False)]
        load = align(periods, "load_w", start, step, n)
        return None if any(v is None for v in load) else [float(v) for v in load if v is not None]

    def _sources(self, now: float) -> dict[str, Any]:
        out = {}
        for key in ("prices", "pv", "weather", "storm"):
            reading = self._reading(self.config["pv_key"] if key == "pv" else key)
            if reading is not None:
                out[key] = {
                    "provider": reading["provider"],
                    "issued_at": reading["issued_at"],
                    "age_s": round(now - float(reading["fetched_at"]), 1),
                }
                if (reading.get("calibration") or {}).get("enabled"):
                    out[key]["calibrated"] = True
        return out


def _stamp(reading: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """What tells one reading from the next (a new fetch is a new reading; a calibrated
    one is new on each day's factors too)."""
    if reading is None:
        return None
    calibration = reading.get("calibration") or {}
    return (
        reading.get("provider"),
        reading.get("issued_at"),
        reading.get("fetched_at"),
        calibration.get("enabled"),
        calibration.get("day"),
    )


def _fresh_copy(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy a downstream node may change (its series are flat lists of numbers)."""
    return {k: list(v) if isinstance(v, list) else v for k, v in payload.items()}


def _known_length(*series: list[Any]) -> int:
    """How many leading slots every series knows."""
    n = 0
    while all(n < len(s) and s[n] is not None for s in series):
        n += 1
    return n
