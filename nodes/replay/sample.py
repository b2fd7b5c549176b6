"""The project's sample data as a dataset the replay nodes can serve at any date.

Prices are the real Amber retail prices of an SA site (Dec 2024 - Apr 2025),
moved by whole numbers of weeks onto the date asked for, so weekdays line up;
PV and load are the Brisbane household's (see ``nodes/replay/data/README.md``).
It is what the ``sample`` replay providers serve when no backtest supplies a dataset.
"""

from __future__ import annotations

import csv
from array import array
from datetime import datetime
from functools import cache
from pathlib import Path

from nodes.replay.profile import DATA_DIR, SampleProfile

AMBER_FILE = "amber_sa_30min.csv"
SLOT_SECONDS = 1800


class SamplePrices:
    """Import and export prices ($/kWh) per 30-min slot, for any date."""

    def __init__(
        self,
        start: datetime,
        import_price: array[float],
        export_price: array[float],
        spike: array[int],
    ) -> None:
        self.start = start.timestamp()
        self.import_price = import_price
        self.export_price = export_price
        self.spike = spike
        self.weeks = len(import_price) // (7 * 48)

    @classmethod
    def from_csv(cls, data_dir: Path = DATA_DIR) -> SamplePrices:
        imports, exports, spikes = array("d"), array("d"), array("b")
        start: datetime | None = None
        with open(data_dir / AMBER_FILE, newline="") as handle:
            for row in csv.DictReader(handle):
                if start is None:
                    start = datetime.fromisoformat(row["interval_start"])
                imports.append(float(row["general_per_kwh_c"]) / 100)
                exports.append(-float(row["feed_in_per_kwh_c"]) / 100)  # Amber: negative = paid
                spikes.append(1 if row["spike_status"] == "spike" else 0)
        assert start is not None, "empty price file"
        return cls(start, imports, exports, spikes)

    def index(self, t: float) -> int:
        period = self.weeks * 7 * 48
        return int((t - self.start) // SLOT_SECONDS) % period

    def at(self, t: float) -> tuple[float, float]:
        i = self.index(t)
        return self.import_price[i], self.export_price[i]


class SampleDataset:
    """What the sample site 'knows' at time t: perfect foresight of the sample data."""

    slot_seconds = SLOT_SECONDS

    def __init__(self, prices: SamplePrices, profile: SampleProfile) -> None:
        self.prices = prices
        self.profile = profile

    def forecast(self, t: float, slots: int) -> dict[str, object]:
        start = t - t % SLOT_SECONDS
        times = [start + i * SLOT_SECONDS for i in range(slots)]
        prices = [self.prices.at(s) for s in times]
        site = [self.profile(s) for s in times]
        return {
            "issued_at": t,
            "start": start,
            "slot_seconds": SLOT_SECONDS,
            "import_price": [round(p[0], 5) for p in prices],
            "export_price": [round(p[1], 5) for p in prices],
            "pv_w": [round(s[0], 1) for s in site],
            "load_w": [round(s[1], 1) for s in site],
        }


@cache
def sample_dataset() -> SampleDataset:
    return SampleDataset(SamplePrices.from_csv(), SampleProfile.from_csv())


def sample_slot_prices(t: float) -> tuple[float, float]:
    """The sample prices of the slot holding ``t``, as the replay serves them: the demo
    site's retailer bills at the prices its flows were told."""
    known = sample_dataset().forecast(t, 1)
    return float(known["import_price"][0]), float(known["export_price"][0])  # type: ignore[index]


def slot_start(t: float) -> float:
    return t - t % SLOT_SECONDS


__all__ = ["SampleDataset", "SamplePrices", "sample_dataset", "sample_slot_prices", "slot_start"]
