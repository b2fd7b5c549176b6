"""Power Master and Home Assistant over a real, private Mosquitto broker.

The whole service runs on virtual time against the simulated inverter; the test
plays Home Assistant with a plain MQTT client: it reads the discovery and the
state, sends an override from the mode select, restarts the broker, and
announces itself the way HA does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
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
        yield service
    finally:
        await service.stop()


async def ha(mosquitto: Mosquitto, name: str) -> MqttProbe:
    return await MqttProbe(
        mosquitto.host, mosquitto.port, "homeassistant/#", "power_master/#", client_id=name
    ).ready()


async def test_discovery_state_and_availability(site: Service, mosquitto: Mosquitto) -> None:
    home = await ha(mosquitto, "ha-1")
    try:
        config = json.loads((await home.next_on(DISCOVERY))[0])
        assert config["dev"]["ids"] == ["power_master"] and config["o"]["name"] == "power-master"
        assert config["avty_t"] == "power_master/status"
        components = config["cmps"]
        energy = components["grid_import_energy"]
        assert [energy[k] for k in ("p", "device_class", "state_class", "unit_of_measurement")] == [
            "sensor",
            "energy",
            "total_increasing",
            "kWh",
        ]
        assert components["override_mode"]["p"] == "select"
        assert {"min", "max", "step"} <= components["reserve_soc"].keys()
        uids = [c["unique_id"] for c in components.values()]
        assert len(uids) == len(set(uids)) and all(u.startswith("power_master_") for u in uids)
        await site.clock.advance(30)  # type: ignore[attr-defined]
        await site.engine.settle()
        at = datetime.fromtimestamp(START + 30, UTC).isoformat()
        state = json.loads((await home.next_on("power_master/state"))[0])
        while state["timestamp"] != at:  # states from before may still be on their way
            state = json.loads((await home.next_on("power_master/state"))[0])
        telemetry = site.engine.context.get("global", "telemetry")
        assert state["battery_soc"] == pytest.approx(telemetry["soc"] * 100, abs=1)
        assert state["pv_w"] == round(telemetry["pv_w"])
        # A new simulated meter reads 0 kWh: unknown to HA, never a "meter reset" to 0.
        assert telemetry["energy_kwh"]["grid_import"] == 0 and state["grid_import_kwh"] is None
        late = await ha(mosquitto, "ha-late")  # retained: a dashboard opened later sees it
        try:
            assert await late.next_on("power_master/status") == ("online", True)
            assert await late.next_on("power_master/override/mode/state") == ("auto", True)
        finally:
            late.close()
    finally:
        home.close()


async def test_an_override_from_home_assistant_commands_the_inverter(
    site: Service, mosquitto: Mosquitto
) -> None:
    assert site.simulator is not None
    model = site.simulator.model
    home = await ha(mosquitto, "ha-2")
    try:
        await home.next_on(DISCOVERY)
        await _command_until(site, home, "force_charge", lambda: site.override() is not None)
        await site.engine.settle()  # the control flow ticks on the change, not 5 min later
        decision = site.engine.context.get("global", "decision")
        assert decision["level"] == "override" and decision["mode"] == "force_charge"
        pv = site.engine.context.get("global", "telemetry")["pv_w"]
        # The AC setpoint is PV minus what the battery takes: charging at full power.
        assert model.remote.enabled and model.remote.setpoint_w <= pv - decision["power_w"] + 1
        while (await home.next_on("power_master/override/mode/state"))[0] != "force_charge":
            pass  # HA's select follows: "auto" went out before, "force_charge" now
        home.publish("power_master/override/mode/set", "turbo")  # refused, nothing changes
        await _command_until(site, home, "auto", lambda: site.override() is None)
        await site.engine.settle()
        assert site.engine.context.get("global", "decision")["level"] != "override"
    finally:
        home.close()


async def test_reannounced_after_a_broker_restart_and_when_ha_comes_back(
    site: Service, mosquitto: Mosquitto
) -> None:
    home = await ha(mosquitto, "ha-3")
    await home.next_on(DISCOVERY)
    home.close()
    mosquitto.restart()  # its retained discovery is gone with it
    home = await ha(mosquitto, "ha-4")
    try:
        assert json.loads((await home.next_on(DISCOVERY, timeout=20))[0])["cmps"]  # announced again
        home.drain()
        home.publish("homeassistant/status", "online")  # HA restarted
        payload, retained = await home.next_on(DISCOVERY)
        assert retained is False and json.loads(payload)["cmps"]  # a fresh announcement
        # commands work after it all
        await _command_until(site, home, "hold", lambda: site.override() is not None)
    finally:
        home.close()


async def _command_until(
    site: Service, home: MqttProbe, payload: str, done: Any, timeout: float = 10.0
) -> None:
    """Send an override command from "HA" until the site took it: the bridge's
    subscription may still be on its way after a (re)connect, and MQTT drops a
    message nobody was subscribed to yet. Waits on the context, never on a timer."""
    changed = asyncio.Event()
    stop = site.engine.context.listen(lambda *_: changed.set(), "global", "override")
    try:
        for _ in range(int(timeout / 0.1)):
            if done():
                return
            changed.clear()
            home.publish("power_master/override/mode/set", payload)
            try:
                await asyncio.wait_for(changed.wait(), 0.1)
            except TimeoutError:
                continue
        assert done(), f"the site never took {payload!r}"
    finally:
        stop()
