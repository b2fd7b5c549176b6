"""The ``history.record`` node: keeps the site's own telemetry and its roll-ups."""

from __future__ import annotations

from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flowengine import transaction
from flowengine.message import Message
from flowengine.node import Node, NodeContext
from nodes.core.connections import node_database as database
from nodes.history.counters import counter_values
from nodes.history.rollup import rebuild_days
from nodes.history.schema import ensure_schema
from nodes.history.settings import gap_after_seconds
from nodes.history.store import record_sample, sample_values

DEFAULT_TIMEZONE = "Australia/Brisbane"

__all__ = ["HistoryRecord", "database"]


class HistoryRecord(Node):
    type_name = "history.record"
    description = (
        "Records each telemetry sample in SQLite and rolls it up into 30-minute and daily "
        "means and energies, so the load forecast can learn this site's habits."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"connection": {"type": "string", "x-connection": "core.sqlite"}},
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = (
        "telemetry payload {timestamp, soc, pv_w, load_w, battery_w, grid_w, energy_kwh{pv, "
        "load, grid_import, grid_export, battery_charge, battery_discharge}} (load is derived "
        "from the balance when absent; energies only where the counters are)"
    )
    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged"}

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        site = ctx.settings.get("site") or {}
        self.zone = ZoneInfo(str(site.get("timezone") or DEFAULT_TIMEZONE))
        self.gap_after_s = gap_after_seconds(ctx.settings)

    async def start(self) -> None:
        db = database(self)
        ensure_schema(db)
        if db.execute("SELECT 1 FROM history_daily LIMIT 1").fetchone() is None:
            with transaction(db):  # an upgraded database: its days from its slots
                rebuild_days(db, self.zone)

    def process(self, msg: Message) -> Message:
        payload = msg.payload
        if not isinstance(payload, dict):
            raise ValueError(f"history.record needs a telemetry dict, got {type(payload).__name__}")
        timestamp = payload.get("timestamp")
        if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
            timestamp = self.ctx.clock.time()
        values = sample_values(payload)
        added = record_sample(
            database(self),
            float(timestamp),
            values,
            counter_values(payload.get("energy_kwh")),
            zone=self.zone,
            gap_after_s=self.gap_after_s,
        )
        load = values["load_w"]
        load_text = "no load" if load is None else f"load {load:.0f} W"
        self.ctx.status(load_text if added else "sample already recorded (or pruned)")
        return msg
