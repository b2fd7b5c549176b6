"""The fallback daily load profile, used until the site has its own history."""

from __future__ import annotations

import math
from collections.abc import Sequence

SLOTS_PER_DAY = 48

#: A generic household (W per half hour, local time from 00:00): quiet nights, a
#: breakfast bump, a low day and an evening peak. About 11.5 kWh a day.
DEFAULT_PROFILE: tuple[float, ...] = (
    (300.0,) * 10  # 00:00-05:00
    + (350.0, 450.0, 600.0, 700.0, 700.0, 600.0)  # 05:00-08:00
    + (450.0,) * 2  # 08:00-09:00
    + (350.0,) * 14  # 09:00-16:00
    + (450.0, 600.0, 800.0, 950.0, 1000.0, 1000.0, 950.0, 850.0)  # 16:00-20:00
    + (750.0, 650.0, 550.0, 450.0, 400.0, 350.0, 300.0, 300.0)  # 20:00-24:00
)


def check_profile(profile: Sequence[float]) -> tuple[float, ...]:
    """``profile`` as a tuple of 48 finite, non-negative watts, or ValueError."""
    values = tuple(float(v) for v in profile)
    if len(values) != SLOTS_PER_DAY:
        raise ValueError(f"a daily load profile needs {SLOTS_PER_DAY} values, got {len(values)}")
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError("a daily load profile needs finite values >= 0")
    return values
