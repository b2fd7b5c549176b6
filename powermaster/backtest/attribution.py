"""Where each day's money went in a backtest, worked out as the product's attribution
flow works it out on a site (``nodes/planning/attribute.py``): from the run's own site
database, its history, the prices and forecasts as they were issued, and the ledger, its
books closed against the simulated meter. Each day's view is ``/api/attribution``'s.

The attribution flow itself is left out of a backtest (it changes nothing the meter
sees, and replaying each day as it ends would slow every run): the days are worked out
once the run is over, and only when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flowengine.database import open_database
from nodes.ledger.settings import BillingTerms
from nodes.planning import PlanError
from nodes.planning.attribution import attribute
from nodes.planning.days import day_views
from nodes.planning.recorded import (
    Unattributable,
    due_days,
    ensure_schema,
    figures_of,
    recorded_day,
    store_day,
)
from powermaster.backtest.scenario import Scenario


def work_out(
    site_db: Path, scenario: Scenario, settings: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Every day of ``scenario`` in the run's ``site_db``, oldest first, as the API shows
    them (one that cannot be replayed says why in its ``problem``)."""
    zone = ZoneInfo(scenario.timezone)
    start, end = scenario.start_epoch, scenario.end.timestamp()
    db = open_database(site_db, schema="")
    try:
        ensure_schema(db)
        days = int((end - start) // 86400) + 2
        for day in due_days(db, zone, end, days):
            try:
                recorded = recorded_day(db, day, zone)
                figures = figures_of(recorded, attribute(recorded.day, settings))
            except (Unattributable, PlanError) as exc:
                figures = {"problem": str(exc)}
            store_day(db, day, zone, end, figures)
        views = day_views(db, start, end, BillingTerms.from_settings(settings))
    finally:
        db.close()
    return views[::-1]


__all__ = ["work_out"]
