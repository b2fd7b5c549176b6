"""Power Master's six events, as pure edges: (what was seen last, what is now) -> a notification.

Each function takes the state last seen and the value now, and gives the state
to keep and the notification payload when the state changed (None when it did
not). ``notify.compose`` keeps the states in its flow's context, so an event is
told once when it happens, not on every run, and not again after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

HEALTH_STATES = ("ok", "degraded", "safety")
#: The daily summary's energy counters (the inverter's, since local midnight), in order.
ENERGY_NAMES = (
    ("pv", "PV"),
    ("load", "load"),
    ("grid_import", "imported"),
    ("grid_export", "exported"),
    ("battery_charge", "battery charged"),
    ("battery_discharge", "battery discharged"),
)

Payload = dict[str, Any]


def is_spike_result(payload: Any) -> bool:
    """Whether ``payload`` is what the ``prices.spike`` node gives."""
    return isinstance(payload, Mapping) and {"spike", "status", "new", "ended"} <= set(payload)


def price_spike(result: Any, was_spiking: bool) -> tuple[bool, Payload | None]:
    """A spike starting (the price now spikes and did not) or ending."""
    if not is_spike_result(result) or result["status"] == "unknown":  # no price now: no news
        return was_spiking, None
    spiking = bool(result["spike"])
    data = {key: result.get(key) for key in ("price", "interval_start", "status", "reason")}
    price = _money(result.get("price"))
    if spiking and not was_spiking:
        reason = str(result.get("reason") or "")
        return True, {
            "event": "price_spike",
            "key": "start",
            "level": "warning",
            "title": f"Price spike: {price}/kWh",
            "text": reason[:1].upper() + reason[1:] if reason else f"Import price {price}/kWh.",
            "data": data,
        }
    if was_spiking and not spiking:
        return False, {
            "event": "price_spike",
            "key": "end",
            "level": "info",
            "title": "Price spike over",
            "text": f"The import price is back to {price}/kWh.",
            "data": data,
        }
    return spiking, None


def storm_reserve(reserve: Any, was_armed: bool, zone: tzinfo) -> tuple[bool, Payload | None]:
    """The storm reserve armed or cleared (``global.storm_reserve``, from storm.monitor)."""
    if not isinstance(reserve, Mapping):
        return was_armed, None
    armed = bool(reserve.get("armed"))
    probability = _percent(reserve.get("probability"))
    data = {key: reserve.get(key) for key in ("soc", "start", "end", "probability", "reason")}
    if armed and not was_armed:
        when = f"from {_local(reserve.get('start'), zone)} to {_local(reserve.get('end'), zone)}"
        return True, {
            "event": "storm_reserve",
            "key": "armed",
            "level": "warning",
            "title": "Storm reserve armed",
            "text": f"Holding {_percent(reserve.get('soc'))} SOC {when} (storm risk "
            f"{probability}: {reserve.get('reason') or 'storm risk'}).",
            "data": data,
        }
    if was_armed and not armed:
        return False, {
            "event": "storm_reserve",
            "key": "cleared",
            "level": "info",
            "title": "Storm reserve cleared",
            "text": f"Storm risk is down to {probability}; the battery follows the plan again.",
            "data": data,
        }
    return armed, None


def inverter_link(
    link: Any, was_offline: bool, offline_after: int, zone: tzinfo
) -> tuple[bool, Payload | None]:
    """The inverter unreachable (``offline_after`` failed exchanges in a row) or back.

    Back means a good exchange since (no errors in the streak): a link that
    recovers and fails again in between stays offline, so it is told once.
    """
    if not isinstance(link, Mapping):
        return was_offline, None
    streak = int(link.get("consecutive_errors") or 0)
    data = {key: link.get(key) for key in ("consecutive_errors", "error", "error_at", "ok_at")}
    if not was_offline and streak >= offline_after:
        last_ok = link.get("ok_at")
        since = f" (last good exchange {_local(last_ok, zone)})" if last_ok else ""
        return True, {
            "event": "inverter_offline",
            "key": "offline",
            "level": "critical",
            "title": "Inverter offline",
            "text": f"{streak} failed Modbus exchanges in a row{since}; last error: "
            f"{link.get('error') or 'unknown'}. The inverter runs on its own fallback mode.",
            "data": data,
        }
    if was_offline and streak == 0:
        return False, {
            "event": "inverter_offline",
            "key": "online",
            "level": "info",
            "title": "Inverter back online",
            "text": "Modbus exchanges with the inverter succeed again.",
            "data": data,
        }
    return was_offline, None


def health(record: Any, was_state: str) -> tuple[str, Payload | None]:
    """Health moving between ok, degraded and safety (``global.health``, control.health)."""
    state = record.get("state") if isinstance(record, Mapping) else None
    if state not in HEALTH_STATES or state == was_state:
        return was_state, None
    assert isinstance(record, Mapping) and isinstance(state, str)
    reasons = [str(r) for r in record.get("reasons") or []]
    if state == "ok":
        title, level = "Health ok again", "info"
        text = f"Every check passes again (was {was_state})."
    else:
        title, level = f"Health {state}", "warning" if state == "degraded" else "critical"
        effect = (
            "Control keeps an extra SOC margin and does no arbitrage."
            if state == "degraded"
            else "Control stopped forcing: the inverter runs its own self-use."
        )
        text = f"{'; '.join(reasons) or state}. {effect}"
    return state, {
        "event": "health_degraded",
        "key": state,
        "level": level,
        "title": title,
        "text": text,
        "data": {"state": state, "was": was_state, "reasons": reasons},
    }


#: What each of control.compare's checks is called in a title.
COMMAND_CHECKS = {
    "work_mode": "work mode changed by someone else",
    "remote_control": "remote control lost",
    "power": "battery power astray",
    "soc": "SOC moving the wrong way",
}


def command_check(record: Any, was: list[str]) -> tuple[list[str], Payload | None]:
    """The inverter not doing what it was told (``global.command_check``, control.compare):
    told when a departure appears that was not there, and once when every one has gone.
    A record that judged nothing (no command yet since a start) changes nothing."""
    if not isinstance(record, Mapping) or record.get("commanded") is None:
        return was, None
    findings = [f for f in record.get("findings") or [] if isinstance(f, Mapping)]
    now = sorted({str(f.get("check")) for f in findings})
    new = [check for check in now if check not in was]
    data = {key: record.get(key) for key in ("commanded", "actual", "expected_battery_w")}
    if new:
        reasons = [str(f.get("reason")) for f in findings if f.get("check") in new]
        text = "; ".join(reasons)
        return now, {
            "event": "command_check",
            "key": "+".join(new),
            "level": "warning",
            "title": "Inverter: " + ", ".join(COMMAND_CHECKS.get(c, c) for c in new),
            "text": f"{text[:1].upper()}{text[1:]}. Control health is degraded until the "
            "inverter does what it is told again.",
            "data": {"checks": new, "reasons": reasons, **data},
        }
    if was and not now:
        return now, {
            "event": "command_check",
            "key": "ok",
            "level": "info",
            "title": "Inverter doing what it is told again",
            "text": f"The inverter follows its commands again (it was: "
            f"{', '.join(COMMAND_CHECKS.get(c, c) for c in was)}).",
            "data": {"checks": [], "was": was, **data},
        }
    return now, None


def daily_summary(
    telemetry: Any, bill: Any, now: float, zone: tzinfo, at_minute: int, last_date: str | None
) -> tuple[str | None, Payload | None]:
    """Today's energy (and bill, when known), once a day from ``at_minute`` past midnight.

    The energy is the inverter's own counters since local midnight
    (``global.telemetry.energy_today_kwh``), so the summary covers the day so far.
    """
    local = datetime.fromtimestamp(now, zone)
    today = local.date().isoformat()
    if last_date == today or local.hour * 60 + local.minute < at_minute:
        return last_date, None
    lines: list[str] = []
    energy: dict[str, float] = {}
    taken_at = telemetry.get("timestamp") if isinstance(telemetry, Mapping) else None
    if isinstance(taken_at, int | float) and _date(taken_at, zone) == today:
        assert isinstance(telemetry, Mapping)
        counters = telemetry.get("energy_today_kwh") or {}
        energy = {name: float(counters[name]) for name, _ in ENERGY_NAMES if name in counters}
        parts = [
            f"{label} {energy[name]:.1f} kWh" for name, label in ENERGY_NAMES if name in energy
        ]
        lines.append(("Today: " + ", ".join(parts) + ".") if parts else "No energy counters.")
        if isinstance(telemetry.get("soc"), int | float):
            lines.append(f"Battery now at {_percent(telemetry['soc'])}.")
    else:
        seen = f" (last at {_local(taken_at, zone)})" if isinstance(taken_at, int | float) else ""
        lines.append(f"No telemetry from today{seen}.")
    cost = bill_today(bill)
    if cost is not None:
        lines.append(f"Bill today: {_money(cost)}" + (" (a credit)." if cost < 0 else "."))
    return today, {
        "event": "daily_summary",
        "level": "info",
        "title": f"Power Master daily summary {today}",
        "text": "\n".join(lines),
        "data": {"date": today, "energy_kwh": energy, "bill": cost},
    }


def bill_today(bill: Any) -> float | None:
    """Today's bill ($) from a context value ``{"today": 2.35}`` or ``{"today": {"net": ...}}``."""
    today = bill.get("today") if isinstance(bill, Mapping) else None
    if isinstance(today, Mapping):
        today = today.get("net")
    if isinstance(today, int | float) and not isinstance(today, bool):
        return float(today)
    return None


def _date(epoch: float, zone: tzinfo) -> str:
    return datetime.fromtimestamp(epoch, zone).date().isoformat()


def _local(epoch: Any, zone: tzinfo) -> str:
    if not isinstance(epoch, int | float):
        return "?"
    return datetime.fromtimestamp(epoch, zone).strftime("%a %H:%M")


def _percent(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, int | float) else "?"


def _money(value: Any) -> str:
    if not isinstance(value, int | float):
        return "$?"
    return f"-${-value:.2f}" if value < 0 else f"${value:.2f}"
