"""30-minute and daily roll-ups: means, SOC and energies from the counters, by local date."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nodes.history.counters import counter_values
from nodes.history.store import record_sample, sample_values
from tests.nodes.history.conftest import energy, sample

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC).timestamp()  # 11:00 in Sydney (AEDT)
SYDNEY = ZoneInfo("Australia/Sydney")


def record(db: sqlite3.Connection, payload: dict[str, Any], zone: ZoneInfo = SYDNEY) -> bool:
    return record_sample(
        db,
        payload["timestamp"],
        sample_values(payload),
        counter_values(payload.get("energy_kwh")),
        zone=zone,
    )


def slots(db: sqlite3.Connection) -> list[dict[str, Any]]:
    cursor = db.execute("SELECT * FROM history_30min ORDER BY slot_start")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def days(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    cursor = db.execute("SELECT * FROM history_daily ORDER BY date")
    names = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def everything(db: sqlite3.Connection) -> list[Any]:
    return [
        db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
        for t in ("telemetry_samples", "history_30min", "history_daily")
    ]


#: Three samples in a slot and one at the next slot's start, by hand:
#: load 400, 600, 800 W -> mean 600; PV 3000, 3000, 1200 -> 2400; SOC 0.50, 0.52, 0.51.
#: The counters move from (pv 100.0, load 50.0, import 20.0, export 30.0, charge 10.0,
#: discharge 5.0) at :00 to (101.2, 50.6, 20.3, 30.5, 10.1, 5.2) at :30, so the slot
#: saw 1.2 kWh of PV, 0.6 of load, 0.3 imported, 0.5 exported, 0.1 charged, 0.2 discharged.
HAND = [
    sample(START, 400, 3000, 0.50, energy(100.0, 50.0, 20.0, 30.0, 10.0, 5.0)),
    sample(START + 600, 600, 3000, 0.52, energy(100.5, 50.2, 20.0, 30.3, 10.0, 5.0)),
    sample(START + 1200, 800, 1200, 0.51, energy(101.0, 50.4, 20.1, 30.5, 10.1, 5.0)),
    sample(START + 1800, 1000, 0, 0.49, energy(101.2, 50.6, 20.3, 30.5, 10.1, 5.2)),
]


def test_three_samples_give_known_means_soc_and_energies(site_db: sqlite3.Connection) -> None:
    for payload in HAND:
        assert record(site_db, payload)
    first, second = slots(site_db)
    assert first == {
        "slot_start": int(START),
        "load_w": 600.0,
        "pv_w": 2400.0,
        "battery_w": 0.0,
        "grid_w": -1800.0,
        "soc_min": 0.50,
        "soc_max": 0.52,
        "soc_last": 0.51,
        "pv_kwh": 1.2,
        "load_kwh": 0.6,
        "grid_import_kwh": 0.3,
        "grid_export_kwh": 0.5,
        "battery_charge_kwh": 0.1,
        "battery_discharge_kwh": 0.2,
        "metered_s": 1800.0,
        "samples": 3,
        "source": "recorded",
    }
    # The next slot has one sample and no later one yet: no energy is known in it.
    assert (second["samples"], second["metered_s"], second["pv_kwh"]) == (1, 0.0, None)


def test_a_slot_knows_only_the_energy_up_to_its_last_sample(site_db: sqlite3.Connection) -> None:
    for payload in HAND[:3]:
        record(site_db, payload)
    (only,) = slots(site_db)
    assert (only["pv_kwh"], only["load_kwh"], only["metered_s"]) == (1.0, 0.4, 1200.0)
    record(site_db, HAND[3])  # the :30 sample closes the slot
    assert slots(site_db)[0]["pv_kwh"] == 1.2


def test_energy_between_samples_is_shared_by_the_slots_it_spans(
    site_db: sqlite3.Connection,
) -> None:
    # 10 minutes from :25 to :35 carry 0.6 kWh of PV: half in each slot.
    record(site_db, sample(START + 1500, 100, counters=energy(10, 0, 0, 0, 0, 0)))
    record(site_db, sample(START + 2100, 100, counters=energy(10.6, 0, 0, 0, 0, 0)))
    first, second = slots(site_db)
    assert (first["pv_kwh"], first["metered_s"]) == (0.3, 300.0)
    assert (second["pv_kwh"], second["metered_s"]) == (0.3, 300.0)


def test_a_counter_going_backwards_is_a_reset_not_negative_energy(
    site_db: sqlite3.Connection,
) -> None:
    readings = [(0, 100.0), (300, 100.2), (600, 0.1), (900, 0.3)]  # reset between 300 and 600
    for dt, pv in readings:
        record(site_db, sample(START + dt, 100, counters=energy(pv, pv, 0, 0, 0, 0)))
    (slot,) = slots(site_db)
    assert (slot["pv_kwh"], slot["load_kwh"]) == (0.4, 0.4)  # 0.2 before and 0.2 after
    assert slot["metered_s"] == 600.0  # the 5 minutes across the reset are unknown


def test_a_long_silence_leaves_its_energy_out(site_db: sqlite3.Connection) -> None:
    record(site_db, sample(START, 100, counters=energy(1, 1, 1, 1, 1, 1)))
    record(site_db, sample(START + 3 * 3600, 100, counters=energy(9, 9, 9, 9, 9, 9)))
    assert [(s["samples"], s["metered_s"], s["pv_kwh"]) for s in slots(site_db)] == [
        (1, 0.0, None),
        (1, 0.0, None),
    ]


def test_telemetry_without_counters_still_rolls_up_its_means(site_db: sqlite3.Connection) -> None:
    record(site_db, sample(START, 300))
    record(site_db, sample(START + 300, 500))
    (slot,) = slots(site_db)
    assert (slot["load_w"], slot["pv_kwh"], slot["metered_s"]) == (400.0, None, 0.0)


def _five_minutes(first: float, last: float) -> list[dict[str, Any]]:
    """A sample every 5 minutes from ``first`` to ``last``, PV counting 0.1 kWh each."""
    out, t, pv = [], first, 0.0
    while t <= last:
        out.append(sample(t, 1000, soc=0.5, counters=energy(pv, pv / 2, 0, 0, 0, 0)))
        t, pv = t + 300, round(pv + 0.1, 1)
    return out


@pytest.mark.parametrize(
    ("local_date", "hours"),
    [("2026-04-05", 25), ("2026-10-04", 23), ("2026-01-05", 24)],
)
def test_a_day_is_the_sites_local_day_however_long(
    site_db: sqlite3.Connection, local_date: str, hours: int
) -> None:
    day = datetime.fromisoformat(local_date).replace(tzinfo=SYDNEY)
    start = day.timestamp()
    end = start + hours * 3600
    for payload in _five_minutes(start - 3600, end + 3600):
        record(site_db, payload)
    rows = days(site_db)
    one = timedelta(days=1)
    assert list(rows) == [str(day.date() - one), local_date, str(day.date() + one)]
    today = rows[local_date]
    assert (today["start"], today["end"]) == (start, end)
    assert today["samples"] == hours * 12
    assert today["metered_s"] == hours * 3600
    assert today["pv_kwh"] == pytest.approx(hours * 12 * 0.1)
    assert today["load_kwh"] == pytest.approx(hours * 12 * 0.05)
    assert (today["load_w"], today["soc_last"]) == (1000.0, 0.5)
    # The hour either side belongs to the neighbouring dates, not this one.
    assert sum(r["samples"] for r in rows.values()) == hours * 12 + 24 + 1


def test_replaying_samples_changes_nothing(site_db: sqlite3.Connection) -> None:
    for payload in HAND:
        record(site_db, payload)
    before = everything(site_db)
    for payload in HAND:
        changed = {**payload, "load_w": 9999.0, "energy_kwh": energy(0, 0, 0, 0, 0, 0)}
        assert not record(site_db, changed)  # same timestamp: the first one stands
    assert everything(site_db) == before


def test_samples_in_any_order_give_the_same_roll_ups(site_db: sqlite3.Connection) -> None:
    payloads = _five_minutes(START, START + 6 * 3600)
    for payload in payloads:
        record(site_db, payload)
    in_order = everything(site_db)
    site_db.execute("DELETE FROM telemetry_samples")
    site_db.execute("DELETE FROM history_30min")
    site_db.execute("DELETE FROM history_daily")
    random.Random(7).shuffle(payloads)
    for payload in payloads:
        record(site_db, payload)
    shuffled = everything(site_db)
    assert shuffled[0] == in_order[0]
    for ours, theirs in zip(shuffled[1:], in_order[1:], strict=True):
        assert [pytest.approx(row) for row in ours] == theirs
