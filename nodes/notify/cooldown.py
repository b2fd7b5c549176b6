"""Per-event cooldowns: a flapping fault sends one message, not a hundred.

The memory is plain JSON (event key -> when it was last sent, how many were
held back since), so a node keeps it in its flow's context and a restart
resumes the cooldowns in force. Times come from the engine's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Verdict:
    """Send now or hold back; how many were held back so far, and since when."""

    send: bool
    suppressed: int
    since_last_s: float
    resumes_at: float | None = None


class Cooldowns:
    """When each event key was last sent and how many were held back since."""

    def __init__(self, state: Any = None) -> None:
        self.entries: dict[str, dict[str, float | int]] = {}
        if isinstance(state, Mapping):
            for key, entry in state.items():
                if isinstance(entry, Mapping) and isinstance(entry.get("sent_at"), int | float):
                    self.entries[str(key)] = {
                        "sent_at": float(entry["sent_at"]),
                        "suppressed": int(entry.get("suppressed") or 0),
                    }

    def check(self, key: str, now: float, cooldown_s: float) -> Verdict:
        """Whether ``key`` may be sent at ``now``; a hold-back is counted at once."""
        entry = self.entries.get(key)
        if entry is None:
            return Verdict(True, 0, 0.0)
        sent_at = float(entry["sent_at"])
        suppressed = int(entry["suppressed"])
        # A clock that went back (a restored backup) must not hold messages for ever.
        if sent_at <= now < sent_at + cooldown_s:
            entry["suppressed"] = suppressed + 1
            return Verdict(False, suppressed + 1, now - sent_at, sent_at + cooldown_s)
        return Verdict(True, suppressed, max(0.0, now - sent_at))

    def sent(self, key: str, now: float) -> None:
        self.entries[key] = {"sent_at": now, "suppressed": 0}

    def prune(self, now: float, keep_s: float) -> None:
        """Forget keys whose cooldown is long over and that held nothing back."""
        for key in [
            k
            for k, e in self.entries.items()
            if not e["suppressed"] and now - float(e["sent_at"]) >= keep_s
        ]:
            del self.entries[key]

    def as_state(self) -> dict[str, dict[str, float | int]]:
        return {key: dict(entry) for key, entry in self.entries.items()}
