"""The storm monitor: BOM's warnings and précis plus the weather model, to a storm reserve.

It writes ``global.storm_reserve`` in the shape the planner reads
(``{soc, start, end}``; ``soc`` 0 means no reserve), with why: the probability,
the evidence and the warnings behind it. The planner holds the SOC floor over
the window and charges ahead of it by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flowengine.message import Message
from flowengine.node import ContextKey, Node, NodeContext
from nodes.storm import risk
from nodes.storm.settings import StormSettings
from nodes.storm.window import Window, next_window


class StormMonitor(Node):
    type_name = "storm.monitor"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("storm", "the storm input", "storm_key"),
        ContextKey("weather", "the weather input", "weather_key"),
        ContextKey(
            "storm_reserve_soc", "the reserve SOC chosen in Home Assistant", "reserve_soc_key"
        ),
    )
    writes: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("storm_reserve", "the storm reserve: armed, soc, window", "key"),
    )
    description = (
        "Combines storm warnings, the précis and the weather model into a storm probability "
        "per period and arms the storm reserve (global.storm_reserve) with hysteresis."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "storm_key": {
                "default": "storm",
                "type": "string",
                "description": "global key of the storm input",
            },
            "weather_key": {
                "default": "weather",
                "type": "string",
                "description": "global key of the weather input",
            },
            "key": {
                "default": "storm_reserve",
                "type": "string",
                "description": "global key to write",
            },
            "reserve_soc_key": {
                "type": "string",
                "default": "storm_reserve_soc",
                "description": "global key of the reserve SOC chosen in Home Assistant",
            },
        },
        "additionalProperties": False,
    }
    takes = "any message (a trigger); a storm reading as payload is used over global.storm"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = the storm reserve {armed, soc, start, end, probability, reason, "
        "evidence, warnings}, also written to global.storm_reserve",
    }

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self.window: Window | None = None

    @property
    def key(self) -> str:
        return str(self.config["key"])

    async def start(self) -> None:
        options = StormSettings.from_settings(self.ctx.settings)
        kept = self.ctx.globals.get(self.key)
        if isinstance(kept, Mapping) and kept.get("armed"):  # a restart keeps the reserve
            self.window = Window(
                float(kept["start"]) + options.lead_s,
                float(kept["end"]),
                float(kept.get("probability", 0.0)),
                list(kept.get("evidence", [])),
                list(kept.get("warnings", [])),
            )

    def process(self, msg: Message) -> Message:
        options = StormSettings.from_settings(self.ctx.settings)
        chosen = self.ctx.globals.peek(self.config["reserve_soc_key"])  # set from HA
        if isinstance(chosen, int | float) and not isinstance(chosen, bool) and 0 <= chosen <= 1:
            options = replace(options, reserve_soc=float(chosen))
        now = self.ctx.clock.time()
        storm = self._data(msg.payload, self.config["storm_key"], "storm")
        weather = self._data(None, self.config["weather_key"], "weather")
        warnings = list(storm["warnings"]) if "warnings" in storm else None
        signals = (
            risk.warning_signals(warnings or [], now)
            + risk.precis_signals(storm.get("precis", []))
            + risk.provider_signals(storm.get("probability", []))
            + risk.model_signals(weather.get("hours", []))
        )
        periods = risk.combine(signals, now, now + options.horizon_s)
        was = self.window
        self.window = next_window(was, periods, warnings, now, options.arm, options.disarm)
        reserve = self._reserve(periods, options)
        if reserve != self.ctx.globals.get(self.key):
            self.ctx.globals.set(self.key, reserve)
        self._tell(was, reserve)
        msg.payload = reserve
        return msg

    def _data(self, payload: Any, key: str, kind: str) -> dict[str, Any]:
        """The ``data`` of a reading of ``kind``: from the message if it is one, else global."""
        reading = payload if isinstance(payload, Mapping) and payload.get("kind") == kind else None
        if reading is None:
            reading = self.ctx.globals.get(key)
        data = reading.get("data") if isinstance(reading, Mapping) else None
        return dict(data) if isinstance(data, Mapping) else {}

    def _reserve(self, periods: list[dict[str, Any]], options: StormSettings) -> dict[str, Any]:
        window = self.window
        if window is not None:
            return {
                "armed": True,
                "soc": options.reserve_soc,
                "start": window.start - options.lead_s,
                "end": window.end,
                "probability": window.probability,
                "reason": "; ".join(window.evidence) or "storm risk",
                "evidence": window.evidence,
                "warnings": window.warnings,
            }
        peak = max(periods, key=lambda p: p["p"], default=None)
        evidence = list(peak["evidence"]) if peak and peak["p"] > 0 else []
        return {
            "armed": False,
            "soc": 0,
            "start": None,
            "end": None,
            "probability": peak["p"] if peak else 0.0,
            "reason": "; ".join(evidence) or "no storm signal",
            "evidence": evidence,
            "warnings": [],
        }

    def _tell(self, was: Window | None, reserve: dict[str, Any]) -> None:
        if was is None and reserve["armed"]:
            when = f"{self._local(reserve['start'])} to {self._local(reserve['end'])}"
            self.ctx.notify(
                f"Storm reserve armed: holding {reserve['soc']:.0%} SOC from {when} "
                f"(storm risk {reserve['probability']:.0%}: {reserve['reason']})",
                "warn",
                reserve,
            )
        elif was is not None and not reserve["armed"]:
            self.ctx.notify(
                f"Storm reserve disarmed (storm risk now {reserve['probability']:.0%})",
                "info",
                reserve,
            )
        if reserve["armed"]:
            self.ctx.status(
                f"armed {reserve['soc']:.0%} until {self._local(reserve['end'])}", "warn"
            )
        else:
            self.ctx.status(f"not armed (risk {reserve['probability']:.0%})")

    def _local(self, epoch: float) -> str:
        name = self.ctx.settings.get("site", {}).get("timezone", "UTC")
        try:
            zone: Any = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = UTC
        return datetime.fromtimestamp(epoch, zone).strftime("%a %H:%M")
