"""Faults the simulated KH can be told to show, so tests can see how Power Master copes.

A real RS485 gateway and its inverter go silent, answer late, answer with
Modbus exception codes, or (a flaky gateway, a wrong register map) hand back
words that mean nothing. Real KHs have quirks of their own (foxess_modbus,
protocols.md §1.6): 44000 reading 0 while remote control is honoured, 44002 clamped
to the rating, readbacks that lag a write, slow or refused writes. ``FoxKHServer``
applies what ``Faults`` holds to every request; the inverter itself (the site
model) keeps running underneath.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes

from nodes.foxess.registers import REMOTE_ENABLE, encode_i16, encode_i32


@dataclass(slots=True)
class Faults:
    """What every request meets now; the default is a healthy device."""

    #: Each reply is held this many clock seconds (past the client's timeout, it never lands).
    delay_s: float = 0.0
    #: Every request is answered with this exception code instead of data.
    exception: ExcCodes | None = None
    #: Register words served instead of the model's (reads only; writes still apply).
    words: dict[int, int] = field(default_factory=dict)
    #: 44000 reads 0 while remote control is on and honoured (some KH firmware, gateways).
    enable_reads_zero: bool = False
    #: The inverter holds 44002 within +- this many W, and reads back what it holds.
    setpoint_rating_w: int | None = None
    #: A written register reads its old word this many clock seconds (the write acts at once).
    readback_lag_s: float = 0.0
    #: Writes to these registers are answered (and applied) this many *wall* seconds late:
    #: the gateway's slowness, which the client's socket timeout measures (a virtual clock
    #: cannot move while a request is on the wire).
    slow_writes: dict[int, float] = field(default_factory=dict)
    #: Writes to these registers are refused with this exception code.
    refused_writes: dict[int, ExcCodes] = field(default_factory=dict)
    #: While ``readback_lag_s`` lasts: address -> (the word read back, until when).
    lagging: dict[int, tuple[int, float]] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return (
            self.delay_s > 0
            or self.exception is not None
            or bool(self.words)
            or self.enable_reads_zero
            or self.setpoint_rating_w is not None
            or self.readback_lag_s > 0
            or bool(self.slow_writes)
            or bool(self.refused_writes)
        )

    def written(self, before: Mapping[int, int], addresses: Iterable[int], now: float) -> None:
        """Registers just written read back as ``before`` had them until the lag is over
        (a register written again while lagging keeps its oldest word)."""
        if self.readback_lag_s <= 0:
            return
        for address in addresses:
            word, until = self.lagging.get(address, (before.get(address, 0), now))
            if until <= now:
                word = before.get(address, 0)
            self.lagging[address] = (word, now + self.readback_lag_s)

    def read_back(self, address: int, word: int, now: float) -> int:
        """What a read of ``address`` gives instead of ``word`` (the model's) now."""
        held = self.lagging.get(address)
        if held is not None and now < held[1]:
            word = held[0]
        if address == REMOTE_ENABLE and self.enable_reads_zero:
            word = 0
        return word


def nonsense_words(firmware: str) -> dict[int, int]:
    """SOC 250 %, the battery charging at 32 kW, PV at 1 MW: readings no KH can give."""
    words = {31024: 250, 31022: encode_i16(-32000)}
    if firmware == "kh133":
        words[39279], words[39280] = encode_i32(1_000_000)
    else:
        words[31002] = encode_i16(32000)
    return words


def bms_disconnected_words(firmware: str) -> dict[int, int]:
    """A KH whose battery BMS stopped answering: the connect state (37002, 31028 before
    1.33) reads 0 and the battery's readings 0 (voltage, current, power, temperature,
    SOC, BMS limits and, on 1.33, the BMS block)."""
    words = dict.fromkeys(range(31020, 31027), 0)
    if firmware == "kh133":
        words |= dict.fromkeys(range(37617, 37633), 0)
        words[37002] = 0
    else:
        words[31028] = 0
    return words
