"""Which loads should be on now, and why: one small state machine per load, no I/O.

Each tick it takes the time, the loads' settings, the plan, whether the price
spikes, the manual commands, what each device reports and the PV surplus, and
gives per load the wanted state (on, off, or None: leave it, the device did not
answer), a state (off, scheduled, running, done, manual, unavailable) and a
short reason. What it must remember (run time today, since when a load is on)
is plain JSON, kept in context so a restart resumes.

Precedence, highest first:

1. unavailable: the device did not answer; nothing is sent, it is read again
   next tick.
2. manual: a command (on/off) beats everything below until its ``until``
   passes or the load is set back to auto (the person asked, knowing the price).
3. spike shedding: a sheddable load (not essential, shed_on_spike) is off while
   the price spikes, even inside its minimum run (a spike costs more than an
   interrupted cycle, and shed_on_spike says it may be interrupted); after the
   spike the rules below apply again.
4. window: outside its window a load is off, even inside its minimum run (the
   window is the person's hard limit: noise at night, a tariff).
5. minimum run: a load on for less than min_run stays on against every rule
   below (the plan's slot ending, the surplus going, the day's run time met).
6. done: the day's run time is met (it counts from local midnight, or from the
   window's start for a window past midnight; see ``nodes.loads.window``).
7. the plan: on in a slot the plan lists for it. A load the plan does not
   name (no plan yet, or an old one) falls back to running late in its window,
   just long enough to finish its run time, so hot water never waits on a plan.
8. solar: an opportunistic load, or one with prefer_solar, runs while the PV
   surplus covers its power; the surplus is shared out by priority, and its run
   counts toward the day's run time like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import tzinfo
from typing import Any

from nodes.loads.plan_view import PlanView
from nodes.loads.settings import PRIORITIES, LoadConfig
from nodes.loads.window import (
    day_start_minute,
    local_clock,
    occurrence,
    run_day_start,
)

STATES = ("off", "scheduled", "running", "done", "manual", "unavailable")
#: Without a plan, a load starts this long before the latest start that still
#: finishes its run time in its window (ticks come every few minutes).
FALLBACK_MARGIN_S = 900.0


@dataclass(frozen=True, slots=True)
class Observation:
    """What the device reported at the start of the tick; ``on`` None: no answer."""

    on: bool | None
    power_w: float | None = None
    error: str = ""

    @property
    def available(self) -> bool:
        return self.on is not None


@dataclass(frozen=True, slots=True)
class ManualCommand:
    command: str  # "on" | "off"
    until: float | None = None  # epoch; None: until set back to auto
    source: str = ""

    def active(self, now: float) -> bool:
        return self.command in ("on", "off") and (self.until is None or self.until > now)


@dataclass(frozen=True, slots=True)
class Tick:
    """Everything a tick decides from."""

    now: float
    zone: tzinfo
    plan: Any = None  # the stored plan dict (global.plan), or None
    spike: bool = False
    commands: Mapping[str, ManualCommand] = field(default_factory=dict)
    observed: Mapping[str, Observation] = field(default_factory=dict)
    surplus_w: float | None = None  # PV - house load now (W); None: unknown


@dataclass(frozen=True, slots=True)
class LoadDecision:
    load: str
    desired: bool | None  # None: leave the device as it is (it did not answer)
    state: str
    reason: str
    run_today_s: float
    day_start: float  # when the run day run_today_s counts in began (epoch)
    shed: bool = False


@dataclass(frozen=True, slots=True)
class LoadMemory:
    """What the manager keeps per load between ticks (JSON through ``as_dict``)."""

    state: str = "off"
    day_start: float | None = None
    run_s: float = 0.0
    on_since: float | None = None
    last_on: bool | None = None  # the device's state after the last tick's commands
    last_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, data: Any) -> LoadMemory:
        if not isinstance(data, Mapping):
            return cls()
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


#: The manager's whole memory: load id -> LoadMemory.as_dict().
Memory = dict[str, dict[str, Any]]


@dataclass(slots=True)
class _Draft:
    """A decision in the making: soft ones may still turn on for solar or a minimum run."""

    desired: bool | None
    state: str
    reason: str
    soft: bool = False
    solar: bool = False
    shed: bool = False


def decide(
    loads: Mapping[str, LoadConfig], tick: Tick, memory: Mapping[str, Any]
) -> tuple[dict[str, LoadDecision], Memory]:
    """Each load's decision this tick, and the manager's memory after it."""
    plan = PlanView.of(tick.plan)
    ordered = sorted(loads.values(), key=lambda c: (PRIORITIES.index(c.priority), c.id))
    counted = {c.id: _count_run(c, LoadMemory.of(memory.get(c.id)), tick) for c in ordered}
    drafts = {c.id: _draft(c, counted[c.id], tick, plan) for c in ordered}
    for config in ordered:
        draft = drafts[config.id]
        if draft.soft and not draft.solar:
            _hold_min_run(config, draft, counted[config.id], tick)
    _share_surplus(ordered, drafts, counted, tick)
    decisions: dict[str, LoadDecision] = {}
    after: Memory = {}
    for config in ordered:
        draft, mem = drafts[config.id], counted[config.id]
        decisions[config.id] = LoadDecision(
            config.id,
            draft.desired,
            draft.state,
            draft.reason,
            round(mem.run_s, 1),
            float(mem.day_start or tick.now),
            draft.shed,
        )
        after[config.id] = _observed(config, mem, draft.state, tick).as_dict()
    return decisions, after


def record_outcome(
    memory: Mapping[str, Any], load: str, on: bool | None, now: float, state: str | None = None
) -> Memory:
    """The memory after the commands: ``on`` is what the device reported (None: unknown),
    ``state`` the load's state when the command changed it (a failed one: unavailable)."""
    updated: Memory = {key: dict(value) for key, value in memory.items()}
    mem = LoadMemory.of(updated.get(load))
    if state is not None:
        mem = replace(mem, state=state)
    if on is None:
        mem = replace(mem, last_on=None, last_at=now)
    elif on:
        mem = replace(mem, last_on=True, last_at=now, on_since=mem.on_since or now)
    else:
        mem = replace(mem, last_on=False, last_at=now, on_since=None)
    updated[load] = mem.as_dict()
    return updated


def _count_run(config: LoadConfig, mem: LoadMemory, tick: Tick) -> LoadMemory:
    """Add the time since the last tick the load was on; restart the count on a new run day.

    A load left on at the last tick ran until now if it is still on; if it is off
    (or silent) now, it ran at most safety_off (the relay's own auto-off).
    """
    now = tick.now
    day_start = run_day_start(now, tick.zone, day_start_minute(config.window))
    same_day = mem.day_start == day_start
    run = mem.run_s if same_day else 0.0
    if mem.last_on and mem.last_at is not None and now > mem.last_at:
        observed = tick.observed.get(config.id)
        still_on = observed is not None and observed.on is True
        span = now - mem.last_at if still_on else min(now - mem.last_at, config.safety_off_s)
        start, end = mem.last_at, mem.last_at + span
        run += end - start if same_day else max(0.0, end - max(start, day_start))
    return replace(mem, day_start=day_start, run_s=run)


def _observed(config: LoadConfig, mem: LoadMemory, state: str, tick: Tick) -> LoadMemory:
    """The memory as the device was at the tick's start (``record_outcome`` then adds what
    the commands changed)."""
    observed = tick.observed.get(config.id)
    if observed is None or observed.on is None:
        return replace(mem, state=state, last_on=None, last_at=tick.now)
    since = _on_since(mem, observed, tick.now)
    return replace(mem, state=state, last_on=observed.on, last_at=tick.now, on_since=since)


def _draft(config: LoadConfig, mem: LoadMemory, tick: Tick, plan: PlanView | None) -> _Draft:
    now, zone = tick.now, tick.zone
    observed = tick.observed.get(config.id, Observation(None, error="not read"))
    if not observed.available:
        return _Draft(None, "unavailable", f"no answer: {observed.error}; trying again next tick")
    command = tick.commands.get(config.id)
    if command is not None and command.active(now):
        until = (
            "until auto" if command.until is None else f"until {local_clock(command.until, zone)}"
        )
        source = f" from {command.source}" if command.source else ""
        return _Draft(
            command.command == "on", "manual", f"manual {command.command}{source} {until}"
        )
    done = config.run_time_s is not None and mem.run_s >= config.run_time_s
    next_start = plan.next_start(config.id, now) if plan and config.planned else None
    waiting = "done" if done else ("scheduled" if next_start is not None else "off")
    if tick.spike and config.sheddable:
        return _Draft(False, waiting, "shed: the price spikes", shed=True)
    if config.window is not None and not config.window.covers(now, zone):
        return _Draft(False, waiting, f"outside its window {config.window}")
    if done:
        return _Draft(
            False,
            "done",
            f"ran {_hours(mem.run_s)} of {_hours(config.run_time_s)} today",
            soft=True,
        )
    wants = plan.wants(config.id, now) if plan and config.planned else None
    if wants:
        return _Draft(True, "running", "the plan runs it in this slot", soft=True)
    if config.planned and wants is None:
        latest = _latest_start(config, mem, tick)
        if now >= latest - FALLBACK_MARGIN_S:
            return _Draft(
                True, "running", "no plan for it: running to finish its run time", soft=True
            )
        reason = f"no plan for it: starts by {local_clock(latest - FALLBACK_MARGIN_S, zone)}"
        return _Draft(False, "scheduled", reason, soft=True, solar=config.solar)
    if next_start is not None:
        reason = f"planned from {local_clock(next_start, zone)}"
    elif config.priority == "opportunistic":
        reason = "waiting for solar surplus"
    else:
        reason = "not planned now"
    return _Draft(False, waiting, reason, soft=True, solar=config.solar)


def _latest_start(config: LoadConfig, mem: LoadMemory, tick: Tick) -> float:
    """The last moment it can start and still finish today's run time in its window."""
    assert config.run_time_s is not None and mem.day_start is not None
    _, end = occurrence(config.window, mem.day_start, tick.zone)
    return end - (config.run_time_s - mem.run_s)


def _on_since(mem: LoadMemory, observed: Observation | None, now: float) -> float | None:
    if observed is None or observed.on is not True:
        return None
    return mem.on_since if mem.on_since is not None else now


def _hold_min_run(config: LoadConfig, draft: _Draft, mem: LoadMemory, tick: Tick) -> bool:
    """Keep a load on that has not yet run its minimum; whether it was held."""
    since = _on_since(mem, tick.observed.get(config.id), tick.now)
    if draft.desired or since is None or tick.now - since >= config.min_run_s:
        return False
    draft.desired, draft.state = True, "running"
    draft.reason = (
        f"minimum run {_hours(config.min_run_s)} (on since {local_clock(since, tick.zone)}); "
        f"then: {draft.reason}"
    )
    return True


def _share_surplus(
    ordered: Iterable[LoadConfig],
    drafts: Mapping[str, _Draft],
    counted: Mapping[str, LoadMemory],
    tick: Tick,
) -> None:
    """Run solar loads, by priority, while the PV surplus covers each one's power.

    The surplus (PV - house load) already pays for loads that are on; a load
    switching on for another reason this tick takes its power from it first,
    and one switching off gives its draw back. A solar load that is on keeps
    running while the surplus plus its own draw covers its power.
    """
    ordered = list(ordered)
    free = tick.surplus_w
    if free is None:
        for config in ordered:
            draft = drafts[config.id]
            if draft.solar:
                draft.reason += "; no PV reading for the surplus"
                _hold_min_run(config, draft, counted[config.id], tick)
        return
    for config in ordered:
        draft, observed = drafts[config.id], tick.observed.get(config.id)
        if draft.solar or observed is None or draft.desired is None:
            continue
        if draft.desired and not observed.on:
            free -= config.power_w
        elif not draft.desired and observed.on:
            free += _draw(config, observed)
    for config in ordered:
        draft, observed = drafts[config.id], tick.observed.get(config.id)
        if not draft.solar or observed is None:
            continue
        draw = _draw(config, observed) if observed.on else 0.0
        spare = free + draw
        if spare >= config.power_w:
            free = spare - config.power_w
            draft.desired, draft.state = True, "running"
            draft.reason = f"on solar surplus ({spare:.0f} W spare for {config.power_w:.0f} W)"
            continue
        draft.reason += f" (solar surplus {max(spare, 0.0):.0f} W < {config.power_w:.0f} W)"
        if not _hold_min_run(config, draft, counted[config.id], tick):
            free = spare  # it goes off: its draw is spare for the next one


def _draw(config: LoadConfig, observed: Observation) -> float:
    """What a load that is on draws: its meter, else its rated power."""
    return observed.power_w if observed.power_w is not None else config.power_w


def _hours(seconds: float | None) -> str:
    """4h, 2h30m, 45m, 30s: durations as people write them in site.yaml."""
    total = round(seconds or 0.0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs and not hours else "") or "0s"
