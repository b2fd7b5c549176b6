"""``planning.attribute``: where each finished day's money went, worked out once.

Each run looks back over the last ``days`` local days for those the history covers
that are over and not worked out yet, replays at most ``max_days`` of them
(``nodes.planning.attribution``, on the day as ``nodes.planning.recorded`` reads it
from the site database) in a worker thread, and keeps the result in
``attribution_days``. A day that cannot be replayed (a hole in its history, no price
recorded) is kept with why, and not tried again.
"""

from __future__ import annotations

import asyncio
import copy
import sqlite3
from datetime import date
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flowengine.message import Message
from flowengine.node import Node
from nodes.core.connections import node_database as database
from nodes.history.days import day_bounds
from nodes.ledger.settings import BillingTerms
from nodes.planning.attribution import PARTS, attribute
from nodes.planning.days import day_views
from nodes.planning.recorded import (
    Unattributable,
    due_days,
    ensure_schema,
    figures_of,
    has_history,
    recorded_day,
    store_day,
)
from nodes.planning.solvers import PlanError

#: How each part is named in the node's status.
PART_NAMES = {"pv": "PV", "load": "load", "prices": "prices", "execution": "execution"}


class PlanningAttribute(Node):
    type_name = "planning.attribute"
    description = (
        "Works out where each finished day's money went: the bill against the day's "
        "optimum, the gap split into PV, load and price forecast error and execution."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": {
                "type": "string",
                "x-connection": "core.sqlite",
                "description": "the site database: its history, prices and forecasts by "
                "issue and ledger are read; the days worked out are kept there",
            },
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 90,
                "default": 14,
                "description": "finished days looked back over for any not worked out yet",
            },
            "max_days": {
                "type": "integer",
                "minimum": 1,
                "default": 2,
                "description": "days worked out per run at most; the rest go next run",
            },
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "any message (a trigger)"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload {worked_out: [dates], unattributable: {date: why}, left: days due}"
    }

    async def start(self) -> None:
        ensure_schema(database(self))

    async def process(self, msg: Message) -> Message:
        db = database(self)
        settings = self.ctx.settings
        worked: list[str] = []
        unattributable: dict[str, str] = {}
        due = []
        if has_history(db):
            zone = ZoneInfo(settings["site"]["timezone"])
            due = due_days(db, zone, self.ctx.clock.time(), int(self.config["days"]))
            for day in due[: int(self.config["max_days"])]:
                try:
                    recorded = recorded_day(db, day, zone)
                    frozen = copy.deepcopy(dict(settings))  # an edit mid-way changes nothing
                    worked_out = await asyncio.to_thread(attribute, recorded.day, frozen)
                    figures = figures_of(recorded, worked_out)
                except (Unattributable, PlanError) as exc:
                    figures = {"problem": str(exc)}
                    unattributable[day.isoformat()] = str(exc)
                else:
                    worked.append(day.isoformat())
                store_day(db, day, zone, self.ctx.clock.time(), figures)
        left = len(due) - len(worked) - len(unattributable)
        self.ctx.status(*self._said(db, worked, unattributable, left))
        msg.payload = {"worked_out": worked, "unattributable": unattributable, "left": left}
        return msg

    def _said(
        self, db: sqlite3.Connection, worked: list[str], unattributable: dict[str, str], left: int
    ) -> tuple[str, str]:
        """The status: the last day worked out and where its money went."""
        if not worked:
            if unattributable:
                day, why = next(reversed(unattributable.items()))
                return f"{day}: {why}", "idle"
            return "nothing to work out", "idle"
        day = worked[-1]
        terms = BillingTerms.from_settings(self.ctx.settings)
        start, _ = day_bounds(date.fromisoformat(day), ZoneInfo(terms.timezone))
        view = next(iter(day_views(db, start, start + 1, terms)), {})
        parts = view.get("parts") or {}
        split = ", ".join(
            f"{PART_NAMES[part]} ${parts[part]:+.2f}"
            for part in PARTS
            if parts.get(part) is not None
        )
        gap = view.get("gap")
        head = f"{day}: ${gap:.2f} from the optimum" if gap is not None else f"{day} worked out"
        more = f"; {left} more to do" if left > 0 else ""
        return f"{head} ({split}){more}", "ok"
