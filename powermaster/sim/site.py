"""A home battery site that integrates energy exactly over clock time.

The model never reads wall time: whoever owns it calls ``advance_to(t)`` with
the clock's time. Between two calls it splits the interval at every slot
boundary, at the watchdog expiry and at the instant the SOC reaches a limit, so
the result is the same however often it is polled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from powermaster.sim.dispatch import Flows, Limits, WorkMode, dispatch
from powermaster.sim.meter import Meter

_EPS = 1e-12
_MAX_STEPS_PER_SEGMENT = 8


class Profile(Protocol):
    """Average PV and load power (W) for the slot that contains epoch time ``t``."""

    @property
    def slot_seconds(self) -> float: ...

    def __call__(self, t: float) -> tuple[float, float]: ...


@dataclass(frozen=True, slots=True)
class ConstantProfile:
    """The same PV and load at every time (tests, demos)."""

    pv_w: float
    load_w: float
    slot_seconds: float = 1800.0

    def __call__(self, t: float) -> tuple[float, float]:
        return self.pv_w, self.load_w


@dataclass(frozen=True, slots=True)
class FunctionProfile:
    """Wrap a plain ``t -> (pv_w, load_w)`` function as a profile."""

    func: Callable[[float], tuple[float, float]]
    slot_seconds: float = 1800.0

    def __call__(self, t: float) -> tuple[float, float]:
        return self.func(t)


@dataclass(frozen=True, slots=True)
class Battery:
    """Battery hardware limits. SOC values are fractions of ``capacity_kwh``."""

    capacity_kwh: float = 10.0
    max_charge_w: float = 5000.0
    max_discharge_w: float = 5000.0
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.10
    soc_max: float = 1.0
    soc_initial: float = 0.5
    nominal_voltage_v: float = 200.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.soc_min <= self.soc_initial <= self.soc_max <= 1.0:
            raise ValueError("need 0 <= soc_min <= soc_initial <= soc_max <= 1")
        if min(self.capacity_kwh, self.charge_efficiency, self.discharge_efficiency) <= 0:
            raise ValueError("capacity and efficiencies must be positive")


@dataclass(frozen=True, slots=True)
class Grid:
    """Grid connection limits (W)."""

    max_import_w: float = 15000.0
    max_export_w: float = 5000.0


@dataclass(slots=True)
class InverterSettings:
    """The 41xxx settings the model honours, in register units."""

    work_mode: WorkMode = WorkMode.SELF_USE
    max_charge_current_da: int = 500  # 41007, 0.1 A
    max_discharge_current_da: int = 500  # 41008, 0.1 A
    min_soc_pct: int = 10  # 41009, off-grid floor
    max_soc_pct: int = 100  # 41010, ignored while remote charging
    min_soc_on_grid_pct: int = 10  # 41011, Self Use floor
    export_limit_w: int | None = None  # 46616/46617 (KH >= 1.33); None: the grid's


@dataclass(slots=True)
class RemoteControl:
    """Registers 44000-44002 and when they were last written."""

    enabled: bool = False
    timeout_s: int = 60
    setpoint_w: int = 0
    last_write: float = 0.0

    def deadline(self) -> float | None:
        """When the watchdog drops remote control; a 0 s timeout never expires."""
        if not self.enabled or self.timeout_s <= 0:
            return None
        return self.last_write + self.timeout_s


@dataclass(slots=True)
class SiteModel:
    """Battery, grid, inverter settings and meter, advanced along a clock."""

    profile: Profile
    start: float
    battery: Battery = field(default_factory=Battery)
    grid: Grid = field(default_factory=Grid)
    settings: InverterSettings = field(default_factory=InverterSettings)
    remote: RemoteControl = field(default_factory=RemoteControl)
    grid_lost: bool = False
    time: float = field(init=False)
    soc: float = field(init=False)
    meter: Meter = field(init=False)

    def __post_init__(self) -> None:
        self.time = float(self.start)
        self.soc = self.battery.soc_initial
        self.meter = Meter(slot_seconds=self.profile.slot_seconds)

    # -- control surface (each call first brings the model up to ``now``) --

    def set_work_mode(self, mode: WorkMode | int, now: float) -> None:
        self.advance_to(now)
        self.settings.work_mode = WorkMode(mode)

    def set_setting(self, name: str, value: int, now: float) -> None:
        """Change one of the numeric ``InverterSettings`` fields."""
        if name == "work_mode" or not hasattr(self.settings, name):
            raise ValueError(f"unknown setting {name!r}")
        self.advance_to(now)
        setattr(self.settings, name, int(value))

    def write_remote(
        self,
        now: float,
        *,
        enabled: bool | None = None,
        timeout_s: int | None = None,
        setpoint_w: int | None = None,
    ) -> None:
        """Apply a write to 44000/44001/44002; any such write feeds the watchdog."""
        self.advance_to(now)
        if enabled is not None:
            self.remote.enabled = enabled
        if timeout_s is not None:
            self.remote.timeout_s = int(timeout_s)
        if setpoint_w is not None:
            self.remote.setpoint_w = int(setpoint_w)
        self.remote.last_write = self.time

    def set_grid_lost(self, lost: bool, now: float) -> None:
        self.advance_to(now)
        self.grid_lost = lost

    # -- state --

    @property
    def mode_label(self) -> str:
        if self.grid_lost:
            return "off_grid"
        if self.remote.enabled:
            return "remote"
        return self.settings.work_mode.name.lower()

    def flows(self) -> Flows:
        """Power flows at the model's current time."""
        pv, load = self.profile(self.time)
        return self._flows(pv, load)

    def limits(self) -> Limits:
        """What the battery and grid can take at the current SOC."""
        volts = self.battery.nominal_voltage_v
        charge = min(self.battery.max_charge_w, self.settings.max_charge_current_da * 0.1 * volts)
        discharge = min(
            self.battery.max_discharge_w, self.settings.max_discharge_current_da * 0.1 * volts
        )
        if self.soc >= self._ceiling() - _EPS:
            charge = 0.0
        if self.soc <= self._floor() + _EPS:
            discharge = 0.0
        if self.grid_lost:
            return Limits(charge, discharge, 0.0, 0.0)
        return Limits(charge, discharge, self.grid.max_import_w, self.export_limit_w)

    @property
    def export_limit_w(self) -> float:
        """The export the inverter allows in every mode: its own limit within the grid's."""
        own = self.settings.export_limit_w
        return self.grid.max_export_w if own is None else min(self.grid.max_export_w, own)

    # -- integration --

    def advance_to(self, t: float) -> None:
        """Integrate from the last time to ``t``; going backwards is a no-op."""
        slot = self.profile.slot_seconds
        while self.time < t:
            slot_end = (math.floor(self.time / slot) + 1) * slot
            end = min(t, slot_end)
            deadline = self.remote.deadline()
            if deadline is not None and deadline <= self.time:
                self.remote.enabled = False
                continue
            if deadline is not None:
                end = min(end, deadline)
            self._integrate(end)
            if deadline is not None and self.time >= deadline:
                self.remote.enabled = False

    def _integrate(self, end: float) -> None:
        """Constant profile and settings up to ``end``; split where the SOC hits a limit."""
        pv, load = self.profile(self.time)
        for _ in range(_MAX_STEPS_PER_SEGMENT):
            if self.time >= end:
                return
            flows = self._flows(pv, load)
            step, soc_after = self._soc_step(flows.battery_w, end - self.time)
            self.meter.add(self.time, step, flows, soc_after, self.mode_label)
            self.soc = soc_after
            self.time = end if self.time + step >= end else self.time + step
        raise RuntimeError("SOC integration did not converge")  # pragma: no cover

    def _soc_step(self, battery_w: float, seconds: float) -> tuple[float, float]:
        """How long the battery power can run (up to ``seconds``) and the SOC after."""
        capacity_ws = self.battery.capacity_kwh * 3.6e6
        if battery_w > 0:
            rate = battery_w * self.battery.charge_efficiency / capacity_ws
            bound = self._ceiling()
        elif battery_w < 0:
            rate = battery_w / self.battery.discharge_efficiency / capacity_ws
            bound = self._floor()
        else:
            return seconds, self.soc
        if rate == 0.0:  # a power so small (subnormal) that it moves no SOC at all
            return seconds, self.soc
        to_bound = (bound - self.soc) / rate
        if to_bound <= seconds:
            return max(0.0, to_bound), bound
        soc = self.soc + rate * seconds
        return seconds, min(self.battery.soc_max, max(self.battery.soc_min, soc))

    def _flows(self, pv: float, load: float) -> Flows:
        remote = self.remote.enabled and not self.grid_lost
        mode = None if remote else self.settings.work_mode
        if self.grid_lost:
            mode = WorkMode.SELF_USE  # EPS: PV and battery serve the house
        return dispatch(pv, load, self.limits(), mode, float(self.remote.setpoint_w))

    def _ceiling(self) -> float:
        if self.remote.enabled and not self.grid_lost:
            return self.battery.soc_max  # 41010 is ignored during remote charging
        return min(self.battery.soc_max, self.settings.max_soc_pct / 100.0)

    def _floor(self) -> float:
        pct = self.settings.min_soc_pct if self.grid_lost else self.settings.min_soc_on_grid_pct
        return max(self.battery.soc_min, pct / 100.0)
