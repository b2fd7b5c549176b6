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
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from flowengine.clock import Clock, RealClock
from nodes.foxess import registers as r
from nodes.foxess.plausible import TelemetryLimits, implausible

log = logging.getLogger(__name__)

#: How old a telemetry read of 44000-44002 may be and still verify the same command.
SEEN_FRESH_S = 10.0

MODES = ("self_use", "self_use_zero_export", "force_charge", "force_discharge", "hold")
#: Work modes 41000 may hold for the inverter to fall back to when the watchdog fires.
FALLBACK_MODES = {
    "self_use": r.WorkMode.SELF_USE,
    "feed_in_first": r.WorkMode.FEED_IN_FIRST,
    "back_up": r.WorkMode.BACK_UP,
}


class InverterError(Exception):
    """A failed exchange with the inverter, naming the register when there is one."""

    def __init__(self, reason: str, register: int | None = None) -> None:
        self.reason = reason
        self.register = register
        where = f" (register {register})" if register is not None else ""
        super().__init__(f"{reason}{where}")


@dataclass(slots=True)
class Telemetry:
    """One poll, in internal conventions: battery + = charging, grid + = importing."""

    timestamp: float
    soc: float
    soc_pct: float
    pv_w: float
    load_w: float
    battery_w: float
    grid_w: float
    battery_voltage_v: float
    inverter_temp_c: float
    ambient_temp_c: float
    battery_temp_c: float
    inverter_state: int
    grid_lost: bool
    work_mode: int
    remote_enabled: bool
    remote_setpoint_w: int
    battery_energy_kwh: float | None = None  # BMS energy remaining (KH >= 1.33)
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

    @property
    def verified(self) -> bool:
        return not self.mismatches

    def absorb(self, part: CommandResult) -> None:
        """Take in a step that ran before this one (its writes come first)."""
        self.written = {**part.written, **self.written}
        self.readback = {**part.readback, **self.readback}
        self.mismatches = part.mismatches + self.mismatches

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verified": self.verified}


@dataclass(slots=True)
class _Remote:
    """The remote-control command this client put in force (so it may refresh it)."""

    mode: str
    setpoint_w: int
    written_at: float = 0.0


class FoxKHClient:
    """One Modbus TCP link to a KH (through its RS485 gateway)."""

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
        limits: TelemetryLimits | None = None,
        max_export_w: float | None = None,
        settings_check_s: float = 900.0,
        max_read_registers: int = 20,
    ) -> None:
        """``min_soc_backstop`` (a fraction) is the 41011 floor to keep when no reserve is
        asked for; None leaves 41011 alone unless a command asks for a reserve.
        ``max_export_w`` is the grid's export limit: no command's limit goes above it,
        and it is restored when a command carries none (None: what the register held
        before this client first changed it). ``settings_check_s``: how long a 41xxx
        setting read or verified stays trusted (protocols §1.7: settings are read on
        change or every few minutes, not on every poll)."""
        if register_function not in ("holding", "input"):
            raise ValueError("register_function must be 'holding' or 'input'")
        if fallback_mode not in FALLBACK_MODES:
            raise ValueError(f"fallback_mode must be one of {list(FALLBACK_MODES)}")
        self.fallback = FALLBACK_MODES[fallback_mode]
        self.min_soc_backstop = min_soc_backstop
        self.limits = limits or TelemetryLimits()
        self.firmware = r.Firmware(firmware)
        self.unit_id = unit_id
        self.register_function = register_function
        self.watchdog_s = int(watchdog_s)
        self.clock: Clock = clock or RealClock()
        self._map = r.register_map(self.firmware)
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._modbus: AsyncModbusTcpClient | None = None  # made in connect(): needs a loop
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
        self.max_read_registers = int(max_read_registers)
        self._settings: dict[int, tuple[int, float]] = {}  # 41xxx address: (value, read at)
        self._remote_seen: tuple[float, tuple[int, ...]] | None = None  # 44000-44002, when

    @property
    def connected(self) -> bool:
        return self._modbus is not None and self._modbus.connected

    @property
    def remote_active(self) -> bool:
        """True while a remote-control command from this client is in force."""
        return self._remote is not None

    async def connect(self) -> bool:
        """Try once now; on failure schedule the next try. Never raises."""
        if self.connected:
            return True
        if self._modbus is None:
            self._modbus = AsyncModbusTcpClient(
                self.host, port=self.port, timeout=self.timeout_s, retries=0, reconnect_delay=0
            )
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
    def _link(self) -> AsyncModbusTcpClient:
        if self._modbus is None:
            raise InverterError("not connected")
        return self._modbus

    # -- reads --

    async def read_telemetry(self) -> Telemetry:
        regs = await self._read_map()
        work_mode = await self._read_setting(r.WORK_MODE)
        remote = await self._read(r.REMOTE_ENABLE, 3, holding=True)
        self._remote_seen = (self.clock.time(), tuple(remote))
        value = {name: f.decode(regs) for name, f in self._map.items()}
        state = int(value["inverter_state"])
        fault_lost = int(value.get("fault1", 0)) & r.FAULT1_GRID_LOST
        grid_sign = r.GRID_CT_IMPORT_SIGN[self.firmware]
        telemetry = Telemetry(
            timestamp=self.clock.time(),
            soc=value["soc"] / 100.0,
            soc_pct=value["soc"],
            pv_w=max(0.0, sum(value[f"pv{n}_power"] for n in range(1, 5))),
            load_w=max(0.0, value["load_power"]),
            battery_w=0.0 - value["battery_power"],
            grid_w=grid_sign * value["grid_ct"] + 0.0,  # + 0.0 turns -0.0 into 0.0
            battery_voltage_v=value["battery_voltage"],
            inverter_temp_c=value["inverter_temp"],
            ambient_temp_c=value["ambient_temp"],
            battery_temp_c=value["battery_temp"],
            inverter_state=state,
            grid_lost=state == r.INVERTER_STATE_OFF_GRID or bool(fault_lost),
            work_mode=work_mode,
            remote_enabled=remote[0] == 1,
            remote_setpoint_w=r.decode_i16(remote[2]),
            battery_energy_kwh=value.get("bms_energy_remaining"),
            energy_kwh=_energy(value, "_total"),
            energy_today_kwh=_energy(value, "_today"),
        )
        if problems := implausible(telemetry.as_dict(), self.limits):
            raise InverterError("implausible telemetry: " + "; ".join(problems))
        return telemetry

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
        that register goes back to ``max_export_w``. Pre-1.33 firmware has no such
        register: self-use with a lower limit runs as zero export (the note says so).
        """
        if mode not in MODES:
            raise InverterError(f"unknown mode {mode!r}; expected one of {MODES}")
        if export_limit_w is not None and not (
            math.isfinite(export_limit_w) and export_limit_w >= 0
        ):
            raise InverterError(f"export limit must be a power >= 0 W, got {export_limit_w!r}")
        floor = CommandResult(mode, None)
        await self._verify(floor, await self._set_floor(min_soc, floor))
        export = await self._set_export_limit(export_limit_w)
        note = ""
        if self._limit_unheld(export_limit_w):
            self._tell_no_export_register()
            if mode == "self_use":
                mode = "self_use_zero_export"
                note = f"self-use with export up to {export_limit_w:.0f} W run as zero export"
        result = await self._command(mode, power_w, setpoint_w)
        result.absorb(export)
        result.absorb(floor)
        result.note = note
        return result

    async def _command(self, mode: str, power_w: float, setpoint_w: float | None) -> CommandResult:
        if mode == "self_use":
            return await self._leave_remote()
        if setpoint_w is not None and mode != "self_use_zero_export":
            setpoint = max(-0x8000, min(0x7FFF, round(setpoint_w)))
        else:
            setpoint = await self._setpoint(mode, power_w)
        same = self._remote
        if same is not None and same.mode == mode and same.setpoint_w == setpoint:
            if (held := self._held_as_seen(same)) is not None:
                return held
            refreshed = await self.refresh_watchdog(force=True)
            if refreshed is not None and refreshed.verified:
                return refreshed
        result = CommandResult(mode, setpoint)
        fallback = int(self.fallback)
        if await self._read_setting(r.WORK_MODE) != fallback:
            await self._write(r.WORK_MODE, fallback, result)
        await self._write(r.REMOTE_TIMEOUT, self.watchdog_s, result)
        await self._write(r.REMOTE_ENABLE, 1, result)
        await self._write(r.REMOTE_SETPOINT, r.encode_i16(setpoint), result)
        self._remote = _Remote(mode, setpoint, self.clock.time())
        await self._verify(result, {r.WORK_MODE: fallback})
        return result

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
        if seen is None or now - seen[0] > SEEN_FRESH_S or seen[1][0] != 0:
            return None
        if mode is None or mode[0] != r.WorkMode.SELF_USE or now - mode[1] >= self.settings_check_s:
            return None
        readback = {r.REMOTE_ENABLE: seen[1][0], r.WORK_MODE: mode[0]}
        return CommandResult("self_use", None, readback=readback)

    async def release(self) -> CommandResult:
        """Hand the inverter back for good (shutdown): remote control off at once, so it
        runs its own work mode now rather than when the watchdog fires, and 41011 back
        at the configured backstop (no reserve outlives the service that held it)."""
        result = CommandResult("released", None)
        await self._write(r.REMOTE_ENABLE, 0, result)
        self._remote = None
        await self._verify(result, await self._set_floor(None, result))
        self._export_limit = None  # the last word: check the register, whatever we remember
        export = await self._set_export_limit(None)
        result.written.update(export.written)
        result.readback.update(export.readback)
        result.mismatches += export.mismatches
        return result

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

    async def _set_export_limit(self, limit_w: float | None) -> CommandResult:
        """Put 46616/46617 at ``limit_w`` (at most the grid's), else the grid's, and check.

        The value verified is remembered, so the same limit again costs nothing.
        """
        result = CommandResult("export_limit", None)
        address, wanted = self._export_register, self._export_wanted(limit_w)
        if address is None or wanted is None:
            return result
        if wanted == self._export_limit and self.connected:  # a reconnect forgets it
            return result
        self._export_limit = None  # unknown until read back
        words = await self._read(address, 2, holding=True)
        result.readback.update({address: words[0], address + 1: words[1]})
        current = r.decode_i32(*words)
        if self._export_found is None:
            self._export_found = current
        if current != wanted:
            # One word per write (FC6). Lowering, the high word first; raising, the low
            # word first: between the two writes the limit is never above both values.
            steps = list(zip((address, address + 1), r.encode_i32(wanted), strict=True))
            for step, value in steps if wanted < current else reversed(steps):
                if result.readback[step] != value:
                    await self._write(step, value, result)
            await self._verify(result, {})
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
        44000 mismatch and the caller decides whether to command again.
        """
        if self._remote is None:
            return None
        if not force and self.clock.time() - self._remote.written_at < self.watchdog_s / 3:
            return None
        setpoint = self._remote.setpoint_w
        if self._remote.mode == "self_use_zero_export":
            setpoint = await self._setpoint(self._remote.mode, 0)
        result = CommandResult(self._remote.mode, setpoint)
        await self._write(r.REMOTE_TIMEOUT, self.watchdog_s, result)
        await self._write(r.REMOTE_SETPOINT, r.encode_i16(setpoint), result)
        self._remote.setpoint_w = setpoint
        self._remote.written_at = self.clock.time()
        await self._verify(result, {r.REMOTE_ENABLE: 1})  # 0 here: the watchdog already fired
        return result

    async def _leave_remote(self) -> CommandResult:
        if self._remote is None and (held := self._self_use_as_seen()) is not None:
            return held
        result = CommandResult("self_use", None)
        await self._write(r.REMOTE_ENABLE, 0, result)
        self._remote = None
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
        """Read back every register written (in blocks; 41xxx one at a time) and compare."""
        expected = {**result.written, **expected}
        for block in r.plan_blocks(expected, self.max_read_registers):
            words = await self._read(block.start, block.count, holding=True)
            result.readback.update(zip(range(block.start, block.end + 1), words, strict=True))
        now = self.clock.time()
        for address in expected:
            if r.is_single_read(address):
                self._settings[address] = (result.readback[address], now)
        for address in sorted(expected):
            got = result.readback[address]
            if got != expected[address]:
                result.mismatches.append(
                    f"register {address}: expected {expected[address]}, read back {got}"
                )

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
        """Read registers; 4xxxx and fixed info always use FC3, telemetry as configured."""
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
        self._settings.pop(address, None)  # unknown until read back
        await self._exchange(
            address, lambda: self._link.write_register(address, value, device_id=self.unit_id)
        )
        result.written[address] = value

    async def _exchange(self, address: int, send: Callable[[], Awaitable[ModbusPDU]]) -> ModbusPDU:
        """Run one request with connection handling; map every failure to InverterError."""
        await self._ensure_connected(address)
        try:
            response = await send()
        except (TimeoutError, ModbusException, OSError) as exc:
            self.close()
            self._next_attempt = self.clock.time()
            raise InverterError(f"communication failed: {exc}", address) from exc
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
