"""The shared Fox ESS KH Modbus link that foxess nodes name in their config.

One RS485 bus serves one request at a time, so every call goes through a
lock. Keys missing from the flow's connection config come from the site
config (``settings["inverter"]``) and then from defaults. The battery's hard
floor (``battery.soc_min``) is the inverter's min-SOC backstop, and the grid's
export limit (``grid.max_export_w``) the export limit it goes back to.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar

from flowengine.clock import Clock
from flowengine.node import Connection, HandBack
from nodes.foxess.client import (
    FALLBACK_MODES,
    CommandResult,
    FoxKHClient,
    InverterError,
    InverterSettings,
    Telemetry,
)
from nodes.foxess.plausible import TelemetryLimits
from nodes.foxess.registers import REMOTE_ENABLE, WORK_MODE, WORK_MODE_NAMES
from nodes.foxess.site import MAX_READ_REGISTERS, SERIAL, SERIAL_NEEDS_LINE, TRANSPORT
from nodes.foxess.transport import SerialLine

T = TypeVar("T")

#: How long (clock seconds) a call waits for the lock before it looks again.
LOCK_CHECK_S = 600.0

DEFAULTS: dict[str, Any] = {
    "transport": "tcp",
    "host": "127.0.0.1",
    "port": 502,
    "unit_id": 247,
    "firmware": "kh133",
    "register_function": "holding",
    "watchdog_s": 60,
    "timeout_s": 3.0,
    "fallback_mode": "self_use",
    "charge_current_a": None,
    "serial": None,
    "max_read_registers": None,  # the transport's (nodes.foxess.transport)
}


class FoxModbusConnection(Connection):
    """A Fox ESS KH reached over Modbus: an RS485 gateway or a serial adapter."""

    type_name = "foxess.modbus"
    description = (
        "A Fox ESS KH inverter over Modbus (unit 247 behind an RS485 gateway: TCP, RTU over "
        "TCP or UDP; or an RS485 adapter on a serial port)."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "transport": TRANSPORT,
            "host": {"type": "string"},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "serial": SERIAL,
            "unit_id": {"type": "integer", "minimum": 1, "maximum": 247},
            "firmware": {"enum": ["kh133", "pre133"]},
            "register_function": {"enum": ["holding", "input"]},
            "watchdog_s": {"type": "integer", "minimum": 10, "maximum": 3600},
            "timeout_s": {"type": "number", "exclusiveMinimum": 0},
            "max_read_registers": MAX_READ_REGISTERS,
            "charge_current_a": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "41007's normal max charge current (A), put back after a plan "
                "has lowered it to curtail PV (unset: what it held before)",
            },
            "fallback_mode": {
                "enum": list(FALLBACK_MODES),
                "description": "work mode (41000) the inverter runs when remote control ends",
            },
        },
        "additionalProperties": False,
        **SERIAL_NEEDS_LINE,
    }

    def __init__(
        self, connection_id: str, config: dict[str, Any], clock: Clock, settings: Mapping[str, Any]
    ) -> None:
        super().__init__(connection_id, config, clock, settings)
        self._lock = asyncio.Lock()
        self._last_telemetry: Telemetry | None = None
        read_max = self.option("max_read_registers")
        self.client = FoxKHClient(
            self.option("host"),
            int(self.option("port")),
            transport=self.option("transport"),
            serial=SerialLine.from_config(self.option("serial")),
            unit_id=int(self.option("unit_id")),
            firmware=self.option("firmware"),
            register_function=self.option("register_function"),
            watchdog_s=int(self.option("watchdog_s")),
            timeout_s=float(self.option("timeout_s")),
            clock=clock,
            fallback_mode=self.option("fallback_mode"),
            max_read_registers=None if read_max is None else int(read_max),
            min_soc_backstop=(settings.get("battery") or {}).get("soc_min"),
            charge_current_a=self.option("charge_current_a"),
            limits=TelemetryLimits.for_site(settings),
            max_export_w=(settings.get("grid") or {}).get("max_export_w"),
            read_only=(settings.get("control") or {}).get("mode") == "shadow",  # writes nothing
        )

    def option(self, key: str) -> Any:
        """The connection config, else the site's inverter settings, else the default."""
        if key in self.config:
            return self.config[key]
        site = self.settings.get("inverter") or {}
        return site.get(key, DEFAULTS[key])

    async def open(self) -> None:
        async with self._turn():
            await self.client.connect()  # never raises; reports via ``connected``

    async def close(self) -> None:
        async with self._turn():
            self.client.close()

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def read_telemetry(self, max_age_s: float = 0.0) -> Telemetry:
        """Telemetry read now, or the last read if it is at most ``max_age_s`` old.

        Flows that fire at the same moment (the plan and the control tick at :00)
        then share one poll instead of asking the gateway twice.
        """

        async def read() -> Telemetry:
            last = self._last_telemetry
            fresh = last is not None and self.clock.time() - last.timestamp <= max_age_s
            if fresh and max_age_s > 0:
                assert last is not None
                return last
            self._last_telemetry = await self.client.read_telemetry()
            return self._last_telemetry

        return await self._locked(read)

    async def read_settings(self) -> InverterSettings:
        return await self._locked(self.client.read_settings)

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
        return await self._locked(
            lambda: self.client.command(
                mode, power_w, setpoint_w, min_soc, export_limit_w, charge_limit_w, until
            )
        )

    async def release(self) -> CommandResult:
        """Remote control off, the min-SOC backstop and export limit as configured (at
        shutdown). The last word: one more try to connect now, whatever the reconnect
        backoff says."""
        async with self._turn():
            await self.client.connect()
            return await self.client.release()

    async def hand_back(self) -> HandBack:
        """At shutdown: ``release``, told as the stop line tells it, then closed. In shadow
        mode nothing was ever commanded, so there is nothing to undo; a release that
        fails leaves the inverter to its own watchdog."""
        try:
            if self.client.read_only:
                return HandBack("hand-back not needed (shadow mode never commanded it)")
            try:
                result = await self.release()
            except InverterError as exc:
                return HandBack(
                    f"hand-back failed ({exc}); its own watchdog ends remote "
                    f"control within {self.client.watchdog_s} s",
                    ok=False,
                )
            return HandBack(hand_back_outcome(result), result.verified)
        finally:
            await self.close()

    async def refresh_watchdog(self, force: bool = False) -> CommandResult | None:
        return await self._locked(lambda: self.client.refresh_watchdog(force))

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """The lock; when it is held, waited for on the clock. A call holding it may itself
        wait on the clock (the client reads a lagging readback again after a pause), and a
        virtual clock moves only while every run waits on it: a run queued here counts."""
        if self._lock.locked():
            await self._queue()
        else:
            await self._lock.acquire()  # free: at once, not a moment of clock time later
        try:
            yield
        finally:
            self._lock.release()

    async def _queue(self) -> None:
        acquired = asyncio.ensure_future(self._lock.acquire())
        try:
            while not await self.clock.wait_for(acquired, LOCK_CHECK_S):
                pass
        except BaseException:
            if acquired.done() and not acquired.cancelled():
                self._lock.release()
            acquired.cancel()
            raise

    async def _locked(self, call: Callable[[], Awaitable[T]]) -> T:
        async with self._turn():
            return await call()


def hand_back_outcome(result: CommandResult) -> str:
    """What releasing the inverter at shutdown did, as the stop line tells it."""
    if not result.verified:
        return "hand-back not verified (" + "; ".join(result.mismatches + result.failed) + ")"
    if REMOTE_ENABLE in result.written:
        told = "remote control released and read back"
    else:
        told = "hand-back not needed (this run never took remote control)"
    mode = result.readback.get(WORK_MODE)
    left = [] if mode is None else [f"work mode (41000) left at {WORK_MODE_NAMES.get(mode, mode)}"]
    return "; ".join([told, *left, *result.tolerated])
