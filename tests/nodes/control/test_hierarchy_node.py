"""The control.hierarchy node: reads context, keeps its state across restarts, says who and why."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flowengine import VirtualClock
from flowengine.message import Message
from nodes.control.hierarchy import STABILITY_KEY, Hierarchy
from tests.nodes.control.situations import WEDNESDAY_3PM, plan_slot, site, storm_reserve


class Scope(dict[str, Any]):
    def set(self, key: str, value: Any) -> None:
        self[key] = value

    def peek(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)

    def keys(self) -> list[str]:  # type: ignore[override]
        return sorted(super().keys())


def context(clock: VirtualClock, flow: Scope, **globals_: Any) -> SimpleNamespace:
    return SimpleNamespace(
        clock=clock,
        settings=site(),
        flow=flow,
        globals=Scope(globals_),
        status=lambda text, state="ok": None,
    )


def tick(ctx: SimpleNamespace, soc: float = 0.5) -> dict[str, Any]:
    node = Hierarchy(ctx, {})
    telemetry = {"soc": soc, "pv_w": 1000.0, "load_w": 600.0, "timestamp": ctx.clock.time()}
    out = node.process(Message(payload=telemetry))
    assert isinstance(out, Message)
    return dict(out.payload)


def test_the_payload_names_the_level_the_reason_and_the_floors() -> None:
    clock = VirtualClock(WEDNESDAY_3PM)
    plan = plan_slot(clock.time(), "force_charge", power_w=2000, battery_w=2000, reason="cheap")
    payload = tick(context(clock, Scope(), plan=plan))
    assert payload["level"] == "plan" and payload["reason"] == "cheap"
    assert (payload["mode"], payload["battery_w"], payload["setpoint_w"]) == (
        "force_charge",
        2000,
        1000 - 2000,
    )
    assert payload["floor"] == 0.10 and payload["min_soc"] == 0.10  # no critical floor: soc_min
    assert payload["at"] == clock.time()


def test_a_storm_reserve_goes_to_the_inverters_own_floor() -> None:
    clock = VirtualClock(WEDNESDAY_3PM)
    now = clock.time()
    storm = storm_reserve(0.8, now - 600, now + 3600)
    payload = tick(context(clock, Scope(), storm_reserve=storm), soc=0.9)
    assert (payload["mode"], payload["min_soc"], payload["floor"]) == ("self_use", 0.8, 0.8)


def test_the_mode_in_force_survives_a_restart() -> None:
    clock = VirtualClock(WEDNESDAY_3PM)
    flow = Scope()
    charge = plan_slot(clock.time(), "force_charge", power_w=2000, battery_w=2000)
    assert tick(context(clock, flow, plan=charge))["mode"] == "force_charge"
    assert flow[STABILITY_KEY]["mode"] == "force_charge"
    # A new node (the service restarted) with a plan that flips the mode 5 minutes later.
    later = VirtualClock(WEDNESDAY_3PM + 300)
    rest = plan_slot(later.time(), "self_use")
    payload = tick(context(later, flow, plan=rest))
    assert payload["mode"] == "force_charge"
    assert payload["reason"].startswith(
        "kept force_charge: in force for 5 min of its minimum 10 min"
    )
    freed = VirtualClock(WEDNESDAY_3PM + 600)
    assert tick(context(freed, flow, plan=plan_slot(freed.time(), "self_use")))["mode"] == (
        "self_use"
    )


def test_a_full_battery_keeps_the_plans_curtailment() -> None:
    """The plan curtails PV (exporting costs money) while it charges; the battery is full,
    so safety holds instead: the hold still uses no more PV than the plan did, rather
    than exporting the rest at a loss (issue 20)."""
    clock = VirtualClock(WEDNESDAY_3PM)
    plan = plan_slot(
        clock.time(),
        "force_charge",
        power_w=3000,
        battery_w=3000,
        pv_w=3000.0,
        pv_curtailed_w=2400.0,
    )
    full = tick(context(clock, Scope(), plan=plan), soc=1.0)
    assert (full["mode"], full["level"]) == ("hold", "safety")
    assert full["setpoint_w"] == 600  # the 600 W of PV the plan used, not the 1000 W measured
    plan["slots"][0]["pv_curtailed_w"] = 0.0
    uncurtailed = tick(context(clock, Scope(), plan=plan), soc=1.0)
    assert uncurtailed["setpoint_w"] >= 1000
    assert "charge_limit_w" not in uncurtailed
    # Held and curtailing, the battery must not take the PV the plan leaves: 41007 at 0 A.
    assert full["charge_limit_w"] == 0


def test_a_plan_that_charges_slowly_while_curtailing_limits_the_charge() -> None:
    """A KH curtails PV only at its charge limit (protocols §1.6), so a plan that charges
    1 kW and leaves PV unused goes out with the charge limit at 1 kW too."""
    clock = VirtualClock(WEDNESDAY_3PM)
    plan = plan_slot(
        clock.time(),
        "force_charge",
        power_w=1000,
        battery_w=1000,
        pv_w=3000.0,
        pv_curtailed_w=1400.0,
    )
    payload = tick(context(clock, Scope(), plan=plan))
    assert (payload["mode"], payload["battery_w"]) == ("force_charge", 1000)
    assert payload["charge_limit_w"] == 1000
    assert payload["setpoint_w"] == 0  # the 1 kW of PV measured, all of it stored


def test_a_plan_that_charges_at_the_limit_leaves_the_charge_limit_alone() -> None:
    clock = VirtualClock(WEDNESDAY_3PM)
    limit = float(site()["battery"]["max_charge_w"])
    plan = plan_slot(
        clock.time(),
        "force_charge",
        power_w=limit,
        battery_w=limit,
        pv_w=limit + 2000,
        pv_curtailed_w=1000.0,
    )
    assert "charge_limit_w" not in tick(context(clock, Scope(), plan=plan))
