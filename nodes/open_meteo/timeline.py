"""Open-Meteo time columns to epoch seconds, whichever way the response wrote them.

With ``timeformat=unixtime`` times are epoch seconds. Otherwise they are ISO
8601 wall times with no offset, local to the requested ``timezone`` (GMT by
default), and ``utc_offset_seconds`` says how far that is from UTC. Open-Meteo
gives one offset per response, so a response spanning a daylight-saving change
is off by the change after it; Brisbane has none, and we ask for unixtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from nodes.inputs.provider import InvalidPayload


def epochs(times: Sequence[object], utc_offset_s: float, where: str) -> list[float]:
    found = []
    for index, value in enumerate(times):
        if isinstance(value, int | float) and not isinstance(value, bool):
            found.append(float(value))
        elif isinstance(value, str):
            found.append(_iso(value, utc_offset_s, f"{where}[{index}]"))
        else:
            raise InvalidPayload(f"{where}[{index}]: {value!r} is not a time")
    return found


def check_spacing(times: Sequence[float], step_s: float, where: str) -> None:
    """Raise unless ``times`` rise by exactly ``step_s`` each."""
    for index in range(1, len(times)):
        if times[index] - times[index - 1] != step_s:
            raise InvalidPayload(
                f"{where}[{index}]: {times[index] - times[index - 1]:g} s after the one "
                f"before, expected {step_s:g} s"
            )


def _iso(value: str, utc_offset_s: float, where: str) -> float:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidPayload(f"{where}: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is not None:
        return moment.timestamp()
    return moment.replace(tzinfo=UTC).timestamp() - utc_offset_s
