"""What a replayed dataset is: anything that can say what was known at a moment."""

from __future__ import annotations

from typing import Any, Protocol


class Dataset(Protocol):
    """What was known at time ``t`` for the next ``slots`` slots (the sample data, or a
    backtest's scenario, which may also say which forecast issue is in force: ``issue_at``)."""

    slot_seconds: int

    def forecast(self, t: float, slots: int) -> dict[str, Any]: ...
