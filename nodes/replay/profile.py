"""The sample Brisbane PV and load data as a site profile for any date.

The data covers one PV year (2025, hourly) and about a year of load (half-hourly),
but the demo runs at today's date. So a time is mapped onto the data by local
month, day and time of day: PV from the PV year, load from the same year if the
data has that date, otherwise from the nearest year that does.

It lives with the replay providers (which serve it) so that node packages never
reach up into the service for data; the simulator (``powermaster.sim``) uses it too.
"""

from __future__ import annotations

import csv
from array import array
from datetime import datetime, timedelta, timezone
from pathlib import Path

#: The shipped data files (``data/README.md`` says what each is and where it came from).
DATA_DIR = Path(__file__).resolve().parent / "data"
#: The clock the data was recorded on: Brisbane, +10:00 all year (no daylight saving).
LOCAL_TZ = timezone(timedelta(hours=10))
PV_FILE = "pv_brisbane_2025_hourly.csv"
LOAD_FILE = "home_brisbane_30min.csv"
SLOT_SECONDS = 1800
SLOTS_PER_DAY = 48


class SampleProfile:
    """PV and load (W) per 30-min slot, looked up by local date and time of day."""

    slot_seconds: float = float(SLOT_SECONDS)

    def __init__(
        self, pv_w: array[float], pv_year: int, load_w: array[float], load_start: datetime
    ) -> None:
        self._pv = pv_w
        self._pv_year = pv_year
        self._load = load_w
        self._load_start = load_start.astimezone(LOCAL_TZ)
        last_year = (self.load_end - timedelta(seconds=1)).year
        self._load_years = range(self._load_start.year, last_year + 1)

    @classmethod
    def from_csv(cls, data_dir: Path = DATA_DIR) -> SampleProfile:
        """Read both CSVs (PV kW hourly; load kWh per half hour, so W = kWh * 2000)."""
        pv_rows = _read(data_dir / PV_FILE)
        pv_year = pv_rows[0][0].year
        year_start = datetime(pv_year, 1, 1, tzinfo=LOCAL_TZ)
        pv = array("d", [0.0]) * (_days_in_year(pv_year) * SLOTS_PER_DAY)
        for start, kw in pv_rows:
            slot = int((start - year_start).total_seconds()) // SLOT_SECONDS
            for i in (slot, slot + 1):  # an hourly average holds for both half-hours
                if 0 <= i < len(pv):
                    pv[i] = kw * 1000.0
        load_rows = _read(data_dir / LOAD_FILE)
        load_start = load_rows[0][0]
        last = int((load_rows[-1][0] - load_start).total_seconds()) // SLOT_SECONDS
        load = array("d", [0.0]) * (last + 1)
        for start, kwh in load_rows:
            load[int((start - load_start).total_seconds()) // SLOT_SECONDS] = kwh * 2000.0
        return cls(pv, pv_year, load, load_start)

    @property
    def load_start(self) -> datetime:
        return self._load_start

    @property
    def load_end(self) -> datetime:
        """End (exclusive) of the load data's span."""
        return self._load_start + timedelta(seconds=SLOT_SECONDS * len(self._load))

    def __call__(self, t: float) -> tuple[float, float]:
        local = datetime.fromtimestamp(t, LOCAL_TZ)
        return self._pv_at(local), self._load_at(local)

    def _pv_at(self, local: datetime) -> float:
        moved = _same_day_in(local, self._pv_year)
        day = (moved.date() - moved.date().replace(month=1, day=1)).days
        return self._pv[day * SLOTS_PER_DAY + _slot_of_day(local)]

    def _load_at(self, local: datetime) -> float:
        years = sorted(self._load_years, key=lambda y: (abs(y - local.year), -y))
        for year in years:
            index = int((_same_day_in(local, year) - self._load_start).total_seconds())
            index //= SLOT_SECONDS
            if 0 <= index < len(self._load):
                return self._load[index]
        return self._load[_slot_of_day(local) % len(self._load)]  # pragma: no cover


def _read(path: Path) -> list[tuple[datetime, float]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)  # header
        return [(datetime.fromisoformat(row[0]), float(row[1])) for row in reader if row]


def _same_day_in(local: datetime, year: int) -> datetime:
    """The same local month/day/time in ``year``, with 29 Feb falling back to the 28th."""
    day = 28 if (local.month, local.day) == (2, 29) and _days_in_year(year) == 365 else local.day
    slot_start = local.replace(minute=local.minute // 30 * 30, second=0, microsecond=0)
    return slot_start.replace(year=year, day=day)


def _slot_of_day(local: datetime) -> int:
    return local.hour * 2 + local.minute // 30


def _days_in_year(year: int) -> int:
    return 366 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 365
