"""What the plan (``global.plan``) says about a load: is it wanted in the slot we are in?

The planner stores ``deferrable: {load: [slot indices]}`` next to its ``slots``
(each with an ISO ``start``); a load is wanted in a slot whose index is listed.
A plan without a slot holding now, or that does not name the load, has no say
(``None``), which is not the same as "off".
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DEFAULT_SLOT_S = 1800.0


@dataclass(frozen=True, slots=True)
class PlanView:
    starts: tuple[float, ...]
    slot_s: float
    deferrable: Mapping[str, frozenset[int]]

    @classmethod
    def of(cls, plan: Any) -> PlanView | None:
        """The view of a stored plan; None for no plan or one we cannot read."""
        if not isinstance(plan, Mapping):
            return None
        try:
            starts = tuple(
                datetime.fromisoformat(slot["start"]).timestamp()
                for slot in plan.get("slots") or ()
            )
            deferrable = {
                str(name): frozenset(int(i) for i in indices)
                for name, indices in (plan.get("deferrable") or {}).items()
            }
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        if not starts:
            return None
        slot_s = starts[1] - starts[0] if len(starts) > 1 else DEFAULT_SLOT_S
        return cls(starts, slot_s if slot_s > 0 else DEFAULT_SLOT_S, deferrable)

    def index_at(self, now: float) -> int | None:
        i = bisect.bisect_right(self.starts, now) - 1
        return i if i >= 0 and now < self.starts[i] + self.slot_s else None

    def wants(self, load: str, now: float) -> bool | None:
        """Whether the plan runs ``load`` in the slot holding ``now`` (None: it has no say)."""
        index = self.index_at(now)
        if index is None or load not in self.deferrable:
            return None
        return index in self.deferrable[load]

    def next_start(self, load: str, now: float) -> float | None:
        """When the plan next runs ``load`` after the slot holding ``now``."""
        later = [
            self.starts[i]
            for i in self.deferrable.get(load, ())
            if i < len(self.starts) and self.starts[i] > now
        ]
        return min(later, default=None)
