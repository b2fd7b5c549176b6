"""``health()`` reads what the health flow wrote and judges nothing itself: a record as
written, one gone quiet said to be so, none at all not judged yet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from flowengine import Engine, Registry, VirtualClock
from powermaster.readmodel import HEALTH_SILENT_S, FilesStatus, ReadModel

START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()
SETTINGS = {"site": {"timezone": "Australia/Brisbane"}}


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine(Registry(), VirtualClock(START))
    yield engine
    engine.close()


def record(state: str, at: float, **more: Any) -> dict[str, Any]:
    return {"state": state, "reasons": [], "since": at - 60, "at": at, "checks": {}, **more}


def test_before_any_health_check_has_run_it_is_not_judged_yet(engine: Engine) -> None:
    health = ReadModel(engine, SETTINGS, FilesStatus()).health()
    assert health["status"] == "unknown" and health["since"] is None
    assert health["reasons"] == ["not judged yet: no health check has run"]


def test_a_fresh_record_is_shown_as_the_health_flow_wrote_it(engine: Engine) -> None:
    written = record("degraded", START - 30, reasons=["prices stale"], checks={"plan": "ok"})
    engine.context.set("global", "health", written)
    health = ReadModel(engine, SETTINGS, FilesStatus()).health()
    assert health["status"] == "degraded" and health["reasons"] == ["prices stale"]
    assert health["since"] == written["since"] and health["checks"] == {"plan": "ok"}


@pytest.mark.parametrize(("written", "shown"), [("ok", "degraded"), ("safety", "safety")])
def test_a_record_gone_quiet_is_its_last_word_and_that_it_stopped(
    engine: Engine, written: str, shown: str
) -> None:
    engine.context.set("global", "health", record(written, START - HEALTH_SILENT_S - 1))
    health = ReadModel(engine, SETTINGS, FilesStatus()).health()
    assert health["status"] == shown
    assert health["reasons"] == ["the health check has stopped running (last judged 05:44)"]


def test_flows_refused_at_start_degrade_it_and_a_reload_is_shown_not_judged(
    engine: Engine,
) -> None:
    reload = {"state": "refused", "at": START, "problems": ["health.yaml: bad"]}
    files = FilesStatus(reload=reload, running_instead="no flows", flows_missing=True)
    health = ReadModel(engine, SETTINGS, files).health()
    assert health["status"] == "degraded" and health["checks"]["reload"] == reload
    assert health["reasons"][-1] == "running no flows: refused at start"
    files.flows_missing = False  # a reload that loads
    engine.context.set("global", "health", record("ok", START))
    assert ReadModel(engine, SETTINGS, files).health()["status"] == "ok"


def test_the_time_is_the_sites_as_on_every_page(engine: Engine) -> None:
    """/api/state and /api/health say the time in the site's zone, like /api/plan."""
    model = ReadModel(engine, SETTINGS, FilesStatus())
    assert model.state()["time"] == "2026-01-15T06:00:00+10:00"
    assert model.health()["time"] == "2026-01-15T06:00:00+10:00"
