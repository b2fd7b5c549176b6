"""The Fox ESS KH Modbus map as data, and the codecs for its words.

Everything here follows protocols.md §1: raw PDU addresses, I16/U16 single
words, 32-bit values high word at the lower address, versions hex-encoded. Two
firmware classes ("kh133" = manager >= 1.33, the default; "pre133") differ in
where PV, grid CT and load live. Raw device signs stay raw here; the client
converts them to Power Master's conventions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import lru_cache
from typing import Literal

UNIT_ID = 247


class Firmware(StrEnum):
    KH133 = "kh133"
    PRE133 = "pre133"


class WorkMode(IntEnum):
    """41000 values; Force Charge/Discharge (3/4) are deliberately absent."""

    SELF_USE = 0
    FEED_IN_FIRST = 1
    BACK_UP = 2


#: 41000's values, as the Fox app names them.
WORK_MODE_NAMES = {0: "Self Use", 1: "Feed-in First", 2: "Back-up"}


# Settings (FC3 one register per request, FC6 write) and remote control (FC6).
WORK_MODE = 41000
MAX_CHARGE_CURRENT = 41007
MAX_DISCHARGE_CURRENT = 41008
MIN_SOC = 41009
MAX_SOC = 41010
MIN_SOC_ON_GRID = 41011
SETTINGS = (WORK_MODE, MAX_CHARGE_CURRENT, MAX_DISCHARGE_CURRENT, MIN_SOC, MAX_SOC, MIN_SOC_ON_GRID)
REMOTE_ENABLE = 44000
REMOTE_TIMEOUT = 44001
REMOTE_SETPOINT = 44002
#: Export power limit, I32 W, high word here and the low word next, per firmware: KH >= 1.33
#: only. The 41012 some tools write is invalid on a KH; pre-1.33 firmware has none.
EXPORT_LIMIT: dict[Firmware, int] = {Firmware.KH133: 46616}

#: Never read these on a KH (foxess_modbus KH_REGISTERS); inclusive ranges.
INVALID_RANGES: tuple[tuple[int, int], ...] = (
    (31055, 31999),
    (41001, 41006),
    (41012, 41012),
    (41019, 43999),
)
#: Registers in this range must be read one per request.
SINGLE_READ_RANGE = (41000, 41999)

Kind = Literal["u16", "i16", "u32", "i32"]


def is_invalid(address: int) -> bool:
    return any(low <= address <= high for low, high in INVALID_RANGES)


def is_single_read(address: int) -> bool:
    return SINGLE_READ_RANGE[0] <= address <= SINGLE_READ_RANGE[1]


# -- word codecs --


def encode_u16(value: int) -> int:
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{value} does not fit U16")
    return value


def encode_i16(value: int) -> int:
    """Two's complement: -3000 -> 0xF448."""
    if not -0x8000 <= value <= 0x7FFF:
        raise ValueError(f"{value} does not fit I16")
    return value & 0xFFFF


def decode_i16(word: int) -> int:
    return word - 0x10000 if word & 0x8000 else word


def encode_i32(value: int) -> tuple[int, int]:
    """(high word, low word); the high word goes at the lower address."""
    if not -0x8000_0000 <= value <= 0x7FFF_FFFF:
        raise ValueError(f"{value} does not fit I32")
    raw = value & 0xFFFF_FFFF
    return raw >> 16, raw & 0xFFFF


def encode_u32(value: int) -> tuple[int, int]:
    if not 0 <= value <= 0xFFFF_FFFF:
        raise ValueError(f"{value} does not fit U32")
    return value >> 16, value & 0xFFFF


def decode_u32(high: int, low: int) -> int:
    return (high << 16) | low


def decode_i32(high: int, low: int) -> int:
    raw = decode_u32(high, low)
    return raw - 0x1_0000_0000 if raw & 0x8000_0000 else raw


def decode_version(word: int) -> str:
    """Hex digits, as foxess_modbus shows them: 0x0133 -> "1.33"."""
    return f"{word >> 8:x}.{word & 0xFF:02x}"


def encode_version(text: str) -> int:
    major, minor = text.split(".")
    return (int(major, 16) << 8) | int(minor, 16)


def encode_ascii(text: str, words: int) -> list[int]:
    """Two characters per register, first character in the high byte, NUL padded."""
    data = text.encode("ascii").ljust(words * 2, b"\0")[: words * 2]
    return [(data[i] << 8) | data[i + 1] for i in range(0, len(data), 2)]


def decode_ascii(words: Iterable[int]) -> str:
    data = b"".join(w.to_bytes(2, "big") for w in words)
    return data.replace(b"\0", b"").decode("ascii", errors="replace").strip()


# -- the map --


@dataclass(frozen=True, slots=True)
class Field:
    """One value: where it lives, how it is encoded, and the gain to apply."""

    address: int
    kind: Kind = "u16"
    scale: float = 1.0

    @property
    def addresses(self) -> tuple[int, ...]:
        return (self.address, self.address + 1) if self.kind in ("u32", "i32") else (self.address,)

    def decode(self, regs: Mapping[int, int]) -> float:
        """The scaled value from a {address: word} mapping."""
        words = [regs[a] for a in self.addresses]
        if self.kind == "i16":
            raw = decode_i16(words[0])
        elif self.kind == "u32":
            raw = decode_u32(*words)
        elif self.kind == "i32":
            raw = decode_i32(*words)
        else:
            raw = words[0]
        return raw * self.scale


_COMMON: dict[str, Field] = {
    "grid_voltage": Field(31006, "i16", 0.1),
    "grid_frequency": Field(31009, "i16", 0.01),
    "meter1_power": Field(31014, "i16"),
    "inverter_temp": Field(31018, "i16", 0.1),
    "ambient_temp": Field(31019, "i16", 0.1),
    "battery_voltage": Field(31020, "i16", 0.1),
    "battery_current": Field(31021, "i16", 0.1),
    "battery_power": Field(31022, "i16"),  # raw + = discharging
    "battery_temp": Field(31023, "i16", 0.1),
    "soc": Field(31024),
    "bms_charge_current": Field(31025, "u16", 0.1),
    "bms_discharge_current": Field(31026, "u16", 0.1),
    "inverter_state": Field(31027),
    "pv_total": Field(32000, "u32", 0.1),
    "pv_today": Field(32002, "u16", 0.1),
    "battery_charge_total": Field(32003, "u32", 0.1),
    "battery_charge_today": Field(32005, "u16", 0.1),
    "battery_discharge_total": Field(32006, "u32", 0.1),
    "battery_discharge_today": Field(32008, "u16", 0.1),
    "grid_export_total": Field(32009, "u32", 0.1),
    "grid_export_today": Field(32011, "u16", 0.1),
    "grid_import_total": Field(32012, "u32", 0.1),
    "grid_import_today": Field(32014, "u16", 0.1),
    "inverter_output_total": Field(32015, "u32", 0.1),
    "inverter_output_today": Field(32017, "u16", 0.1),
    "inverter_input_total": Field(32018, "u32", 0.1),
    "inverter_input_today": Field(32020, "u16", 0.1),
    "load_total": Field(32021, "u32", 0.1),
    "load_today": Field(32023, "u16", 0.1),
}

KH133_MAP: dict[str, Field] = {
    **_COMMON,
    **{f"pv{n}_power": Field(39277 + 2 * n, "i32") for n in range(1, 5)},
    **{f"pv{n}_voltage": Field(39068 + 2 * n, "i16", 0.1) for n in range(1, 5)},
    **{f"pv{n}_current": Field(39069 + 2 * n, "i16", 0.01) for n in range(1, 5)},
    "grid_ct": Field(39168, "i32"),  # raw + = export
    "load_power": Field(31016, "i16"),
    "bms_energy_remaining": Field(37632, "u16", 0.01),  # kWh: finer than the 1 % SOC
    "bms_connect_state": Field(37002),  # BMS_CONNECTED when the battery's BMS answers
    "fault1": Field(39067),
    "fault2": Field(39068),
    "fault3": Field(39069),
}

_PRE_PV = {1: 31000, 2: 31003, 3: 31039, 4: 31042}  # voltage; current +1, power +2
PRE133_MAP: dict[str, Field] = {
    **_COMMON,
    **{f"pv{n}_voltage": Field(a, "i16", 0.1) for n, a in _PRE_PV.items()},
    **{f"pv{n}_current": Field(a + 1, "i16", 0.1) for n, a in _PRE_PV.items()},
    **{f"pv{n}_power": Field(a + 2, "i16") for n, a in _PRE_PV.items()},
    "grid_ct": Field(31049, "i32"),  # raw + = import
    "load_power": Field(31053, "i32"),
    "bms_connect_state": Field(31028),
}

#: Sign of the raw grid CT per firmware: +1 when raw + already means importing.
GRID_CT_IMPORT_SIGN = {Firmware.KH133: -1, Firmware.PRE133: 1}
#: The inverter's AC-port power, + = output: what 44002 commands, so the evidence that a
#: setpoint is honoured when 44000 reads 0 (protocols §1.4 "Grid (R phase) power").
AC_POWER = {Firmware.KH133: Field(31008, "i16"), Firmware.PRE133: Field(31045, "i32")}
#: Where the version words live per firmware: (master, slave, manager).
VERSION_REGISTERS = {Firmware.KH133: (36001, 36002, 36003), Firmware.PRE133: (30016, 30017, 30018)}
MODEL_REGISTERS = (30000, 16)
#: 37002 (KH >= 1.33) / 31028 (before): 0 initial, 1 connected, 2 fault (foxess_modbus's
#: BMS_CONNECT_STATE_ADDRESS; its battery sensors go unknown unless it reads 1).
BMS_CONNECTED = 1
#: Fault word 1, bit 7.
FAULT1_GRID_LOST = 1 << 7
INVERTER_STATE_OFF_GRID = 4


def register_map(firmware: Firmware | str) -> dict[str, Field]:
    return KH133_MAP if Firmware(firmware) is Firmware.KH133 else PRE133_MAP


# -- read planning --


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers from ``start``."""

    start: int
    count: int

    @property
    def end(self) -> int:
        """Last address, inclusive."""
        return self.start + self.count - 1


def plan_blocks(addresses: Iterable[int], max_count: int = 20, bridge: int = 6) -> list[Block]:
    """Group addresses into reads that never touch an invalid register.

    A block may bridge a gap of up to ``bridge`` registers that were not asked
    for, as long as every register in the gap is valid (one request instead of
    several); 41xxx addresses each get a request of their own.
    """
    return list(_plan_blocks(tuple(sorted(set(addresses))), max_count, bridge))


@lru_cache(maxsize=256)
def _plan_blocks(wanted: tuple[int, ...], max_count: int, bridge: int) -> tuple[Block, ...]:
    """``plan_blocks`` for sorted unique addresses; every poll asks the same, so cached."""
    if bad := [a for a in wanted if is_invalid(a)]:
        raise ValueError(f"invalid KH registers requested: {bad}")
    blocks: list[Block] = []
    for address in wanted:
        last = blocks[-1] if blocks else None
        gap = range(last.end + 1, address) if last is not None else range(0)
        if (
            last is not None
            and len(gap) <= bridge
            and address - last.start + 1 <= max_count
            and not is_single_read(address)
            and not is_single_read(last.start)
            and not any(is_invalid(a) or is_single_read(a) for a in gap)
        ):
            blocks[-1] = Block(last.start, address - last.start + 1)
        else:
            blocks.append(Block(address, 1))
    return tuple(blocks)
