"""The forecast node: prices, PV and load for the horizon, as known now."""

from __future__ import annotations

from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import Node
from nodes.replay.dataset import ReplayDataset


class ReplayForecast(Node):
    type_name = "replay.forecast"
    description = "Prices ($/kWh), PV and load (W) per slot over the horizon, from replayed data."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": {"type": "string", "x-connection": "replay.dataset"},
            "horizon_hours": {"type": "number", "minimum": 1, "maximum": 72},
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "any message (a trigger)"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload {start, slot_seconds, import_price[], export_price[], pv_w[], load_w[]}"
    }

    def process(self, msg: Message) -> Message:
        connection = self.ctx.connection(self.config["connection"])
        assert isinstance(connection, ReplayDataset) and connection.dataset is not None
        dataset = connection.dataset
        hours = self.config.get("horizon_hours", 48)
        slots = int(hours * 3600 // dataset.slot_seconds)
        forecast = dataset.forecast(self.ctx.clock.time(), slots)
        self.ctx.status(
            f"{len(forecast['import_price'])} slots, now "
            f"{forecast['import_price'][0] * 100:.1f}c / "
            f"{forecast['export_price'][0] * 100:.1f}c"
        )
        msg.payload = forecast
        return msg
