"""Each flow's run outcomes and durations, as /metrics reads them."""

from __future__ import annotations

from flowengine.stats import DURATION_BUCKETS, RunStats


def test_runs_are_counted_by_outcome_and_bucketed_by_duration() -> None:
    stats = RunStats()
    for outcome, seconds in [("ok", 0.002), ("ok", 0.02), ("error", 0.3), ("ok", 60.0)]:
        stats.record(outcome, seconds)
    assert stats.outcomes == {"ok": 3, "error": 1, "cancelled": 0}
    assert stats.runs == 4
    assert stats.last_seconds == 60.0
    assert abs(stats.seconds_sum - 60.322) < 1e-9
    buckets = dict(stats.cumulative())
    assert buckets[0.001] == 0
    assert buckets[0.0025] == 1
    assert buckets[0.025] == 2
    assert buckets[0.5] == 3
    assert buckets[DURATION_BUCKETS[-1]] == 3  # a minute is past every bound
    assert buckets[float("inf")] == 4
    counts = [count for _, count in stats.cumulative()]
    assert counts == sorted(counts)  # cumulative, as Prometheus wants


def test_a_duration_on_a_bound_falls_in_that_bucket() -> None:
    stats = RunStats()
    stats.record("ok", 0.01)
    assert dict(stats.cumulative())[0.01] == 1
