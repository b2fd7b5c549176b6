"""Flows and the site config edited on a running service (``power-master run --flows``):
refused whole when they do not validate, else put in force touching only what changed."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine import VirtualClock
from flows import FLOWS_DIR, SITE_CONFIG
from powermaster.service import Options, Service, site_config_for
from powermaster.watch import FileWatch, WatchedFiles

START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()
NAP = """
flow: nap
mode: parallel
nodes:
  - {id: nap, type: core.delay, config: {for: 20m}}
"""
EXTRA = """
flow: extra
triggers: [{type: interval, every: 5m}]
nodes:
  - {id: mark, type: core.set, config: {payload: here}, wires: [keep]}
  - {id: keep, type: core.context_set, config: {key: global.extra}}
"""


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return copy


@pytest.fixture
async def site(flows_dir: Path, free_port: int) -> AsyncIterator[Service]:
    options = Options(
        config=site_config_for(flows_dir),
        flows=flows_dir,
        data_dir=flows_dir.parent / "data",
        simulator_port=free_port,
        ui=False,
    )
    service = Service(options, clock=VirtualClock(START))
    await service.start()
    await clock_of(service).advance(1)
    try:
        yield service
    finally:
        await service.stop()


def clock_of(site: Service) -> VirtualClock:
    assert isinstance(site.clock, VirtualClock)
    return site.clock


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def interval_ticks(site: Service, flow_id: str) -> list[float]:
    return [
        run["started"]
        for run in site.engine.traces.recent(flow_id)
        if run["trigger"].startswith("interval")
    ]


def events_of(queue: asyncio.Queue[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in (queue.get_nowait() for _ in range(queue.qsize())) if e["type"] == kind]


def test_a_flows_directory_runs_on_its_own_site_yaml(flows_dir: Path, tmp_path: Path) -> None:
    assert site_config_for(flows_dir) == flows_dir / "site.yaml"
    assert site_config_for(tmp_path) == SITE_CONFIG


BROKEN = {
    "yaml syntax": ("    every: 5m\n", "    every: [5m\n"),
    "unknown node type": ("type: control.hierarchy", "type: control.hierarchi"),
    "wire to a missing node": (
        "wires: [remember_decision, live_or_shadow]",
        "wires: [remember, live_or_shadow]",
    ),
}


@pytest.mark.parametrize("broken", BROKEN.values(), ids=list(BROKEN))
async def test_a_broken_edit_is_refused_and_the_old_flow_keeps_ticking(
    site: Service, flows_dir: Path, broken: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    control, flows = site.engine.flows["control"], dict(site.engine.flows)
    reads = control.nodes["read"].count
    events = site.engine.events.subscribe()
    edit(flows_dir / "control.yaml", *broken)

    with caplog.at_level(logging.ERROR, logger="power_master"):
        status = await site.reload()

    assert status["state"] == "refused"
    assert all(f"{flows_dir / 'control.yaml'}:" in p for p in status["problems"])
    assert status["problems"][0] in caplog.text  # file:line:column: message
    health = site.health()
    assert health["checks"]["reload"] == status and health["status"] == "ok"  # shown, not judged
    [event] = events_of(events, "reload")
    assert not event["ok"] and event["problems"] == status["problems"]
    assert site.engine.flows == flows  # nothing restarted
    await clock_of(site).advance(900)
    assert control.nodes["read"].count >= reads + 3  # the old version ticks on
    assert all(run["outcome"] == "ok" for run in site.engine.traces.recent("control", 3))


async def test_a_valid_edit_takes_effect_at_the_next_trigger_and_nothing_else_restarts(
    site: Service, flows_dir: Path
) -> None:
    clock = clock_of(site)
    (flows_dir / "nap.yaml").write_text(NAP)
    assert (await site.reload())["changed"]["added"] == ["nap"]
    napping = site.engine.start_run("nap")
    await clock.advance(449)  # START + 7.5 min: between two ticks
    others = {f: runtime for f, runtime in site.engine.flows.items() if f != "replan"}
    replan = site.engine.flows["replan"]
    site.engine.context.set("flow:control", "probe", 1)
    plan = site.engine.context.get("global", "plan")
    edit(flows_dir / "replan.yaml", "cost_threshold: 0.25", "cost_threshold: 0.3")
    (flows_dir / "extra.yaml").write_text(EXTRA)

    status = await site.reload()

    assert status["state"] == "applied"
    assert status["changed"] == {
        "added": ["extra"],
        "removed": [],
        "changed": ["replan"],
        "connections": [],
        "settings": False,
    }
    assert site.health()["checks"]["reload"] == status
    new_replan = site.engine.flows["replan"]
    assert new_replan is not replan and not replan.triggers
    assert new_replan.nodes["check"].spec.config["cost_threshold"] == 0.3
    assert all(site.engine.flows[f] is runtime for f, runtime in others.items())
    assert napping is not None and not napping.done.done()  # its run goes on
    assert site.engine.flowset is site.flowset and "extra" in site.flowset.flows
    runs_before = len(site.engine.traces.recent("replan"))
    await clock.advance(150)  # the next 5-minute instant: START + 10 min
    assert len(site.engine.traces.recent("replan")) == runs_before + 1  # no start trigger
    assert site.engine.context.get("global", "extra") == "here"
    assert site.engine.context.get("flow:control", "probe") == 1
    assert site.engine.context.get("global", "plan")["created_at"] >= plan["created_at"]
    await clock.advance(1800)
    assert (await napping.wait()).outcome == "ok"
    for flow_id in site.engine.flows:
        ticks = Counter(interval_ticks(site, flow_id))
        assert all(n == 1 for n in ticks.values()), f"{flow_id} ticked twice: {ticks}"


async def test_a_removed_flow_stops(site: Service, flows_dir: Path) -> None:
    (flows_dir / "replan.yaml").unlink()
    status = await site.reload()
    assert status["state"] == "applied" and status["changed"]["removed"] == ["replan"]
    assert "replan" not in site.engine.flows
    runs = len(site.engine.traces.recent("replan"))
    await clock_of(site).advance(900)
    assert len(site.engine.traces.recent("replan")) == runs


async def test_a_site_config_edit_is_applied_to_the_running_settings(
    site: Service, flows_dir: Path
) -> None:
    settings, control = site.settings, site.engine.flows["control"]
    edit(flows_dir / "site.yaml", "break_even_delta: 0.02", "break_even_delta: 0.07")
    status = await site.reload()
    assert status["state"] == "applied" and status["changed"]["settings"] is True
    assert site.settings is settings and settings["planner"]["break_even_delta"] == 0.07
    assert site.engine.flows["control"] is not control  # settings may change any flow
    await clock_of(site).advance(600)
    assert all(run["outcome"] == "ok" for run in site.engine.traces.recent("control", 2))
    assert (await site.reload())["state"] == "unchanged"


async def test_an_invalid_site_config_is_refused_and_the_old_settings_stay(
    site: Service, flows_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    flows = dict(site.engine.flows)
    edit(flows_dir / "site.yaml", "soc_min: 0.10", "soc_min: 1.5")
    status = await site.reload()
    assert status["state"] == "refused"
    assert "site.yaml:" in status["problems"][0] and "soc_min" in status["problems"][0]
    assert site.settings["battery"]["soc_min"] == 0.10
    assert site.engine.flows == flows
    edit(flows_dir / "site.yaml", "soc_min: 1.5", "soc_min: 0.10")  # put right again
    reverted = await site.reload()
    assert reverted["state"] == "unchanged" and reverted["reverted"] is True
    assert "the refused edit was undone: the files match the running version again" in [
        r.getMessage() for r in caplog.records
    ]
    assert site.health()["checks"]["reload"]["state"] == "unchanged"  # the refusal is over


async def test_a_settings_edit_from_the_ui_is_not_reloaded_again(site: Service) -> None:
    await site.apply_settings({"planner": {"break_even_delta": 0.05}})
    flows = dict(site.engine.flows)
    assert (await site.reload())["state"] == "unchanged"
    assert site.engine.flows == flows


# -- the watch -------------------------------------------------------------------------


def test_only_flow_files_and_the_site_config_are_watched(tmp_path: Path) -> None:
    files = WatchedFiles(tmp_path / "flows", tmp_path / "flows" / "my-site.yaml")
    flows = tmp_path / "flows"
    assert files.concerns(flows / "control.yaml")
    assert files.concerns(flows / "my-site.yaml") and files.concerns(flows / "secrets.yaml")
    for ignored in (
        "control.test.yaml",
        ".control.yaml.swp",
        ".#control.yaml",
        "control.yaml~",
        "notes.md",
        "sub/x.yaml",
    ):
        assert not files.concerns(flows / ignored), ignored
    assert not files.concerns(tmp_path / "other.yaml")
    assert "my-site.yaml" in files.not_flow_files and "site.yaml" in files.not_flow_files
    elsewhere = WatchedFiles(flows, tmp_path / "config" / "site.yaml")
    assert elsewhere.directories == (flows.resolve(), (tmp_path / "config").resolve())
    assert elsewhere.concerns(tmp_path / "config" / "secrets.yaml")
    assert not elsewhere.concerns(tmp_path / "config" / "other.yaml")


async def test_a_burst_of_writes_is_one_reload_and_other_files_none(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "site.yaml").write_text("{}\n")
    called = asyncio.Event()
    calls: list[int] = []

    async def on_change() -> None:
        calls.append(1)
        called.set()

    watch = FileWatch(WatchedFiles(flows, flows / "site.yaml"), on_change, quiet_ms=200)
    await watch.start()
    try:
        await asyncio.sleep(0)
        for name in ("control.test.yaml", ".control.yaml.swp", "notes.md"):
            (flows / name).write_text("ignored\n")
        # an editor's save: a temporary file, written, then renamed over the flow file
        (flows / ".control.yaml.tmp").write_text(EXTRA)
        (flows / ".control.yaml.tmp").rename(flows / "control.yaml")
        (flows / "control.yaml").write_text(EXTRA)
        await asyncio.wait_for(called.wait(), timeout=20)
        assert calls == [1]
    finally:
        await watch.stop()


async def test_a_running_service_reloads_an_edited_file_by_itself(
    flows_dir: Path, free_port: int
) -> None:
    options = Options(
        config=flows_dir / "site.yaml",
        flows=flows_dir,
        data_dir=flows_dir.parent / "data",
        simulator_port=free_port,
        ui=False,
        watch=True,
    )
    site = Service(options, clock=VirtualClock(START))
    await site.start()
    events = site.engine.events.subscribe()
    try:
        (flows_dir / "extra.yaml").write_text(EXTRA)

        async def reloaded() -> dict[str, Any]:
            while (event := await events.get())["type"] != "reload":
                pass
            return event

        event = await asyncio.wait_for(reloaded(), timeout=20)
        assert event["ok"] and event["changed"]["added"] == ["extra"]
        assert "extra" in site.engine.flows
    finally:
        await site.stop()
