"""A line on stdout each time the simulated inverter's control state changes.

``power-master simulate`` runs the inverter as a process of its own, so whoever
watches it (a person, or a test that kills the service) sees from outside when
remote control starts, what it holds, and when and why it ends: written off by
the controller, or dropped by the inverter's own watchdog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flowengine.clock import Clock
from powermaster.sim.site import SiteModel

#: How often (simulator seconds) the model is looked at; well inside any watchdog (>= 10 s).
REPORT_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class ControlState:
    """What the inverter is told to do: its work mode and its remote-control registers."""

    work_mode: str
    remote: bool
    setpoint_w: int
    timeout_s: int


def control_state(model: SiteModel) -> ControlState:
    return ControlState(
        model.settings.work_mode.name.lower(),
        model.remote.enabled,
        model.remote.setpoint_w,
        model.remote.timeout_s,
    )


def describe(model: SiteModel, state: ControlState, before: ControlState | None) -> str:
    """One ``key=value`` line: the state now and, when remote control just ended, why."""
    remote = model.remote
    flows = model.flows()
    parts = [
        f"t={model.time:.3f}",
        f"work_mode={state.work_mode}",
        f"remote={'on' if state.remote else 'off'}",
        f"setpoint_w={state.setpoint_w}",
        f"timeout_s={state.timeout_s}",
        f"last_write={remote.last_write:.3f}",
        f"soc={model.soc:.4f}",
        f"battery_w={flows.battery_w:.0f}",
    ]
    if before is not None and before.remote and not state.remote:
        expiry = remote.last_write + remote.timeout_s
        # Polled well inside the watchdog time: past the expiry means nobody wrote 44000=0.
        if remote.timeout_s > 0 and model.time >= expiry:
            parts += ["remote_off_by=watchdog", f"off_at={expiry:.3f}"]
        else:
            parts += ["remote_off_by=write", f"off_at={remote.last_write:.3f}"]
    return "inverter " + " ".join(parts)


async def report_changes(
    model: SiteModel, clock: Clock, say: Callable[[str], None], every_s: float = REPORT_EVERY_S
) -> None:
    """Say the state once, then again at each change, until cancelled."""
    before: ControlState | None = None
    while True:
        model.advance_to(clock.time())
        state = control_state(model)
        if state != before:
            say(describe(model, state, before))
            before = state
        await clock.sleep(every_s)
