"""The message that travels along a flow's wires."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Message:
    """One message in one run.

    A node that receives a message owns it and may change it (as in Node-RED).
    When an output fans out to several nodes, the first receiver gets this object
    and every later receiver gets a deep copy, so no branch sees another's edits
    and a single wire costs nothing.
    """

    payload: Any = None
    topic: str = ""
    run_id: str = ""
    timestamp: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> Message:
        """A deep copy: what a second or later fan-out receiver gets."""
        return Message(
            copy.deepcopy(self.payload),
            self.topic,
            self.run_id,
            self.timestamp,
            copy.deepcopy(self.meta),
        )

    def derive(self, payload: Any, topic: str | None = None) -> Message:
        """A new message in the same run, carrying ``payload``.

        ``meta`` is copied, not shared: a node that derives several messages (a
        split, a switch with many outputs) must not see one's meta edits in another.
        """
        return Message(
            payload,
            self.topic if topic is None else topic,
            self.run_id,
            self.timestamp,
            copy.deepcopy(self.meta),
        )
