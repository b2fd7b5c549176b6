"""The ``tariff`` prices provider: a static time-of-use tariff from the site config.

Nothing is fetched; the prices for the next 48 hours are worked out from the
``tariff:`` section whenever the half-hour slot changes (so the ``current``
interval is always the one holding now). A tariff that does not make sense is
an ``InvalidPayload`` naming each problem's place in the config, which the input
node reports on its ``problem`` port.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import aiohttp

from flowengine.clock import Clock
from nodes.inputs.provider import CallLog, InvalidPayload, Provider
from nodes.inputs.reading import Reading
from nodes.tariff.check import InvalidTariff
from nodes.tariff.tariff import Tariff

#: The site config's default time zone, for settings that were not merged with defaults.
DEFAULT_TIMEZONE = "Australia/Brisbane"
HORIZON_S = 48 * 3600
SLOT_S = 1800


class TariffPrices(Provider):
    kind = "prices"
    name = "tariff"
    description = (
        "Import and feed-in prices from the static time-of-use tariff in the site "
        "config (tariff:), for the next 48 h."
    )
    settings_key = "tariff"
    needs_http = False
    default_every_s: ClassVar[float] = 1800.0

    def __init__(self, settings: Mapping[str, Any], clock: Clock) -> None:
        super().__init__(settings, clock)
        self._tariff: Tariff | None = None

    @property
    def tariff(self) -> Tariff:
        if self._tariff is None:
            timezone = (self.settings.get("site") or {}).get("timezone") or DEFAULT_TIMEZONE
            try:
                self._tariff = Tariff.from_settings(self.section, timezone)
            except InvalidTariff as exc:
                raise InvalidPayload(f"tariff settings: {exc}") from None
        return self._tariff

    def due(self, now: float, last: Reading | None, calls: CallLog) -> bool:
        """When ``every`` has passed, or a new slot began (the current interval moved on)."""
        if last is None or super().due(now, last, calls):
            return True
        try:
            tariff = self.tariff
        except InvalidPayload:
            return True  # let the refresh report it
        return tariff.slot_start(now, SLOT_S) != tariff.slot_start(last.fetched_at, SLOT_S)

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> Any:
        return None  # the tariff is local: nothing to fetch

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        start = self.tariff.slot_start(now, SLOT_S)
        return now, {"intervals": self.tariff.intervals(start, start + HORIZON_S, SLOT_S, now)}
