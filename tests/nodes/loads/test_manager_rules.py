"""The load manager's rules, tick by tick, on Brisbane time (UTC+10, no daylight saving)."""

from __future__ import annotations

from nodes.loads.manager import LoadMemory, ManualCommand, Observation, Tick, decide
from tests.nodes.loads.manager_sim import BRISBANE, Sim, loads, local, plan

MQTT = {"adapter": "mqtt", "command_topic": "c", "state_topic": "s"}
DAY = "2025-06-10"


def t(hhmm: str) -> float:
    return local(f"{DAY}T{hhmm}")


def half_hours(first: str, last: str) -> list[int]:
    """Slot indices of a plan starting at 00:00 on DAY, from ``first`` to ``last`` inclusive."""
    return list(
        range(int((t(first) - t("00:00")) // 1800), int((t(last) - t("00:00")) // 1800) + 1)
    )


def day_plan(**deferrable: list[int]) -> dict[str, object]:
    return plan(t("00:00"), 96, **deferrable)  # two days of half-hours


def test_a_window_past_midnight_opens_at_from_and_closes_at_to() -> None:
    sim = Sim(
        loads(
            heater={
                **MQTT,
                "power_w": 3600,
                "run_time": "8h",
                "window": {"from": "22:00", "to": "06:00"},
            }
        )
    )
    sim.plan = day_plan(heater=list(range(42, 63)))  # every slot from 21:00 to 07:30
    sim.run(t("21:30"), local("2025-06-11T06:30"))

    assert sim.switches("heater") == [("21:30", False), ("22:00", True), ("06:00", False)]
    assert sim.at(t("21:30"))["heater"].reason == "outside its window 22:00-06:00"
    assert sim.at(local("2025-06-11T06:00"))["heater"].reason == "outside its window 22:00-06:00"


def test_a_daytime_window_and_the_plan_together() -> None:
    sim = Sim(
        loads(
            pool={
                **MQTT,
                "power_w": 1200,
                "run_time": "2h",
                "min_run": "0s",
                "window": {"from": "10:00", "to": "16:00"},
            }
        )
    )
    sim.plan = day_plan(pool=half_hours("09:00", "10:30") + half_hours("15:30", "16:00"))
    sim.run(t("08:00"), t("17:00"))

    # Planned 09:00-11:00 and 15:30-16:30, but only inside 10:00-16:00.
    assert sim.switches("pool") == [
        ("08:00", False),
        ("10:00", True),
        ("11:00", False),
        ("15:30", True),
        ("16:00", False),
    ]
    assert sim.at(t("12:00"))["pool"].state == "scheduled"
    assert sim.at(t("12:00"))["pool"].reason == "planned from 15:30"


def test_minimum_run_keeps_a_load_on_after_its_slot() -> None:
    sim = Sim(
        loads(
            pump={
                **MQTT,
                "power_w": 800,
                "run_time": "2h",
                "min_run": "45m",
            }
        )
    )
    sim.plan = day_plan(pump=half_hours("10:00", "10:00") + half_hours("14:00", "15:00"))
    sim.run(t("09:55"), t("11:30"))

    assert sim.switches("pump") == [("09:55", False), ("10:00", True), ("10:45", False)]
    held = sim.at(t("10:30"))["pump"]
    assert (held.state, held.reason) == (
        "running",
        "minimum run 45m (on since 10:00); then: planned from 14:00",
    )


def test_a_spike_sheds_sheddable_loads_even_in_their_minimum_run_and_they_come_back() -> None:
    common = {
        **MQTT,
        "power_w": 1000,
        "run_time": "4h",
        "min_run": "1h",
    }
    sim = Sim(
        loads(
            pool=common,
            fridge={**common, "priority": "essential"},
            spa={**common, "shed_on_spike": False},
        )
    )
    sim.plan = day_plan(**{name: half_hours("10:00", "11:30") for name in sim.configs})
    sim.run(t("10:00"), t("10:05"))
    sim.run(t("10:10"), t("10:35"), spike=True)
    sim.run(t("10:40"), t("10:45"))

    assert sim.switches("pool") == [("10:00", True), ("10:10", False), ("10:40", True)]
    shed = sim.at(t("10:10"))["pool"]
    assert (shed.shed, shed.state, shed.reason) == (True, "scheduled", "shed: the price spikes")
    assert sim.switches("fridge") == [("10:00", True)]  # essential: never shed
    assert sim.switches("spa") == [("10:00", True)]  # shed_on_spike: false


def test_prefer_solar_runs_outside_the_plan_while_the_surplus_covers_it() -> None:
    sim = Sim(
        loads(
            pool={
                **MQTT,
                "power_w": 2000,
                "run_time": "4h",
                "min_run": "0s",
                "prefer_solar": True,
            }
        )
    )
    sim.plan = day_plan(pool=half_hours("14:00", "15:30"))

    assert sim.tick(t("11:00"), surplus=1500)["pool"].desired is False  # not enough spare
    on = sim.tick(t("11:05"), surplus=2500)["pool"]
    assert (on.desired, on.state, on.reason) == (
        True,
        "running",
        "on solar surplus (2500 W spare for 2000 W)",
    )
    # On, it draws its 2000 W: 500 W still exported is 2500 W spare for it.
    assert sim.tick(t("11:10"), surplus=500)["pool"].desired is True
    cloud = sim.tick(t("11:15"), surplus=-300)["pool"]  # importing 300 W: not covered
    assert (cloud.desired, cloud.state) == (False, "scheduled")
    assert cloud.reason == "planned from 14:00 (solar surplus 1700 W < 2000 W)"
    assert cloud.run_today_s == 600  # 11:05-11:15 on the sun counts toward the day


def test_the_surplus_goes_to_the_higher_class_first_and_is_not_spent_twice() -> None:
    sim = Sim(
        loads(
            dryer={
                **MQTT,
                "power_w": 1500,
                "priority": "opportunistic",
                "min_run": "0s",
            },
            pool={
                **MQTT,
                "power_w": 2000,
                "run_time": "4h",
                "prefer_solar": True,
                "min_run": "0s",
            },
            spare={
                **MQTT,
                "power_w": 900,
                "priority": "opportunistic",
                "min_run": "0s",
            },
        )
    )
    sim.plan = day_plan(pool=[])

    first = sim.tick(t("11:00"), surplus=3000)
    assert {name: d.desired for name, d in first.items()} == {
        "pool": True,
        "dryer": False,  # 3000 - 2000 leaves 1000 W: not enough for the dryer,
        "spare": True,  # enough for the spare
    }
    assert first["dryer"].reason == "waiting for solar surplus (solar surplus 1000 W < 1500 W)"


def test_opportunistic_loads_ignore_the_plan_and_have_no_fallback() -> None:
    sim = Sim(
        loads(
            dryer={
                **MQTT,
                "power_w": 1500,
                "priority": "opportunistic",
            }
        )
    )
    sim.plan = day_plan(dryer=half_hours("10:00", "12:00"))
    decision = sim.tick(t("10:30"), surplus=200)["dryer"]

    assert (decision.desired, decision.state) == (False, "off")
    sim.plan = None
    assert sim.tick(t("23:30"))["dryer"].desired is False  # no deadline without a run_time


def test_manual_beats_the_plan_until_it_expires_and_auto_is_not_a_command() -> None:
    sim = Sim(
        loads(
            pool={
                **MQTT,
                "power_w": 1200,
                "run_time": "4h",
            }
        )
    )
    sim.plan = day_plan(pool=half_hours("10:00", "12:00"))
    off_until_11 = {"pool": ManualCommand("off", t("11:00"), "api")}
    sim.run(t("10:00"), t("10:55"), commands=off_until_11)
    sim.run(t("11:00"), t("11:05"), commands=off_until_11)  # expired: the plan again

    assert sim.switches("pool") == [("10:00", False), ("11:00", True)]
    manual = sim.at(t("10:00"))["pool"]
    assert (manual.state, manual.reason) == ("manual", "manual off from api until 11:00")
    assert sim.at(t("11:00"))["pool"].state == "running"
    on_spike = sim.tick(t("13:00"), spike=True, commands={"pool": ManualCommand("on", None, "ha")})
    assert (on_spike["pool"].desired, on_spike["pool"].reason) == (
        True,
        "manual on from ha until auto",
    )
    auto = sim.tick(t("13:05"), commands={"pool": ManualCommand("auto", None, "api")})
    assert auto["pool"].state != "manual"


def test_an_unavailable_device_is_left_alone_and_tried_again_next_tick() -> None:
    sim = Sim(
        loads(
            pool={
                **MQTT,
                "power_w": 1200,
                "run_time": "4h",
            }
        )
    )
    sim.plan = day_plan(pool=half_hours("10:00", "12:00"))
    sim.tick(t("10:00"))
    sim.devices["pool"] = None
    lost = sim.tick(t("10:05"))["pool"]
    sim.devices["pool"] = False  # back, and it lost its state on the way
    back = sim.tick(t("10:10"))["pool"]

    assert (lost.desired, lost.state) == (None, "unavailable")
    assert lost.reason == "no answer: offline; trying again next tick"
    assert (back.desired, back.state) == (True, "running")
    assert sim.devices["pool"] is True


def test_without_a_plan_it_runs_late_in_its_window_to_finish_its_run_time() -> None:
    sim = Sim(
        loads(
            water={
                **MQTT,
                "power_w": 3600,
                "run_time": "2h",
                "priority": "essential",
                "window": {"from": "10:00", "to": "16:00"},
            }
        )
    )
    sim.run(t("10:00"), t("16:30"))

    # Latest start 14:00 (2 h before 16:00), less the 15-minute margin.
    assert sim.switches("water") == [("10:00", False), ("13:45", True), ("15:45", False)]
    assert sim.at(t("13:40"))["water"].reason == "no plan for it: starts by 13:45"
    assert sim.at(t("15:45"))["water"].state == "done"


def test_the_memory_is_json_and_forgives_garbage() -> None:
    configs = loads(
        pool={
            **MQTT,
            "power_w": 1200,
            "run_time": "4h",
        }
    )
    tick = Tick(t("10:00"), BRISBANE, observed={"pool": Observation(False, 0.0)})
    decisions, memory = decide(configs, tick, {"pool": "not a memory"})

    assert LoadMemory.of(memory["pool"]).day_start == t("00:00")
    assert decisions["pool"].run_today_s == 0.0
    assert LoadMemory.of(None) == LoadMemory()
