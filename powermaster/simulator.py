"""The simulated site as the product runs it: sample data behind a Fox KH on Modbus TCP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowengine.clock import Clock
from nodes.replay.profile import SampleProfile
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import Battery, Grid, Profile, SiteModel


def site_model(
    settings: Mapping[str, Any], clock: Clock, profile: Profile | None = None
) -> SiteModel:
    """A site model with the config's battery and grid, on the sample profile."""
    battery, grid = settings["battery"], settings["grid"]
    soc_initial = settings.get("simulator", {}).get("soc_initial", 0.5)
    return SiteModel(
        profile=profile or SampleProfile.from_csv(),
        start=clock.time(),
        battery=Battery(
            capacity_kwh=battery["capacity_kwh"],
            max_charge_w=battery["max_charge_w"],
            max_discharge_w=battery["max_discharge_w"],
            charge_efficiency=battery["charge_efficiency"],
            discharge_efficiency=battery["discharge_efficiency"],
            soc_min=battery["soc_min"],
            soc_max=battery["soc_max"],
            soc_initial=min(max(soc_initial, battery["soc_min"]), battery["soc_max"]),
        ),
        grid=Grid(max_import_w=grid["max_import_w"], max_export_w=grid["max_export_w"]),
    )


def inverter_server(
    model: SiteModel,
    clock: Clock,
    host: str,
    port: int,
    firmware: str = "kh133",
    transport: str = "tcp",
) -> FoxKHServer:
    return FoxKHServer(model, clock, host, port, firmware, transport=transport)
