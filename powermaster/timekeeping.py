"""Time that never runs backwards: the clock's record in the data directory.

A restart can send time backwards two ways; each is dealt with here.

- **The demo** (the simulated site: no ``--inverter``) runs its clock ``--speed``
  times faster than wall time, so it is soon days ahead of today; starting it
  again from today would put the ledger's rows in the future and rewind the
  simulated battery. Its time is the simulated site's own, so it *resumes*: at
  the time it reached when it stopped plus the real downtime (while the service
  is down the simulated site lives on at real speed, as a real site would), and
  never before the newest record in the site database. Nothing is then in the
  future, and the ledger's gap is the real downtime (from the last reading before
  the stop), with the energy the carried-on counters moved across it. The simulated site's
  state (SOC, the inverter's settings and counters, the meter's recent slots)
  carries on with it. Scaling the downtime by ``--speed`` instead would turn a
  10-minute stop at 300x into a 50-hour hole in the books; pausing time instead
  would hide that the service was down at all, and leave a real-speed demo a
  downtime behind today for good.
- **Real time**: a Pi without a real-time clock can boot into the past. Its clock
  cannot be corrected here, only waited out. A clock behind the newest record
  (the site database's newest row, the time last seen, kept in the record, or the
  newest telemetry since) sets ``global.clock_check.behind``: the health flow is
  degraded and says why, the control tick and the history flow write no history
  or ledger rows (they would be out of order), and all of it ends by itself once
  the clock passes the record (NTP sets it).

The record (``clock.json``) is written at the stop and every few minutes of clock
time (at least 30 real seconds apart at ``--speed``: cheap), so a crash loses at
most that much of the simulated site's state, and never the time: the resumed
clock starts no earlier than the site database's newest row.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import RealClock
from flowengine.atomic import write_atomic
from flowengine.clock import Clock
from flowengine.context import GLOBAL, ContextStore
from nodes.health.checks import clock_behind
from powermaster.sim.dispatch import WorkMode
from powermaster.sim.meter import Energy, SlotRecord, local_day
from powermaster.sim.site import InverterSettings, SiteModel

log = logging.getLogger("power_master")

CLOCK_FILE = "clock.json"
#: The context key the health, control and history flows read (docs/control.md).
CLOCK_KEY = "clock_check"
#: Clock seconds between two looks at the clock: a step back is seen within a minute.
CHECK_EVERY_S = 60.0
#: The record is written this often in clock time, and at least ``SAVE_EVERY_REAL_S``
#: of wall time apart (30 s at 300x is 2.5 virtual hours).
SAVE_EVERY_S = 300.0
SAVE_EVERY_REAL_S = 30.0
#: The meter's slots kept across a restart: the simulated retailer is asked for the
#: last 2 h (``nodes.replay``), so a slot the stop cut in two is still billed whole.
KEEP_SLOTS_S = 6 * 3600.0
#: The newest row of each kind the site database keeps (a table not there is skipped).
NEWEST_ROWS = (
    "SELECT MAX(timestamp) FROM telemetry_samples",
    "SELECT MAX(at) FROM ledger_events",
    "SELECT MAX(end) FROM ledger_gaps",
    "SELECT json_extract(value, '$.at') FROM ledger_state WHERE name = 'last'",
)


@dataclass(frozen=True, slots=True)
class ClockRecord:
    """What ``clock.json`` keeps: the newest time the service saw (never less than any
    row it wrote), the wall time then, and the simulated site's state, if it ran one."""

    time: float
    wall: float
    site: Mapping[str, Any] | None = None


def read_record(data_dir: Path) -> ClockRecord | None:
    """The record, or None: none yet, or unreadable (logged; the start goes on without)."""
    path = data_dir / CLOCK_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        site = raw.get("site")
        return ClockRecord(
            float(raw["time"]), float(raw["wall"]), site if isinstance(site, dict) else None
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("%s is unreadable (%s): the clock's record starts afresh", path, exc)
        return None


def write_record(data_dir: Path, record: ClockRecord) -> None:
    write_atomic(data_dir / CLOCK_FILE, json.dumps(asdict(record), sort_keys=True))


def newest_stored(db_path: Path | None) -> float | None:
    """The newest timestamp in the site database (history or ledger), read-only."""
    if db_path is None or not db_path.exists():
        return None
    newest: float | None = None
    with closing(sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        for query in NEWEST_ROWS:
            try:
                row = db.execute(query).fetchone()
            except sqlite3.Error:  # that table is not kept (yet)
                continue
            value = row[0] if row else None
            if isinstance(value, int | float) and math.isfinite(value):
                newest = float(value) if newest is None else max(newest, float(value))
    return newest


def resume_at(record: ClockRecord | None, newest: float | None, wall_now: float) -> float | None:
    """Where the demo's clock starts: the record's time plus the real downtime (none if
    the wall clock went backwards), never before ``newest``; None: from today."""
    if record is None:
        return newest
    start = record.time + max(0.0, wall_now - record.wall)
    return start if newest is None else max(start, newest)


def site_state(model: SiteModel) -> dict[str, Any]:
    """What of the simulated site carries on across a restart: what a real inverter and
    battery keep while their controller is down. Remote control is not kept: the stop
    handed it back, and after a crash its watchdog has long run out."""
    meter = model.meter
    recent = {
        str(start): {"energy": slot.energy.as_dict(), "soc_end": slot.soc_end, "mode": slot.mode}
        for start, slot in meter.slots.items()
        if start + meter.slot_seconds > model.time - KEEP_SLOTS_S
    }
    day = local_day(model.time)
    return {
        "time": model.time,
        "soc": model.soc,
        "settings": asdict(model.settings),
        "total": meter.total.as_dict(),
        "day": day,
        "today": meter.today(model.time).as_dict(),
        "slots": recent,
    }


def restore_site(model: SiteModel, state: Mapping[str, Any], now: float) -> None:
    """Put ``state`` (``site_state``) back into a model just made, then bring it up to
    ``now``: the downtime runs on the inverter's own settings, as it handed back."""
    settings = dict(state["settings"])
    settings["work_mode"] = WorkMode(int(settings["work_mode"]))
    model.settings = InverterSettings(**settings)
    battery = model.battery
    model.soc = min(max(float(state["soc"]), battery.soc_min), battery.soc_max)
    meter = model.meter
    meter.total = Energy(**state["total"])
    meter.days = {str(state["day"]): Energy(**state["today"])}
    meter.slots = {
        int(start): SlotRecord(Energy(**slot["energy"]), float(slot["soc_end"]), str(slot["mode"]))
        for start, slot in state["slots"].items()
    }
    model.time = min(float(state["time"]), now)  # a clock behind it: the SOC carries on
    model.advance_to(now)


class Timekeeper:
    """Keeps the clock's record and ``global.clock_check`` for one service run."""

    def __init__(
        self,
        data_dir: Path,
        db_path: Path | None,
        timezone: str = "UTC",
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = data_dir
        self.timezone = timezone
        self.wall = wall
        self.record = read_record(data_dir)
        stored = newest_stored(db_path)
        #: The newest record: nothing may be written before it (the high-water mark).
        self.newest: float | None = max(
            (t for t in (stored, self.record.time if self.record else None) if t is not None),
            default=None,
        )
        self.behind: bool | None = None
        self._saved_at: float | None = None

    def demo_clock(self, speed: float) -> RealClock:
        """The simulated site's clock, carried on from the record (see the module)."""
        start = resume_at(self.record, self.newest, self.wall())
        if start is not None and self.record is not None:
            when = datetime.fromtimestamp(start, ZoneInfo(self.timezone))
            log.info("the simulated site's clock resumes at %s", f"{when:%Y-%m-%d %H:%M %Z}")
        return RealClock(speed, start=start)

    def restore_site(self, model: SiteModel, now: float) -> None:
        """The simulated site as the record left it, if it has it (else as configured)."""
        state = self.record.site if self.record is not None else None
        if not state:
            return
        try:
            restore_site(model, state, now)
        except (KeyError, TypeError, ValueError) as exc:  # an older or damaged record
            log.warning(
                "the simulated site's state in %s is not usable (%s): it starts as configured",
                self.data_dir / CLOCK_FILE,
                exc,
            )

    def check(self, context: ContextStore, now: float) -> bool:
        """Look at the clock against the newest record (and the newest telemetry since) and
        keep ``global.clock_check`` {behind, newest, at}, set only when ``behind`` changes;
        whether the clock is behind."""
        telemetry = context.peek(GLOBAL, "telemetry")
        seen = telemetry.get("timestamp") if isinstance(telemetry, dict) else None
        if isinstance(seen, int | float) and not isinstance(seen, bool):
            self.newest = float(seen) if self.newest is None else max(self.newest, float(seen))
        behind = self.newest is not None and now < self.newest
        if behind != self.behind:
            was, self.behind = self.behind, behind
            context.set(GLOBAL, CLOCK_KEY, {"behind": behind, "newest": self.newest, "at": now})
            if behind and self.newest is not None:
                log.warning(
                    "%s; no history or ledger rows are written until it catches up",
                    clock_behind(now, self.newest, self.timezone),
                )
            elif was:
                log.info("the clock has caught up with the newest record: rows are written again")
        return behind

    async def keep(
        self, clock: Clock, context: ContextStore, model: Callable[[], SiteModel | None]
    ) -> None:
        """Check the clock every minute of it (when behind, also the moment it catches up)
        and save the record every few minutes of it; runs until cancelled."""
        save_every = max(SAVE_EVERY_S, SAVE_EVERY_REAL_S * float(getattr(clock, "speed", 1.0)))
        self._saved_at = clock.time()
        while True:
            now = clock.time()
            wait = CHECK_EVERY_S - now % CHECK_EVERY_S  # with the other minute timers
            if self.check(context, now) and self.newest is not None:
                wait = min(wait, self.newest - now)
            await clock.sleep(wait)
            now = clock.time()
            if abs(now - self._saved_at) >= save_every:
                self.save(now, model())

    def save(self, now: float, model: SiteModel | None) -> None:
        """Write the record: the time reached (never less than the newest record, so a
        clock behind at the stop is still behind at the next start) and the site."""
        reached = now if self.newest is None else max(now, self.newest)
        site = site_state(model) if model is not None else None
        try:
            write_record(self.data_dir, ClockRecord(reached, self.wall(), site))
        except OSError as exc:  # a full disk: the next save tries again
            log.warning("the clock's record was not saved: %s", exc)
        self._saved_at = now
