"""What a real KH's readback of a remote-control command may show, and still be right.

Real KHs do not echo every write the way the simulator's healthy device does
(protocols.md §1.6, foxess_modbus): some firmware and gateways read 44000 as 0
while the setpoint is honoured, the inverter clamps 44002 to its rating, and a
readback can lag the write by seconds. These pure rules let the client tell
such a readback from a command that did not take, and say in words what it
tolerated (the trace shows it).
"""

from __future__ import annotations

#: How far the AC port may be from the setpoint (W), and how far past 0 it must push in
#: the setpoint's direction when a battery limit holds it short, to count as following.
FOLLOW_TOLERANCE_W = 200.0


def clamped(asked_w: int, held_w: int) -> bool:
    """A setpoint held the same way round but smaller: the inverter's rating, not ours."""
    return asked_w * held_w > 0 and abs(held_w) < abs(asked_w)


def follows(setpoint_w: int, ac_w: float) -> bool:
    """Whether the AC port does what the setpoint asks: at it, or pushing its way (the
    battery's limits may hold it short). The fallback work mode does neither while
    the setpoint is a charge, or a hold under load."""
    if abs(ac_w - setpoint_w) <= FOLLOW_TOLERANCE_W:
        return True
    return setpoint_w * ac_w > 0 and abs(ac_w) > FOLLOW_TOLERANCE_W


def clamp_note(asked_w: int, held_w: int) -> str:
    return f"register 44002: asked {asked_w} W, the inverter holds {held_w} W (its rating)"


def enable_note(setpoint_w: int, ac_w: float) -> str:
    return (
        f"register 44000 reads 0 while the AC port follows the setpoint ({ac_w:.0f} W for "
        f"{setpoint_w} W): remote control taken as on (a KH firmware/gateway quirk)"
    )


def lag_note(address: int, first: int, lag_s: float) -> str:
    return f"register {address}: read back {first} at first, as written {lag_s:g} s after the write"
