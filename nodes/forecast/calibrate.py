"""``forecast.calibrate``: the PV forecast corrected by what this site's panels gave.

It reads the raw reading in ``global.pv`` and writes ``global.pv_calibrated``
(which ``forecast.aggregate`` is pointed at with ``pv_key``), so the raw reading
stays what the history flow records and what calibration learns from: it never
learns from its own output. Factors are learned once a local day, from the days
before (``nodes/forecast/calibration.py``), so the accuracy report can say
exactly which factors each day ran on. With ``pv_calibration.enabled`` false
(the default) the raw reading is passed on unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from datetime import date, datetime, time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flowengine.message import Message
from flowengine.node import ContextKey, Node, NodeContext
from flowengine.settings import SiteSection, object_section
from nodes.core.connections import node_database as database
from nodes.forecast.calibration import DAY, Calibration, Pair, Tuning, learn
from nodes.forecast.load import site_timezone
from nodes.forecast.pv_pairs import Limits, pv_pairs

SCHEMA: dict[str, Any] = object_section(
    {
        "enabled": {
            "type": "boolean",
            "description": "scale the PV forecast by what this site's panels gave (off: as issued)",
        },
        "window_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": 365,
            "description": "learned from this many days before today: the season (default 28)",
        },
        "shrink_days": {
            "type": "number",
            "minimum": 0,
            "description": "a time of day seen on this many days is trusted half way (default 7)",
        },
        "bin_minutes": {
            "enum": [30, 60, 120],
            "description": "one factor per this much of the local day (default 60)",
        },
    }
)
DEFAULTS: dict[str, Any] = {"enabled": False}
SECTION = SiteSection("pv_calibration", SCHEMA, DEFAULTS, owner=__name__)


def day_start(day: date, zone: ZoneInfo) -> float:
    return datetime.combine(day, time(), zone).timestamp()


#: Reads each provider's pairs of the half hours starting in [since, until).
Reader = Callable[[float, float], dict[str, list[Pair]]]


class PairCache:
    """The pairs of the learning window, read from site.db a day at a time (a restart
    reads the window once). ``how`` is what the pairs were read with (the window, the lead,
    the limits): when it changes, they are read afresh."""

    def __init__(self) -> None:
        self.pairs: dict[str, list[Pair]] = {}
        self.until = float("-inf")
        self.how: Hashable = None

    def window(
        self, read: Reader, since: float, until: float, how: Hashable
    ) -> dict[str, list[Pair]]:
        if until < self.until or how != self.how:  # the clock went back, or a setting moved
            self.pairs, self.until, self.how = {}, float("-inf"), how
        if until > self.until:
            for provider, new in read(max(since, self.until), until).items():
                self.pairs.setdefault(provider, []).extend(new)
            self.until = until
        self.pairs = {p: [x for x in pairs if x.start >= since] for p, pairs in self.pairs.items()}
        return self.pairs


class ForecastCalibrate(Node):
    type_name = "forecast.calibrate"
    description = (
        "Corrects the PV forecast per time of day by what this site's panels gave against "
        "the raw forecasts (site.yaml pv_calibration); off, the reading as issued."
    )
    reads: ClassVar[tuple[ContextKey, ...]] = (ContextKey("pv", "the PV forecast as issued"),)
    writes: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("pv_calibrated", "the PV forecast calibrated to this site", "key"),
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": {"type": "string", "x-connection": "core.sqlite"},
            "key": {
                "type": "string",
                "default": "pv_calibrated",
                "description": "global key the calibrated reading is written to",
            },
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "any message (a trigger); reads global pv"
    gives: ClassVar[dict[str, str]] = {
        "out": "the message, unchanged; global pv_calibrated = the PV reading with "
        "calibration {enabled, day, provider, factors[]} and its periods scaled"
    }

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self.zone = ZoneInfo(site_timezone({}, ctx.settings))
        self.cache = PairCache()
        self.learned: dict[tuple[str, date, Tuning], Calibration] = {}

    def process(self, msg: Message) -> Message:
        raw = self.ctx.globals.peek("pv")
        if not isinstance(raw, Mapping) or not isinstance(raw.get("data"), Mapping):
            self.ctx.status("no PV reading yet", "warn")
            return msg
        section = self.ctx.settings.get("pv_calibration") or {}
        if not section.get("enabled"):
            self.ctx.globals.set(self.config["key"], {**raw, "calibration": {"enabled": False}})
            self.ctx.status("off: the forecast as issued")
            return msg
        tuning = Tuning.from_settings(section)
        provider = str(raw.get("provider"))
        today = datetime.fromtimestamp(self.ctx.clock.time(), self.zone).date()
        calibration = self._calibration(provider, today, tuning)
        periods = calibration.apply(raw["data"].get("periods") or [], self.zone)
        self.ctx.globals.set(
            self.config["key"],
            {
                **raw,
                "data": {**raw["data"], "periods": periods},
                "calibration": {
                    "enabled": True,
                    "day": today.isoformat(),
                    "provider": provider,
                    "factors": [round(k, 4) for k in calibration.factors],
                },
            },
        )
        low, high = min(calibration.factors), max(calibration.factors)
        days = max(calibration.days, default=0)
        self.ctx.status(f"{provider} x{low:.2f}..{high:.2f} from {days} days")
        return msg

    def _calibration(self, provider: str, today: date, tuning: Tuning) -> Calibration:
        """The provider's factors for today, learned from the window before local midnight."""
        known = self.learned.get((provider, today, tuning))
        if known is not None:
            return known
        midnight = day_start(today, self.zone)
        since = midnight - tuning.window_days * DAY
        limits = Limits.from_settings(self.ctx.settings)

        def read(lo: float, hi: float) -> dict[str, list[Pair]]:
            return pv_pairs(database(self), lo, hi, limits, tuning.lead_s)

        how = (tuning.window_days, tuning.lead_s, limits)
        pairs = self.cache.window(read, since, midnight, how)
        calibration = learn(pairs.get(provider, []), midnight, self.zone, tuning)
        self.learned = {(provider, today, tuning): calibration}
        return calibration
