"""A simulated Fox ESS KH answering real Modbus TCP (pymodbus 3.16 server).

Uses pymodbus's SimDevice datastore: only the ranges a KH answers are defined
(everything else is exception 02), and an ``action`` hook recomputes every read
from the site model at the moment of the request and applies every write to it.
The device quirks from protocols.md §1 are enforced here: 41xxx one register
per read, settings and remote control written with FC6 only, unit id 247 only.
Tests can make it misbehave (``slow_replies``, ``answer_exceptions``,
``serve_nonsense``, ``stop_serving``) while the inverter underneath keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Mapping
from types import TracebackType

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simcore import SimCore

from flowengine.clock import Clock
from nodes.foxess.registers import UNIT_ID, decode_i16, decode_i32
from powermaster.sim.faults import Faults, nonsense_words
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
    ) -> None:
        if firmware not in READ_ONLY_RANGES:
            raise ValueError(f"unknown firmware {firmware!r}; use 'kh133' or 'pre133'")
        self.model = model
        self.clock = clock
        self.host = host
        self.port = port
        self.firmware = firmware
        self.unit_id = unit_id
        self.tick_s = tick_s
        self._server: ModbusTcpServer | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._cached: tuple[tuple[object, ...], InverterSettings, dict[int, int]] | None = None
        self.faults = Faults()
        self._release = asyncio.Event()  # set: every held reply goes out now

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
        server = ModbusTcpServer(device, address=(self.host, self.port))
        server.context = _OneUnitCore(device)
        await server.serve_forever(background=True)
        self._server = server

    def slow_replies(self, delay_s: float) -> None:
        """Hold every reply ``delay_s`` clock seconds (a gateway answering far too late)."""
        self.faults.delay_s = float(delay_s)

    def answer_exceptions(self, code: ExcCodes = ExcCodes.DEVICE_FAILURE) -> None:
        """Answer every request, read or write, with a Modbus exception ``code``."""
        self.faults.exception = code

    def serve_nonsense(self, words: Mapping[int, int] | None = None) -> None:
        """Serve these register words instead of the model's (default: SOC 250 %, 32 kW...)."""
        self.faults.words = dict(nonsense_words(self.firmware) if words is None else words)

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
        faults = self.faults
        if faults.delay_s > 0:
            await self._hold(faults.delay_s)
        if faults.exception is not None:
            return faults.exception
        if values is not None:
            if func_code != 6:
                return ExcCodes.ILLEGAL_FUNCTION  # the KH takes single-register writes only
            return self._write(address, int(values[0]))
        if func_code not in _READS:
            return ExcCodes.ILLEGAL_FUNCTION
        last = address + count - 1
        if func_code == 4 and last >= 40000:
            return ExcCodes.ILLEGAL_ADDRESS  # settings are holding registers
        if count > 1 and address <= 41999 and last >= 41000:
            return ExcCodes.ILLEGAL_ADDRESS  # 41xxx: one register per request
        image = self._image()
        words = faults.words
        for a in range(address, last + 1):
            registers[a - start] = words[a] if a in words else image.get(a, 0)
        return None

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
            model.write_remote(now, setpoint_w=decode_i16(raw))
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
        value = decode_i32(*words)
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
