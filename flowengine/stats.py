"""What each flow's runs came to: how many ended each way, and how long they took.

A ``RunStats`` per flow id lives on the engine, so the figures carry on across a hot
reload of the settings (the nodes' own counts start again with the new nodes). The
durations are real seconds, as a histogram with fixed buckets: a Prometheus scrape
(``/metrics``) reads them as they are, and a long run only ever adds to a counter.
"""

from __future__ import annotations

from bisect import bisect_left

from flowengine.traces import OUTCOMES

#: Upper bounds (real seconds) of the run duration histogram's buckets, +Inf after them.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RunStats:
    """Runs of one flow: a count per outcome, and the histogram of their durations."""

    __slots__ = ("bucket_counts", "last_seconds", "outcomes", "seconds_sum")

    def __init__(self) -> None:
        self.outcomes: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        #: Runs per bucket (not cumulative); the last one is past every bound.
        self.bucket_counts = [0] * (len(DURATION_BUCKETS) + 1)
        self.seconds_sum = 0.0
        self.last_seconds: float | None = None

    def record(self, outcome: str, seconds: float) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.bucket_counts[bisect_left(DURATION_BUCKETS, seconds)] += 1
        self.seconds_sum += seconds
        self.last_seconds = seconds

    @property
    def runs(self) -> int:
        return sum(self.outcomes.values())

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, runs that took at most that long), the last bound ``inf``."""
        total = 0
        out: list[tuple[float, int]] = []
        for bound, count in zip((*DURATION_BUCKETS, float("inf")), self.bucket_counts, strict=True):
            total += count
            out.append((bound, total))
        return out
