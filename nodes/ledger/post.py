"""``ledger.post``: each tick's energy, priced and posted once, with both baselines.

It takes the control tick's telemetry, works out the energy since the last
reading from the inverter's own counters, prices it at the interval's import and
export prices, and posts the interval's events, the two baselines (no battery;
the inverter's own self-use) and its running state in one transaction
(``nodes.ledger.store``). A reading older than the last one is a replay and
posts nothing; a span longer than ``gap_after`` (the service was down), a counter
reset or an interval with no known price is a gap, recorded with its energy,
never guessed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, ClassVar

from flowengine.durations import parse_duration
from flowengine.message import Message
from flowengine.node import ContextKey, Node
from flowengine.schema import DURATION
from nodes.core.connections import node_database
from nodes.ledger.basis import across_gap, basis_reading, stored_energy
from nodes.ledger.counterfactual import BatteryModel, SelfUseShadow, no_battery
from nodes.ledger.cycles import close_cycles
from nodes.ledger.events import IntervalPrices, idempotency_key, interval_events
from nodes.ledger.flows import CounterError, interval_energy
from nodes.ledger.settings import BillingTerms
from nodes.ledger.store import ensure_schema, load_state, post
from nodes.ledger.wacb import CostBasis


class LedgerPost(Node):
    type_name = "ledger.post"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("prices", "the prices reading", "prices_key"),
    )
    description = "Posts each tick's energy to the ledger: priced events and both baselines."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": {"type": "string", "x-connection": "core.sqlite"},
            "gap_after": {
                "default": "15m",
                **DURATION,
                "description": "a longer span is a gap",
            },
            "prices_key": {
                "default": "prices",
                "type": "string",
                "description": "global key of the prices reading",
            },
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "telemetry payload {timestamp, energy_kwh{pv, load, grid_import, ...}}"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload {posted: n, gap: reason or null, bill: $ of the interval, "
        "cost_basis: {per_kwh, stored_kwh, at}}"
    }

    async def start(self) -> None:
        ensure_schema(self._db())

    def _db(self) -> sqlite3.Connection:
        return node_database(self)

    def process(self, msg: Message) -> Message:
        telemetry = msg.payload if isinstance(msg.payload, Mapping) else {}
        at, counters = telemetry.get("timestamp"), telemetry.get("energy_kwh")
        if not isinstance(at, int | float) or not isinstance(counters, Mapping):
            raise ValueError("ledger.post needs telemetry with a timestamp and energy_kwh")
        db = self._db()
        state = load_state(db)
        battery = BatteryModel.from_settings(self.ctx.settings["battery"])
        stored_now = stored_energy(telemetry, battery)
        now_prices = self._prices(float(at))
        here = {
            "at": float(at),
            "counters": dict(counters),
            "prices": None if now_prices is None else asdict(now_prices),
        }
        last = state.get("last")
        if last is None:
            basis = CostBasis(stored_now or 0.0, self._default_basis() if stored_now else 0.0)
            post(
                db,
                [],
                state={
                    "last": here,
                    "started": float(at),
                    "basis": basis.as_dict(),
                    "self_use": SelfUseShadow(stored_now or 0.0).as_dict(),
                },
            )
            self.ctx.status("first reading: the ledger starts here")
            return self._out(msg, 0, None, 0.0, basis, float(at))
        basis = CostBasis.from_dict(state["basis"])
        shadow = SelfUseShadow.from_dict(state["self_use"])
        if float(at) <= float(last["at"]):  # a replay: already posted
            return self._out(msg, 0, None, 0.0, basis, float(last["at"]))
        start, end = float(last["at"]), float(at)
        try:
            energy, reset = interval_energy(last["counters"], counters)
        except CounterError as exc:
            energy, reset = None, str(exc)
        # The prices in force when the interval began (remembered then: by its end the
        # reading may have moved on to the next slot).
        kept = last.get("prices")
        prices = IntervalPrices(**kept) if kept else self._prices(start)
        gap_after = parse_duration(self.config["gap_after"])
        why = reset or (
            f"no reading for {end - start:.0f} s (the service was down)"
            if end - start > gap_after
            else ("no price known for the interval" if prices is None else None)
        )
        if why is not None or energy is None or prices is None:
            basis, shadow = across_gap(basis, shadow, battery, energy, end - start, stored_now)
            gap = {
                "start": start,
                "end": end,
                "reason": why or "unreadable",
                "energy": asdict(energy) if energy is not None else {},
            }
            post(
                db,
                [],
                state={"last": here, "basis": basis.as_dict(), "self_use": shadow.as_dict()},
                gap=gap,
            )
            self.ctx.status(f"gap: {why}", "warn")
            return self._out(msg, 0, why, 0.0, basis, end)
        begin, finish = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        ledger = interval_events(
            begin,
            finish,
            energy,
            prices,
            basis,
            eta_charge=battery.charge_efficiency,
            eta_discharge=battery.discharge_efficiency,
        )
        alone = no_battery(energy.pv, energy.load, prices.import_price, prices.export_price)
        shadow, self_use = shadow.step(
            battery,
            (end - start) / 3600,
            energy.pv,
            energy.load,
            prices.import_price,
            prices.export_price,
        )
        events = [e.as_dict() for e in ledger.events]
        for kind, priced in (("baseline_no_battery", alone), ("baseline_self_use", self_use)):
            events.append(
                {
                    "key": idempotency_key(finish, kind),
                    "kind": kind,
                    "at": start,
                    "kwh": priced.import_kwh - priced.export_kwh,
                    "price": None,
                    "amount": -priced.cost,
                    "import_kwh": priced.import_kwh,
                    "export_kwh": priced.export_kwh,
                }
            )
        added = post(
            db,
            events,
            state={
                "last": here,
                "basis": ledger.basis_after.as_dict(),
                "self_use": shadow.as_dict(),
            },
        )
        close_cycles(db, end, BillingTerms.from_settings(self.ctx.settings))  # docs/ledger.md
        bill = float(ledger.bill)
        self.ctx.status(f"posted {added} entries, ${bill:+.3f}")
        return self._out(msg, added, None, bill, ledger.basis_after, end)

    def _default_basis(self) -> float:
        """What energy of unknown cost is taken to have cost: the opportunistic level's
        ``default_cost_basis``, so the ledger and the control agree on it."""
        control = self.ctx.settings.get("control") or {}
        return float((control.get("opportunistic") or {}).get("default_cost_basis", 0.10))

    @staticmethod
    def _out(
        msg: Message, posted: int, gap: str | None, bill: float, basis: CostBasis, at: float
    ) -> Message:
        msg.payload = {
            "posted": posted,
            "gap": gap,
            "bill": bill,
            "cost_basis": basis_reading(basis, at),
        }
        return msg

    def _prices(self, at: float) -> IntervalPrices | None:
        """The import and export price of the interval holding ``at`` (the prices reading)."""
        reading = self.ctx.globals.peek(self.config["prices_key"])
        data = reading.get("data") if isinstance(reading, Mapping) else None
        for interval in (data or {}).get("intervals", []):
            start, end = interval.get("start"), interval.get("end")
            if (
                isinstance(start, int | float)
                and isinstance(end, int | float)
                and (start <= at < end)
            ):
                buy, sell = interval.get("import_price"), interval.get("export_price")
                if isinstance(buy, int | float) and isinstance(sell, int | float):
                    return IntervalPrices(float(buy), float(sell))
        return None
