"""``history.record_prices`` and ``history.record_forecast``: inputs kept by issue time.

Both take the reading itself or a context trigger's change (``{key, value,
old}``), so a flow triggered on ``global.prices`` records every new reading
whichever flow fetched it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import Node
from nodes.core.connections import node_database as database
from nodes.history.issues import (
    FORECASTS,
    plan_load,
    pv_rows,
    record_forecast,
    record_prices,
)
from nodes.history.schema import ensure_schema

_CONNECTION: dict[str, Any] = {"type": "string", "x-connection": "core.sqlite"}


def unwrap(payload: Any, node_type: str) -> Mapping[str, Any] | None:
    """The reading in ``payload`` (a context change's new value, or the payload itself);
    None when there is none yet (a context key cleared)."""
    if isinstance(payload, Mapping) and "key" in payload and "value" in payload:
        payload = payload["value"]
    if payload is None:
        return None
    if not isinstance(payload, Mapping):
        raise ValueError(f"{node_type} needs a reading dict, got {type(payload).__name__}")
    return payload


class _Recorder(Node):
    """Shared by both: the schema at start, the message passed on unchanged."""

    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged"}

    async def start(self) -> None:
        ensure_schema(database(self))

    def _report(self, added: int, what: str) -> None:
        self.ctx.status(f"{added} {what} intervals changed" if added else f"{what}: no change")


class HistoryRecordPrices(_Recorder):
    type_name = "history.record_prices"
    description = (
        "Keeps each price interval as every reading issued it (changes only), so the "
        "prices believed at any moment can be asked for later."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"connection": _CONNECTION},
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "a prices reading {provider, issued_at, fetched_at, data{intervals}}, or {key, value}"

    def process(self, msg: Message) -> Message:
        reading = unwrap(msg.payload, self.type_name)
        if reading is None:
            self.ctx.status("no prices reading", "idle")
            return msg
        self._report(record_prices(database(self), reading), "price")
        return msg


class HistoryRecordForecast(_Recorder):
    type_name = "history.record_forecast"
    description = (
        "Keeps each PV or load forecast period as every issue said it (changes only): PV "
        "from a pv reading, load from the plan it was planned on."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": _CONNECTION,
            "what": {"enum": list(FORECASTS), "description": "pv (a reading) or load (a plan)"},
        },
        "required": ["connection", "what"],
        "additionalProperties": False,
    }
    takes = (
        "what: pv, a pv reading {provider, issued_at, fetched_at, data{periods}}; what: load, "
        "a plan {created_at, slots[{start, load_w}], built_from{load_source}}; or {key, value}"
    )

    def process(self, msg: Message) -> Message:
        value = unwrap(msg.payload, self.type_name)
        what = str(self.config["what"])
        if value is None:
            self.ctx.status(f"no {what} forecast", "idle")
            return msg
        if what == "pv":
            provider = str(value.get("provider"))
            issued, fetched = value.get("issued_at"), value.get("fetched_at")
            if not isinstance(issued, int | float) or not isinstance(fetched, int | float):
                raise ValueError(
                    "history.record_forecast: a pv reading needs issued_at and fetched_at"
                )
            rows = pv_rows(value)
            added = record_forecast(database(self), "pv", provider, issued, fetched, rows)
        else:
            source, issued, rows = plan_load(value)
            added = record_forecast(database(self), "load", source, issued, issued, rows)
        self._report(added, what)
        return msg
