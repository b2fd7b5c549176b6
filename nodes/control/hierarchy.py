"""The control hierarchy node: who decides this tick, highest first.

safety (grid lost, temperatures, stale telemetry, health) > storm reserve >
critical SOC > manual override > weekly schedule > plan > opportunistic sale >
self-use. Anti-oscillation then holds the mode in force when a change would
come too soon or too often (never for safety, storm, critical or an override), and
``enforce_limits`` has the last word. The levels are pure functions
(``nodes.control.levels``) run by ``nodes.control.tick``; this node reads
context, writes the stability state to the flow's context and the command out.
Each decision names its level and why, so "why is it charging at 3 pm?" has an
answer in the trace and in /api/state.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import ContextKey, Node
from nodes.control.decision import MODES, inverter_command
from nodes.control.levels import plan_decision, safety_override
from nodes.control.settings import ControlSettings
from nodes.control.situation import Situation
from nodes.control.stability import StabilityState
from nodes.control.tick import control_tick
from nodes.planning.result import slot_at

__all__ = ["Hierarchy", "available_pv", "plan_decision", "planned_pv", "safety_override"]

#: Flow-context key of the anti-oscillation state (mode in force, since, changes).
STABILITY_KEY = "stability"
#: Global keys read each tick, and the config option that renames each.
GLOBAL_KEYS = {
    "plan": ("plan_key", "plan"),
    "storm": ("storm_key", "storm_reserve"),
    "override": ("override_key", "override"),
    "health": ("health_key", "health"),
    "prices": ("prices_key", "prices"),
    "cost_basis": ("cost_basis_key", "cost_basis"),
}


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
    could while the inverter curtails them (battery at its charge limit, the one
    41007 holds too when a command lowered it to curtail, or export at its
    limit). Then the plan's PV for this slot is the better guess.
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
    held = telemetry.get("charge_limit_w")  # 41007 as the inverter holds it (lowered to curtail)
    if isinstance(held, int | float) and 0 <= held < charge_limit:
        charge_limit = float(held)
    export_limit = settings["grid"]["max_export_w"]
    battery_w = float(telemetry.get("battery_w") or 0.0)  # None: the BMS is not connected
    grid_w = float(telemetry.get("grid_w") or 0.0)
    remote = bool(telemetry.get("remote_enabled"))
    # A full battery takes nothing above the AC setpoint, so the PV reading then only
    # echoes our own last setpoint: trusting it would ratchet the setpoint (and PV) down.
    full = float(telemetry.get("soc") or 0.0) >= settings["battery"]["soc_max"] - _FULL_SOC_BAND
    curtailing = (
        battery_w >= charge_limit - 50
        or -grid_w >= export_limit - 50
        or (remote and telemetry.get("remote_setpoint_w", 0) < 0)
        or (remote and full)
    )
    return plan_pv if curtailing else measured


class Hierarchy(Node):
    type_name = "control.hierarchy"
    reads: ClassVar[tuple[ContextKey, ...]] = tuple(
        ContextKey(key, f"the {what.replace('_', ' ')}", option)
        for what, (option, key) in GLOBAL_KEYS.items()
    )
    description = (
        "Decides the inverter's mode and power for this tick through the hierarchy "
        "(safety, storm, critical, override, schedule, plan, opportunistic, fallback), "
        "without flapping, inside hard limits."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "plan_key": {"type": "string", "description": "global key of the plan"},
            "storm_key": {"type": "string", "description": "global key of the storm reserve"},
            "override_key": {"type": "string", "description": "global key of the override"},
            "health_key": {"type": "string", "description": "global key of the health state"},
            "prices_key": {"type": "string", "description": "global key of the prices input"},
            "cost_basis_key": {
                "type": "string",
                "description": "global key of the stored energy's cost basis",
            },
        },
        "additionalProperties": False,
    }
    takes = "payload = inverter telemetry (soc, pv_w, load_w, temperatures, grid_lost, timestamp)"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload {mode, power_w, setpoint_w, battery_w, min_soc, level, reason, floor}: "
        "the command, who decided it and why"
    }
    gives_schema: ClassVar[dict[str, dict[str, Any]]] = {
        "out": {
            "type": "object",
            "properties": {
                "mode": {"enum": list(MODES)},
                "power_w": {"type": "number", "minimum": 0},
                "level": {"type": "string", "description": "the level of the hierarchy"},
                "reason": {"type": "string", "description": "why, naming slot and price"},
            },
            "required": ["mode", "power_w", "level", "reason"],
        }
    }

    def process(self, msg: Message) -> Message:
        telemetry = msg.payload if isinstance(msg.payload, dict) else {}
        now = self.ctx.clock.time()
        settings = self.ctx.settings
        state = StabilityState.from_dict(self.ctx.flow.get(STABILITY_KEY))
        found = {
            name: self.ctx.globals.peek(self.config.get(option, default))  # read only
            for name, (option, default) in GLOBAL_KEYS.items()
        }
        situation = Situation(
            now=now,
            telemetry=telemetry,
            settings=settings,
            options=ControlSettings.from_settings(settings),
            latched=state.latched,
            **{name: value if isinstance(value, dict) else None for name, value in found.items()},
        )
        outcome = control_tick(situation, state)
        self.ctx.flow.set(STABILITY_KEY, outcome.state.as_dict())
        decision = outcome.decision
        self.ctx.status(
            f"{decision.level}: {decision.mode} {decision.power_w:.0f} W",
            "warn" if decision.level in ("safety", "storm", "critical") else "ok",
        )
        plan = situation.plan
        plan_pv, curtailed = planned_pv(dict(plan) if plan else None, now)
        if decision.level != "plan" and outcome.proposed.level != "plan":
            # Only the plan curtails PV on purpose; a plan's slot that safety stopped
            # charging (battery full: hold) keeps curtailing, or it exports at a loss.
            curtailed = 0.0
        pv = available_pv(telemetry, plan_pv, settings, curtailed)
        command = inverter_command(
            decision,
            max(0.0, pv),
            outcome.floor.min_soc,
            curtailing=curtailed > 0,
            max_charge_w=settings["battery"]["max_charge_w"],
        )
        msg.payload = {
            **decision.as_dict(),
            **command,
            "floor": round(outcome.floor.soc, 4),
            "soc": telemetry.get("soc"),
            "at": now,
        }
        return msg
