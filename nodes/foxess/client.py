"""An async Fox ESS KH client that speaks Power Master's conventions.

It converts raw device signs at this edge (protocols.md §0), keeps to the
KH's read quirks (§1.7), drives remote control in the order of §1.6 and reads
back every register it writes. Every failure is an ``InverterError`` naming the
register; an unreachable inverter is "not connected", retried with a backoff
measured on the clock (never a wall-time sleep). A reading no KH could give
(SOC 250 %, a 32 kW battery) is an error too, never telemetry.

Before forcing anything it makes sure 41000 holds the configured fallback work
mode, the one the inverter runs by itself when the watchdog drops remote
control; it keeps the inverter's own min-SOC-on-grid (41011) at the storm
reserve while one is asked for and at the configured floor otherwise, and the
export power limit (46616/46617, KH >= 1.33) at the limit a command carries, in
every mode, and at the grid's otherwise.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from pymodbus.client import ModbusBaseClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from flowengine.clock import Clock, RealClock
from flowengine.errors import NodeFailure
from nodes.foxess import readback
from nodes.foxess import registers as r
from nodes.foxess.plausible import TelemetryLimits, implausible
from nodes.foxess.transport import Route, SerialLine, Transport, modbus_client, silence_hint

log = logging.getLogger(__name__)

#: How old a telemetry read of 44000-44002 may be and still verify the same command.
SEEN_FRESH_S = 10.0
#: A register written and read back wrong is read again this long after the write before
#: the mismatch counts: a KH's readback lags its writes (foxess_modbus trusts its own
#: written value for 5 s, _INVERTER_WRITE_DELAY_SECS). Well inside the 20 s between
#: watchdog feeds and the command node's 60 s timeout.
READBACK_LAG_S = 5.0
#: The export limit's FC16 write may take this long (foxess_modbus allows ~10 s for a slow
#: KH write), and is tried this often: two tries, 20 s at worst, leave the 60 s command
#: timeout room for the mode's own writes and re-reads.
EXPORT_TIMEOUT_S = 10.0
EXPORT_TRIES = 2
#: The shortest watchdog time (44001) written: a command with an end (``until``) sooner
#: than this is not fed again, and lapses at the end its last write set.
MIN_WATCHDOG_S = 10

MODES = ("self_use", "self_use_zero_export", "force_charge", "force_discharge", "hold")
#: Work modes 41000 may hold for the inverter to fall back to when the watchdog fires.
FALLBACK_MODES = {
    "self_use": r.WorkMode.SELF_USE,
    "feed_in_first": r.WorkMode.FEED_IN_FIRST,
    "back_up": r.WorkMode.BACK_UP,
}


class InverterError(NodeFailure):
    """A failed exchange with the inverter, naming the register when there is one."""

    def __init__(self, reason: str, register: int | None = None) -> None:
        self.reason = reason
        self.register = register
        where = f" (register {register})" if register is not None else ""
        super().__init__(f"{reason}{where}")


@dataclass(slots=True)
class Telemetry:
    """One poll, in internal conventions: battery + = charging, grid + = importing.

    While the BMS is not connected (37002 / 31028) the KH reads 0 for the battery:
    ``soc``, ``soc_pct``, ``battery_w`` and ``battery_temp_c`` are then None (unknown),
    never a made-up 0."""

    timestamp: float
    soc: float | None
    soc_pct: float | None
    pv_w: float
    load_w: float
    battery_w: float | None
    grid_w: float
    battery_voltage_v: float
    inverter_temp_c: float
    ambient_temp_c: float
    battery_temp_c: float | None
    inverter_state: int
    grid_lost: bool
    work_mode: int
    remote_enabled: bool
    remote_setpoint_w: int
    bms_connected: bool = True
    battery_energy_kwh: float | None = None  # BMS energy remaining (KH >= 1.33)
    #: The charge limit the inverter holds (W): 41007 (max charge current) as last read or
    #: written, at the battery voltage just read; None while unknown (never read yet).
    charge_limit_w: float | None = None
    energy_kwh: dict[str, float] = field(default_factory=dict)  # inverter totals
    energy_today_kwh: dict[str, float] = field(default_factory=dict)  # since local midnight

    def as_dict(self) -> dict[str, Any]:
        d = {name: getattr(self, name) for name in self.__slots__}  # flat: asdict is slow
        d["energy_kwh"] = dict(self.energy_kwh)
        d["energy_today_kwh"] = dict(self.energy_today_kwh)
        return d


@dataclass(slots=True)
class InverterSettings:
    """41000 and 41007-41011, decoded."""

    work_mode: int
    max_charge_current_a: float
    max_discharge_current_a: float
    min_soc_pct: int
    max_soc_pct: int
    min_soc_on_grid_pct: int


@dataclass(slots=True)
class CommandResult:
    """What a command wrote, what reading it back gave, and any disagreement."""

    mode: str
    setpoint_w: int | None
    written: dict[int, int] = field(default_factory=dict)
    readback: dict[int, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    #: How the command was carried out when that differs from what was asked.
    note: str = ""
    #: Readbacks that differ the way real KHs differ, accepted (clamped, lagging, 44000).
    tolerated: list[str] = field(default_factory=list)
    #: Parts that did not reach the inverter though the rest went out (the export limit).
    failed: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.mismatches and not self.failed

    def absorb(self, part: CommandResult) -> None:
        """Take in a step that ran before this one (its writes come first)."""
        self.written = {**part.written, **self.written}
        self.readback = {**part.readback, **self.readback}
        self.mismatches = part.mismatches + self.mismatches
        self.tolerated = part.tolerated + self.tolerated
        self.failed = part.failed + self.failed

    def follow(self, part: CommandResult) -> None:
        """Take in a step that ran after this one (its writes come last)."""
        self.written.update(part.written)
        self.readback.update(part.readback)
        self.mismatches += part.mismatches
        self.tolerated += part.tolerated
        self.failed += part.failed

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verified": self.verified}


@dataclass(slots=True)
class _Remote:
    """The remote-control command this client put in force (so it may refresh it)."""

    mode: str
    setpoint_w: int
    written_at: float = 0.0
    #: When it ends by itself (epoch seconds): its watchdog is set to lapse then.
    until: float | None = None

    def over(self, now: float) -> bool:
        return self.until is not None and now >= self.until


class FoxKHClient:
    """One Modbus link to a KH: through its RS485 gateway (TCP, RTU over TCP, UDP) or an
    RS485 adapter on this machine (serial)."""

    def __init__(
        self,
        host: str,
        port: int = 502,
        *,
        unit_id: int = r.UNIT_ID,
        firmware: str = "kh133",
        register_function: str = "holding",
        watchdog_s: int = 60,
        timeout_s: float = 3.0,
        clock: Clock | None = None,
        backoff_s: float = 1.0,
        backoff_max_s: float = 60.0,
        fallback_mode: str = "self_use",
        min_soc_backstop: float | None = None,
        charge_current_a: float | None = None,
        limits: TelemetryLimits | None = None,
        max_export_w: float | None = None,
        settings_check_s: float = 900.0,
        readback_lag_s: float = READBACK_LAG_S,
        export_timeout_s: float = EXPORT_TIMEOUT_S,
        export_tries: int = EXPORT_TRIES,
        max_read_registers: int | None = None,
        transport: str = "tcp",
        serial: SerialLine | None = None,
        read_only: bool = False,
    ) -> None:
        """``min_soc_backstop`` (a fraction) is the 41011 floor to keep when no reserve is
        asked for; None leaves 41011 alone unless a command asks for a reserve.
        ``charge_current_a`` is 41007's normal value (A), restored when no command limits
        the charge (None: what it held before this client first lowered it).
        ``max_export_w`` is the grid's export limit: no command's limit goes above it,
        and it is restored when a command carries none (None: what the register held
        before this client first changed it). ``settings_check_s``: how long a 41xxx
        setting read or verified stays trusted (protocols §1.7: settings are read on
        change or every few minutes, not on every poll). ``readback_lag_s``: how long
        after a write a wrong readback is read again before it counts (clock seconds);
        ``export_timeout_s`` and ``export_tries``: the export limit's patience (wall
        seconds per try). ``transport`` is how the
        gateway carries Modbus (``nodes.foxess.transport``; ``serial`` reads the line
        from ``serial`` and ignores host and port); ``max_read_registers`` defaults to
        the transport's. ``read_only`` (shadow mode) refuses every write before a byte
        goes out."""
        if register_function not in ("holding", "input"):
            raise ValueError("register_function must be 'holding' or 'input'")
        if fallback_mode not in FALLBACK_MODES:
            raise ValueError(f"fallback_mode must be one of {list(FALLBACK_MODES)}")
        self.fallback = FALLBACK_MODES[fallback_mode]
        self.min_soc_backstop = min_soc_backstop
        self.charge_current_a = charge_current_a
        self._charge_current_found: int | None = None  # 41007 before we first lowered it
        self._battery_v: float | None = None  # as last read: converts W into 41007's amps
        self.limits = limits or TelemetryLimits()
        self.firmware = r.Firmware(firmware)
        self.unit_id = unit_id
        self.register_function = register_function
        self.watchdog_s = int(watchdog_s)
        self.clock: Clock = clock or RealClock()
        self._map = r.register_map(self.firmware)
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.route = Route(Transport(transport), host, port, serial)
        self._modbus: ModbusBaseClient | None = None  # made in connect(): needs a loop
        self._backoff_min = backoff_s
        self._backoff_max = backoff_max_s
        self._backoff = backoff_s
        self._next_attempt = 0.0
        self._remote: _Remote | None = None
        self.max_export_w = max_export_w
        self._export_register = r.EXPORT_LIMIT.get(self.firmware)
        self._export_limit: int | None = None  # in force as last verified; None: unknown
        self._export_found: int | None = None  # held before this client first changed it
        self._told_no_export_register = False
        self.settings_check_s = float(settings_check_s)
        self.read_only = read_only
        self.max_read_registers = int(max_read_registers or self.route.default_max_read)
        self._settings: dict[int, tuple[int, float]] = {}  # 41xxx address: (value, read at)
        self._remote_seen: tuple[float, tuple[int, ...]] | None = None  # 44000-44002, when
        self.readback_lag_s = float(readback_lag_s)
        self.export_timeout_s = float(export_timeout_s)
        self.export_tries = max(1, int(export_tries))
        self._written_at = 0.0  # when the last write was answered
        self._setpoint_cap: int | None = None  # |44002| the inverter clamped to, once seen
        self._taken = False  # 44000 = 1 written by this process, not written off since
        self._answered = False  # anything ever answered on this route (else: a wrong one?)
        #: This process has held 41000 at the fallback (forcing): release puts it back there.
        self._kept_work_mode = False
        #: 44000 read 0 while the setpoint was honoured: this KH's flag cannot be trusted.
        self.remote_enable_unreliable = False

    @property
    def connected(self) -> bool:
        return self._modbus is not None and self._modbus.connected

    @property
    def remote_active(self) -> bool:
        """True while a remote-control command from this client is in force (not past the
        end it was given)."""
        return self._remote is not None and not self._remote.over(self.clock.time())

    async def connect(self) -> bool:
        """Try once now; on failure schedule the next try. Never raises."""
        if self.connected:
            return True
        if self._modbus is None:
            self._modbus = modbus_client(self.route, self.timeout_s)
        ok = await self._modbus.connect()
        now = self.clock.time()
        if ok:
            self._backoff = self._backoff_min
            self._next_attempt = now
            self._export_limit = None  # a new link may face a restarted inverter: check again
            self._settings.clear()
            self._remote_seen = None
        else:
            self._modbus.close()
            self._next_attempt = now + self._backoff
            self._backoff = min(self._backoff * 2, self._backoff_max)
        return ok

    def close(self) -> None:
        if self._modbus is not None:
            self._modbus.close()

    @property
    def _link(self) -> ModbusBaseClient:
        if self._modbus is None:
            raise InverterError("not connected")
        return self._modbus

    # -- reads --

    async def read_telemetry(self) -> Telemetry:
        regs = await self._read_map()
        # 41000 on every poll, unlike the other settings: the Fox app and its cloud
        # scheduler change it behind our back, and control.compare must see it at once.
        work_mode = await self._read_one(r.WORK_MODE)
        self._settings[r.WORK_MODE] = (work_mode, self.clock.time())
        remote = await self._read(r.REMOTE_ENABLE, 3, holding=True)
        self._remote_seen = (self.clock.time(), tuple(remote))
        value = {name: f.decode(regs) for name, f in self._map.items()}
        state = int(value["inverter_state"])
        fault_lost = int(value.get("fault1", 0)) & r.FAULT1_GRID_LOST
        grid_sign = r.GRID_CT_IMPORT_SIGN[self.firmware]
        bms = value["bms_connect_state"] == r.BMS_CONNECTED
        telemetry = Telemetry(
            timestamp=self.clock.time(),
            soc=value["soc"] / 100.0 if bms else None,
            soc_pct=value["soc"] if bms else None,
            pv_w=max(0.0, sum(value[f"pv{n}_power"] for n in range(1, 5))),
            load_w=max(0.0, value["load_power"]),
            battery_w=0.0 - value["battery_power"] if bms else None,
            grid_w=grid_sign * value["grid_ct"] + 0.0,  # + 0.0 turns -0.0 into 0.0
            battery_voltage_v=value["battery_voltage"],
            inverter_temp_c=value["inverter_temp"],
            ambient_temp_c=value["ambient_temp"],
            battery_temp_c=value["battery_temp"] if bms else None,
            inverter_state=state,
            grid_lost=state == r.INVERTER_STATE_OFF_GRID or bool(fault_lost),
            work_mode=work_mode,
            remote_enabled=remote[0] == 1,
            remote_setpoint_w=r.decode_i16(remote[2]),
            bms_connected=bms,
            battery_energy_kwh=value.get("bms_energy_remaining") if bms else None,
            charge_limit_w=self._charge_limit_w(value["battery_voltage"]) if bms else None,
            energy_kwh=_energy(value, "_total"),
            energy_today_kwh=_energy(value, "_today"),
        )
        if problems := implausible(telemetry.as_dict(), self.limits):
            raise InverterError("implausible telemetry: " + "; ".join(problems))
        self._battery_v = telemetry.battery_voltage_v if bms else self._battery_v
        return telemetry

    def _charge_limit_w(self, volts: float) -> float | None:
        """41007 as last read or written (no read of its own) at ``volts``, in W."""
        known = self._settings.get(r.MAX_CHARGE_CURRENT)
        if known is None or volts <= 0:
            return None
        return round(known[0] / 10 * volts, 1)

    async def read_settings(self) -> InverterSettings:
        raw = {a: await self._read_one(a) for a in r.SETTINGS}
        return InverterSettings(
            work_mode=raw[r.WORK_MODE],
            max_charge_current_a=raw[r.MAX_CHARGE_CURRENT] / 10,
            max_discharge_current_a=raw[r.MAX_DISCHARGE_CURRENT] / 10,
            min_soc_pct=raw[r.MIN_SOC],
            max_soc_pct=raw[r.MAX_SOC],
            min_soc_on_grid_pct=raw[r.MIN_SOC_ON_GRID],
        )

    async def read_versions(self) -> dict[str, str]:
        """Model string and hex-decoded versions (master, slave, manager)."""
        model = await self._read(*r.MODEL_REGISTERS, holding=True)
        addresses = r.VERSION_REGISTERS[self.firmware]
        words = await self._read(addresses[0], 3, holding=True)
        names = ("master", "slave", "manager")
        return {"model": r.decode_ascii(model)} | {
            n: r.decode_version(w) for n, w in zip(names, words, strict=True)
        }

    # -- control --

    async def command(
        self,
        mode: str,
        power_w: float = 0,
        setpoint_w: float | None = None,
        min_soc: float | None = None,
        export_limit_w: float | None = None,
        charge_limit_w: float | None = None,
        until: float | None = None,
    ) -> CommandResult:
        """Put the inverter in ``mode`` and verify by reading every write back.

        ``min_soc`` (a fraction: the storm reserve) is written to the inverter's
        min SOC on grid (41011), rounded up to a whole percent, so its own
        self-use holds the reserve too; without it 41011 goes back to the
        configured backstop. It is checked on every command, in every mode.

        ``setpoint_w``, when given, is the signed AC-port power to hold (+ = output,
        - = input): how a controller asks for an exact battery power (pv - battery).
        ``self_use_zero_export`` is remote control with the AC output set to the
        load just measured (PV beyond load + battery is curtailed, so nothing is
        exported); like every forced mode it falls back to the configured work mode.
        ``refresh_watchdog`` re-measures the load. The same command again only
        refreshes the watchdog (two registers instead of the whole sequence).

        ``export_limit_w`` (W) caps export in every mode: on KH >= 1.33 it goes to the
        export power limit (46616/46617), never above ``max_export_w``; without it
        that register goes back to ``max_export_w``. It is written after the mode, and
        a slow or refused write is reported in ``failed``: it never holds the mode up.
        Pre-1.33 firmware has no such register: self-use with a lower limit runs as
        zero export (the note says so).

        ``charge_limit_w`` (W) caps the battery's charge through its max charge current
        (41007, at the battery's voltage as last read), written before the setpoint. A KH
        curtails PV only while the battery takes all it may (protocols §1.6), so this is
        how a plan curtails PV while it charges less than the battery could, or holds it
        (0 A). Without it 41007 goes back to ``charge_current_a`` (else to what it held
        before this client first lowered it).

        ``until`` (epoch seconds) ends a forced mode by itself: the watchdog (44001) is
        written as the time left to it (at most ``watchdog_s``, at least
        ``MIN_WATCHDOG_S``) and never fed past it, so the inverter hands back to its work
        mode then even if no command comes (a discharge that reaches a floor then).
        """
        if mode not in MODES:
            raise InverterError(f"unknown mode {mode!r}; expected one of {MODES}")
        if export_limit_w is not None and not (
            math.isfinite(export_limit_w) and export_limit_w >= 0
        ):
            raise InverterError(f"export limit must be a power >= 0 W, got {export_limit_w!r}")
        if charge_limit_w is not None and not (
            math.isfinite(charge_limit_w) and charge_limit_w >= 0
        ):
            raise InverterError(f"charge limit must be a power >= 0 W, got {charge_limit_w!r}")
        floor = CommandResult(mode, None)
        expected = await self._set_floor(min_soc, floor)
        expected.update(await self._set_charge_current(charge_limit_w, floor))
        await self._verify(floor, expected)
        note = ""
        if self._limit_unheld(export_limit_w):
            self._tell_no_export_register()
            if mode == "self_use":
                mode = "self_use_zero_export"
                note = f"self-use with export up to {export_limit_w:.0f} W run as zero export"
        result = await self._command(mode, power_w, setpoint_w, until)
        result.absorb(floor)
        result.follow(await self._set_export_limit(export_limit_w))
        result.note = note
        return result

    async def _command(
        self, mode: str, power_w: float, setpoint_w: float | None, until: float | None = None
    ) -> CommandResult:
        if mode == "self_use":
            return await self._leave_remote()
        if setpoint_w is not None and mode != "self_use_zero_export":
            setpoint = max(-0x8000, min(0x7FFF, round(setpoint_w)))
        else:
            setpoint = await self._setpoint(mode, power_w)
        same = self._remote
        fallback = int(self.fallback)
        if (
            same is not None
            and same.mode == mode
            and same.setpoint_w == setpoint
            and same.until == until
            and not self._work_mode_changed(fallback)
        ):
            if (held := self._held_as_seen(same)) is not None:
                return held
            refreshed = await self.refresh_watchdog(force=True)
            # Verified with 44000 = 0 tolerated may be the quirk, or a watchdog that fired
            # unseen while the AC port looks right: the whole sequence again, once a tick.
            if (
                refreshed is not None
                and refreshed.verified
                and refreshed.readback.get(r.REMOTE_ENABLE) == 1
            ):
                return refreshed
        result = CommandResult(mode, setpoint)
        self._kept_work_mode = True
        if await self._read_setting(r.WORK_MODE) != fallback:
            await self._write(r.WORK_MODE, fallback, result)
        await self._write(r.REMOTE_TIMEOUT, self._watchdog_time(until), result)
        self._taken = True  # before the write: a write that times out may still have landed
        await self._write(r.REMOTE_ENABLE, 1, result)
        await self._write(r.REMOTE_SETPOINT, r.encode_i16(setpoint), result)
        self._remote = _Remote(mode, setpoint, self.clock.time(), until)
        await self._verify(result, {r.WORK_MODE: fallback})
        return result

    def _work_mode_changed(self, wanted: int) -> bool:
        """Whether 41000, as last read (every poll reads it), is not ``wanted``: someone
        (the Fox app, its cloud scheduler) changed it since, and the command in force must
        be sent whole again to put it back."""
        seen = self._settings.get(r.WORK_MODE)
        return seen is not None and seen[0] != wanted

    def _held_as_seen(self, remote: _Remote) -> CommandResult | None:
        """The command in force, verified by the telemetry read moments ago, when the
        watchdog was fed within a third of its time: nothing to write (the watchdog
        keeper feeds it on time). None: write and check as usual."""
        seen = self._remote_seen
        now = self.clock.time()
        if (
            seen is None
            or now - seen[0] > SEEN_FRESH_S
            or now - remote.written_at >= self.watchdog_s / 3
        ):
            return None
        words = dict(zip(range(r.REMOTE_ENABLE, r.REMOTE_ENABLE + 3), seen[1], strict=True))
        if words[r.REMOTE_ENABLE] != 1 or r.decode_i16(words[r.REMOTE_SETPOINT]) != (
            remote.setpoint_w
        ):
            return None
        return CommandResult(remote.mode, remote.setpoint_w, readback=words)

    def _self_use_as_seen(self) -> CommandResult | None:
        """Self Use already in force, as the telemetry read moments ago (44000 off) and
        41000 as last checked show it: nothing to write. None: write and check."""
        seen = self._remote_seen
        mode = self._settings.get(r.WORK_MODE)
        now = self.clock.time()
        if self._taken or seen is None or now - seen[0] > SEEN_FRESH_S or seen[1][0] != 0:
            return None
        if mode is None or mode[0] != r.WorkMode.SELF_USE or now - mode[1] >= self.settings_check_s:
            return None
        readback = {r.REMOTE_ENABLE: seen[1][0], r.WORK_MODE: mode[0]}
        return CommandResult("self_use", None, readback=readback)

    async def release(self) -> CommandResult:
        """Hand the inverter back for good (shutdown): remote control off at once, so it
        runs its own work mode now rather than when the watchdog fires, and 41011 back
        at the configured backstop (no reserve outlives the service that held it), and
        41000 at the configured fallback if this process commanded it (the Fox app may
        have changed it since: the inverter is left running the mode promised).
        Remote control this process never took is left alone (``_hand_back``)."""
        result = CommandResult("released", None)
        await self._hand_back(result)
        expected = await self._set_floor(None, result)
        expected.update(await self._set_charge_current(None, result))
        if self._kept_work_mode:  # what the inverter runs from now on is the one promised
            fallback = int(self.fallback)
            if await self._read_one(r.WORK_MODE) != fallback:
                await self._write(r.WORK_MODE, fallback, result)
            expected[r.WORK_MODE] = fallback
            self._kept_work_mode = False
        await self._verify(result, expected)
        self._export_limit = None  # the last word: check the register, whatever we remember
        result.follow(await self._set_export_limit(None))
        return result

    async def _hand_back(self, result: CommandResult) -> None:
        """Remote control off (44000 = 0), only if this process took it.

        After a restart of our own service the inverter may still be under the
        previous run's remote control, or under the Fox app's scheduler, which uses
        the same registers; nothing tells them apart. Nobody feeds the previous run's
        watchdog, so it hands back within ``watchdog_s`` by itself; the Fox app's is
        not ours to end (foxess_modbus likewise disables only what it enabled, and
        lets the watchdog expire after a restart, protocols §1.6).
        """
        self._remote = None  # from now on nobody feeds it, even if the write fails
        if self._taken:
            await self._write(r.REMOTE_ENABLE, 0, result)
            self._taken = False
            return
        seen = self._remote_seen
        if seen is not None and seen[1][0] == 1:
            result.tolerated.append(
                "remote control is on (44000 = 1) but this process never took it: "
                "left to its own watchdog, not written off"
            )

    async def _set_floor(self, min_soc: float | None, result: CommandResult) -> dict[int, int]:
        """Put 41011 at the reserve asked for, else the backstop; what to read back."""
        wanted = self.min_soc_backstop if min_soc is None else min_soc
        if wanted is None:
            return {}
        if self.min_soc_backstop is not None:
            wanted = max(wanted, self.min_soc_backstop)  # never below the configured floor
        pct = max(0, min(100, math.ceil(round(wanted * 100, 6))))
        current = await self._read_setting(r.MIN_SOC_ON_GRID)
        if current == pct:
            result.readback[r.MIN_SOC_ON_GRID] = current  # already right: that read is the check
            return {}
        await self._write(r.MIN_SOC_ON_GRID, pct, result)
        return {r.MIN_SOC_ON_GRID: pct}

    async def _set_charge_current(
        self, limit_w: float | None, result: CommandResult
    ) -> dict[int, int]:
        """Put 41007 at what ``limit_w`` needs, else back at its normal value; what to read
        back. The current is rounded down (never more charge than asked) and left alone
        within 1 A or 5 % of it, so a battery voltage that drifts does not rewrite a
        setting each tick; 0 A is written exactly (a hold that curtails PV)."""
        normal = (
            self._charge_current_found
            if self.charge_current_a is None
            else max(0, round(self.charge_current_a * 10))
        )
        if limit_w is None:
            if normal is None:  # never lowered by this process, nothing configured
                return {}
            wanted = normal
        else:
            if self._battery_v is None or self._battery_v <= 0:
                return {}  # unknown voltage: the battery charges at its own limit, as before
            wanted = max(0, math.floor(limit_w / self._battery_v * 10))
        current = await self._read_setting(r.MAX_CHARGE_CURRENT)
        if limit_w is not None:
            if self._charge_current_found is None:
                self._charge_current_found = current
            if normal is not None:
                wanted = min(wanted, normal)
            close = wanted > 0 and abs(current - wanted) <= max(10, wanted // 20)
            if close and current <= (normal if normal is not None else current):
                wanted = current
        if current == wanted:
            result.readback[r.MAX_CHARGE_CURRENT] = current  # that read is the check
            return {}
        await self._write(r.MAX_CHARGE_CURRENT, wanted, result)
        return {r.MAX_CHARGE_CURRENT: wanted}

    async def _set_export_limit(self, limit_w: float | None) -> CommandResult:
        """Put 46616/46617 at ``limit_w`` (at most the grid's), else the grid's, and check.

        The pair goes in one FC16 write (never one word new and one old), with the
        export write's patience (``_write_pair``). A failure is reported in ``failed``,
        not raised: the mode command has gone out already and stands. The value
        verified is remembered, so the same limit again costs nothing.
        """
        result = CommandResult("export_limit", None)
        address, wanted = self._export_register, self._export_wanted(limit_w)
        if address is None or wanted is None:
            return result
        if wanted == self._export_limit and self.connected:  # a reconnect forgets it
            return result
        self._export_limit = None  # unknown until read back
        try:
            words = await self._read(address, 2, holding=True)
            result.readback.update({address: words[0], address + 1: words[1]})
            current = r.decode_i32(*words)
            if self._export_found is None:
                self._export_found = current
            if current != wanted:
                await self._write_pair(address, r.encode_i32(wanted), result)
                await self._verify(result, {})
        except InverterError as exc:
            if self.read_only:
                raise
            result.failed.append(f"export limit {wanted} W not set: {exc}")
            log.warning("export limit %d W not set (the mode stands): %s", wanted, exc)
        if result.verified:
            self._export_limit = wanted
        return result

    def _export_wanted(self, limit_w: float | None) -> int | None:
        """The export-limit register's value for a command's limit (None: leave it)."""
        ceiling = self.max_export_w
        if limit_w is None:
            target = ceiling if ceiling is not None else self._export_found
        else:
            target = limit_w if ceiling is None else min(limit_w, ceiling)
        return None if target is None else max(0, min(0x7FFF_FFFF, round(target)))

    def _limit_unheld(self, limit_w: float | None) -> bool:
        """A limit below the grid's that this firmware has no register for."""
        if self._export_register is not None or limit_w is None:
            return False
        return self.max_export_w is None or limit_w < self.max_export_w

    def _tell_no_export_register(self) -> None:
        if not self._told_no_export_register:
            self._told_no_export_register = True
            log.warning(
                "KH firmware before 1.33 has no export-limit register: an export limit is "
                "held by the remote-control setpoint alone, and self-use under one runs as "
                "zero export (the setpoint is exact, so a higher one would export stored "
                "energy, and PV curtailed at it cannot be seen to raise it)"
            )

    async def refresh_watchdog(self, force: bool = False) -> CommandResult | None:
        """Re-write timeout and setpoint if this client's remote command is in force.

        Without ``force`` it only writes once a third of the watchdog time has
        passed since the last write (a refresh in time, never a flood). It does not
        re-enable remote control: if the watchdog already fired, the result shows a
        44000 mismatch and the caller decides whether to command again. A 44000 that
        reads 0 while the AC port follows the setpoint is tolerated (``_tolerates``).
        A command with an end (``until``) is fed with the time left to it, and not at all
        once that is under ``MIN_WATCHDOG_S``: it lapses at its end.
        """
        if self._remote is None:
            return None
        if not force and self.clock.time() - self._remote.written_at < self.watchdog_s / 3:
            return None
        until = self._remote.until
        if until is not None and until - self.clock.time() < MIN_WATCHDOG_S:
            return None  # it ends by itself at its end, as the last write set it
        setpoint = self._remote.setpoint_w
        if self._remote.mode == "self_use_zero_export":
            setpoint = await self._setpoint(self._remote.mode, 0)
        result = CommandResult(self._remote.mode, setpoint)
        await self._write(r.REMOTE_TIMEOUT, self._watchdog_time(until), result)
        await self._write(r.REMOTE_SETPOINT, r.encode_i16(setpoint), result)
        self._remote.setpoint_w = setpoint
        self._remote.written_at = self.clock.time()
        await self._verify(result, {r.REMOTE_ENABLE: 1})  # 0 here: the watchdog already fired
        return result

    def _watchdog_time(self, until: float | None) -> int:
        """44001 for a command that ends at ``until`` (None: ``watchdog_s``): the whole
        seconds left to it, so a write now makes the inverter hand back by then."""
        if until is None:
            return self.watchdog_s
        left = math.floor(until - self.clock.time())
        return max(MIN_WATCHDOG_S, min(self.watchdog_s, left))

    async def _leave_remote(self) -> CommandResult:
        if self._remote is None and (held := self._self_use_as_seen()) is not None:
            return held
        result = CommandResult("self_use", None)
        await self._hand_back(result)
        self._kept_work_mode = True
        if await self._read_setting(r.WORK_MODE) != r.WorkMode.SELF_USE:
            await self._write(r.WORK_MODE, int(r.WorkMode.SELF_USE), result)
        await self._verify(result, {r.WORK_MODE: int(r.WorkMode.SELF_USE)})
        return result

    async def _setpoint(self, mode: str, power_w: float) -> int:
        """The signed 44002 value: + = AC output (discharge), - = AC input (charge)."""
        if mode == "force_charge":
            watts = -abs(power_w)
        elif mode == "force_discharge":
            watts = abs(power_w)
        elif mode == "self_use_zero_export":
            regs = await self._read_fields(["load_power"])
            watts = max(0.0, self._map["load_power"].decode(regs))
        else:
            watts = 0.0
        return max(-0x8000, min(0x7FFF, round(watts)))

    async def _verify(self, result: CommandResult, expected: dict[int, int]) -> None:
        """Read back every register written (in blocks; 41xxx one at a time) and compare.

        What real KHs do is accepted and said so in ``result.tolerated`` (``_tolerates``).
        A register written here that still reads wrong is read once more when
        ``readback_lag_s`` has passed since the last write (a KH's readback lags its
        writes) before it counts as a mismatch.
        """
        expected = {**result.written, **expected}
        await self._read_back(result, expected)
        wrong = await self._judge(result, expected, list(expected), final=False)
        first = {a: result.readback[a] for a in wrong if a in result.written}
        if first:
            await self.clock.sleep_until(self._written_at + self.readback_lag_s)
            await self._read_back(result, list(first))
            still = await self._judge(result, expected, list(first), final=True)
            result.tolerated += [
                readback.lag_note(a, word, self.readback_lag_s)
                for a, word in first.items()
                if result.readback[a] == expected[a]
            ]
            wrong = [a for a in wrong if a not in first] + still
        now = self.clock.time()
        for address in expected:
            if r.is_single_read(address):
                self._settings[address] = (result.readback[address], now)
        result.mismatches += [
            f"register {a}: expected {expected[a]}, read back {result.readback[a]}"
            for a in sorted(wrong)
        ]

    async def _read_back(self, result: CommandResult, addresses: Iterable[int]) -> None:
        for block in r.plan_blocks(addresses, self.max_read_registers):
            words = await self._read(block.start, block.count, holding=True)
            result.readback.update(zip(range(block.start, block.end + 1), words, strict=True))

    async def _judge(
        self, result: CommandResult, expected: dict[int, int], addresses: list[int], *, final: bool
    ) -> list[int]:
        """The addresses read back wrong, less what a real KH does (noted as tolerated)."""
        wrong = []
        for address in sorted(addresses):
            want, got = expected[address], result.readback[address]
            if got == want:
                continue
            if (note := await self._tolerates(address, want, got, result, final)) is None:
                wrong.append(address)
            else:
                result.tolerated.append(note)
        return wrong

    async def _tolerates(
        self, address: int, want: int, got: int, result: CommandResult, final: bool
    ) -> str | None:
        """Why a readback that differs is right on a real KH; None: it is not.

        44002 held the same way round but smaller is the inverter's rating. 44000 reading
        0 is accepted while 44002 holds the setpoint and the AC port follows it (protocols
        §1.6: judge by the response). Either is accepted at once once this KH has shown
        it, else only on the re-read: until then a write may just not have reached the
        readback yet (an old setpoint, the old 0).
        """
        if address == r.REMOTE_SETPOINT:
            asked, held = r.decode_i16(want), r.decode_i16(got)
            if readback.clamped(asked, held) and (final or abs(held) == self._setpoint_cap):
                self._setpoint_cap = abs(held)
                return readback.clamp_note(asked, held)
            return None
        word = result.readback.get(r.REMOTE_SETPOINT)
        if address != r.REMOTE_ENABLE or want != 1 or result.setpoint_w is None or word is None:
            return None
        if not (final or self.remote_enable_unreliable or address not in result.written):
            return None
        asked, held = result.setpoint_w, r.decode_i16(word)
        if held != asked and not readback.clamped(asked, held):
            return None
        ac_w = await self._ac_power()
        if not readback.follows(held, ac_w):
            return None
        self.remote_enable_unreliable = True
        return readback.enable_note(held, ac_w)

    async def _ac_power(self) -> float:
        """The inverter's AC-port power now, W, + = output (what 44002 commands)."""
        power = r.AC_POWER[self.firmware]
        words = await self._read(power.address, len(power.addresses))
        return power.decode(dict(zip(power.addresses, words, strict=True)))

    # -- transport --

    async def _read_map(self) -> dict[int, int]:
        return await self._read_fields(list(self._map))

    async def _read_fields(self, names: list[str]) -> dict[int, int]:
        addresses = [a for n in names for a in self._map[n].addresses]
        regs: dict[int, int] = {}
        for block in r.plan_blocks(addresses, self.max_read_registers):
            words = await self._read(block.start, block.count)
            regs.update(zip(range(block.start, block.end + 1), words, strict=True))
        return regs

    async def _read_one(self, address: int) -> int:
        return (await self._read(address, 1, holding=True))[0]

    async def _read_setting(self, address: int) -> int:
        """A 41xxx setting as last read or verified, read again once it is
        ``settings_check_s`` old (so a change made in the Fox app is seen then)."""
        now = self.clock.time()
        known = self._settings.get(address)
        if known is not None and now - known[1] < self.settings_check_s:
            return known[0]
        value = await self._read_one(address)
        self._settings[address] = (value, now)
        return value

    async def _read(self, address: int, count: int, *, holding: bool = False) -> list[int]:
        """Read registers, at most ``max_read_registers`` per request (the model string's 16
        too); 4xxxx and fixed info always use FC3, telemetry as configured."""
        words: list[int] = []
        step = self.max_read_registers
        for start in range(address, address + count, step):
            words += await self._read_block(start, min(step, address + count - start), holding)
        return words

    async def _read_block(self, address: int, count: int, holding: bool) -> list[int]:
        use_holding = holding or self.register_function == "holding"

        def send() -> Awaitable[ModbusPDU]:
            link = self._link
            call = link.read_holding_registers if use_holding else link.read_input_registers
            return call(address, count=count, device_id=self.unit_id)

        response = await self._exchange(address, send)
        if len(response.registers) != count:
            raise InverterError(f"short read: {len(response.registers)} of {count}", address)
        return list(response.registers)

    async def _write(self, address: int, value: int, result: CommandResult) -> None:
        if self.read_only:
            raise InverterError(f"read-only (shadow mode): not writing {value}", address)
        self._settings.pop(address, None)  # unknown until read back
        await self._exchange(
            address, lambda: self._link.write_register(address, value, device_id=self.unit_id)
        )
        self._written_at = self.clock.time()
        result.written[address] = value

    async def _write_pair(
        self, address: int, words: tuple[int, int], result: CommandResult
    ) -> None:
        """An I32 pair in one FC16 write, each try given ``export_timeout_s`` (a KH can
        take seconds over this write), ``export_tries`` tries."""
        if self.read_only:
            raise InverterError(f"read-only (shadow mode): not writing {list(words)}", address)

        async def send() -> ModbusPDU:
            link = self._link
            params = link.ctx.comm_params  # the transaction manager's copy: what it waits
            usual, params.timeout_connect = params.timeout_connect, self.export_timeout_s
            try:
                return await link.write_registers(address, list(words), device_id=self.unit_id)
            finally:
                params.timeout_connect = usual

        for tries in range(1, self.export_tries + 1):
            try:
                await self._exchange(address, send)
                break
            except InverterError as exc:
                if tries == self.export_tries:
                    raise InverterError(f"{exc.reason} ({tries} tries)", address) from exc
                log.info("export limit write failed, trying again: %s", exc)
        self._written_at = self.clock.time()
        result.written.update(zip((address, address + 1), words, strict=True))

    async def _exchange(self, address: int, send: Callable[[], Awaitable[ModbusPDU]]) -> ModbusPDU:
        """Run one request with connection handling; map every failure to InverterError."""
        await self._ensure_connected(address)
        try:
            response = await send()
        except (TimeoutError, ModbusException, OSError) as exc:
            self.close()
            self._next_attempt = self.clock.time()
            if not self._answered:  # pymodbus's own words ("No response received ...") say
                hint = silence_hint(self.route, self.unit_id)  # less than the likely cause
                raise InverterError(f"no answer to register {address}: {hint}") from exc
            raise InverterError(f"communication failed: {exc}", address) from exc
        self._answered = True
        if response.isError():
            code = getattr(response, "exception_code", 0)
            raise InverterError(f"device answered exception {code:02d}", address)
        return response

    async def _ensure_connected(self, address: int) -> None:
        if self.connected:
            return
        if self.clock.time() < self._next_attempt or not await self.connect():
            raise InverterError("not connected", address)


def _energy(value: dict[str, float], suffix: str) -> dict[str, float]:
    """The 0.1 kWh counters ending in ``suffix``, keyed by flow (pv, grid_import, ...)."""
    return {n.removesuffix(suffix): round(v, 1) for n, v in value.items() if n.endswith(suffix)}
