"""/metrics: the whole service scraped as Prometheus does, after a few ticks on virtual time."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from flowengine import VirtualClock
from flows import SITE_CONFIG
from powermaster.service import Options, Service
from tests.support.web import owner_of
from ui.metrics import allowed

START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()
TOKEN = "scrape-token-0123456789abcdef"
AMBER_KEY = "psk_metrics_test_key_99"


def another_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def site(tmp_path: Path, free_port: int) -> AsyncIterator[Service]:
    config = tmp_path / "site.yaml"
    config.write_text(
        SITE_CONFIG.read_text()
        + "\nmetrics:\n  token: !secret metrics_token\n"
        + "amber:\n  api_key: !secret amber_api_key\n  site_id: 01JTEST\n"
    )
    (tmp_path / "secrets.yaml").write_text(f"metrics_token: {TOKEN}\namber_api_key: {AMBER_KEY}\n")
    options = Options(
        config=config,
        data_dir=tmp_path / "data",
        simulator_port=another_free_port(),
        port=free_port,
    )
    service = Service(options, clock=VirtualClock(START))
    await service.start()
    try:
        await service.engine.settle()
        clock = service.clock
        assert isinstance(clock, VirtualClock)
        await clock.advance(3 * 300)  # the first tick and three more
        await service.engine.settle()
        yield service
    finally:
        await service.stop()


def url(site: Service) -> str:
    return f"http://{site.options.host}:{site.options.port}/metrics"


async def scrape(site: Service, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url(site), headers=headers) as response:
        return response.status, await response.text()


def families(text: str) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(family: Metric, name: str | None = None, **labels: str) -> float:
    found = [
        s.value
        for s in family.samples
        if (name is None or s.name == name) and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (family.name, labels, family.samples)
    return float(found[0])


async def test_prometheus_scrapes_the_service_with_its_token(site: Service) -> None:
    status, text = await scrape(site, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    found = families(text)

    runs = found["powermaster_flow_runs"]
    assert runs.type == "counter"
    ticks = value(runs, flow="control", outcome="ok")
    assert ticks >= 4
    assert value(runs, flow="control", outcome="error") == 0
    assert ticks == site.engine.run_stats["control"].outcomes["ok"]
    durations = found["powermaster_flow_run_duration_seconds"]
    assert durations.type == "histogram"
    count = value(durations, "powermaster_flow_run_duration_seconds_count", flow="control")
    assert count == ticks
    assert 0 < value(durations, "powermaster_flow_run_duration_seconds_sum", flow="control") < 60
    assert 0 < value(found["powermaster_control_tick_seconds"]) < 10

    messages = found["powermaster_node_messages"]
    read = site.engine.flows["control"].nodes["read"]
    assert value(messages, flow="control", node="read", type=read.spec.type) == read.count >= 4
    assert (
        value(found["powermaster_node_errors"], flow="control", node="read", type=read.spec.type)
        == 0
    )

    assert 0 < value(found["powermaster_plan_solve_seconds"]) < 30
    assert value(found["powermaster_plan_slots"]) > 0
    assert 0 <= value(found["powermaster_plan_age_seconds"]) <= 900

    ages = found["powermaster_input_age_seconds"]
    assert 0 <= value(ages, input="prices", provider="sample") <= 900
    assert value(found["powermaster_input_stale"], input="prices", provider="sample") == 0

    assert value(found["powermaster_inverter_link_up"]) == 1
    assert value(found["powermaster_inverter_link_consecutive_errors"]) == 0
    assert 0 < value(found["powermaster_battery_soc_ratio"]) <= 1
    assert value(found["powermaster_power_watts"], path="load") > 0
    assert 0 <= value(found["powermaster_telemetry_age_seconds"]) <= 300

    health = found["powermaster_health"]
    assert health.type == "gauge"  # a state set is a gauge per state in the text format
    assert value(health, powermaster_health="ok") == 1
    assert value(health, powermaster_health="safety") == 0
    mode = site.state()["mode"]
    assert value(found["powermaster_control_mode"], powermaster_control_mode=mode) == 1

    assert value(found["process_resident_memory_bytes"]) > 10e6
    assert value(found["process_cpu_seconds"]) > 0

    for secret in (TOKEN, AMBER_KEY, "hunter2"):
        assert secret not in text


@pytest.mark.parametrize(
    "headers",
    [None, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong token", "not bearer"],
)
async def test_without_the_token_it_is_refused(
    site: Service, headers: dict[str, str] | None
) -> None:
    status, text = await scrape(site, headers)
    assert status == 401
    assert "metrics.token" in text and TOKEN not in text


async def test_a_signed_in_browser_may_look(site: Service) -> None:
    session = await owner_of(site)
    async with session, session.get(url(site)) as response:
        assert response.status == 200
        assert "powermaster_flow_runs_total" in await response.text()


@pytest.mark.parametrize(
    ("settings", "header", "ok"),
    [
        ({}, f"Bearer {TOKEN}", False),  # no token set: Prometheus is refused
        ({"metrics": {}}, f"Bearer {TOKEN}", False),
        ({"metrics": {"token": TOKEN}}, f"Bearer {TOKEN}", True),
        ({"metrics": {"token": TOKEN}}, f"bearer  {TOKEN} ", True),
        ({"metrics": {"token": ""}}, "Bearer ", False),
        ({"metrics": {"token": TOKEN}}, None, False),
    ],
)
def test_allowed(settings: dict[str, Any], header: str | None, ok: bool) -> None:
    assert allowed(settings, header) is ok
