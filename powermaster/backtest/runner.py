"""``power-master backtest``: the product's real flows against a scenario, on virtual time.

The simulated Fox KH serves the scenario's real PV and load over Modbus TCP;
the flows see prices and forecasts only as the scenario says they were known;
the clock runs as fast as the work allows. Every figure in the result comes
from the simulator's own meter. The two baselines (the inverter's own Self Use
with no software, and no battery) run on the same simulator model.
"""

from __future__ import annotations

import copy
import math
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from aiohttp import web

from flowengine import Engine, VirtualClock, default_registry, load_flow_dir
from flowengine.database import open_database
from flowengine.registry import Registry
from flows import FLOWS_DIR
from nodes.forecast.accuracy import MAX_DAYS, AccuracyQuery, pv_accuracy
from nodes.history.store import seed_history
from nodes.replay import ReplayDatasetConnection, SiteMeterConnection
from powermaster.backtest.attribution import work_out
from powermaster.backtest.books import close_books, scenario_prices
from powermaster.backtest.car import CarSpec
from powermaster.backtest.scenario import Scenario
from powermaster.config import merge_defaults
from powermaster.service import NOT_FLOW_FILES
from powermaster.sim.evse import SimCar, SimEvse, WithCar
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.retailer import SimulatedRetailer
from powermaster.sim.site import Battery, Grid, SiteModel

Progress = Callable[[float], None]
CHUNK_SECONDS = 6 * 3600
#: Flows that only tell people (notifications, Home Assistant over MQTT): they change
#: nothing the meter sees, and a backtest has nobody to tell.
TELL_ONLY_FLOWS = ("notify.yaml", "homeassistant.yaml")
#: A scenario has no controllable loads (docs/backtest.md): nothing for these flows to drive.
NO_LOADS_FLOWS = ("loads.yaml", "flexible.yaml")
#: Accounts only: where each day's money went is worked out once the run is over, when
#: asked (``run_backtest(attribution=True)``; powermaster/backtest/attribution.py).
ACCOUNTS_ONLY_FLOWS = ("attribution.yaml",)


class ScenarioProfile:
    """The scenario's real PV and load as the simulator's profile."""

    def __init__(self, scenario: Scenario) -> None:
        self.start = scenario.start.timestamp()
        self.slot_seconds = float(scenario.slot_minutes * 60)
        self.pv = scenario.pv_w
        self.load = scenario.load_w

    def __call__(self, t: float) -> tuple[float, float]:
        i = int((t - self.start) // self.slot_seconds)
        i = min(max(i, 0), len(self.pv) - 1)
        return float(self.pv[i]), float(self.load[i])


class ScenarioDataset:
    """What the flows may know at time t: the scenario's visibility rules. An issue's PV
    spread (``pv_p10_w``, ``pv_p90_w``) rides along: the ``sample`` PV provider gives it
    as a reading's P10 and P90, as Solcast's arrive (nodes/replay/providers.py)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.slot_seconds = scenario.slot_minutes * 60

    def issue_at(self, t: float) -> int:
        """Which forecast issue is in force at t (-1: none yet, or perfect foresight)."""
        return self.scenario.issue_index(t)

    def forecast(self, t: float, slots: int) -> dict[str, Any]:
        known = self.scenario.known_at(t, slots)
        # Before any issue (or where one leaves prices out) only today's real price is
        # known: hold it flat. PV nobody forecast is taken as none.
        now_slot = self.scenario.slot_index(t)
        length = max(
            (
                len(v)
                for k, v in known.items()
                if k in ("import_price", "export_price", "pv_w") and v
            ),
            default=1,
        )
        for key, series in (
            ("import_price", self.scenario.import_price),
            ("export_price", self.scenario.export_price),
        ):
            if known.get(key) is None:
                known[key] = [series[now_slot]] * length
        if known.get("pv_w") is None:
            known["pv_w"] = [0.0] * length
        return known


def backtest_settings(scenario: Scenario) -> dict[str, Any]:
    """Exactly the scenario's battery and grid; no site extras unless it names them (its
    ``planner`` keys, e.g. SOC targets, over the planner section set here)."""
    battery = scenario.battery
    settings = merge_defaults({})
    settings["site"] = {"name": scenario.name, "timezone": scenario.timezone}
    settings["battery"].update(
        capacity_kwh=battery.capacity_kwh,
        max_charge_w=battery.max_charge_w,
        max_discharge_w=battery.max_discharge_w,
        charge_efficiency=battery.charge_efficiency,
        discharge_efficiency=battery.discharge_efficiency,
        soc_min=battery.soc_min,
        soc_max=battery.soc_max,
    )
    settings["grid"].update(
        max_import_w=scenario.grid.max_import_w, max_export_w=scenario.grid.max_export_w
    )
    settings["planner"].update(cycle_cost_per_kwh=battery.cycle_cost_per_kwh, break_even_delta=0.0)
    settings["planner"].update(copy.deepcopy(scenario.planner or {}))
    settings["control"]["soc_margin"] = 0.0
    # The scenario's bill has no fixed charges: the ledger's billing cycles carry none either.
    settings["billing"].update(supply_charge=0.0, monthly_fee=0.0)
    settings["simulator"]["soc_initial"] = battery.soc_initial
    # A long watchdog keeps the month's refresh writes few; the flows are unchanged.
    settings["inverter"]["watchdog_s"] = 600
    # Protocols §1.7's own block 1 (31000-31027) in one request: the simulated KH
    # answers it, and the month takes two polls fewer per tick (same registers read).
    settings["inverter"]["max_read_registers"] = 28
    return settings


def site_for(scenario: Scenario, max_power: bool = True) -> SiteModel:
    b = scenario.battery
    return SiteModel(
        profile=ScenarioProfile(scenario),
        start=scenario.start.timestamp(),
        battery=Battery(
            capacity_kwh=b.capacity_kwh,
            max_charge_w=b.max_charge_w if max_power else 0.0,
            max_discharge_w=b.max_discharge_w if max_power else 0.0,
            charge_efficiency=b.charge_efficiency,
            discharge_efficiency=b.discharge_efficiency,
            soc_min=b.soc_min,
            soc_max=b.soc_max,
            soc_initial=b.soc_initial,
        ),
        grid=Grid(max_import_w=scenario.grid.max_import_w, max_export_w=scenario.grid.max_export_w),
    )


async def run_backtest(
    scenario: Scenario,
    flows_dir: Path = FLOWS_DIR,
    progress: Progress | None = None,
    registry: Registry | None = None,
    site: Mapping[str, Mapping[str, Any]] | None = None,
    attribution: bool = False,
    car: CarSpec | None = None,
) -> dict[str, Any]:
    """Run the flows over the whole scenario and return the result document. ``site``
    sets site config keys over the scenario's, section by section (a benchmark's
    ``{"pv_calibration": {"enabled": True}}``). With ``attribution``, the result's
    ``attribution`` says where each day's money went (powermaster/backtest/attribution.py).
    With a ``car``, a simulated car on a simulated OpenEVSE (powermaster/sim/evse.py) is
    driven by the flexible flow as ``flexible_loads.car``; its draw is house load to the
    meter, and the result's ``car`` gives the SOC it left with each morning."""
    wall_start = time.perf_counter()
    start = scenario.start.timestamp()
    end = start + scenario.n_slots * scenario.slot_minutes * 60
    clock = VirtualClock(start)
    model = site_for(scenario)
    registry = registry or default_registry()
    no_loads = tuple(f for f in NO_LOADS_FLOWS if not (car and f == "flexible.yaml"))
    flowset = load_flow_dir(
        flows_dir,
        registry,
        exclude=(*NOT_FLOW_FILES, *TELL_ONLY_FLOWS, *no_loads, *ACCOUNTS_ONLY_FLOWS),
        complete=False,  # a backtest leaves out the flows that only tell people
    )
    settings = backtest_settings(scenario)
    for section, values in (site or {}).items():
        settings[section] = {**settings.get(section, {}), **values}
    evse = None
    if car is not None:
        evse = _car_evse(scenario, car, clock, model)
        evse_port = _free_port()
        settings["flexible_loads"] = car.settings(evse_port)
    with tempfile.TemporaryDirectory(prefix="pm-backtest-") as data_dir:
        port = _free_port()
        settings["inverter"].update(host="127.0.0.1", port=port)
        retailer = SimulatedRetailer(model, scenario_prices(scenario))
        server = FoxKHServer(model, clock, "127.0.0.1", port, tick_s=scenario.slot_minutes * 60)
        engine = Engine(
            registry,
            clock,
            Path(data_dir) / "engine.db",
            settings,
            timezone=scenario.timezone,
            keep_traces=0,  # the data dir goes when the run ends: nobody reads its traces
            data_dir=data_dir,
            provided=[  # sources: sample replays the scenario and reads the simulated meter
                ReplayDatasetConnection.of(ScenarioDataset(scenario), clock),
                SiteMeterConnection.of(retailer, clock),
            ],
        )
        await server.start()
        evse_site = None
        if evse is not None:
            evse_site = web.AppRunner(evse.app())
            await evse_site.setup()
            await web.TCPSite(evse_site, "127.0.0.1", evse_port).start()
        try:
            _seed_history(scenario, Path(data_dir))
            await engine.start(flowset)
            t = start
            last = end - 1e-3  # a tick at the very end would look past the scenario
            while t < last:
                t = min(t + CHUNK_SECONDS, last)
                await clock.run_until(t)
                if progress is not None:
                    progress((t - start) / (last - start))
            model.advance_to(end)
            ticks = _count(engine, "control", "read")
            plans = _count(engine, "plan", "store")
        finally:
            await engine.stop()
            await server.stop()
            if evse_site is not None:
                await evse_site.cleanup()
            engine.close()
        start_day = int(settings["billing"]["start_day"])
        billing = close_books(Path(data_dir) / "site.db", scenario, retailer, start_day)
        accuracy = _pv_accuracy(Path(data_dir) / "site.db", scenario, settings, last)
        days = work_out(Path(data_dir) / "site.db", scenario, settings) if attribution else None
    result = score(scenario, model)
    if days is not None:
        result["attribution"] = days
    if evse is not None:
        evse.advance_to(end)
        step = scenario.slot_minutes * 60
        for i, slot in enumerate(result["slots"]):  # the car's draw, in the house load
            slot["flexible_wh"] = round(evse.drawn_by_slot.get(start + i * step, 0.0) * 1000, 3)
        zone = ZoneInfo(scenario.timezone)
        result["car"] = {
            "departures": [
                (datetime.fromtimestamp(at, zone).isoformat(), round(soc, 4))
                for at, soc in evse.car.departures
            ],
            "drawn_kwh": round(evse.drawn_kwh, 3),
        }
    result.update(
        billing=billing,
        pv_accuracy=accuracy,
        ticks=ticks,
        plans=plans,
        wall_seconds=round(time.perf_counter() - wall_start, 2),
    )
    return result


def _car_evse(scenario: Scenario, car: CarSpec, clock: VirtualClock, model: SiteModel) -> SimEvse:
    """The car on its OpenEVSE, its draw put into the site model's house load."""
    zone = ZoneInfo(scenario.timezone)
    sim_car = SimCar(
        zone,
        capacity_kwh=car.capacity_kwh,
        efficiency=car.efficiency,
        arrive_min=car.minute(car.arrive),
        leave_min=car.minute(car.leave),
        arrive_soc=car.arrive_soc,
        soc=car.arrive_soc,
    )
    evse = SimEvse(
        sim_car,
        clock.time,
        voltage=car.voltage,
        phases=car.phases,
        max_amps=car.max_amps,
        before_change=model.advance_to,
        slot_seconds=scenario.slot_minutes * 60,
    )
    model.profile = WithCar(model.profile, evse)
    return evse


def _seed_history(scenario: Scenario, data_dir: Path) -> None:
    """The load the home had before the start, so the predictor has something to learn."""
    history = scenario.history or {}
    load = history.get("load_w")
    if not load:
        return

    step = scenario.slot_seconds
    start = scenario.start_epoch - len(load) * step
    db = open_database(data_dir / "site.db", schema="")
    try:
        pv = history.get("pv_w")
        seed_history(
            db,
            [start + i * step for i in range(len(load))],
            load,
            pv if pv and len(pv) == len(load) else None,
        )
    finally:
        db.close()


def _pv_accuracy(
    path: Path, scenario: Scenario, settings: Mapping[str, Any], end: float
) -> dict[str, Any]:
    """The PV forecast against what the panels gave over the run, day by day, before and
    after calibration: the report ``/api/forecast/accuracy`` gives."""
    days = min(MAX_DAYS, math.ceil(scenario.n_slots * scenario.slot_seconds / 86400))
    with closing(open_database(path, schema="")) as db:
        return pv_accuracy(db, AccuracyQuery(days), settings, ZoneInfo(scenario.timezone), end)


def score(scenario: Scenario, model: SiteModel) -> dict[str, Any]:
    """The result document from the simulator's meter, with both baselines."""
    slots = _slots(scenario, model)
    bill = _bill(scenario, slots)
    return {
        "scenario": scenario.name,
        "slots": slots,
        "bill": bill,
        "baselines": {
            "no_battery": _baseline(scenario, max_power=False)["net"],
            "self_use": _baseline(scenario, max_power=True)["net"],
        },
        "soc_initial": scenario.battery.soc_initial,
        "soc_final": round(model.soc, 6),
    }


def _baseline(scenario: Scenario, max_power: bool) -> dict[str, float]:
    """The same site with the inverter in its own Self Use (or with no battery)."""
    model = site_for(scenario, max_power)
    model.advance_to(scenario.start.timestamp() + scenario.n_slots * scenario.slot_minutes * 60)
    return _bill(scenario, _slots(scenario, model))


def self_use_slots(scenario: Scenario) -> list[dict[str, Any]]:
    """The self-use baseline's slots, in the result's form."""
    model = site_for(scenario, True)
    model.advance_to(scenario.start.timestamp() + scenario.n_slots * scenario.slot_minutes * 60)
    return _slots(scenario, model)


def baseline_soc_final(scenario: Scenario) -> float:
    model = site_for(scenario, True)
    model.advance_to(scenario.start.timestamp() + scenario.n_slots * scenario.slot_minutes * 60)
    return model.soc


def _slots(scenario: Scenario, model: SiteModel) -> list[dict[str, Any]]:
    step = scenario.slot_minutes * 60
    start = int(scenario.start.timestamp())
    out = []
    soc = scenario.battery.soc_initial
    for i in range(scenario.n_slots):
        t = start + i * step
        record = model.meter.slots.get(t)
        if record is None:
            out.append(_empty_slot(scenario, i, soc))
            continue
        e = record.energy
        soc = record.soc_end
        out.append(
            {
                "start": scenario.slot_start(i).isoformat(),
                "grid_import_wh": round(e.grid_import, 3),
                "grid_export_wh": round(e.grid_export, 3),
                "battery_charge_wh": round(e.battery_charge, 3),
                "battery_discharge_wh": round(e.battery_discharge, 3),
                "pv_curtailed_wh": round(e.pv_curtailed, 3),
                "soc_end": round(record.soc_end, 6),
                "mode": record.mode,
            }
        )
    return out


def _empty_slot(scenario: Scenario, i: int, soc: float) -> dict[str, Any]:
    return {
        "start": scenario.slot_start(i).isoformat(),
        "grid_import_wh": 0.0,
        "grid_export_wh": 0.0,
        "battery_charge_wh": 0.0,
        "battery_discharge_wh": 0.0,
        "pv_curtailed_wh": 0.0,
        "soc_end": soc,
        "mode": "",
    }


def _bill(scenario: Scenario, slots: list[dict[str, Any]]) -> dict[str, float]:
    import_cost = sum(
        s["grid_import_wh"] / 1000 * p for s, p in zip(slots, scenario.import_price, strict=True)
    )
    export_revenue = sum(
        s["grid_export_wh"] / 1000 * p for s, p in zip(slots, scenario.export_price, strict=True)
    )
    return {
        "import_cost": round(import_cost, 4),
        "export_revenue": round(export_revenue, 4),
        "net": round(import_cost - export_revenue, 4),
    }


def _count(engine: Engine, flow: str, node: str) -> int:
    runtime = engine.flows.get(flow)
    return runtime.nodes[node].count if runtime and node in runtime.nodes else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def progress_bar(stream: TextIO = sys.stderr, width: int = 40) -> Progress:
    """A one-line terminal progress bar with elapsed wall time."""
    started = time.perf_counter()

    def show(fraction: float) -> None:
        done = int(width * fraction)
        elapsed = time.perf_counter() - started
        stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {fraction:5.1%} {elapsed:6.1f}s")
        if fraction >= 1:
            stream.write("\n")
        stream.flush()

    return show


def median_import(scenario: Scenario) -> float:
    return statistics.median(scenario.import_price)
