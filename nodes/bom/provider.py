"""The BOM storm provider: warnings and the town précis over anonymous FTP.

Each fetch downloads every configured warning product (a file that is not on
the server is a warning not in force, which is the normal case) and, at most
every ``precis_every``, the précis. The reading lists the warnings (with
``ours``), our town's précis periods, and a storm probability from tiers 1 and
2 of protocols.md 5.5; the storm monitor adds the weather model's support.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from flowengine.clock import Clock
from flowengine.durations import parse_duration
from nodes.bom.areas import OurArea
from nodes.bom.ftp import FtpSite, download
from nodes.bom.precis import parse_precis
from nodes.bom.settings import DEFAULTS
from nodes.bom.warning import parse_warning
from nodes.inputs.fetch import FetchError
from nodes.inputs.provider import CallLog, Provider
from nodes.inputs.reading import Reading
from nodes.storm.risk import combine, in_force, precis_signals, warning_signals

#: The probability never looks further ahead than this (the précis runs 7 days).
MAX_HORIZON_S = 7 * 86400.0


class BomStorm(Provider):
    kind = "storm"
    name = "bom"
    description = (
        "Bureau of Meteorology warnings for our area and the town précis, over anonymous FTP: "
        "a storm probability per period."
    )
    settings_key = "bom"
    needs_http = False
    default_every_s = 600.0

    def __init__(self, settings: Mapping[str, Any], clock: Clock) -> None:
        super().__init__(settings, clock)
        self._precis: bytes | None = None
        self._precis_until = 0.0

    def option(self, key: str) -> Any:
        return self.section.get(key, DEFAULTS[key])

    @property
    def site(self) -> FtpSite:
        directory = "/" + str(self.option("directory")).strip("/")
        return FtpSite(
            str(self.option("host")), int(self.option("port")), directory, self.retry.timeout_s
        )

    def warning_file(self, product: str) -> str:
        return f"{product}.cap.xml" if self.option("warning_format") == "cap" else f"{product}.xml"

    def due(self, now: float, last: Reading | None, calls: CallLog) -> bool:
        """Every ``every``; every ``every_active`` while a warning for our area is in force."""
        if last is None:
            return True
        every = self.every_s
        if any(w.get("ours") and in_force(w, now) for w in last.data.get("warnings", [])):
            every = min(every, parse_duration(self.option("every_active")))
        return now - last.fetched_at >= every

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> dict[str, Any]:
        products = list(self.option("warnings"))
        names = [self.warning_file(p) for p in products]
        precis_name = f"{self.option('precis')}.xml"
        want_precis = self._precis is None or now >= self._precis_until
        files = await download(
            self.site, [*names, precis_name] if want_precis else names, self.clock, self.retry
        )
        if want_precis:
            precis = files.get(precis_name)
            if precis is None:
                raise FetchError(f"{self.site}: the précis {precis_name} is not on the server")
            self._precis = precis
            self._precis_until = now + parse_duration(self.option("precis_every"))
        assert self._precis is not None
        return {
            "precis": self._precis,
            "warnings": {p: files.get(n) for p, n in zip(products, names, strict=True)},
        }

    def parse(self, raw: dict[str, Any], now: float) -> tuple[float, dict[str, Any]]:
        ours = OurArea.from_settings(self.section)
        try:
            issued, periods = parse_precis(
                raw["precis"], str(self.option("precis")), str(self.option("location_aac"))
            )
        except ValueError:
            self._precis = None  # download it again next time rather than keep a bad copy
            raise
        warnings = [
            parse_warning(data, product, ours, now)
            for product, data in raw["warnings"].items()
            if data is not None
        ]
        signals = warning_signals(warnings, now) + precis_signals(periods)
        end = max([now + 3600, *(s.end for s in signals), *(p["end"] for p in periods)])
        probability = combine(signals, now, min(end, now + MAX_HORIZON_S))
        times = [t for t in (issued, *(w["issued_at"] for w in warnings)) if t is not None]
        data = {"probability": probability, "warnings": warnings, "precis": periods}
        return max(times, default=now), data
