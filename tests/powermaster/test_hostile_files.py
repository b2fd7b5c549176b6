"""Hostile files on a running service (issue 16): an alias bomb or random bytes written
into a flow file are refused with their place, memory stays bounded and the running flows
carry on; a service started on a refused file runs the last version that loaded (or the
flow files that load) and says so in health, never crash-looping."""

from __future__ import annotations

import shutil
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowengine import VirtualClock
from flowengine.errors import InvalidFlows
from flows import FLOWS_DIR
from powermaster.lastgood import LAST_GOOD_FILE
from powermaster.service import Options, Service, site_config_for
from tests.flowengine.test_yaml_limits import alias_bomb

START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()
#: What a refused file may cost the process while it is read and refused (the bomb, in
#: full, would be a billion values: the 24 GB the issue saw).
RELOAD_MEMORY_BOUND = 32 * 1024 * 1024


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return copy


def options(flows_dir: Path, port: int) -> Options:
    return Options(
        config=site_config_for(flows_dir),
        flows=flows_dir,
        data_dir=flows_dir.parent / "data",
        simulator_port=port,
        ui=False,
    )


@pytest.fixture
async def site(flows_dir: Path, free_port: int) -> AsyncIterator[Service]:
    service = Service(options(flows_dir, free_port), clock=VirtualClock(START))
    await service.start()
    await advance(service, 1)
    try:
        yield service
    finally:
        await service.stop()


async def advance(site: Service, seconds: float) -> None:
    assert isinstance(site.clock, VirtualClock)
    await site.clock.advance(seconds)


HOSTILE = {
    "alias bomb": lambda path: path.write_text(path.read_text() + alias_bomb()),
    "random bytes": lambda path: path.write_bytes(bytes(range(256)) * 40),
}
REFUSED_WITH = {
    "alias bomb": "the aliases here add more than 10,000 values",
    "random bytes": "not UTF-8 text: byte 0x80 cannot start a character",
}


@pytest.mark.parametrize("hostile", list(HOSTILE))
async def test_a_hostile_flow_file_is_refused_with_its_place_and_the_flows_carry_on(
    site: Service, flows_dir: Path, hostile: str
) -> None:
    control = site.engine.flows["control"]
    reads = control.nodes["read"].count
    HOSTILE[hostile](flows_dir / "control.yaml")

    tracemalloc.start()
    try:
        status = await site.reload()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < RELOAD_MEMORY_BOUND
    assert status["state"] == "refused"
    [problem] = status["problems"]
    assert problem.startswith(f"{flows_dir / 'control.yaml'}:")
    assert REFUSED_WITH[hostile] in problem
    assert site.health()["checks"]["reload"]["problems"] == [problem]  # health names the file
    await advance(site, 900)
    assert control.nodes["read"].count >= reads + 3  # the running version ticks on


async def test_a_start_on_a_refused_file_runs_the_last_version_that_loaded(
    flows_dir: Path, free_port: int
) -> None:
    first = Service(options(flows_dir, free_port), clock=VirtualClock(START))
    assert (flows_dir.parent / "data" / LAST_GOOD_FILE).is_file()  # kept as it loaded
    control_text = (flows_dir / "control.yaml").read_text()
    del first
    HOSTILE["alias bomb"](flows_dir / "control.yaml")  # broken while the service was down

    service = Service(options(flows_dir, free_port), clock=VirtualClock(START + 3600))
    await service.start()
    try:
        await advance(service, 600)
        status = service.health()["checks"]["reload"]
        assert status["state"] == "refused"
        assert status["running"] == "the last version that loaded (kept 2026-01-15 06:00 AEST)"
        assert f"{flows_dir / 'control.yaml'}:" in status["problems"][0]
        runs = service.engine.traces.recent("control", 2)
        assert runs and all(run["outcome"] == "ok" for run in runs)  # control runs as before

        still = await service.reload()  # a reload while the file is still broken says so too
        assert still["state"] == "refused" and still["running"] == status["running"]

        (flows_dir / "control.yaml").write_text(control_text)  # the owner puts it right
        fixed = await service.reload()
        assert fixed["state"] == "unchanged" and fixed["reverted"] is True
    finally:
        await service.stop()


async def test_a_first_start_on_a_refused_flow_file_runs_the_other_flows(
    flows_dir: Path, free_port: int
) -> None:
    (flows_dir / "storm.yaml").write_bytes(b"\xff\xfe garbage")
    service = Service(options(flows_dir, free_port), clock=VirtualClock(START))
    await service.start()
    try:
        await advance(service, 600)
        status = service.health()["checks"]["reload"]
        assert status["running"] == "the flow files that load, without storm.yaml"
        assert "storm" not in service.engine.flows and "control" in service.engine.flows
        health = service.health()  # part of the site is not running: health says so
        assert health["status"] == "degraded"
        assert (
            "running the flow files that load, without storm.yaml: refused at start"
            in (health["reasons"])
        )
        assert all(run["outcome"] == "ok" for run in service.engine.traces.recent("control", 2))
    finally:
        await service.stop()


def test_a_first_start_on_a_refused_site_config_stops_with_its_place(
    flows_dir: Path, free_port: int
) -> None:
    (flows_dir / "site.yaml").write_text(alias_bomb())
    with pytest.raises(InvalidFlows, match=r"site\.yaml:4:5: the aliases here add more than"):
        Service(options(flows_dir, free_port), clock=VirtualClock(START))
