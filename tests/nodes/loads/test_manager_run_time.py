"""Run time per day: counted from what the devices report, done when met, reset at the run
day's start (local midnight, or a past-midnight window's start), on wall-clock days that
daylight saving makes 23 or 25 hours long."""

from __future__ import annotations

from typing import Any

from nodes.loads.manager import ManualCommand
from tests.nodes.loads.manager_sim import BRISBANE, SYDNEY, Sim, loads, local, plan

MQTT = {"adapter": "mqtt", "command_topic": "c", "state_topic": "s"}
ON_BY_HAND = {"load": ManualCommand("on", None, "api")}


def test_done_when_the_run_time_is_met_and_again_after_local_midnight() -> None:
    sim = Sim(loads(pump={**MQTT, "power_w": 800, "run_time": "1h"}))
    sim.plan = plan(local("2025-06-10T21:00"), 10, pump=list(range(10)))  # wants 21:00-02:00
    sim.run(local("2025-06-10T21:00"), local("2025-06-11T01:30"))

    assert sim.switches("pump") == [
        ("21:00", True),
        ("22:00", False),
        ("00:00", True),
        ("01:00", False),
    ]
    done = sim.at(local("2025-06-10T22:00"))["pump"]
    assert (done.state, done.reason, done.run_today_s) == ("done", "ran 1h of 1h today", 3600)
    after_midnight = sim.at(local("2025-06-11T00:05"))["pump"]
    assert after_midnight.run_today_s == 300
    assert after_midnight.day_start == local("2025-06-11T00:00")


def test_a_run_across_midnight_counts_only_its_part_after_midnight() -> None:
    sim = Sim(loads(load={**MQTT, "power_w": 800, "run_time": "4h"}))
    sim.tick(local("2025-06-10T23:50"), commands=ON_BY_HAND)
    before = sim.tick(local("2025-06-10T23:55"), commands=ON_BY_HAND)["load"]
    after = sim.tick(local("2025-06-11T00:05"), commands=ON_BY_HAND)["load"]

    assert before.run_today_s == 300
    assert after.run_today_s == 300  # 00:00-00:05; 23:55-00:00 belonged to yesterday


def test_a_window_past_midnight_counts_one_night_as_one_run() -> None:
    sim = Sim(
        loads(
            water={
                **MQTT,
                "power_w": 3600,
                "run_time": "2h",
                "window": {"from": "22:00", "to": "06:00"},
            }
        )
    )
    sim.plan = plan(local("2025-06-10T23:00"), 48, water=[0, 1, 2, 3, 46, 47])
    sim.run(local("2025-06-10T22:00"), local("2025-06-11T22:30"))

    midnight = sim.at(local("2025-06-11T00:30"))["water"]
    assert midnight.run_today_s == 5400  # 23:00-00:30: not reset at midnight
    assert midnight.day_start == local("2025-06-10T22:00")
    assert sim.switches("water") == [
        ("22:00", False),
        ("23:00", True),
        ("01:00", False),
        ("22:00", True),
    ]
    assert sim.at(local("2025-06-11T01:00"))["water"].state == "done"
    assert sim.at(local("2025-06-11T21:55"))["water"].state == "done"  # until the next night
    assert sim.at(local("2025-06-11T22:00"))["water"].run_today_s == 0


def run_by_hand(zone: Any, start: str, end: str) -> Sim:
    sim = Sim(loads(load={**MQTT, "power_w": 800, "run_time": "24h"}), zone=zone)
    sim.run(local(start, zone), local(end, zone), commands=ON_BY_HAND)
    return sim


def test_sydney_spring_forward_day_has_23_hours() -> None:
    # 2025-10-05 02:00 AEST became 03:00 AEDT.
    sim = run_by_hand(SYDNEY, "2025-10-04T23:00", "2025-10-06T00:10")

    early = sim.at(local("2025-10-05T04:00", SYDNEY))["load"]
    assert early.run_today_s == 3 * 3600  # 00:00-04:00 on the wall clock is 3 h
    assert early.day_start == local("2025-10-05T00:00", SYDNEY)
    assert sim.at(local("2025-10-05T23:55", SYDNEY))["load"].run_today_s == 22 * 3600 + 55 * 60
    next_day = sim.at(local("2025-10-06T00:05", SYDNEY))["load"]
    assert next_day.run_today_s == 300
    assert next_day.day_start - early.day_start == 23 * 3600


def test_sydney_fall_back_day_has_25_hours() -> None:
    # 2025-04-06 03:00 AEDT became 02:00 AEST.
    sim = run_by_hand(SYDNEY, "2025-04-05T23:00", "2025-04-07T00:10")

    assert sim.at(local("2025-04-06T23:55", SYDNEY))["load"].run_today_s == 24 * 3600 + 55 * 60
    assert sim.at(local("2025-04-07T00:05", SYDNEY))["load"].run_today_s == 300


def test_brisbane_days_are_always_24_hours() -> None:
    sim = run_by_hand(BRISBANE, "2025-10-04T23:00", "2025-10-05T23:55")

    assert sim.at(local("2025-10-05T04:00"))["load"].run_today_s == 4 * 3600


def test_after_a_silence_a_load_found_off_ran_at_most_its_safety_off() -> None:
    sim = Sim(loads(pump={**MQTT, "power_w": 800, "run_time": "4h", "safety_off": "20m"}))
    sim.plan = plan(local("2025-06-10T10:00"), 8, pump=list(range(8)))
    sim.tick(local("2025-06-10T10:00"))  # on
    sim.devices["pump"] = False  # its own timer switched it off while we were away
    back = sim.tick(local("2025-06-10T12:00"))["pump"]

    assert back.run_today_s == 1200  # not the 2 h we were silent
    assert back.desired is True  # and it goes on again, still wanted
