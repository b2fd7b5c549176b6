"""The ``storm`` section of site.yaml: when to arm the storm reserve, and how high it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowengine.durations import parse_duration
from flowengine.schema import DURATION

DEFAULTS: dict[str, Any] = {
    "arm_probability": 0.7,
    "disarm_probability": 0.4,
    "reserve_soc": 0.8,
    "lead": "0s",
    "horizon": "48h",
}

_FRACTION = {"type": "number", "minimum": 0, "maximum": 1}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The storm reserve: keep the battery charged while a storm may cut the grid.",
    "properties": {
        "arm_probability": {**_FRACTION, "description": "arm the reserve at this storm risk"},
        "disarm_probability": {
            **_FRACTION,
            "description": "disarm only below this risk (and once the window passed or its "
            "warning was cancelled); keep it below arm_probability",
        },
        "reserve_soc": {**_FRACTION, "description": "the SOC to hold over the storm window"},
        "lead": {
            **DURATION,
            "description": "start holding this long before the window (the plan charges "
            "ahead of it by itself)",
        },
        "horizon": {**DURATION, "description": "how far ahead to look for storms (48h)"},
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class StormSettings:
    arm: float
    disarm: float
    reserve_soc: float
    lead_s: float
    horizon_s: float

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> StormSettings:
        section = {**DEFAULTS, **(settings.get("storm") or {})}
        arm, disarm = float(section["arm_probability"]), float(section["disarm_probability"])
        if disarm > arm:
            raise ValueError(
                f"storm.disarm_probability ({disarm}) must not be above "
                f"storm.arm_probability ({arm})"
            )
        return cls(
            arm,
            disarm,
            float(section["reserve_soc"]),
            parse_duration(section["lead"]),
            parse_duration(section["horizon"]),
        )
