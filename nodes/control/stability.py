"""Anti-oscillation: a mode is held for its minimum time, and only so many changes per window.

A decision that would change the mode too soon, or past the limit of changes in
the window, is replaced by the mode in force, and its reason says so ("kept
self_use: ..."). A decision of a level that protects the hardware or the
battery (safety, storm, critical) is never delayed, nor is the homeowner's own
override: someone who presses a button expects the inverter to follow. The state lives in the
control flow's context, so a restart does not reset the clock on either rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nodes.control.decision import Decision
from nodes.control.settings import ControlSettings

#: Levels never delayed: they protect the hardware or the battery, or a person asked.
EXEMPT_LEVELS = frozenset({"safety", "storm", "critical", "override"})


@dataclass(frozen=True)
class StabilityState:
    """The mode in force, since when, the recent mode changes and the tick's latches."""

    mode: str | None = None
    since: float = 0.0
    changes: tuple[float, ...] = ()
    #: The decision in force (mode, power_w, battery_w, export_limit_w, level).
    decision: Mapping[str, Any] = field(default_factory=dict)
    latched: frozenset[str] = frozenset()

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "since": self.since,
            "changes": list(self.changes),
            "decision": dict(self.decision),
            "latched": sorted(self.latched),
        }

    @classmethod
    def from_dict(cls, data: Any) -> StabilityState:
        """The stored state; anything unreadable starts afresh (no mode in force)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("mode"), str):
            return cls()
        try:
            return cls(
                mode=data["mode"],
                since=float(data.get("since", 0.0)),
                changes=tuple(float(t) for t in data.get("changes", ())),
                decision=dict(data.get("decision") or {}),
                latched=frozenset(str(name) for name in data.get("latched", ())),
            )
        except (TypeError, ValueError):
            return cls()


def stabilise(
    proposed: Decision, state: StabilityState, now: float, options: ControlSettings
) -> Decision:
    """``proposed``, or the mode in force when changing now would be too soon or too often."""
    if state.mode is None or proposed.mode == state.mode or proposed.level in EXEMPT_LEVELS:
        return proposed
    held = now - state.since
    minimum = options.min_hold_for(state.mode)
    if held < minimum:
        why = f"in force for {_minutes(held)} of its minimum {_minutes(minimum)}"
        return kept(state, proposed, why)
    window = options.mode_change_window_s
    recent = recent_changes(state.changes, now, window)
    if len(recent) >= options.max_mode_changes:
        why = (
            f"{len(recent)} mode changes in the last {_minutes(window)} "
            f"(at most {options.max_mode_changes})"
        )
        return kept(state, proposed, why)
    return proposed


def kept(state: StabilityState, proposed: Decision, why: str) -> Decision:
    """The decision in force again, with why it stays and what was asked instead."""
    assert state.mode is not None
    held = state.decision
    battery_w = held.get("battery_w")
    limit = held.get("export_limit_w")
    return Decision(
        state.mode,
        float(held.get("power_w") or 0.0),
        proposed.level,
        f"kept {state.mode}: {why}; {proposed.level} asked for {proposed.mode} ({proposed.reason})",
        None if battery_w is None else float(battery_w),
        None if limit is None else float(limit),
    )


def record(
    state: StabilityState,
    final: Decision,
    now: float,
    options: ControlSettings,
    latched: frozenset[str] = frozenset(),
) -> StabilityState:
    """The state after ``final`` went to the inverter at ``now``."""
    changes = recent_changes(state.changes, now, options.mode_change_window_s)
    since = state.since
    if final.mode != state.mode:
        since = now
        changes = (*changes, now)
    in_force = {
        "mode": final.mode,
        "power_w": final.power_w,
        "battery_w": final.battery_w,
        "export_limit_w": final.export_limit_w,
        "level": final.level,
    }
    return StabilityState(final.mode, since, changes, in_force, latched)


def recent_changes(changes: tuple[float, ...], now: float, window: float) -> tuple[float, ...]:
    """The changes inside the window that ends now."""
    return tuple(t for t in changes if now - window < t <= now)


def _minutes(seconds: float) -> str:
    if seconds < 120:
        return f"{max(0.0, seconds):.0f} s"
    return f"{seconds / 60:.0f} min"
