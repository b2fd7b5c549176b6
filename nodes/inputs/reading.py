"""One input as known at one moment: what a provider said, when it said it, when we asked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("prices", "pv", "weather", "storm", "usage")


@dataclass(frozen=True)
class Reading:
    """A validated, normalised provider payload.

    ``issued_at`` is when the provider made it (so forecast accuracy can be
    measured later); ``fetched_at`` when we got it (its age counts from here).
    ``data`` is in Power Master's own units and conventions (each kind's shape is
    documented in ``nodes/inputs/shapes.md``).
    """

    kind: str
    provider: str
    issued_at: float
    fetched_at: float
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "provider": self.provider,
            "issued_at": self.issued_at,
            "fetched_at": self.fetched_at,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Reading:
        return cls(
            str(value["kind"]),
            str(value["provider"]),
            float(value["issued_at"]),
            float(value["fetched_at"]),
            dict(value["data"]),
        )
