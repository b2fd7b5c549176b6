"""What the command line says for one run, and how it lays over the site config.

Apart from the service so that starting and applying an edit (``powermaster.applying``)
lay the same options over a config the same way, and the Settings page can say which
fields the command line holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows import FLOWS_DIR, SITE_CONFIG
from powermaster.datadir import default_data_dir


@dataclass
class Options:
    config: Path = SITE_CONFIG
    flows: Path = FLOWS_DIR
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8080
    speed: float = 1.0
    inverter: str | None = None  # HOST:PORT or /dev/tty... of a real inverter; None: simulator
    simulator_port: int = 5020
    mqtt: str | None = None  # HOST:PORT of an MQTT broker, over the site config's mqtt section
    ui: bool = True
    watch: bool = False  # reload the flows and the site config when their files change
    shadow: bool = False  # control.mode: shadow whatever the site config says (run --shadow)
    extra_settings: dict[str, Any] = field(default_factory=dict)


def as_run(options: Options, settings: dict[str, Any]) -> dict[str, Any]:
    """The site config as this process runs it: the command line's overrides on top."""
    settings.update(options.extra_settings)
    if options.shadow:
        settings["control"] = {**settings.get("control", {}), "mode": "shadow"}
    if options.inverter and not options.inverter.startswith("/"):
        host, _, port = options.inverter.rpartition(":")
        settings["inverter"].update(host=host or "127.0.0.1", port=int(port))
    elif options.inverter:  # a serial device: an RS485 adapter on this machine
        line = {**(settings["inverter"].get("serial") or {}), "port": options.inverter}
        settings["inverter"].update(transport="serial", serial=line)
    else:  # the simulator speaks Modbus TCP, whatever gateway the site names
        simulator = {"host": "127.0.0.1", "port": options.simulator_port, "transport": "tcp"}
        settings["inverter"].update(simulator)
    if options.mqtt:
        host, _, port = options.mqtt.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--mqtt wants HOST:PORT, got {options.mqtt!r}")
        settings["mqtt"].update(host=host, port=int(port))
    return settings


def started_with(options: Options) -> dict[str, str]:
    """The site config fields the command line sets for this run, and what set each:
    the Settings page says an edit to them waits for a start without it."""
    sources: dict[str, str] = {}
    if options.inverter and not options.inverter.startswith("/"):
        given = f"--inverter {options.inverter}"
        sources |= dict.fromkeys(("inverter.host", "inverter.port"), given)
    elif options.inverter:
        sources |= dict.fromkeys(
            ("inverter.transport", "inverter.serial.port"), f"--inverter {options.inverter}"
        )
    else:
        simulator = f"the simulator (run without --inverter, port {options.simulator_port})"
        fields = ("inverter.host", "inverter.port", "inverter.transport")
        sources |= dict.fromkeys(fields, simulator)
    if options.shadow:
        sources["control.mode"] = "--shadow"
    if options.mqtt:
        sources |= dict.fromkeys(("mqtt.host", "mqtt.port"), f"--mqtt {options.mqtt}")
    return sources
