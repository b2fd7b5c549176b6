"""Faults the simulated KH can be told to show, so tests can see how Power Master copes.

A real RS485 gateway and its inverter go silent, answer late, answer with
Modbus exception codes, or (a flaky gateway, a wrong register map) hand back
words that mean nothing. ``FoxKHServer`` applies what ``Faults`` holds to every
request; the inverter itself (the site model) keeps running underneath.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes

from nodes.foxess.registers import encode_i16, encode_i32


@dataclass(slots=True)
class Faults:
    """What every request meets now; the default is a healthy device."""

    #: Each reply is held this many clock seconds (past the client's timeout, it never lands).
    delay_s: float = 0.0
    #: Every request is answered with this exception code instead of data.
    exception: ExcCodes | None = None
    #: Register words served instead of the model's (reads only; writes still apply).
    words: dict[int, int] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return self.delay_s > 0 or self.exception is not None or bool(self.words)


def nonsense_words(firmware: str) -> dict[int, int]:
    """SOC 250 %, the battery charging at 32 kW, PV at 1 MW: readings no KH can give."""
    words = {31024: 250, 31022: encode_i16(-32000)}
    if firmware == "kh133":
        words[39279], words[39280] = encode_i32(1_000_000)
    else:
        words[31002] = encode_i16(32000)
    return words
