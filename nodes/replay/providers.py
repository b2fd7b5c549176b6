"""Replay providers: the sample data (or a backtest's scenario) as prices and PV readings.

They give the demo site, with no accounts, the same inputs in the same shapes
as Amber and Solcast would, and a backtest exactly what its scenario says was
known at each moment. The dataset is the one the service supplies
(the ``replay_dataset`` connection, a backtest's) or else the shipped sample data.
A replay only refreshes when what is known changes (a new slot or a new
forecast issue), and keeps no history: the data is on disk already.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import aiohttp

from flowengine import NodeContext
from flowengine.clock import Clock
from nodes.inputs.fetch import FetchError
from nodes.inputs.provider import CallLog, Provider
from nodes.inputs.reading import Reading
from nodes.replay.dataset import Dataset
from nodes.replay.meter import SiteMeter, site_meter
from nodes.replay.sample import sample_dataset
from nodes.replay.scenario import replay_dataset


class _Replay(Provider):
    name = "sample"
    needs_http = False
    keep_history = False
    horizon_hours: ClassVar[float] = 72.0

    def __init__(self, settings: Mapping[str, Any], clock: Clock) -> None:
        super().__init__(settings, clock)
        self.dataset: Dataset = sample_dataset()

    def connect(self, ctx: NodeContext) -> None:
        """A backtest's scenario where the host provides one, else the sample data."""
        self.dataset = replay_dataset(ctx)

    def _state(self, now: float) -> tuple[float, Any]:
        """What identifies the data known at ``now``: its slot and the issue it comes from."""
        step = self.dataset.slot_seconds
        issue = getattr(self.dataset, "issue_at", None)
        return (now - now % step, issue(now) if issue is not None else None)

    def due(self, now: float, last: Reading | None, calls: CallLog) -> bool:
        """When the slot or the forecast issue moved on since ``last`` (whoever fetched it)."""
        return last is None or last.data.get("replay_state") != list(self._state(now))

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> Any:
        slots = int(self.horizon_hours * 3600 // self.dataset.slot_seconds)
        return {**self.dataset.forecast(now, slots), "replay_state": list(self._state(now))}


class ReplayPrices(_Replay):
    kind = "prices"
    node_type = "replay.prices"
    description = "Import and feed-in prices replayed from the sample data (or a backtest)."

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        start, step = float(raw["start"]), float(raw["slot_seconds"])
        intervals = []
        prices = zip(raw["import_price"], raw["export_price"], strict=False)
        for i, (buy, sell) in enumerate(prices):
            begin = start + i * step
            intervals.append(
                {
                    "start": begin,
                    "end": begin + step,
                    "import_price": buy,
                    "export_price": sell,
                    "type": "current" if begin <= now < begin + step else "forecast",
                    "estimate": False,
                    "spike": "none",
                    "descriptor": None,
                    "renewables": None,
                }
            )
        issued = raw.get("issued_at")
        data = {"intervals": intervals, "replay_state": raw["replay_state"]}
        return (now if issued is None else float(issued)), data


class ReplayPv(_Replay):
    kind = "pv"
    node_type = "replay.pv"
    description = "The PV (and, where recorded, the load) replayed from the sample data."

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        """P50 from ``pv_w``; P10 and P90 from ``pv_p10_w`` and ``pv_p90_w`` where the
        dataset gives a spread (a backtest's issue, as Solcast's would arrive), else P50."""
        start, step = float(raw["start"]), float(raw["slot_seconds"])
        p50 = list(raw["pv_w"])
        p10, p90 = (_band(raw.get(key), p50) for key in ("pv_p10_w", "pv_p90_w"))
        periods = [
            {
                "start": start + i * step,
                "end": start + (i + 1) * step,
                "p50_w": w,
                "p10_w": low,
                "p90_w": high,
            }
            for i, (w, low, high) in enumerate(zip(p50, p10, p90, strict=True))
        ]
        data: dict[str, Any] = {"periods": periods, "replay_state": raw["replay_state"]}
        if raw.get("load_w") is not None:
            data["load_w"] = list(raw["load_w"])
        issued = raw.get("issued_at")
        return (now if issued is None else float(issued)), data


def _band(values: Any, p50: list[Any]) -> list[Any]:
    """A spread band slot for slot with P50; P50 itself where it is missing or runs short."""
    given = list(values or [])
    return given[: len(p50)] + p50[len(given) :]


#: Each metered slot as the ``sample`` usage provider serves it (the ledger's usage shape).
_USAGE_SLOT = {
    "type": "object",
    "required": [
        "start",
        "end",
        "import_kwh",
        "export_kwh",
        "import_cost",
        "export_revenue",
        "quality",
    ],
    "properties": {
        "start": {"type": "number"},
        "end": {"type": "number"},
        "import_kwh": {"type": "number", "minimum": 0},
        "export_kwh": {"type": "number", "minimum": 0},
        "import_cost": {"type": "number"},
        "export_revenue": {"type": "number"},
        "quality": {"enum": ["estimated", "billable"]},
    },
}


class ReplayUsage(Provider):
    """The simulated site's own meter as the retailer's usage data (demo and backtests),
    fresh each slot: the simulator's meter needs no day's delay. The meter is the one the
    host provides as the ``site_meter`` connection (``nodes.replay.meter``)."""

    kind = "usage"
    name = "sample"
    node_type = "replay.usage"
    description = "Metered usage of the simulated site (demo, backtest), billed at its prices."
    needs_http = False
    keep_history = False
    payload_schema: ClassVar[dict[str, Any] | None] = {"type": "array", "items": _USAGE_SLOT}
    #: How far back each reading reaches: the simulated meter is read every slot and
    #: starts afresh with the service, so a few slots cover a tick or two missed.
    lookback_s: ClassVar[float] = 2 * 3600.0

    def __init__(self, settings: Mapping[str, Any], clock: Clock) -> None:
        super().__init__(settings, clock)
        #: The simulated site's meter, once ``connect`` finds one (none on a real site).
        self.meter: SiteMeter | None = None

    def connect(self, ctx: NodeContext) -> None:
        """Read the meter through the ``site_meter`` connection."""
        self.meter = site_meter(ctx)

    def due(self, now: float, last: Reading | None, calls: CallLog) -> bool:
        if last is None or self.meter is None:
            return True
        step = self.meter.slot_seconds
        return now - now % step > last.fetched_at - last.fetched_at % step

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> Any:
        if self.meter is None:
            raise FetchError(
                "sources.usage is sample, but there is no simulated site: use amber (or none) "
                "with a real inverter"
            )
        return self.meter.usage(now - self.lookback_s, now)

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        return now, {"intervals": list(raw)}


PROVIDERS: list[type[Provider]] = [ReplayPrices, ReplayPv, ReplayUsage]
