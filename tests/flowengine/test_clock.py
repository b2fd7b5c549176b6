"""The clocks: virtual time that moves only when told, and real time at a speed."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowengine.clock as clock_module
from flowengine import RealClock, VirtualClock, local_iso

MIDNIGHT = datetime(2026, 1, 5, tzinfo=UTC)
START = MIDNIGHT.timestamp()


async def test_virtual_time_starts_where_it_is_told_and_moves_only_when_told() -> None:
    clock = VirtualClock(MIDNIGHT)
    napping = asyncio.create_task(clock.sleep(60))
    for _ in range(50):
        await asyncio.sleep(0)
    assert clock.time() == START and not napping.done()
    assert clock.now() == MIDNIGHT and clock.now().tzinfo is UTC
    await clock.advance(60)
    assert napping.done() and clock.time() == START + 60


async def test_sleepers_wake_in_deadline_order_each_at_its_own_deadline() -> None:
    clock = VirtualClock(START)
    woke: list[tuple[str, float]] = []

    async def nap(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.time() - START))

    naps = [
        asyncio.create_task(nap(n, s)) for n, s in [("thirty", 30), ("ten", 10), ("twenty", 20)]
    ]
    await clock.advance(25)
    assert woke == [("ten", 10), ("twenty", 20)]
    assert clock.time() == START + 25
    await clock.advance(25)
    assert woke[-1] == ("thirty", 30) and all(n.done() for n in naps)


async def test_sleepers_with_one_deadline_wake_in_the_order_they_began() -> None:
    clock = VirtualClock(START)
    woke: list[str] = []

    async def until(name: str, timestamp: float) -> None:
        await clock.sleep_until(timestamp)
        woke.append(name)

    async def nap(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    names = ["first", "second", "third", "fourth"]
    waits = [
        asyncio.create_task(until(names[0], START + 10)),
        asyncio.create_task(nap(names[1], 10)),
        asyncio.create_task(until(names[2], START + 10)),
        asyncio.create_task(nap(names[3], 10)),
    ]
    await clock.advance(10)
    assert woke == names and all(w.done() for w in waits)


async def test_a_sleeper_that_sleeps_again_is_woken_again_within_one_advance() -> None:
    clock = VirtualClock(START)
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            await clock.sleep(10)
            ticks.append(clock.time() - START)

    ticking = asyncio.create_task(tick())
    await clock.advance(35)
    assert ticks == [10, 20, 30] and clock.time() == START + 35
    ticking.cancel()


async def test_work_woken_at_a_deadline_finishes_before_time_moves_on() -> None:
    clock = VirtualClock(START)
    finished_at: list[float] = []

    async def job() -> None:
        await clock.sleep(10)
        for _ in range(5):  # a few loop turns of work after waking
            await asyncio.sleep(0)
        finished_at.append(clock.time())

    working = asyncio.create_task(job())
    await clock.advance(3600)
    assert finished_at == [START + 10] and working.done()


async def test_a_wait_for_no_time_or_for_the_past_ends_without_time_moving() -> None:
    clock = VirtualClock(START)
    waits = [
        asyncio.create_task(clock.sleep(0)),
        asyncio.create_task(clock.sleep(-5)),
        asyncio.create_task(clock.sleep_until(START - 60)),
    ]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert all(wait.done() for wait in waits)
    assert clock.next_deadline() is None and clock.time() == START


async def test_next_deadline_is_the_earliest_wait_and_forgets_cancelled_ones() -> None:
    clock = VirtualClock(START)
    assert clock.next_deadline() is None
    later = asyncio.create_task(clock.sleep(30))
    sooner = asyncio.create_task(clock.sleep(10))
    await asyncio.sleep(0)
    assert clock.next_deadline() == START + 10
    sooner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sooner
    assert clock.next_deadline() == START + 30
    await clock.advance(30)
    assert later.done() and clock.next_deadline() is None


async def test_time_is_never_turned_back() -> None:
    clock = VirtualClock(START)
    await clock.advance(100)
    await clock.run_until(START)
    await clock.advance(-50)
    assert clock.time() == START + 100


async def test_sleeping_tasks_are_those_waiting_for_time_and_a_watcher_hears_a_new_one() -> None:
    clock = VirtualClock(START)
    watcher = clock.next_sleeper()
    napping = asyncio.create_task(clock.sleep(60))
    await asyncio.sleep(0)
    assert watcher.done() and napping in clock.sleeping_tasks
    await clock.advance(60)
    assert napping.done() and napping not in clock.sleeping_tasks


async def test_a_wait_ended_by_its_future_is_awake_at_once_and_its_timer_dropped() -> None:
    clock = VirtualClock(START)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiter = asyncio.create_task(clock.wait_for(done, 600))
    await asyncio.sleep(0)
    assert waiter in clock.sleeping_tasks and clock.next_deadline() == START + 600
    done.set_result(None)
    await asyncio.sleep(0)  # the future's callbacks have run; the waiter has not resumed
    assert not waiter.done() and waiter not in clock.sleeping_tasks
    assert await waiter is True
    assert clock.time() == START and clock.next_deadline() is None


async def test_a_wait_whose_future_stays_pending_times_out_on_the_clock() -> None:
    clock = VirtualClock(START)
    pending: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiter = asyncio.create_task(clock.wait_for(pending, 60))
    await clock.advance(59)
    assert not waiter.done()
    await clock.advance(1)
    assert waiter.done() and waiter.result() is False


async def test_a_wait_for_a_future_already_done_returns_without_sleeping() -> None:
    clock = VirtualClock(START)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    assert await clock.wait_for(done, 600) is True
    assert clock.next_deadline() is None


# Random sleeps and moves of time: "sleep" starts a sleeper for that many seconds; "move"
# advances the clock (a negative move asks for the past); "to" runs it until that offset
# from the start (maybe in the past).
steps = st.lists(
    st.one_of(
        st.tuples(st.just("sleep"), st.integers(0, 40) | st.floats(0, 40)),
        st.tuples(st.just("move"), st.integers(-20, 60)),
        st.tuples(st.just("to"), st.integers(-20, 400)),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
async def test_time_never_goes_back_and_each_sleeper_wakes_at_its_deadline_in_order(
    steps: list[tuple[str, float]],
) -> None:
    clock = VirtualClock(START)
    deadlines: list[float] = []  # by sleeper, in the order they began
    woke: list[tuple[int, float]] = []  # (sleeper, time it woke), in the order they woke

    async def sleeper(number: int, seconds: float) -> None:
        deadlines.append(clock.time() + seconds)
        await clock.sleep(seconds)
        woke.append((number, clock.time()))

    tasks: list[asyncio.Task[None]] = []
    for kind, amount in steps:
        before = clock.time()
        if kind == "sleep":
            tasks.append(asyncio.create_task(sleeper(len(tasks), amount)))
            await asyncio.sleep(0)
            continue
        target = before + amount if kind == "move" else START + amount
        await clock.run_until(target)
        assert clock.time() == max(before, target)
        woken = {number for number, _ in woke}
        assert woken == {n for n, deadline in enumerate(deadlines) if deadline <= clock.time()}
    for number, at in woke:
        assert at == deadlines[number]
    assert [n for n, _ in woke] == sorted((n for n, _ in woke), key=lambda n: (deadlines[n], n))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize("speed", [0, -1.0])
def test_a_real_clock_refuses_a_speed_that_is_not_positive(speed: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        RealClock(speed=speed)


def test_a_real_clock_at_speed_one_without_a_start_is_wall_time() -> None:
    before = time.time()
    reading = RealClock().time()
    after = time.time()
    assert before <= reading <= after


def test_a_real_clock_runs_speed_times_faster_from_its_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The wall clock it reads is a stand-in the test moves: nothing waits, nothing is timed."""
    wall = [1_700_000_000.0]
    monkeypatch.setattr(clock_module, "_time", SimpleNamespace(time=lambda: wall[0]))
    clock = RealClock(speed=1000, start=START)
    assert clock.time() == START
    wall[0] += 0.003  # three real milliseconds: three virtual seconds
    assert clock.time() == pytest.approx(START + 3.0, abs=1e-3)  # float rounding of 1.7e9 + 0.003
    assert clock.now() == datetime.fromtimestamp(clock.time(), UTC)
    assert clock.now().tzinfo is UTC


async def test_a_real_clock_wait_in_the_past_or_on_a_done_future_returns_at_once() -> None:
    clock = RealClock(speed=1, start=START)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    pending: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    async with asyncio.timeout(1):  # a guard, not a measure: each would otherwise wait an hour
        await clock.sleep_until(START - 3600)
        await clock.sleep(-3600)
        assert await clock.wait_for(done, 3600) is True
        assert await clock.wait_for(pending, -3600) is False


def test_local_iso_writes_the_zones_wall_time_with_its_offset() -> None:
    sydney = ZoneInfo("Australia/Sydney")
    assert local_iso(START, sydney) == "2026-01-05T11:00:00+11:00"  # daylight saving
    assert local_iso(START + 86400 * 120, sydney) == "2026-05-05T10:00:00+10:00"
    assert local_iso(START, UTC) == "2026-01-05T00:00:00+00:00"
    assert datetime.fromisoformat(local_iso(START + 0.25, sydney)).timestamp() == START + 0.25


def test_local_iso_adds_fractions_only_when_there_are_some_unless_told() -> None:
    brisbane = ZoneInfo("Australia/Brisbane")
    assert local_iso(START + 0.5, brisbane) == "2026-01-05T10:00:00.500000+10:00"
    assert local_iso(START + 0.5, brisbane, "seconds") == "2026-01-05T10:00:00+10:00"
    assert local_iso(START, brisbane, "minutes") == "2026-01-05T10:00+10:00"
