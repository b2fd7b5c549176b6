"""The control hierarchy: who decides this tick, highest first.

1. hardware safety: grid lost, temperatures, stale telemetry -> the inverter's own self-use
2. the plan: the mode and power of the slot we are in
3. fallback: no plan in force -> self-use
Whatever is chosen then passes ``enforce_limits``. Each decision says which
level made it and why, so "why is it charging at 3 pm?" has an answer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flowengine.durations import parse_duration
from flowengine.message import Message
from flowengine.node import Node
from nodes.control.decision import Decision, Limits, enforce_limits, inverter_command
from nodes.planning.plan import slot_at


def safety_override(telemetry: dict[str, Any], settings: Any, now: float) -> Decision | None:
    """A reason to stop forcing and hand back to self-use, if there is one."""
    if telemetry.get("grid_lost"):
        return Decision("self_use", 0.0, "safety", "grid lost: the inverter runs on its own")
    stale_after = parse_duration(settings.get("control", {}).get("telemetry_stale_after", "15m"))
    age = now - float(telemetry.get("timestamp", now))
    if age > stale_after:
        return Decision("self_use", 0.0, "safety", f"telemetry is {age:.0f}s old")
    battery, inverter = settings["battery"], settings.get("inverter", {})
    battery_temp = telemetry.get("battery_temp_c")
    if battery_temp is not None:
        if battery_temp > battery.get("max_temp_c", 50):
            return Decision("self_use", 0.0, "safety", f"battery hot ({battery_temp:.0f} °C)")
        if battery_temp < battery.get("min_temp_c", 0):
            return Decision("self_use", 0.0, "safety", f"battery cold ({battery_temp:.0f} °C)")
    inverter_temp = telemetry.get("inverter_temp_c")
    if inverter_temp is not None and inverter_temp > inverter.get("max_temp_c", 70):
        return Decision("self_use", 0.0, "safety", f"inverter hot ({inverter_temp:.0f} °C)")
    return None


def plan_decision(plan: dict[str, Any] | None, now: float) -> Decision:
    """The plan's slot for ``now``, or self-use when no plan covers it."""
    slot = slot_at(plan, now)
    if slot is None:
        return Decision("self_use", 0.0, "fallback", "no plan covers this slot: self-use")
    battery_w = slot.get("battery_w")
    return Decision(
        slot["mode"],
        float(slot.get("power_w", 0.0)),
        "plan",
        slot.get("reason", ""),
        None if battery_w is None else float(battery_w),
    )


#: SOC within this of soc_max counts as full (the BMS stops taking charge).
_FULL_SOC_BAND = 0.005


def planned_pv(plan: dict[str, Any] | None, now: float) -> tuple[float | None, float]:
    """The PV the plan expects in the slot we are in (if it says), and what it curtails."""
    slot = slot_at(plan, now)
    if slot is None:
        return None, 0.0
    value = slot.get("pv_w")
    return (None if value is None else float(value)), float(slot.get("pv_curtailed_w", 0.0))


def available_pv(
    telemetry: dict[str, Any], plan_pv: float | None, settings: Any, curtailed: float = 0.0
) -> float:
    """PV to count on for the AC setpoint (pv - battery).

    The PV registers report what the panels deliver, which is less than they
    could while the inverter curtails them (battery at its charge limit, or
    export at its limit). Then the plan's PV for this slot is the better guess.
    Where the plan curtails PV on purpose (exporting costs money, or importing
    pays), no more than the PV it planned to use is counted.
    """
    measured = max(0.0, float(telemetry.get("pv_w", 0.0)))
    if plan_pv is not None and curtailed > 0:
        return min(_available(measured, plan_pv, telemetry, settings), plan_pv - curtailed)
    return _available(measured, plan_pv, telemetry, settings)


def _available(
    measured: float, plan_pv: float | None, telemetry: dict[str, Any], settings: Any
) -> float:
    if plan_pv is None or plan_pv <= measured:
        return measured
    charge_limit = settings["battery"]["max_charge_w"]
    export_limit = settings["grid"]["max_export_w"]
    battery_w = float(telemetry.get("battery_w", 0.0))
    grid_w = float(telemetry.get("grid_w", 0.0))
    remote = bool(telemetry.get("remote_enabled"))
    # A full battery takes nothing above the AC setpoint, so the PV reading then only
    # echoes our own last setpoint: trusting it would ratchet the setpoint (and PV) down.
    full = float(telemetry.get("soc", 0.0)) >= settings["battery"]["soc_max"] - _FULL_SOC_BAND
    curtailing = (
        battery_w >= charge_limit - 50
        or -grid_w >= export_limit - 50
        or (remote and telemetry.get("remote_setpoint_w", 0) < 0)
        or (remote and full)
    )
    return plan_pv if curtailing else measured


class Hierarchy(Node):
    type_name = "control.hierarchy"
    description = "Decides the inverter's mode and power for this tick, inside hard limits."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"plan_key": {"type": "string", "description": "global key of the plan"}},
        "additionalProperties": False,
    }
    takes = "payload = inverter telemetry (soc, pv_w, load_w, temperatures, grid_lost, timestamp)"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload {mode, power_w, setpoint_w, battery_w, level, reason}: the command"
    }

    def process(self, msg: Message) -> Message:
        telemetry = msg.payload
        now = self.ctx.clock.time()
        settings = self.ctx.settings
        decision = safety_override(telemetry, settings, now)
        plan_pv: float | None = None
        curtailed = 0.0
        if decision is None:
            plan = self.ctx.globals.get(self.config.get("plan_key", "plan"))
            decision = plan_decision(plan, now)
            plan_pv, curtailed = planned_pv(plan, now)
        decision = enforce_limits(
            decision,
            float(telemetry["soc"]),
            telemetry.get("pv_w", 0.0),
            telemetry.get("load_w", 0.0),
            Limits.from_settings(settings),
        )
        self.ctx.status(
            f"{decision.level}: {decision.mode} {decision.power_w:.0f} W",
            "warn" if decision.level == "safety" else "ok",
        )
        pv = available_pv(telemetry, plan_pv, settings, curtailed)
        command = inverter_command(decision, max(0.0, pv))
        msg.payload = {**decision.as_dict(), **command, "soc": telemetry["soc"], "at": now}
        return msg
