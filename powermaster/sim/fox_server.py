"""A simulated Fox ESS KH answering real Modbus (pymodbus 3.16 server).

It listens the way the gateway in front of a real KH would (``transport``):
Modbus TCP, RTU frames over TCP (a transparent gateway), Modbus UDP, or RTU on a
serial line (a pty from socat stands in for the RS485 adapter).

Uses pymodbus's SimDevice datastore: only the ranges a KH answers are defined
(everything else is exception 02), and an ``action`` hook recomputes every read
from the site model at the moment of the request and applies every write to it.
The device quirks from protocols.md §1 are enforced here: 41xxx one register
per read, settings and remote control written with FC6 only (the export limit's
I32 pair also with one FC16), unit id 247 only.
Tests can make it misbehave (``slow_replies``, ``answer_exceptions``,
``serve_nonsense``, ``stop_serving``, ``disconnect_bms``) or show a real KH's
quirks (``hide_remote_enable``, ``clamp_setpoint``, ``lag_readbacks``,
``slow_writes``, ``refuse_writes``) while the inverter underneath keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections import Counter
from collections.abc import Iterable, Mapping
from types import TracebackType

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusBaseServer, ModbusSerialServer, ModbusTcpServer, ModbusUdpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simcore import SimCore

from flowengine.clock import Clock
from nodes.foxess.registers import UNIT_ID, decode_i16, decode_i32
from powermaster.sim.faults import Faults, bms_disconnected_words, nonsense_words
from powermaster.sim.fox_image import READ_ONLY_RANGES, WRITABLE_RANGES, register_image
from powermaster.sim.site import InverterSettings, SiteModel

#: Writable settings and what the model calls them, with the raw values accepted.
_SETTINGS = {
    41007: ("max_charge_current_da", 0, 1000),
    41008: ("max_discharge_current_da", 0, 1000),
    41009: ("min_soc_pct", 0, 100),
    41010: ("max_soc_pct", 0, 100),
    41011: ("min_soc_on_grid_pct", 0, 100),
}
_READS = (3, 4, 6)  # 6: pymodbus reads the register back to echo a single write
_WRITES = frozenset({5, 6, 15, 16, 22, 23})  # every Modbus function that writes
#: How the simulator can listen: the gateways a KH sits behind, and a serial line.
TRANSPORTS = ("tcp", "rtu_over_tcp", "udp", "serial")


class _OneUnitCore(SimCore):
    """SimCore falls back to device 0 for unknown ids; a KH bus has only unit 247."""

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        self._check(device_id)
        return await super().async_getValues(device_id, func_code, address, count)

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: list[int] | list[bool]
    ) -> ExcCodes | None:
        self._check(device_id)
        return await super().async_setValues(device_id, func_code, address, values)

    def _check(self, device_id: int) -> None:
        if device_id not in self.devices:
            raise NoSuchIdException(f"no unit {device_id} on this bus")


class FoxKHServer:
    """Serve one ``SiteModel`` as a KH; start/stop (or ``async with``) may repeat."""

    def __init__(
        self,
        model: SiteModel,
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 5020,
        firmware: str = "kh133",
        *,
        unit_id: int = UNIT_ID,
        tick_s: float = 30.0,
        transport: str = "tcp",
        device: str | None = None,
    ) -> None:
        """``transport``: tcp, rtu_over_tcp or udp on ``host``:``port``, or serial on the
        tty ``device`` (9600 8N1, the KH's RS485 setting)."""
        if firmware not in READ_ONLY_RANGES:
            raise ValueError(f"unknown firmware {firmware!r}; use 'kh133' or 'pre133'")
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}; use one of {TRANSPORTS}")
        if transport == "serial" and not device:
            raise ValueError("a serial KH needs the tty device it answers on")
        self.model = model
        self.clock = clock
        self.host = host
        self.port = port
        self.firmware = firmware
        self.unit_id = unit_id
        self.tick_s = tick_s
        self.transport = transport
        self.device = device
        self._server: ModbusBaseServer | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._cached: tuple[tuple[object, ...], InverterSettings, dict[int, int]] | None = None
        self.faults = Faults()
        self._release = asyncio.Event()  # set: every held reply goes out now
        #: Write requests (FC 5, 6, 15, 16, 22, 23) received, refused ones too: what
        #: shows that shadow mode wrote nothing.
        self.writes_received = 0
        #: Requests answered, by (function code, address), and reads by their size: what
        #: tests of the client's economy and read splitting count (bounded by the map).
        self.requests: Counter[tuple[int, int]] = Counter()
        self.read_sizes: Counter[int] = Counter()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Serve Modbus and keep the inverter's time moving."""
        await self.resume_serving()
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick(), name="fox-sim-tick")

    async def stop(self) -> None:
        """Stop serving and stop the inverter's own clock."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.stop_serving()

    # -- faults (the inverter keeps running through all of them) --

    async def stop_serving(self) -> None:
        """The link goes down (connections refused); the inverter and its watchdog run on."""
        self._release_held()
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    async def resume_serving(self) -> None:
        """The link comes back on the same port."""
        if self._server is not None:
            return
        device = SimDevice(id=self.unit_id, simdata=self._layout(), action=self._action)
        server = self._listener(device)
        server.context = _OneUnitCore(device)
        server.trace_pdu = self._seen  # each new connection's handler takes it
        await server.serve_forever(background=True)
        self._server = server

    def _listener(self, device: SimDevice) -> ModbusBaseServer:
        address = (self.host, self.port)
        if self.transport == "udp":
            return ModbusUdpServer(device, address=address)
        if self.transport == "rtu_over_tcp":
            return ModbusTcpServer(device, framer=FramerType.RTU, address=address)
        if self.transport == "serial":
            assert self.device is not None
            return ModbusSerialServer(device, port=self.device, baudrate=9600)
        return ModbusTcpServer(device, address=address)

    def _seen(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        """pymodbus hook on every PDU, before any check of it: counts the write requests."""
        if not sending and pdu.function_code in _WRITES:
            self.writes_received += 1
        return pdu

    def slow_replies(self, delay_s: float) -> None:
        """Hold every reply ``delay_s`` clock seconds (a gateway answering far too late)."""
        self.faults.delay_s = float(delay_s)

    def answer_exceptions(self, code: ExcCodes = ExcCodes.DEVICE_FAILURE) -> None:
        """Answer every request, read or write, with a Modbus exception ``code``."""
        self.faults.exception = code

    def serve_nonsense(self, words: Mapping[int, int] | None = None) -> None:
        """Serve these register words instead of the model's (default: SOC 250 %, 32 kW...)."""
        self.faults.words = dict(nonsense_words(self.firmware) if words is None else words)

    def disconnect_bms(self) -> None:
        """The battery's BMS stops answering: its connect state and its readings read 0."""
        self.faults.words.update(bms_disconnected_words(self.firmware))

    def reconnect_bms(self) -> None:
        """The BMS answers again: its registers come from the model once more."""
        for address in bms_disconnected_words(self.firmware):
            self.faults.words.pop(address, None)

    def hide_remote_enable(self) -> None:
        """44000 reads 0 even while remote control is on; the setpoint is still honoured."""
        self.faults.enable_reads_zero = True

    def clamp_setpoint(self, rating_w: int) -> None:
        """Hold 44002 within +- ``rating_w`` and read back what is held (the KH's rating)."""
        self.faults.setpoint_rating_w = int(rating_w)

    def lag_readbacks(self, seconds: float) -> None:
        """A written register reads its old word for ``seconds`` (clock); the write acts
        at once."""
        self.faults.readback_lag_s = float(seconds)

    def slow_writes(self, seconds: float, registers: Iterable[int] | None = None) -> None:
        """Answer writes (to ``registers``, default all) ``seconds`` late, in wall time."""
        for address in self._writable() if registers is None else registers:
            self.faults.slow_writes[address] = float(seconds)

    def refuse_writes(
        self, registers: Iterable[int] | None = None, code: ExcCodes = ExcCodes.DEVICE_FAILURE
    ) -> None:
        """Answer writes (to ``registers``, default all) with the exception ``code``."""
        for address in self._writable() if registers is None else registers:
            self.faults.refused_writes[address] = code

    def _writable(self) -> list[int]:
        ranges = WRITABLE_RANGES[self.firmware]
        return [a for low, high in ranges for a in range(low, high + 1)]

    def clear_faults(self) -> None:
        """Back to a healthy device; replies still held go out at once."""
        self.faults = Faults()
        self._release_held()

    def _release_held(self) -> None:
        self._release.set()
        self._release = asyncio.Event()

    async def _hold(self, seconds: float) -> None:
        """Wait ``seconds`` on the clock, or until the faults are cleared or serving stops."""
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        released = asyncio.ensure_future(self._release.wait())
        try:
            await asyncio.wait((sleeper, released), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            released.cancel()

    async def __aenter__(self) -> FoxKHServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _tick(self) -> None:
        """Keep the model at the present so SOC and watchdog move with nobody polling."""
        while True:
            await self.clock.sleep(self.tick_s)
            self.model.advance_to(self.clock.time())

    def _layout(self) -> list[SimData]:
        ranges = [(r, True) for r in READ_ONLY_RANGES[self.firmware]]
        ranges += [(r, False) for r in WRITABLE_RANGES[self.firmware]]
        return [
            SimData(low, count=high - low + 1, datatype=DataType.REGISTERS, readonly=ro)
            for (low, high), ro in ranges
        ]

    async def _action(
        self,
        func_code: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus hook: runs after its own invalid/read-only checks, before it answers."""
        self.requests[(func_code, address)] += 1
        if values is None:
            self.read_sizes[count] += 1
        faults = self.faults
        if faults.delay_s > 0:
            await self._hold(faults.delay_s)
        if faults.exception is not None:
            return faults.exception
        if values is not None:
            return await self._write_request(func_code, address, [int(v) for v in values])
        if func_code not in _READS:
            return ExcCodes.ILLEGAL_FUNCTION
        last = address + count - 1
        if func_code == 4 and last >= 40000:
            return ExcCodes.ILLEGAL_ADDRESS  # settings are holding registers
        if count > 1 and address <= 41999 and last >= 41000:
            return ExcCodes.ILLEGAL_ADDRESS  # 41xxx: one register per request
        image = self._image()
        words = faults.words
        now = self.clock.time()
        for a in range(address, last + 1):
            word = words[a] if a in words else image.get(a, 0)
            # 6: the echo of a write, which says what was written, not what is read back
            registers[a - start] = word if func_code == 6 else faults.read_back(a, word, now)
        return None

    async def _write_request(
        self, func_code: int, address: int, values: list[int]
    ) -> ExcCodes | None:
        """A write as the KH takes it: FC6, and FC16 only for the export limit's I32 pair
        (foxess_modbus writes it in one request); slowed, refused or lagging on demand."""
        pair = func_code == 16 and address == 46616 and len(values) == 2
        if func_code != 6 and not pair:
            return ExcCodes.ILLEGAL_FUNCTION
        faults = self.faults
        addresses = range(address, address + len(values))
        if refused := [faults.refused_writes[a] for a in addresses if a in faults.refused_writes]:
            return refused[0]
        delay = max(faults.slow_writes.get(a, 0.0) for a in addresses)
        if delay > 0:
            with contextlib.suppress(TimeoutError):  # cleared faults answer at once
                await asyncio.wait_for(self._release.wait(), delay)
            faults = self.faults  # cleared meanwhile: the healthy device takes it
        before = self._image() if faults.readback_lag_s > 0 else {}
        now = self.clock.time()
        if pair:
            outcome = self._set_export_limit(decode_i32(*values), now)
        else:
            outcome = self._write(address, values[0])
        if outcome is None:
            faults.written(before, addresses, now)
        return outcome

    def _image(self) -> dict[int, int]:
        """The register image now; rebuilt only when time moved or a write changed state."""
        self.model.advance_to(self.clock.time())
        model = self.model
        remote = model.remote
        key = (
            model.time,
            id(model.profile),  # a test may swap the profile without time moving
            model.soc,
            model.grid_lost,
            remote.enabled,
            remote.setpoint_w,
            remote.timeout_s,
        )
        cached = self._cached
        if cached is None or cached[0] != key or cached[1] != model.settings:
            # The settings are compared as a snapshot: a test may change them in place.
            cached = (key, copy.copy(model.settings), register_image(model, self.firmware))
            self._cached = cached
        return cached[2]

    def _write(self, address: int, raw: int) -> ExcCodes | None:
        self._cached = None
        now = self.clock.time()
        model = self.model
        if address == 41000:
            if raw not in (0, 1, 2):
                return ExcCodes.ILLEGAL_VALUE
            model.set_work_mode(raw, now)
        elif address in _SETTINGS:
            name, low, high = _SETTINGS[address]
            if not low <= raw <= high:
                return ExcCodes.ILLEGAL_VALUE
            model.set_setting(name, raw, now)
        elif address == 44000:
            if raw not in (0, 1):
                return ExcCodes.ILLEGAL_VALUE
            model.write_remote(now, enabled=bool(raw))
        elif address == 44001:
            model.write_remote(now, timeout_s=raw)
        elif address == 44002:
            setpoint = decode_i16(raw)
            if (rating := self.faults.setpoint_rating_w) is not None:
                setpoint = max(-rating, min(rating, setpoint))  # held, and read back, clamped
            model.write_remote(now, setpoint_w=setpoint)
        elif address in (46616, 46617):
            return self._write_export_limit(address, raw, now)
        else:
            return ExcCodes.ILLEGAL_ADDRESS
        return None

    def _write_export_limit(self, address: int, raw: int, now: float) -> ExcCodes | None:
        """One word of the I32 export limit; the new value holds from this write on."""
        image = self._image()
        words = [image[46616], image[46617]]
        words[address - 46616] = raw
        return self._set_export_limit(decode_i32(*words), now)

    def _set_export_limit(self, value: int, now: float) -> ExcCodes | None:
        if value < 0:
            return ExcCodes.ILLEGAL_VALUE
        self.model.set_setting("export_limit_w", value, now)
        self._cached = None
        return None


async def serve_site(
    model: SiteModel,
    clock: Clock,
    host: str = "127.0.0.1",
    port: int = 5020,
    firmware: str = "kh133",
) -> None:
    """Serve ``model`` as a KH until cancelled."""
    async with FoxKHServer(model, clock, host, port, firmware):
        await asyncio.Event().wait()
