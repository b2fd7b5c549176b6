"""The health checks as pure logic: each check's limits, worst wins, recovery from scratch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nodes.health.checks import STATES, HealthLimits, Observed, assess
from powermaster.config import DEFAULTS

T0 = 1_750_000_000.0
STARTED = T0 - 3600.0
LIMITS = HealthLimits()


def plan_at(t: float) -> dict[str, Any]:
    return {"created_at": datetime.fromtimestamp(t, UTC).isoformat(), "slots": []}


def price_health(fetched_at: float | None, error: str | None = None) -> dict[str, Any]:
    return {
        "prices": {
            "provider": "amber",
            "fetched_at": fetched_at,
            "stale_after_s": 900,
            "failures": 0 if error is None else 3,
            "last_error": error,
        }
    }


def sound(**changes: Any) -> Observed:
    """Everything fresh at T0, unless ``changes`` says otherwise."""
    seen: dict[str, Any] = {
        "now": T0,
        "started_at": STARTED,
        "telemetry": {"timestamp": T0 - 60},
        "link": {"ok_at": T0 - 60, "consecutive_errors": 0},
        "decision": {"at": T0 - 60},
        "inputs": price_health(T0 - 120),
        "plan": plan_at(T0 - 600),
    }
    seen.update(changes)
    return Observed(**seen)


def test_everything_fresh_is_ok() -> None:
    result = assess(sound(), LIMITS)
    assert (result.state, result.reasons) == ("ok", [])
    assert result.checks["telemetry_age_s"] == 60
    assert result.checks["modbus"]["consecutive_errors"] == 0
    assert result.checks["inputs"]["prices"]["stale"] is False
    assert result.checks["plan_age_s"] == 600


def test_the_defaults_are_the_site_configs() -> None:
    assert HealthLimits.from_settings(DEFAULTS) == LIMITS
    custom = HealthLimits.from_settings(
        {"health": {"telemetry_safety_after": "20m", "input_safety_after": {"pv": "1d"}}}
    )
    assert custom.telemetry_safety_s == 1200 and custom.telemetry_degraded_s == 600
    assert custom.input_safety_s == {"pv": 86400}


def test_telemetry_age_degrades_then_hands_back() -> None:
    def state(age: float) -> str:
        return assess(
            sound(telemetry={"timestamp": T0 - age}, decision={"at": T0 - age}), LIMITS
        ).state

    assert [state(a) for a in (0, 599, 600, 899, 900, 3600)] == [
        "ok",
        "ok",
        "degraded",
        "degraded",
        "safety",
        "safety",
    ]
    reasons = assess(sound(telemetry={"timestamp": T0 - 960}), LIMITS).reasons
    assert reasons == ["telemetry: 16 min old"]


def test_modbus_errors_in_a_row() -> None:
    def seen(errors: int) -> Observed:
        return sound(link={"consecutive_errors": errors, "error": "not connected (register 31000)"})

    assert [assess(seen(n), LIMITS).state for n in range(5)] == [
        "ok",
        "degraded",
        "degraded",
        "safety",
        "safety",
    ]
    assert assess(seen(3), LIMITS).reasons == [
        "Modbus: 3 errors in a row (not connected (register 31000))"
    ]


def test_stale_prices_degrade_and_old_prices_hand_back() -> None:
    stale = assess(sound(inputs=price_health(T0 - 1000, "HTTP 500")), LIMITS)
    assert stale.state == "degraded"
    assert stale.reasons == ["prices stale: 17 min old; last error: HTTP 500"]
    assert assess(sound(inputs=price_health(T0 - 7200)), LIMITS).state == "safety"
    pv = {
        "pv": {
            "provider": "solcast",
            "fetched_at": T0 - 86400,
            "stale_after_s": 28800,
            "failures": 1,
            "last_error": "HTTP 429",
        }
    }
    assert assess(sound(inputs=pv), LIMITS).state == "degraded"  # forecasts only degrade


def test_the_retailers_usage_is_shown_but_never_judged() -> None:
    """Meter data only settles the accounts: days of failed fetches leave control alone."""
    usage = {
        "usage": {
            "provider": "amber",
            "fetched_at": T0 - 5 * 86400,
            "stale_after_s": 3 * 86400,
            "failures": 4,
            "last_error": "HTTP 500",
        }
    }
    result = assess(sound(inputs=usage), LIMITS)
    assert result.state == "ok"
    assert result.checks["inputs"]["usage"]["stale"] is True


def test_an_input_with_nothing_new_is_not_failing() -> None:
    """The sample prices change each half hour: 20 minutes old, no failure, is sound."""
    assert assess(sound(inputs=price_health(T0 - 1200)), LIMITS).state == "ok"
    never = {
        "prices": {
            "provider": "amber",
            "fetched_at": None,
            "stale_after_s": 900,
            "failures": 1,
            "last_error": "HTTP 401",
        }
    }
    assert assess(sound(inputs=never), LIMITS).reasons[0].startswith("prices stale")
    quiet = assess(sound(inputs=price_health(T0 - 2701)), LIMITS)  # three times 15 min
    assert quiet.state == "degraded" and quiet.reasons == ["prices stale: 45 min old"]


def test_a_failing_planner() -> None:
    assert assess(sound(plan=plan_at(T0 - 7199)), LIMITS).state == "ok"
    assert assess(sound(plan=plan_at(T0 - 7200)), LIMITS).state == "degraded"
    old = assess(sound(plan=plan_at(T0 - 12 * 3600)), LIMITS)
    assert old.state == "safety" and old.reasons == ["plan: 720 min old (the planner is failing)"]


def test_what_was_never_seen_counts_from_the_start() -> None:
    just_started = Observed(now=T0, started_at=T0 - 60)
    assert assess(just_started, LIMITS).state == "ok"
    later = assess(Observed(now=T0, started_at=T0 - 900), LIMITS)
    assert later.state == "safety"
    assert "no telemetry since the start 15 min ago" in later.reasons


def test_a_tick_stuck_after_its_read() -> None:
    stuck = assess(sound(decision={"at": T0 - 700}), LIMITS)
    assert stuck.state == "degraded" and stuck.reasons == ["control has not decided for 12 min"]
    # with the telemetry old too, the telemetry check speaks for both
    silent = assess(sound(telemetry={"timestamp": T0 - 700}, decision={"at": T0 - 700}), LIMITS)
    assert silent.reasons == ["telemetry: 12 min old"]


def test_the_inverter_not_doing_what_it_was_told_is_degraded_with_each_reason() -> None:
    told = {
        "state": "degraded",
        "reasons": ["work mode (41000) is Feed-in First (1)", "remote control dropped"],
        "commanded": {},
    }
    result = assess(sound(command_check=told), LIMITS)
    assert result.state == "degraded"
    assert result.reasons == told["reasons"]
    assert result.checks["command"] == {"state": "degraded", "reasons": told["reasons"]}
    following = {"state": "ok", "reasons": [], "commanded": {}}
    assert assess(sound(command_check=following), LIMITS).state == "ok"
    assert assess(sound(command_check=None), LIMITS).checks.get("command") is None


def test_a_clock_behind_the_newest_record_is_degraded_until_it_catches_up() -> None:
    # T0 is 2025-06-15 15:06:40 UTC; the newest record 9 h 30 min later.
    newest = T0 + 9.5 * 3600
    behind = {"behind": True, "newest": newest, "at": T0}
    brisbane = assess(sound(clock_check=behind, timezone="Australia/Brisbane"), LIMITS)
    assert brisbane.state == "degraded"
    assert brisbane.reasons == [
        "the clock reads 2025-06-16 01:06, behind the newest record 2025-06-16 10:36: "
        "waiting for the time to be set (NTP), or a data dir a --speed demo ran ahead: "
        "run with another --data-dir"
    ]
    assert brisbane.checks["clock"] == {"newest": newest, "behind_s": 9.5 * 3600}
    # Past it, it is over at once, whether or not the service has looked again.
    caught_up = assess(sound(now=newest, clock_check=behind), LIMITS)
    assert caught_up.checks["clock"]["behind_s"] == 0
    assert "clock" not in [finding.check for finding in caught_up.findings]
    assert assess(sound(clock_check={**behind, "behind": False}), LIMITS).state == "ok"
    assert "clock" not in assess(sound(), LIMITS).checks  # no service keeping it: not judged


def test_worst_wins_and_every_reason_is_given_worst_first() -> None:
    result = assess(
        sound(
            link={"consecutive_errors": 1, "error": "timeout"}, telemetry={"timestamp": T0 - 1000}
        ),
        LIMITS,
    )
    assert result.state == "safety"
    assert result.reasons == ["telemetry: 17 min old", "Modbus: 1 error (timeout)"]


ages = st.floats(min_value=0, max_value=2 * 86400)


@given(
    telemetry=ages,
    extra=ages,
    errors=st.integers(0, 10),
    more=st.integers(0, 10),
    plan=ages,
    prices=ages,
)
def test_older_or_more_errors_is_never_healthier(
    telemetry: float, extra: float, errors: int, more: int, plan: float, prices: float
) -> None:
    def state(t_age: float, n: int, p_age: float) -> int:
        seen = sound(
            telemetry={"timestamp": T0 - t_age},
            decision={"at": T0 - t_age},
            link={"consecutive_errors": n, "error": "x"},
            plan=plan_at(T0 - p_age),
            inputs=price_health(T0 - prices),
        )
        result = assess(seen, LIMITS)
        assert (result.state == "ok") == (not result.reasons)
        return STATES.index(result.state)

    assert state(telemetry, errors, plan) <= state(telemetry + extra, errors + more, plan + extra)
