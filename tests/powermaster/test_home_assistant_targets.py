"""A SOC target and an override set ahead from Home Assistant, over a real, private
Mosquitto broker: the whole service on virtual time against the simulated inverter,
the test playing Home Assistant with a plain MQTT client.

HA's SOC target controls (number, text, hard switch) choose the target and its switch
sets it: the plan flow re-plans on the change and the plan carries it; the switch
turned off cancels it. The override select's JSON with a ``from`` sets one ahead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine.clock import VirtualClock
from flows import SITE_CONFIG
from powermaster.service import Options, Service
from tests.support.mosquitto import Mosquitto, free_port
from tests.support.mqtt_probe import MqttProbe

START = datetime(2026, 1, 15, 2, 0, tzinfo=UTC).timestamp()  # noon in Brisbane
DISCOVERY = "homeassistant/device/power_master/config"


@pytest.fixture
async def site(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Service]:
    config = tmp_path / "site.yaml"
    config.write_text(SITE_CONFIG.read_text() + "\nhomeassistant:\n  state_every: 30s\n")
    options = Options(
        config=config,
        data_dir=tmp_path / "data",
        simulator_port=free_port(),
        mqtt=f"{mosquitto.host}:{mosquitto.port}",
        ui=False,
    )
    service = Service(options, clock=VirtualClock(START))
    await service.start()
    try:
        await service.engine.settle()
        yield service
    finally:
        await service.stop()


async def ha(mosquitto: Mosquitto, name: str) -> MqttProbe:
    return await MqttProbe(
        mosquitto.host, mosquitto.port, "homeassistant/#", "power_master/#", client_id=name
    ).ready()


async def command_until(
    site: Service, home: MqttProbe, topic: str, payload: str, key: str, done: Callable[[], bool]
) -> None:
    """Send a command from "HA" until the site took it (the bridge's subscription may
    still be on its way, and MQTT drops a message nobody was subscribed to yet). Waits on
    the global context key ``key`` changing, never on a timer."""
    changed = asyncio.Event()
    stop = site.engine.context.listen(lambda *_: changed.set(), "global", key)
    try:
        for _ in range(100):
            if done():
                return
            changed.clear()
            home.publish(topic, payload)
            try:
                await asyncio.wait_for(changed.wait(), 0.1)
            except TimeoutError:
                continue
        assert done(), f"the site never took {payload!r} on {topic}"
    finally:
        stop()


def targets(site: Service) -> list[dict[str, Any]]:
    return list(site.engine.context.get("global", "soc_targets") or [])


def plan_targets(site: Service) -> list[dict[str, Any]]:
    return list((site.engine.context.get("global", "plan") or {}).get("targets") or [])


async def test_a_soc_target_set_from_home_assistant_re_plans_and_the_plan_carries_it(
    site: Service, mosquitto: Mosquitto
) -> None:
    home = await ha(mosquitto, "ha-targets")
    try:
        config = json.loads((await home.next_on(DISCOVERY))[0])
        components = config["cmps"]
        assert components["target_soc"]["p"] == "number"
        assert components["target_by"]["p"] == "text" and components["target_by"]["pattern"]
        assert components["target"]["p"] == "switch"

        def chosen() -> dict[str, Any]:
            return dict(site.engine.context.get("global", "ha_soc_target") or {})

        await command_until(
            site,
            home,
            "power_master/target/soc/set",
            "90",
            "ha_soc_target",
            lambda: chosen().get("soc") == 0.9,
        )
        await command_until(
            site,
            home,
            "power_master/target/by/set",
            "15:00",
            "ha_soc_target",
            lambda: chosen().get("by") == "15:00",
        )
        assert targets(site) == []  # chosen, not set: nothing to plan for yet
        runs_before = len(site.engine.traces.recent("plan", 50))
        await command_until(
            site,
            home,
            "power_master/target/active/set",
            "ON",
            "soc_targets",
            lambda: len(targets(site)) == 1,
        )
        [target] = targets(site)
        assert (target["soc"], target["by"], target["date"]) == (0.9, "15:00", "2026-01-15")
        assert target["source"] == "mqtt" and target["name"] == "Home Assistant"
        await site.engine.settle()  # the plan flow runs on the change, not 30 minutes later
        runs = list(reversed(site.engine.traces.recent("plan", 50)))[runs_before:]
        assert [r["trigger"] for r in runs] == ["context global.soc_targets"]
        [planned] = plan_targets(site)
        assert planned["name"] == "Home Assistant" and planned["soc"] == 0.9
        assert planned["by"] == "2026-01-15T15:00:00+10:00"
        while (await home.next_on("power_master/target/active/state"))[0] != "ON":
            pass  # HA's switch follows
        # A change of the number while the switch is on sets the target again.
        await command_until(
            site,
            home,
            "power_master/target/soc/set",
            "70",
            "soc_targets",
            lambda: [t["soc"] for t in targets(site)] == [0.7],
        )
        await site.engine.settle()
        assert [t["soc"] for t in plan_targets(site)] == [0.7]
        await command_until(
            site,
            home,
            "power_master/target/active/set",
            "OFF",
            "soc_targets",
            lambda: targets(site) == [],
        )
        await site.engine.settle()
        assert plan_targets(site) == []
    finally:
        home.close()


async def test_an_override_set_ahead_from_home_assistant_is_kept_and_started(
    site: Service, mosquitto: Mosquitto
) -> None:
    home = await ha(mosquitto, "ha-ahead")
    try:
        await home.next_on(DISCOVERY)
        ahead = {"mode": "hold", "from": "2026-01-15T14:00", "until": "2026-01-15T15:00"}
        await command_until(
            site,
            home,
            "power_master/override/mode/set",
            json.dumps(ahead),
            "planned_overrides",
            lambda: bool(site.planned_overrides()),
        )
        [stored] = site.planned_overrides()
        assert stored["from"] == datetime(2026, 1, 15, 4, tzinfo=UTC).timestamp()
        assert stored["source"] == "mqtt" and site.override() is None
        await site.engine.settle()
        held = [s for s in site.engine.context.get("global", "plan")["slots"] if s.get("held_by")]
        assert len(held) == 2 and all(s["battery_w"] == 0 for s in held)
        clock = site.clock
        assert isinstance(clock, VirtualClock)
        await clock.run_until(stored["from"])
        await site.engine.settle()
        assert site.engine.context.get("global", "decision")["level"] == "override"
        await clock.advance(30)  # the next state message (homeassistant.state_every)
        while (await home.next_on("power_master/override/mode/state"))[0] != "hold":
            pass  # HA's select shows it once in force
    finally:
        home.close()
